import { beforeAll, describe, expect, it } from 'vitest';
import { callerWithToken, createTestOrg, recordCookies, testDb, testPassword } from '../test/index.js';

// Opening the worker's database (PGlite: start and migrate) is setup, not the test.
beforeAll(() => testDb());

describe('smoke', () => {
  it('signs in, creates an account with users, searches', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const cookies = recordCookies();
    const anon = callerWithToken(db, null, { cookies });
    const { user } = await anon.auth.login({ email: org.adminEmail.toUpperCase(), password: testPassword });
    expect(user.role).toBe('admin');
    expect(cookies.token).toMatch(/^[\w-]{43}$/);
    const account = await org.admin.accounts.create({
      name: 'Acme',
      users: [
        { email: 'Ada@Example.test'.replace('Ada', `ada${Date.now()}`), firstName: 'Ada', lastName: 'Lovelace' },
        { email: `bob${Date.now()}@example.test`, firstName: 'Bob', lastName: 'Smith', password: 'secret-password' },
      ],
    });
    expect(account.userCount).toBe(2);
    const found = await org.admin.users.search({ query: 'lovel' });
    expect(found.items.map((u) => u.firstName)).toEqual(['Ada']);
    const audit = await org.admin.audit.list({});
    expect(audit.items.map((a) => a.action)).toContain('account.created');
  });
});
