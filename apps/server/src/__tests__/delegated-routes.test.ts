import { createTestOrg, type TestOrg, testDb, uniqueEmail } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signInCookie } from './helpers.js';

// The routes that are not tRPC (the CSV export and import) under the same rules
// as the procedures they stand beside: users.search (read: administrators,
// auditors, account administrators in their account) and users.create (change:
// administrators, account administrators into their account; never auditors).

let db: Kysely<Database>;
let org: TestOrg;
let app: FastifyInstance;
let mine: { id: string };
let theirs: { id: string };
const cookies: Record<'admin' | 'accountAdmin' | 'otherAccountAdmin' | 'auditor' | 'plain', string> = {
  admin: '',
  accountAdmin: '',
  otherAccountAdmin: '',
  auditor: '',
  plain: '',
};
const sameOrigin = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
let elsewhereEmail = '';
let mineEmail = '';

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Delegated Routes Org');
  mine = await org.addAccount('Mine');
  theirs = await org.addAccount('Theirs');
  mineEmail = (await org.addUser({ accountId: mine.id })).email;
  elsewhereEmail = (await org.addUser({ accountId: theirs.id })).email;
  app = await buildTestApp(db);
  cookies.admin = await signInCookie(app, org.adminEmail);
  for (const [persona, accountId, role] of [
    ['accountAdmin', mine.id, 'account_admin'],
    ['otherAccountAdmin', theirs.id, 'account_admin'],
    ['auditor', theirs.id, 'auditor'],
    ['plain', mine.id, 'user'],
  ] as const) {
    const user = await org.addUser({ accountId, role, canSignIn: true });
    cookies[persona] = await signInCookie(app, user.email);
  }
});

afterAll(async () => {
  await app?.close();
});

const exportAs = (persona: keyof typeof cookies, query = '') =>
  app.inject({ method: 'GET', url: `/export/users.csv${query}`, headers: { cookie: cookies[persona], ...sameOrigin } });

const importAs = (persona: keyof typeof cookies, accountId: string, csv: string) =>
  app.inject({
    method: 'POST',
    url: `/import/users?accountId=${accountId}`,
    headers: { cookie: cookies[persona], 'content-type': 'text/csv' },
    payload: csv,
  });

describe('GET /export/users.csv by role', () => {
  it('gives an account administrator their account only, whatever they ask for', async () => {
    const all = await exportAs('accountAdmin');
    expect(all.statusCode, all.body).toBe(200);
    expect(all.body).toContain(mineEmail);
    expect(all.body).not.toContain(elsewhereEmail);
    expect(all.body).not.toContain(org.adminEmail);
    expect(all.headers['content-disposition']).toMatch(/filename="users-mine-/);
    const other = await exportAs('accountAdmin', `?accountId=${theirs.id}`);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ reason: 'NOT_FOUND' });
  });

  it('gives an auditor the whole organization, and a plain user nothing', async () => {
    const all = await exportAs('auditor');
    expect(all.statusCode, all.body).toBe(200);
    for (const email of [mineEmail, elsewhereEmail, org.adminEmail]) expect(all.body).toContain(email);
    expect((await exportAs('plain')).statusCode).toBe(403);
  });
});

describe('POST /import/users by role', () => {
  const file = () => `email,first name,last name\n${uniqueEmail()},Imported,Person\n`;

  it('previews for an account administrator into their account, and no other', async () => {
    const own = await importAs('accountAdmin', mine.id, file());
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().import).toMatchObject({ accountId: mine.id, summary: { create: 1 } });
    const other = await importAs('accountAdmin', theirs.id, file());
    expect(other.statusCode).toBe(404);
    expect(other.json().error.reason).toBe('NOT_FOUND');
    const fromOther = await importAs('otherAccountAdmin', mine.id, file());
    expect(fromOther.statusCode).toBe(404);
  });

  it('refuses an auditor, before reading the file', async () => {
    const refused = await importAs('auditor', mine.id, file());
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.reason).toBe('READ_ONLY');
    const plain = await importAs('plain', mine.id, file());
    expect(plain.statusCode).toBe(403);
    expect(plain.json().error.reason).toBe('NOT_ADMIN');
  });
});
