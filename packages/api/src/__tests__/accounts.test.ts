import { describe, expect, it } from 'vitest';
import { auditRowsOf, createTestOrg, expectTRPCError, fieldErrorsOf, testDb, uniqueEmail } from '../test/index.js';

const accountKeys = ['createdAt', 'description', 'id', 'isDefault', 'name', 'updatedAt', 'userCount'];

const person = (label: string, password?: string) => ({
  email: uniqueEmail(label),
  firstName: label,
  lastName: 'Person',
  ...(password ? { password } : {}),
});

describe('accounts.create', () => {
  it('creates the account with all its users, and returns exactly the documented fields', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const users = [person('one'), person('two'), person('three')];
    const account = await org.admin.accounts.create({ name: '  Acme  ', description: ' Widgets ', users });
    expect(Object.keys(account).sort()).toEqual(accountKeys);
    expect(account).toMatchObject({ name: 'Acme', description: 'Widgets', isDefault: false, userCount: 3 });
    const listed = await org.admin.users.list({ accountId: account.id });
    expect(listed.items.map((u) => u.email).sort()).toEqual(users.map((u) => u.email).sort());
    expect(listed.items.every((u) => u.role === 'user' && u.active)).toBe(true);
  });

  it('is all or nothing: a duplicate email on the last user leaves no account, no users and no audit rows', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const taken = await org.addUser();
    const auditBefore = await auditRowsOf(db, org.organizationId);
    const users = [person('first'), person('second'), { ...person('last'), email: taken.email.toUpperCase() }];
    const conflict = await expectTRPCError(org.admin.accounts.create({ name: 'Doomed', users }), 'CONFLICT');
    // The form's row with the taken email is named, so the console shows it there.
    expect(fieldErrorsOf(conflict)).toEqual({ 'users.2.email': ['A user with this email already exists.'] });

    expect((await org.admin.accounts.list({ query: 'Doomed' })).items).toEqual([]);
    const leftovers = await db
      .selectFrom('users')
      .select('email')
      .where(
        'email',
        'in',
        users.slice(0, 2).map((u) => u.email),
      )
      .execute();
    expect(leftovers).toEqual([]);
    expect(await auditRowsOf(db, org.organizationId)).toEqual(auditBefore);
    // The name is still free.
    await org.admin.accounts.create({ name: 'Doomed', users: users.slice(0, 2) });
  });

  it('is CONFLICT for a name the organization already uses, in any case; other organizations may use it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    await org.admin.accounts.create({ name: 'Sales' });
    const error = await expectTRPCError(org.admin.accounts.create({ name: 'SALES' }), 'CONFLICT');
    expect(error.message).toBe('An account with this name already exists.');
    await other.admin.accounts.create({ name: 'Sales' });
  });

  it('is BAD_REQUEST for an email given twice in the same form, naming the field', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const a = person('twice');
    const error = await expectTRPCError(
      org.admin.accounts.create({ name: 'Twice', users: [a, { ...a, email: a.email.toUpperCase(), firstName: 'B' }] }),
      'BAD_REQUEST',
    );
    expect(JSON.stringify(error.cause)).toContain('This email appears more than once in the form');
    expect((await org.admin.accounts.list({ query: 'Twice' })).items).toEqual([]);
  });
});

describe('accounts.get, update', () => {
  it('gets an account with its user count', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.admin.accounts.create({ name: 'Counted', users: [person('a'), person('b')] });
    expect(await org.admin.accounts.get({ id: account.id })).toEqual(account);
    const defaultAccount = await org.admin.accounts.get({ id: org.defaultAccountId });
    expect(defaultAccount).toMatchObject({ name: 'Default', isDefault: true, userCount: 1 });
    await expectTRPCError(org.admin.accounts.get({ id: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND');
  });

  it('updates the name and description; the default account can be renamed but stays the default', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount('Before');
    const updated = await org.admin.accounts.update({ id: account.id, name: 'After', description: 'Now described' });
    expect(updated).toMatchObject({ id: account.id, name: 'After', description: 'Now described', isDefault: false });
    expect(await org.admin.accounts.get({ id: account.id })).toEqual(updated);
    const renamed = await org.admin.accounts.update({ id: org.defaultAccountId, name: 'Headquarters' });
    expect(renamed).toMatchObject({ name: 'Headquarters', isDefault: true });
  });

  it('is CONFLICT when renamed to another account name of the organization, in any case', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    await org.addAccount('Taken');
    const account = await org.addAccount('Free');
    await expectTRPCError(org.admin.accounts.update({ id: account.id, name: 'tAKEN' }), 'CONFLICT');
    expect((await org.admin.accounts.get({ id: account.id })).name).toBe('Free');
  });
});

describe('accounts.delete', () => {
  it('removes the account and its users', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const users = [person('gone1'), person('gone2')];
    const account = await org.admin.accounts.create({ name: 'Leaving', users });
    const deleted = await org.admin.accounts.delete({ id: account.id });
    expect(deleted).toMatchObject({ id: account.id, name: 'Leaving', userCount: 2 });
    await expectTRPCError(org.admin.accounts.get({ id: account.id }), 'NOT_FOUND');
    const rows = await db
      .selectFrom('users')
      .select('id')
      .where(
        'email',
        'in',
        users.map((u) => u.email),
      )
      .execute();
    expect(rows).toEqual([]);
    await expectTRPCError(org.admin.users.get({ email: users[0]?.email ?? '' }), 'NOT_FOUND');
  });

  it('never deletes the default account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const auditBefore = await auditRowsOf(db, org.organizationId);
    const error = await expectTRPCError(org.admin.accounts.delete({ id: org.defaultAccountId }), 'PRECONDITION_FAILED');
    expect(error.message).toMatch(/default account/);
    expect(await org.admin.accounts.get({ id: org.defaultAccountId })).toMatchObject({ isDefault: true, userCount: 1 });
    expect(await auditRowsOf(db, org.organizationId)).toEqual(auditBefore);
  });
});

describe('accounts.list', () => {
  it('searches names literally and case-insensitively', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const percent = await org.addAccount('100% Cotton');
    const underscore = await org.addAccount('snake_case');
    const backslash = await org.addAccount('back\\slash');
    await org.addAccount('1000 Cotton');
    await org.addAccount('snakeXcase');
    await org.addAccount('backslash');
    const names = async (query: string) => (await org.admin.accounts.list({ query })).items.map((a) => a.id);
    expect(await names('0% c')).toEqual([percent.id]);
    expect(await names('SNAKE_')).toEqual([underscore.id]);
    expect(await names('k\\s')).toEqual([backslash.id]);
    expect(await names('%')).toEqual([percent.id]);
    expect(await names('_')).toEqual([underscore.id]);
  });

  it('pages through every account exactly once, also when accounts are added between pages', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const initial = [org.defaultAccountId];
    // Names that tie on case-insensitive order and sort around the cursor.
    for (const name of ['b', 'B2', 'c', 'd', 'e', 'f']) initial.push((await org.addAccount(name)).id);
    const seen: string[] = [];
    const added: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await org.admin.accounts.list({ limit: 2, cursor });
      seen.push(...result.items.map((a) => a.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
      if (page < 3) added.push((await org.addAccount(`a${page}`)).id, (await org.addAccount(`z${page}`)).id);
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
    // Those added after the cursor's place show up; those before it do not come back.
    for (const id of seen) expect([...initial, ...added]).toContain(id);
  });
});

describe('accounts.names', () => {
  it('names the accounts asked for, once each, in name order; another organization’s ids find nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Other Org');
    const zulu = await org.addAccount('Zulu');
    const alpha = await org.addAccount('Alpha');
    const theirs = await other.addAccount('Theirs');
    const names = await org.admin.accounts.names({ ids: [zulu.id, alpha.id, zulu.id, theirs.id] });
    expect(names).toEqual([
      { id: alpha.id, name: 'Alpha' },
      { id: zulu.id, name: 'Zulu' },
    ]);
    expect(await other.admin.accounts.names({ ids: [zulu.id, alpha.id] })).toEqual([]);
  });

  it('is BAD_REQUEST for no ids, more than 100, or a malformed id', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const id = org.defaultAccountId;
    await expectTRPCError(org.admin.accounts.names({ ids: [] }), 'BAD_REQUEST');
    const tooMany = await expectTRPCError(org.admin.accounts.names({ ids: Array(101).fill(id) }), 'BAD_REQUEST');
    expect(tooMany.message).toMatch(/at most 100 accounts/);
    await expectTRPCError(org.admin.accounts.names({ ids: ['not-an-id'] }), 'BAD_REQUEST');
  });
});
