import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { encodeCursor } from '../shared/cursor.js';
import { callerWithToken, createTestOrg, expectTRPCError, type TestOrg, testDb, uniqueEmail } from '../test/index.js';

/** The per-field messages of a BAD_REQUEST, as the HTTP error shape gives them in `data.fieldErrors`. */
function fieldErrorsOf(error: TRPCError): Record<string, string[]> {
  expect(error.cause, 'a validation error carries the ZodError').toBeInstanceOf(ZodError);
  const fields: Record<string, string[]> = {};
  for (const issue of (error.cause as ZodError).issues) {
    const key = issue.path.map(String).join('.') || '_';
    fields[key] = [...(fields[key] ?? []), issue.message];
  }
  return fields;
}

async function badRequest(call: Promise<unknown>) {
  return fieldErrorsOf(await expectTRPCError(call, 'BAD_REQUEST'));
}

const nilId = '00000000-0000-4000-8000-000000000000';

let shared: Promise<TestOrg> | undefined;
/** One organization for the read-only checks of this file. */
const orgForReads = async () => {
  shared ??= testDb().then((db) => createTestOrg(db));
  return shared;
};

describe('input bounds: BAD_REQUEST with a message per field', () => {
  it('users.create names every bad field at once', async () => {
    const org = await orgForReads();
    const fields = await badRequest(
      org.admin.users.create({
        accountId: 'not-an-id',
        email: 'not-an-email',
        firstName: '   ',
        lastName: 'x'.repeat(101),
        password: 'short',
        // @ts-expect-error: not a role
        role: 'root',
      }),
    );
    expect(fields).toEqual({
      accountId: ['Not a valid id'],
      email: ['Enter a valid email address, like name@example.com'],
      firstName: ['Enter a first name'],
      lastName: ['A last name has at most 100 characters'],
      password: ['A password has at least 8 characters'],
      role: ["Role is 'admin', 'account_admin', 'auditor' or 'user'"],
    });
  });

  it('emails: required, at most 254 characters, valid', async () => {
    const org = await orgForReads();
    const create = (email: string) =>
      org.admin.users.create({ accountId: org.defaultAccountId, email, firstName: 'E', lastName: 'Mail' });
    expect(await badRequest(create('  '))).toEqual({ email: ['Enter an email address'] });
    expect(await badRequest(create(`${'a'.repeat(250)}@example.test`))).toMatchObject({
      email: expect.arrayContaining(['An email address has at most 254 characters']),
    });
    for (const invalid of ['plainaddress', 'a@', '@example.test', 'a b@example.test', 'a@@example.test']) {
      expect(await badRequest(create(invalid)), invalid).toHaveProperty('email');
    }
  });

  it('names: trimmed, 1 to 100 characters', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const create = (firstName: string, lastName = 'L') =>
      org.admin.users.create({ accountId: org.defaultAccountId, email: uniqueEmail(), firstName, lastName });
    const longest = await create(`  ${'f'.repeat(100)} `, 'l'.repeat(100));
    expect(longest.firstName).toBe('f'.repeat(100));
    expect(longest.lastName).toBe('l'.repeat(100));
    expect(await badRequest(create('f'.repeat(101)))).toEqual({
      firstName: ['A first name has at most 100 characters'],
    });
    expect(await badRequest(create('F', ''))).toEqual({ lastName: ['Enter a last name'] });
    expect(await badRequest(org.admin.users.update({ id: longest.id, firstName: ' ' }))).toEqual({
      firstName: ['Enter a first name'],
    });
    // Account names and descriptions are bounded too.
    expect(await badRequest(org.admin.accounts.create({ name: 'n'.repeat(101) }))).toEqual({
      name: ['An account name has at most 100 characters'],
    });
    expect(await badRequest(org.admin.accounts.create({ name: 'ok', description: 'd'.repeat(1001) }))).toEqual({
      description: ['A description has at most 1000 characters'],
    });
  });

  it('passwords: 8 to 256 characters, taken as they are', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const set = (password: string) => org.admin.users.setPassword({ id: user.id, password });
    expect(await badRequest(set('1234567'))).toEqual({ password: ['A password has at least 8 characters'] });
    expect(await badRequest(set('p'.repeat(257)))).toEqual({ password: ['A password has at most 256 characters'] });
    await set('k7#Lm2qZ');
    await set(` ${'p'.repeat(254)} `);
    // Spaces are part of the password.
    await expectTRPCError(
      callerWithToken(db, null).auth.login({ email: user.email, password: 'p'.repeat(254) }),
      'UNAUTHORIZED',
    );
    expect(
      await badRequest(org.admin.auth.changePassword({ currentPassword: 'whatever', newPassword: 'short' })),
    ).toEqual({ newPassword: ['A password has at least 8 characters'] });
    expect(
      await badRequest(
        org.admin.auth.changePassword({ currentPassword: 'p'.repeat(257), newPassword: 'a fine new password' }),
      ),
    ).toEqual({ currentPassword: ['A password has at most 256 characters'] });
    // New users and users of a new account are bounded the same way.
    expect(
      await badRequest(
        org.admin.accounts.create({
          name: 'Bounded',
          users: [
            { email: uniqueEmail(), firstName: 'A', lastName: 'B' },
            { email: 'bad', firstName: 'A', lastName: 'B', password: 'short' },
          ],
        }),
      ),
    ).toEqual({
      'users.1.email': ['Enter a valid email address, like name@example.com'],
      'users.1.password': ['A password has at least 8 characters'],
    });
  });

  it('limit: a whole number from 1 to 100, on every list', async () => {
    const org = await orgForReads();
    const lists = [
      (limit: number) => org.admin.accounts.list({ limit }),
      (limit: number) => org.admin.users.list({ accountId: org.defaultAccountId, limit }),
      (limit: number) => org.admin.users.search({ limit }),
      (limit: number) => org.admin.audit.list({ limit }),
    ];
    for (const list of lists) {
      expect(await badRequest(list(0))).toEqual({ limit: ['Limit is at least 1'] });
      expect(await badRequest(list(101))).toEqual({ limit: ['Limit is at most 100'] });
      expect(await badRequest(list(1.5))).toEqual({ limit: ['Limit is a whole number'] });
      await list(100);
    }
  });

  it('cursors: a tampered or foreign one is BAD_REQUEST on every list', async () => {
    const org = await orgForReads();
    const lists = [
      (cursor: string) => org.admin.accounts.list({ cursor }),
      (cursor: string) => org.admin.users.list({ accountId: org.defaultAccountId, cursor }),
      (cursor: string) => org.admin.users.search({ cursor }),
      (cursor: string) => org.admin.audit.list({ cursor }),
    ];
    const bad = [
      'garbage!',
      encodeCursor([]),
      encodeCursor(['a', 'b', 'c']),
      Buffer.from('{"not":"an array"}').toString('base64url'),
      encodeCursor(['nul\u0000', nilId]),
      encodeCursor(['nul\u0000']),
      'x'.repeat(1001),
    ];
    for (const list of lists) {
      for (const cursor of bad) {
        const error = await expectTRPCError(list(cursor), 'BAD_REQUEST');
        expect(error.message, cursor).toMatch(/cursor/i);
      }
    }
    // A cursor of the users' list (one email) is no cursor of the audit log's.
    await org.addUser();
    await org.addUser();
    const page = await org.admin.users.search({ limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    await expectTRPCError(org.admin.audit.list({ cursor: page.nextCursor ?? '' }), 'BAD_REQUEST');
  });

  it('cursors: null is the first page on every list, as an absent cursor is', async () => {
    const org = await orgForReads();
    await org.addUser();
    await org.addUser();
    const lists = [
      () => [org.admin.accounts.list({ cursor: null }), org.admin.accounts.list({})],
      () => [
        org.admin.users.list({ accountId: org.defaultAccountId, cursor: null }),
        org.admin.users.list({ accountId: org.defaultAccountId }),
      ],
      () => [org.admin.users.search({ cursor: null, limit: 2 }), org.admin.users.search({ limit: 2 })],
      () => [org.admin.audit.list({ cursor: null }), org.admin.audit.list({})],
      () => [org.admin.apiKeys.list({ cursor: null }), org.admin.apiKeys.list({})],
    ];
    for (const list of lists) {
      const [withNull, without] = await Promise.all(list());
      expect(withNull).toEqual(without);
    }
  });

  it('ids, roles, queries and versions are checked before anything runs', async () => {
    const org = await orgForReads();
    for (const call of [
      () => org.admin.accounts.get({ id: 'x' }),
      () => org.admin.accounts.update({ id: '123' }),
      () => org.admin.accounts.delete({ id: `${nilId}0` }),
      () => org.admin.users.get({ id: 'nope' }),
      () => org.admin.users.update({ id: 'nope' }),
      () => org.admin.users.setPassword({ id: 'nope', password: 'long enough' }),
      () => org.admin.users.deactivate({ id: 'nope' }),
      () => org.admin.users.reactivate({ id: 'nope' }),
      () => org.admin.users.delete({ id: 'nope' }),
      () => org.admin.users.setRole({ id: 'nope', role: 'admin' }),
      () => org.admin.users.list({ accountId: 'nope' }),
      () => org.admin.users.search({ accountId: 'nope' }),
      () => org.admin.audit.list({ userId: 'nope' }),
    ]) {
      expect(Object.values(await badRequest(call())).flat()).toContain('Not a valid id');
    }
    expect(await badRequest(org.admin.users.search({ query: 'q'.repeat(201) }))).toEqual({
      query: ['A search has at most 200 characters'],
    });
    expect(await badRequest(org.admin.accounts.list({ query: 'q'.repeat(201) }))).toEqual({
      query: ['A search has at most 200 characters'],
    });
    // @ts-expect-error: not a role
    expect(await badRequest(org.admin.users.search({ role: 'owner' }))).toHaveProperty('role');
    expect(await badRequest(org.admin.users.update({ id: nilId, version: 0 }))).toHaveProperty('version');
    // @ts-expect-error: neither an id nor an email
    expect(await badRequest(org.admin.users.get({}))).toBeDefined();
    expect(await badRequest(org.admin.auth.login({ email: 'nope', password: 'x' }))).toEqual({
      email: ['Enter a valid email address, like name@example.com'],
    });
  });
});

describe('never a 500', () => {
  // Text Postgres cannot store, and text that means something to SQL or LIKE.
  const hostile = [
    'nul\u0000inside',
    '\u0000',
    "'; drop table users; --",
    '%_\\',
    'lone \uD800 surrogate',
    '😀'.repeat(50),
  ];

  it.each(hostile.map((text) => [JSON.stringify(text), text]))('%s in any text field', async (_, text) => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const account = await org.addAccount();
    const calls: [string, () => Promise<unknown>][] = [
      [
        'users.create firstName',
        () => org.admin.users.create({ accountId: account.id, email: uniqueEmail(), firstName: text, lastName: 'L' }),
      ],
      [
        'users.create lastName',
        () => org.admin.users.create({ accountId: account.id, email: uniqueEmail(), firstName: 'F', lastName: text }),
      ],
      [
        'users.create email',
        () =>
          org.admin.users.create({
            accountId: account.id,
            email: `${text}@example.test`,
            firstName: 'F',
            lastName: 'L',
          }),
      ],
      ['users.update', () => org.admin.users.update({ id: user.id, firstName: text, lastName: text })],
      ['users.search', () => org.admin.users.search({ query: text })],
      ['users.get', () => org.admin.users.get({ email: text })],
      ['accounts.create', () => org.admin.accounts.create({ name: text, description: text })],
      [
        'accounts.create users',
        () =>
          org.admin.accounts.create({
            name: 'With users',
            users: [{ email: uniqueEmail(), firstName: text, lastName: text }],
          }),
      ],
      ['accounts.update', () => org.admin.accounts.update({ id: account.id, name: `${text}!`, description: text })],
      ['accounts.list', () => org.admin.accounts.list({ query: text })],
      ['auth.login', () => org.admin.auth.login({ email: org.adminEmail, password: text })],
    ];
    const outcomes: Record<string, string> = {};
    for (const [name, call] of calls) {
      try {
        await call();
        outcomes[name] = 'ok';
      } catch (error) {
        if (!(error instanceof TRPCError)) throw error;
        outcomes[name] = error.code;
        if (error.code === 'BAD_REQUEST' && error.cause instanceof ZodError) {
          // A validation error says which field, in words.
          expect(error.cause.issues.every((issue) => issue.message.length > 0)).toBe(true);
        }
      }
    }
    for (const [name, outcome] of Object.entries(outcomes)) {
      expect(['ok', 'BAD_REQUEST', 'NOT_FOUND', 'UNAUTHORIZED'], `${name}: ${outcome}`).toContain(outcome);
    }
  });

  it('NUL characters are refused with a message naming the field', async () => {
    const org = await orgForReads();
    const fields = await badRequest(
      org.admin.users.create({
        accountId: org.defaultAccountId,
        email: uniqueEmail(),
        firstName: 'a\u0000b',
        lastName: 'ok',
      }),
    );
    expect(Object.keys(fields)).toEqual(['firstName']);
    expect(await badRequest(org.admin.users.search({ query: 'x\u0000' }))).toHaveProperty('query');
    expect(await badRequest(org.admin.accounts.create({ name: 'ok', description: '\u0000' }))).toHaveProperty(
      'description',
    );
  });
});

describe('normalization', () => {
  it('trims and lower-cases emails wherever they come in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const email = uniqueEmail('Norm');
    const shouty = `\t ${email.toUpperCase()} \n`;
    const user = await org.admin.users.create({
      accountId: org.defaultAccountId,
      email: shouty,
      firstName: 'N',
      lastName: 'N',
    });
    expect(user.email).toBe(email.toLowerCase());
    expect((await org.admin.users.get({ email: shouty })).id).toBe(user.id);
    const other = uniqueEmail('Other');
    expect((await org.admin.users.update({ id: user.id, email: ` ${other.toUpperCase()}` })).email).toBe(
      other.toLowerCase(),
    );
    const account = await org.admin.accounts.create({
      name: 'Normalized',
      users: [{ email: ` ${uniqueEmail('In').toUpperCase()} `, firstName: ' A ', lastName: ' B ' }],
    });
    const [member] = (await org.admin.users.list({ accountId: account.id })).items;
    expect(member?.email).toBe(member?.email.trim().toLowerCase());
    expect(member).toMatchObject({ firstName: 'A', lastName: 'B' });
  });
});
