import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRPCError } from '@trpc/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError, mapDatabaseError, reasonOf } from '../errors.js';
import { errorReasons, genericReasons } from '../shared/error-reasons.js';
import { createTestOrg, errorDataOf, failure, testDb, uniqueEmail } from '../test/index.js';

// Every refusal reaches clients with a stable reason in `error.data.reason`;
// the console and the CLI switch on it, never on the message.

let org: Awaited<ReturnType<typeof createTestOrg>>;

beforeAll(async () => {
  org = await createTestOrg(await testDb(), 'Reasons Org');
});

const reasonOfCall = async (promise: Promise<unknown>) => errorDataOf(await failure(promise)).reason;

describe('error reasons', () => {
  it('names the domain rule that refused a call', async () => {
    const user = await org.addUser();
    expect(
      await reasonOfCall(
        org.admin.users.create({ accountId: org.defaultAccountId, email: user.email, firstName: 'A', lastName: 'B' }),
      ),
    ).toBe('EMAIL_TAKEN');
    expect(
      await reasonOfCall(org.admin.users.update({ id: user.id, firstName: 'New', version: user.version + 7 })),
    ).toBe('STALE_VERSION');
    expect(await reasonOfCall(org.admin.users.deactivate({ id: org.adminId }))).toMatch(/^(SELF_ACTION|LAST_ADMIN)$/);
    expect(await reasonOfCall(org.admin.accounts.delete({ id: org.defaultAccountId }))).toBe('DEFAULT_ACCOUNT');
    const account = await org.addAccount();
    expect(await reasonOfCall(org.admin.accounts.create({ name: account.name, users: [] }))).toBe('ACCOUNT_NAME_TAKEN');
    expect(await reasonOfCall(org.admin.users.get({ email: uniqueEmail('nobody') }))).toBe('NOT_FOUND');
    expect(await reasonOfCall(org.admin.users.search({ cursor: 'not-a-cursor' }))).toBe('INVALID_CURSOR');
    const { caller } = await org.addSignedInUser();
    expect(await reasonOfCall(caller.users.search({}))).toBe('NOT_ADMIN');
  });

  it('gives every other error the generic reason of its code, and input errors INVALID_INPUT', async () => {
    expect(
      await reasonOfCall(
        org.admin.users.create({ accountId: org.defaultAccountId, email: 'nope', firstName: 'A', lastName: 'B' }),
      ),
    ).toBe('INVALID_INPUT');
    expect(reasonOf(new TRPCError({ code: 'FORBIDDEN' }))).toBe('NOT_ALLOWED');
    expect(reasonOf(new TRPCError({ code: 'INTERNAL_SERVER_ERROR' }))).toBe('INTERNAL');
  });

  it('names what the database refused', () => {
    const pg = (code: string, constraint?: string) => Object.assign(new Error('db'), { code, constraint });
    expect(reasonOf(mapDatabaseError(pg('23505', 'users_email_unique')) as TRPCError)).toBe('EMAIL_TAKEN');
    expect(reasonOf(mapDatabaseError(pg('23505', 'accounts_org_name')) as TRPCError)).toBe('ACCOUNT_NAME_TAKEN');
    expect(reasonOf(mapDatabaseError(pg('23505', 'something_else')) as TRPCError)).toBe('VALUE_TAKEN');
    expect(reasonOf(mapDatabaseError(pg('40001')) as TRPCError)).toBe('CONCURRENT_CHANGE');
    expect(reasonOf(mapDatabaseError(pg('57P01')) as TRPCError)).toBe('DATABASE_UNAVAILABLE');
  });

  it('keeps each reason with the code it is declared with, and a generic reason of each code', () => {
    for (const [reason, code] of Object.entries(errorReasons)) {
      expect(new AppError(reason as keyof typeof errorReasons, 'x').code, reason).toBe(code);
    }
    for (const [code, reason] of Object.entries(genericReasons)) {
      if (code !== 'PARSE_ERROR' && code !== 'PAYLOAD_TOO_LARGE') expect(errorReasons[reason], code).toBe(code);
    }
  });

  it('is how the API throws: no procedure builds a bare TRPCError with a code of its own', () => {
    // A bare `new TRPCError({ code })` would reach clients with only the generic
    // reason; domain code throws appError(reason, message) from the catalog.
    const src = fileURLToPath(new URL('..', import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (name !== '__tests__' && name !== 'test') walk(path);
        } else if (path.endsWith('.ts') && !path.endsWith('errors.ts')) {
          if (/new TRPCError\(\{\s*code:/.test(readFileSync(path, 'utf8'))) offenders.push(path.slice(src.length));
        }
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });
});
