import { describe, expect, it } from 'vitest';
import type { Actor } from '../shared/actor.js';
import {
  auditRowsOf,
  createTestOrg,
  expectTRPCError,
  fieldErrorsOf,
  type TestOrg,
  testDb,
  uniqueEmail,
} from '../test/index.js';
import { deleteUser, setActive, setRole } from '../users/service.js';

const userKeys = [
  'accountId',
  'active',
  'createdAt',
  'email',
  'firstName',
  'hasPassword',
  'id',
  'invitationExpiresAt',
  'invited',
  'lastLoginAt',
  'lastName',
  'lockedUntil',
  'role',
  'updatedAt',
  'version',
];

async function activeAdminCount(org: TestOrg) {
  const db = await testDb();
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organizationId', '=', org.organizationId)
    .where('role', '=', 'admin')
    .where('active', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The actor as the service sees it after authentication, for a user id of the org. */
function actorFor(org: TestOrg, user: { id: string; email: string }): Actor {
  return {
    id: user.id,
    organizationId: org.organizationId,
    accountId: org.defaultAccountId,
    email: user.email,
    role: 'admin',
    via: 'session',
    sessionId: '00000000-0000-4000-8000-000000000000',
  };
}

describe('users.create', () => {
  it('normalizes the email, defaults the role, and returns exactly the documented fields', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const email = uniqueEmail('Mixed');
    const user = await org.admin.users.create({
      accountId: org.defaultAccountId,
      email: `  ${email.toUpperCase()}  `,
      firstName: '  Ada ',
      lastName: ' Lovelace',
    });
    expect(Object.keys(user).sort()).toEqual(userKeys);
    expect(user).toMatchObject({
      email: email.toLowerCase(),
      firstName: 'Ada',
      lastName: 'Lovelace',
      role: 'user',
      active: true,
      version: 1,
      lastLoginAt: null,
      accountId: org.defaultAccountId,
    });
    const row = await db.selectFrom('users').select('passwordHash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.passwordHash).toBeNull();
  });

  it('stores an argon2id hash of a given password, never the password', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: 'a fine password' });
    const row = await db.selectFrom('users').select('passwordHash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain('a fine password');
  });

  it('is CONFLICT for a duplicate email, whatever its case, in this or another organization', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    const existing = await org.addUser();
    const duplicate = (caller: TestOrg, email: string) =>
      caller.admin.users.create({ accountId: caller.defaultAccountId, email, firstName: 'Dup', lastName: 'Licate' });
    const conflict = await expectTRPCError(duplicate(org, existing.email), 'CONFLICT');
    expect(conflict.message).toBe('A user with this email already exists.');
    expect(fieldErrorsOf(conflict)).toEqual({ email: ['A user with this email already exists.'] });
    await expectTRPCError(duplicate(org, existing.email.toUpperCase()), 'CONFLICT');
    await expectTRPCError(duplicate(other, ` ${existing.email.replace(/^u/, 'U')}`), 'CONFLICT');
    // Nothing was written by the failed attempts.
    const rows = await db.selectFrom('users').select('id').where('email', '=', existing.email).execute();
    expect(rows).toHaveLength(1);
    expect((await auditRowsOf(db, other.organizationId)).map((r) => r.action)).toEqual(['organization.created']);
  });

  it('puts administrators only in the default account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;
    const error = await expectTRPCError(
      org.admin.users.create({
        accountId: account.id,
        email: uniqueEmail(),
        firstName: 'Would',
        lastName: 'Be',
        role: 'admin',
      }),
      'PRECONDITION_FAILED',
    );
    expect(error.message).toMatch(/default account/);
    expect((await org.admin.users.list({ accountId: account.id })).items).toEqual([]);
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(auditBefore);
    const admin = await org.addUser({ role: 'admin' });
    expect(admin.role).toBe('admin');
  });

  it('is NOT_FOUND for an account that does not exist', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    await expectTRPCError(
      org.admin.users.create({
        accountId: '00000000-0000-4000-8000-000000000000',
        email: uniqueEmail(),
        firstName: 'No',
        lastName: 'Where',
      }),
      'NOT_FOUND',
    );
  });
});

describe('users.get', () => {
  it('finds a user by id and by email in any case, and nothing else', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const byId = await org.admin.users.get({ id: user.id });
    const byEmail = await org.admin.users.get({ email: ` ${user.email.toUpperCase()} ` });
    expect(byId).toEqual(user);
    expect(byEmail).toEqual(user);
    expect(Object.keys(byId).sort()).toEqual(userKeys);
    await expectTRPCError(org.admin.users.get({ id: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND');
    await expectTRPCError(org.admin.users.get({ email: uniqueEmail('missing') }), 'NOT_FOUND');
  });
});

describe('hasPassword', () => {
  it('says whether the user can sign in with a password, everywhere a user is returned, never the hash', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const without = await org.admin.users.create({
      accountId: account.id,
      email: uniqueEmail('nopass'),
      firstName: 'No',
      lastName: 'Password',
    });
    const withOne = await org.admin.users.create({
      accountId: account.id,
      email: uniqueEmail('haspass'),
      firstName: 'Has',
      lastName: 'Password',
      password: 'a long enough password',
    });
    expect([without.hasPassword, withOne.hasPassword]).toEqual([false, true]);
    expect((await org.admin.users.get({ id: without.id })).hasPassword).toBe(false);
    const listed = await org.admin.users.list({ accountId: account.id });
    expect(Object.fromEntries(listed.items.map((u) => [u.id, u.hasPassword]))).toEqual({
      [without.id]: false,
      [withOne.id]: true,
    });
    const found = await org.admin.users.search({ accountId: account.id });
    expect(found.items.find((u) => u.id === without.id)?.hasPassword).toBe(false);
    const updated = await org.admin.users.update({ id: without.id, lastName: 'Still None' });
    expect(updated.hasPassword).toBe(false);
    const set = await org.admin.users.setPassword({ id: without.id, password: 'now it has a password' });
    expect(set.hasPassword).toBe(true);
    expect((await org.admin.users.get({ id: without.id })).hasPassword).toBe(true);
    for (const user of [without, withOne, set]) {
      expect(JSON.stringify(user)).not.toMatch(/argon2|passwordHash/);
    }
  });
});

describe('users.update', () => {
  it('changes the given fields, bumps the version and updatedAt, and leaves the rest', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ firstName: 'Old', lastName: 'Name' });
    const newEmail = uniqueEmail('renamed');
    const updated = await org.admin.users.update({
      id: user.id,
      firstName: 'New',
      email: newEmail.toUpperCase(),
      version: user.version,
    });
    expect(updated).toMatchObject({ firstName: 'New', lastName: 'Name', email: newEmail, version: user.version + 1 });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(user.updatedAt.getTime());
    expect(updated.createdAt).toEqual(user.createdAt);
    expect(await org.admin.users.get({ id: user.id })).toEqual(updated);
  });

  it('is CONFLICT with a stale version, and the newer change is not lost', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ firstName: 'First' });
    // Two editors load version 1; the first one saves.
    const first = await org.admin.users.update({ id: user.id, firstName: 'Saved', version: user.version });
    const error = await expectTRPCError(
      org.admin.users.update({ id: user.id, lastName: 'Overwrite', version: user.version }),
      'CONFLICT',
    );
    expect(error.message).toMatch(/changed by someone else/);
    expect(await org.admin.users.get({ id: user.id })).toEqual(first);
    // The same stale version on deactivate and reactivate.
    await expectTRPCError(org.admin.users.deactivate({ id: user.id, version: user.version }), 'CONFLICT');
    expect((await org.admin.users.get({ id: user.id })).active).toBe(true);
  });

  it('is CONFLICT for an email another user has, in any case', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const a = await org.addUser();
    const b = await org.addUser();
    const conflict = await expectTRPCError(
      org.admin.users.update({ id: b.id, email: a.email.toUpperCase() }),
      'CONFLICT',
    );
    expect(fieldErrorsOf(conflict)).toEqual({ email: ['A user with this email already exists.'] });
    expect(await org.admin.users.get({ id: b.id })).toEqual(b);
  });

  it('changes nothing (no version bump, no audit row) when nothing differs', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ firstName: 'Same' });
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;
    const result = await org.admin.users.update({ id: user.id, firstName: 'Same', email: user.email.toUpperCase() });
    expect(result).toEqual(user);
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(auditBefore);
  });
});

describe('deactivate, reactivate, delete', () => {
  it('deactivate and reactivate flip `active` and keep the user', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const off = await org.admin.users.deactivate({ id: user.id, version: user.version });
    expect(off).toMatchObject({ active: false, version: user.version + 1 });
    expect(await org.admin.users.get({ id: user.id })).toMatchObject({ active: false });
    const on = await org.admin.users.reactivate({ id: user.id, version: off.version });
    expect(on).toMatchObject({ active: true, version: off.version + 1 });
  });

  it('delete is permanent and returns the deleted user', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const user = await org.addUser({ accountId: account.id });
    const deleted = await org.admin.users.delete({ id: user.id });
    expect(deleted).toEqual(user);
    await expectTRPCError(org.admin.users.get({ id: user.id }), 'NOT_FOUND');
    await expectTRPCError(org.admin.users.delete({ id: user.id }), 'NOT_FOUND');
    expect((await org.admin.accounts.get({ id: account.id })).userCount).toBe(0);
    // The email is free again.
    await org.addUser({ email: user.email });
  });
});

describe('acting on yourself', () => {
  it.each([
    ['deactivate', (org: TestOrg) => org.admin.users.deactivate({ id: org.adminId })],
    ['delete', (org: TestOrg) => org.admin.users.delete({ id: org.adminId })],
    ['demote', (org: TestOrg) => org.admin.users.setRole({ id: org.adminId, role: 'user' })],
  ])('%s yourself is PRECONDITION_FAILED, even with another administrator around', async (_, act) => {
    const db = await testDb();
    const org = await createTestOrg(db);
    await org.addUser({ role: 'admin' });
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;
    const error = await expectTRPCError(act(org), 'PRECONDITION_FAILED');
    expect(error.message).toMatch(/yourself/);
    expect(await org.admin.auth.me()).toMatchObject({ id: org.adminId, role: 'admin', active: true });
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(auditBefore);
  });
});

describe('the last active administrator', () => {
  // Through the API the caller is itself an active administrator, so the target is
  // never the last one unless the caller lost its rights meanwhile (see
  // concurrency.test.ts). Here the service runs for an actor that was deactivated
  // after it authenticated: the rule alone must stop it.
  async function orgWithStaleActor() {
    const db = await testDb();
    const org = await createTestOrg(db);
    const stale = await org.addUser({ role: 'admin' });
    await db.updateTable('users').set({ active: false }).where('id', '=', stale.id).execute();
    expect(await activeAdminCount(org)).toBe(1);
    return { db, org, actor: actorFor(org, stale) };
  }

  it('cannot be deactivated', async () => {
    const { db, org, actor } = await orgWithStaleActor();
    const error = await expectTRPCError(
      setActive(db, actor, { id: org.adminId, active: false }),
      'PRECONDITION_FAILED',
    );
    expect(error.message).toMatch(/last active administrator/);
    expect(await activeAdminCount(org)).toBe(1);
  });

  it('cannot be deleted', async () => {
    const { db, org, actor } = await orgWithStaleActor();
    await expectTRPCError(deleteUser(db, actor, org.adminId), 'PRECONDITION_FAILED');
    expect(await activeAdminCount(org)).toBe(1);
  });

  it('cannot be demoted', async () => {
    const { db, org, actor } = await orgWithStaleActor();
    await expectTRPCError(setRole(db, actor, { id: org.adminId, role: 'user' }), 'PRECONDITION_FAILED');
    expect(await activeAdminCount(org)).toBe(1);
  });

  it('does not block changes to other administrators while another active one remains', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const second = await org.addUser({ role: 'admin' });
    const third = await org.addUser({ role: 'admin' });
    await org.admin.users.deactivate({ id: second.id });
    await org.admin.users.setRole({ id: third.id, role: 'user' });
    // An inactive administrator is not counted, and may go.
    await org.admin.users.delete({ id: second.id });
    expect(await activeAdminCount(org)).toBe(1);
  });
});

describe('users.setRole', () => {
  it('promotes a user of the default account and demotes it back', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    expect(await org.admin.users.setRole({ id: user.id, role: 'admin' })).toMatchObject({ role: 'admin', version: 2 });
    expect(await org.admin.users.setRole({ id: user.id, role: 'user' })).toMatchObject({ role: 'user', version: 3 });
  });

  it("takes effect on the user's live session at its next call", async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser({ role: 'admin' });
    expect((await caller.users.search({})).items.length).toBeGreaterThan(0);
    await org.admin.users.setRole({ id: user.id, role: 'user' });
    await expectTRPCError(caller.users.search({}), 'FORBIDDEN');
    // Still signed in, as a plain user.
    expect(await caller.auth.me()).toMatchObject({ id: user.id, role: 'user' });
  });

  it('refuses to make a user of another account an administrator', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const user = await org.addUser({ accountId: account.id });
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;
    const error = await expectTRPCError(org.admin.users.setRole({ id: user.id, role: 'admin' }), 'PRECONDITION_FAILED');
    expect(error.message).toMatch(/default account/);
    expect(await org.admin.users.get({ id: user.id })).toEqual(user);
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(auditBefore);
  });
});

describe('users.list and users.search', () => {
  it('lists the users of one account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const inside = [await org.addUser({ accountId: account.id }), await org.addUser({ accountId: account.id })];
    await org.addUser();
    const page = await org.admin.users.list({ accountId: account.id });
    expect(page.items.map((u) => u.id).sort()).toEqual(inside.map((u) => u.id).sort());
    expect(page.nextCursor).toBeNull();
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(userKeys);
  });

  it('matches email, first and last name case-insensitively, with filters', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const tag = uniqueEmail('q').slice(2, 10);
    const ada = await org.addUser({ firstName: `Ada${tag}`, lastName: 'Lovelace', accountId: account.id });
    const grace = await org.addUser({ firstName: 'Grace', lastName: `Hopper${tag}` });
    const mail = await org.addUser({ email: `mail-${tag}@Example.test`, role: 'admin' });
    await org.admin.users.deactivate({ id: grace.id });
    const ids = async (input: Parameters<typeof org.admin.users.search>[0]) =>
      (await org.admin.users.search(input)).items.map((u) => u.id).sort();

    expect(await ids({ query: tag.toUpperCase() })).toEqual([ada.id, grace.id, mail.id].sort());
    expect(await ids({ query: `ADA${tag}` })).toEqual([ada.id]);
    expect(await ids({ query: `hopper${tag}` })).toEqual([grace.id]);
    expect(await ids({ query: `MAIL-${tag}@example` })).toEqual([mail.id]);
    expect(await ids({ query: tag, active: false })).toEqual([grace.id]);
    expect(await ids({ query: tag, active: true })).toEqual([ada.id, mail.id].sort());
    expect(await ids({ query: tag, role: 'admin' })).toEqual([mail.id]);
    expect(await ids({ query: tag, accountId: account.id })).toEqual([ada.id]);
    // Short queries match the start of a field.
    expect(await ids({ query: 'ad', accountId: account.id })).toEqual([ada.id]);
    // Without a query: everyone of the organization, its administrator included.
    expect(await ids({ limit: 100 })).toEqual([org.adminId, ada.id, grace.id, mail.id].sort());
  });

  it('treats LIKE metacharacters in a query literally', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const percent = await org.addUser({ firstName: '50%off', lastName: 'Sale' });
    const underscore = await org.addUser({ firstName: 'a_b', lastName: 'Under' });
    const backslash = await org.addUser({ firstName: 'back\\slash', lastName: 'Slash' });
    // Decoys that a wildcard would match.
    await org.addUser({ firstName: '50xoff', lastName: 'Sale' });
    await org.addUser({ firstName: 'axb', lastName: 'Under' });
    await org.addUser({ firstName: 'backslash', lastName: 'Slash' });
    const ids = async (query: string) => (await org.admin.users.search({ query })).items.map((u) => u.id);

    expect(await ids('50%off')).toEqual([percent.id]);
    expect(await ids('%')).toEqual([]);
    expect(await ids('%o')).toEqual([]);
    expect(await ids('a_b')).toEqual([underscore.id]);
    expect(await ids('a_')).toEqual([underscore.id]);
    expect(await ids('_')).toEqual([]);
    expect(await ids('k\\s')).toEqual([backslash.id]);
    expect(await ids('back\\')).toEqual([backslash.id]);
    expect(await ids('\\')).toEqual([]);
  });

  it('pages through every user exactly once, also when users are added between pages', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const initial = [];
    for (let i = 0; i < 7; i++) initial.push(await org.addUser({ accountId: account.id }));
    const seen: string[] = [];
    const added: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await org.admin.users.list({ accountId: account.id, limit: 2, cursor });
      expect(result.items.length).toBeLessThanOrEqual(2);
      seen.push(...result.items.map((u) => u.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
      // Someone adds a user before the next page is fetched.
      if (page < 3) added.push((await org.addUser({ accountId: account.id })).id);
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const user of initial) expect(seen).toContain(user.id);
    // Users added meanwhile appear at most once (each is either before or after the cursor).
    expect(seen.filter((id) => added.includes(id)).length).toBeLessThanOrEqual(added.length);

    // The search pages the same way.
    const searched: string[] = [];
    cursor = undefined;
    do {
      const result = await org.admin.users.search({ accountId: account.id, limit: 3, cursor });
      searched.push(...result.items.map((u) => u.id));
      cursor = result.nextCursor ?? undefined;
    } while (cursor);
    expect(searched.sort()).toEqual([...initial.map((u) => u.id), ...added].sort());
  });
});
