import { beforeAll, describe, expect, it } from 'vitest';
import { commonPasswordCount, isCommonPassword } from '../auth/common-passwords.js';
import { bootstrapInstallation, createOrganization } from '../organizations/service.js';
import {
  callerAs,
  callerWithToken,
  createTestOrg,
  failure,
  fieldErrorsOf,
  recordCookies,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';

const common = ['password', '12345678', 'password1', 'iloveyou', 'sunshine', 'trustno1', 'qwertyuiop'];

// Opening the worker's database (PGlite: create and migrate) is slow work for a hook, not a test: warm up.
beforeAll(async () => {
  await testDb();
});

describe('the common-password list', () => {
  it('ships with the project and holds at least the 10,000 most common passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(9_990);
    for (const password of common) expect(isCommonPassword(password), password).toBe(true);
    expect(isCommonPassword(testPassword)).toBe(false);
  });

  it('also refuses a listed password in other letter case', () => {
    expect(isCommonPassword('SUNSHINE')).toBe(true);
    expect(isCommonPassword('TrustNo1')).toBe(true);
  });
});

describe('common passwords are refused wherever a password is set', () => {
  it('users.create, naming the password field, and creates nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const email = uniqueEmail();
    const error = await failure(
      org.admin.users.create({
        accountId: org.defaultAccountId,
        email,
        firstName: 'A',
        lastName: 'B',
        password: 'iloveyou',
      }),
    );
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/most common passwords/);
    expect(fieldErrorsOf(error)).toEqual({ password: [expect.stringMatching(/most common passwords/)] });
    expect((await failure(org.admin.users.get({ email }))).code).toBe('NOT_FOUND');
  });

  it('users.setPassword, leaving the old password in place', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const error = await failure(org.admin.users.setPassword({ id: user.id, password: 'password1' }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(fieldErrorsOf(error)).toHaveProperty('password');
    await callerWithToken(db, null, { cookies: recordCookies() }).auth.login({
      email: user.email,
      password: testPassword,
    });
  });

  it('auth.changePassword, on the new password field', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const self = await callerAs(db, user.id);
    const error = await failure(self.auth.changePassword({ currentPassword: testPassword, newPassword: 'sunshine' }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(fieldErrorsOf(error)).toHaveProperty('newPassword');
  });

  it('accounts.create, naming the user in the form, and creates nothing of the account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const name = `Common ${Date.now()}`;
    const first = uniqueEmail();
    const error = await failure(
      org.admin.accounts.create({
        name,
        users: [
          { email: first, firstName: 'Ok', lastName: 'User', password: 'a fine long passphrase' },
          { email: uniqueEmail(), firstName: 'Weak', lastName: 'User', password: 'qwertyuiop' },
        ],
      }),
    );
    expect(error.code).toBe('BAD_REQUEST');
    expect(fieldErrorsOf(error)).toHaveProperty(['users.1.password']);
    expect((await org.admin.accounts.list({ query: name })).items).toEqual([]);
    expect((await failure(org.admin.users.get({ email: first }))).code).toBe('NOT_FOUND');
  });

  it('the first administrator of an installation', async () => {
    const db = await testDb();
    await expect(
      createOrganization(db, { name: 'Weak Org', adminEmail: uniqueEmail('admin'), adminPassword: '12345678' }),
    ).rejects.toThrow(/most common passwords/);
    await expect(
      createOrganization(db, { name: 'Short Org', adminEmail: uniqueEmail('admin'), adminPassword: 'short' }),
    ).rejects.toThrow(/8 to 256 characters/);
    // bootstrap does nothing on an installation that exists, whatever the password.
    expect(
      await bootstrapInstallation(db, { name: 'X', adminEmail: uniqueEmail('admin'), adminPassword: 'password' }),
    ).toBeNull();
  });
});

describe('password rules', () => {
  it('keeps 8 to 256 characters exactly as typed: no truncation, no case folding', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const long = `${'Ab1-'.repeat(63)}tail`; // 256 characters
    expect(long).toHaveLength(256);
    const user = await org.addUser({ password: long });
    const login = (password: string) =>
      callerWithToken(db, null, { cookies: recordCookies() }).auth.login({ email: user.email, password });
    expect((await login(long)).user.id).toBe(user.id);
    expect((await failure(login(long.slice(0, 255)))).code).toBe('UNAUTHORIZED');
    expect((await failure(login(long.slice(0, 72)))).code).toBe('UNAUTHORIZED');
    expect((await failure(login(long.toUpperCase()))).code).toBe('UNAUTHORIZED');
    expect((await failure(login(long.toLowerCase()))).code).toBe('UNAUTHORIZED');

    const tooLong = await failure(org.admin.users.setPassword({ id: user.id, password: `${long}x` }));
    expect(tooLong.code).toBe('BAD_REQUEST');
    expect(tooLong.message).toContain('at most 256 characters');
    const tooShort = await failure(org.admin.users.setPassword({ id: user.id, password: 'Sh0rt!' }));
    expect(tooShort.message).toContain('at least 8 characters');
  });
});
