import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appRouter } from '../root.js';
import { encodeCursor } from '../shared/cursor.js';
import { withAuditFailing } from '../test/audit-failing.js';
import {
  auditRowsOf,
  callerWithToken,
  createTestOrg,
  expectTRPCError,
  mailedResetTokenOf,
  mailedTokenOf,
  sessionOf,
  type TestOrg,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';

type Caller = TestOrg['admin'];

/** What one mutation must leave in the audit log. */
type ExpectedRow = {
  actorId: string;
  action: string;
  targetType: 'user' | 'account' | 'organization' | 'bulk_operation';
  targetId: string;
  targetLabel: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
};

type Case = {
  /** Prepares targets; runs before the audit log is watched. */
  setup: (org: TestOrg) => Promise<Record<string, string>>;
  /** The caller of the mutation (default: the org's administrator). */
  as?: (org: TestOrg, t: Record<string, string>) => Promise<Caller>;
  act: (caller: Caller, t: Record<string, string>) => Promise<unknown>;
  /** The audit rows the mutation writes, in order; null: it writes none, and why. */
  rows: ((org: TestOrg, t: Record<string, string>) => ExpectedRow[]) | { none: string };
};

/** The one audit row of a change to the case's target user (`t.id`, `t.email`), made by `actorId`. */
function userRow(
  actorId: string,
  t: Record<string, string>,
  action: string,
  before: ExpectedRow['before'],
  after: ExpectedRow['after'],
): ExpectedRow {
  return { actorId, action, targetType: 'user', targetId: t.id ?? '', targetLabel: t.email ?? '', before, after };
}

/** A setup that adds one user as the target (`then` prepares more of it, e.g. a session). */
function aUser(
  options?: Parameters<TestOrg['addUser']>[0],
  then?: (userId: string) => Promise<unknown>,
): Case['setup'] {
  return async (org) => {
    const user = await org.addUser(options);
    await then?.(user.id);
    return { id: user.id, email: user.email };
  };
}

/** For `aUser`: the user has a session (which some mutations end). */
const signedIn = async (userId: string) => sessionOf(await testDb(), userId);

/** Every mutation of the router, with the audit rows it must write. */
const cases: Record<string, Case> = {
  'auth.login': {
    setup: aUser({ canSignIn: true }),
    as: async () => callerWithToken(await testDb(), null, { clientAddress: '203.0.113.9' }),
    act: (caller, t) => caller.auth.login({ email: t.email ?? '', password: testPassword }),
    rows: (_org, t) => [
      userRow(t.id ?? '', t, 'auth.signed_in', null, { clientAddress: '203.0.113.9', endedSessions: 0 }),
    ],
  },
  'auth.logout': {
    setup: async () => ({}),
    as: async (org) => {
      const db = await testDb();
      return callerWithToken(db, (await sessionOf(db, org.adminId)).token, { clientAddress: '203.0.113.9' });
    },
    act: (caller) => caller.auth.logout(),
    rows: (org) => [
      {
        actorId: org.adminId,
        action: 'auth.signed_out',
        targetType: 'user',
        targetId: org.adminId,
        targetLabel: org.adminEmail,
        before: null,
        after: { clientAddress: '203.0.113.9' },
      },
    ],
  },
  'auth.changePassword': {
    setup: aUser({ canSignIn: true }),
    as: async (_org, t) => (await sessionOf(await testDb(), t.id ?? '')).caller,
    act: (caller) => caller.auth.changePassword({ currentPassword: testPassword, newPassword: 'a changed password' }),
    rows: (_org, t) => [userRow(t.id ?? '', t, 'user.password_changed', null, null)],
  },
  'accounts.create': {
    setup: async () => ({ email: uniqueEmail('in-new-account') }),
    act: (caller, t) =>
      caller.accounts.create({
        name: 'Audited',
        description: 'd',
        users: [{ email: t.email ?? '', firstName: 'In', lastName: 'Account' }],
      }),
    // The account, then each user it brings: so audit.list({ userId }) finds the user's creation too.
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'account.created',
        targetType: 'account',
        targetId: expect.any(String),
        targetLabel: 'Audited',
        before: null,
        after: { name: 'Audited', description: 'd', users: 1 },
      },
      {
        actorId: org.adminId,
        action: 'user.created',
        targetType: 'user',
        targetId: expect.any(String),
        targetLabel: t.email ?? '',
        before: null,
        after: {
          email: t.email,
          firstName: 'In',
          lastName: 'Account',
          role: 'user',
          accountId: expect.any(String),
          passwordSet: false,
        },
      },
      // Without a password: invited by email, in the same transaction.
      {
        actorId: org.adminId,
        action: 'user.invited',
        targetType: 'user',
        targetId: expect.any(String),
        targetLabel: t.email ?? '',
        before: null,
        after: { email: t.email, expiresAt: expect.any(String), mailId: expect.any(String) },
      },
    ],
  },
  'accounts.update': {
    setup: async (org) => ({ id: (await org.addAccount('Old name')).id }),
    act: (caller, t) => caller.accounts.update({ id: t.id ?? '', name: 'New name', description: '' }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'account.updated',
        targetType: 'account',
        targetId: t.id ?? '',
        targetLabel: 'New name',
        // The description did not change, so it is not recorded.
        before: { name: 'Old name' },
        after: { name: 'New name' },
      },
    ],
  },
  'accounts.delete': {
    setup: async (org) => {
      const account = await org.addAccount('Doomed account');
      const user = await org.addUser({ accountId: account.id, firstName: 'In', lastName: 'Doomed' });
      return { id: account.id, userId: user.id, email: user.email };
    },
    act: (caller, t) => caller.accounts.delete({ id: t.id ?? '' }),
    // The account, then every user it removes, each as users.delete records one.
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'account.deleted',
        targetType: 'account',
        targetId: t.id ?? '',
        targetLabel: 'Doomed account',
        before: { name: 'Doomed account', description: '', userCount: 1 },
        after: null,
      },
      {
        actorId: org.adminId,
        action: 'user.deleted',
        targetType: 'user',
        targetId: t.userId ?? '',
        targetLabel: t.email ?? '',
        before: { email: t.email, firstName: 'In', lastName: 'Doomed', role: 'user', active: true, accountId: t.id },
        after: null,
      },
    ],
  },
  'users.create': {
    setup: async () => ({ email: uniqueEmail('created') }),
    act: (caller, t) =>
      caller.users.create({
        accountId: t.accountId ?? '',
        email: t.email ?? '',
        firstName: 'Cre',
        lastName: 'Ated',
        password: 'its own password',
      }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'user.created',
        targetType: 'user',
        targetId: expect.any(String),
        targetLabel: t.email ?? '',
        before: null,
        after: {
          email: t.email,
          firstName: 'Cre',
          lastName: 'Ated',
          role: 'user',
          accountId: org.defaultAccountId,
          passwordSet: true,
        },
      },
    ],
  },
  'users.resendInvitation': {
    setup: aUser({ invite: true }),
    act: (caller, t) => caller.users.resendInvitation({ id: t.id ?? '' }),
    rows: (org, t) => [
      userRow(org.adminId, t, 'user.invitation_resent', null, {
        email: t.email,
        expiresAt: expect.any(String),
        mailId: expect.any(String),
      }),
    ],
  },
  'users.cancelInvitation': {
    setup: aUser({ invite: true }),
    act: (caller, t) => caller.users.cancelInvitation({ id: t.id ?? '' }),
    rows: (org, t) => [
      userRow(org.adminId, t, 'user.invitation_cancelled', { email: t.email, expiresAt: expect.any(String) }, null),
    ],
  },
  // A mutation only so the token travels in a POST body: a working link's look-up changes nothing.
  'auth.invitation': {
    setup: async (org) => {
      const user = await org.addUser({ invite: true });
      return { token: await mailedTokenOf(await testDb(), user.id) };
    },
    as: async () => callerWithToken(await testDb(), null),
    act: (caller, t) => caller.auth.invitation({ token: t.token ?? '' }),
    rows: { none: 'looking a working link up changes nothing (a refused one is audited: invitations.test.ts)' },
  },
  'auth.acceptInvitation': {
    setup: async (org) => {
      const user = await org.addUser({ invite: true });
      return { id: user.id, email: user.email, token: await mailedTokenOf(await testDb(), user.id) };
    },
    as: async () => callerWithToken(await testDb(), null, { clientAddress: '203.0.113.9' }),
    act: (caller, t) => caller.auth.acceptInvitation({ token: t.token ?? '', password: 'its own password' }),
    // The invited user acts: they proved who they are with the mailed link.
    rows: (_org, t) => [
      userRow(t.id ?? '', t, 'user.invitation_accepted', null, { clientAddress: '203.0.113.9', passwordSet: true }),
    ],
  },
  // Another email than anyone's (users get a row: resets.test.ts): nothing to record, and nothing told.
  'auth.requestPasswordReset': {
    setup: async () => ({}),
    as: async () => callerWithToken(await testDb(), null, { clientAddress: '203.0.113.9' }),
    act: (caller) => caller.auth.requestPasswordReset({ email: uniqueEmail('nobody') }),
    rows: { none: 'an email of no user: no organization to record it in' },
  },
  'auth.resetPassword': {
    setup: async (org) => {
      const user = await org.addUser({ canSignIn: true });
      return { id: user.id, email: user.email, token: await mailedResetTokenOf(await testDb(), user) };
    },
    as: async () => callerWithToken(await testDb(), null, { clientAddress: '203.0.113.9' }),
    act: (caller, t) => caller.auth.resetPassword({ token: t.token ?? '', password: 'its own password' }),
    rows: (_org, t) => [
      userRow(t.id ?? '', t, 'user.password_reset', null, { clientAddress: '203.0.113.9', endedSessions: 0 }),
    ],
  },
  'users.update': {
    setup: aUser({ firstName: 'Before', lastName: 'Same' }),
    act: (caller, t) => caller.users.update({ id: t.id ?? '', firstName: 'After', lastName: 'Same' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.updated', { firstName: 'Before' }, { firstName: 'After' })],
  },
  'users.setPassword': {
    setup: aUser({}, signedIn),
    act: (caller, t) => caller.users.setPassword({ id: t.id ?? '', password: 'set by an admin' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.password_set', null, null)],
  },
  'users.deactivate': {
    setup: aUser({}, signedIn),
    act: (caller, t) => caller.users.deactivate({ id: t.id ?? '' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.deactivated', { active: true }, { active: false })],
  },
  'users.reactivate': {
    setup: async (org) => {
      const user = await org.addUser();
      await org.admin.users.deactivate({ id: user.id });
      return { id: user.id, email: user.email };
    },
    act: (caller, t) => caller.users.reactivate({ id: t.id ?? '' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.reactivated', { active: false }, { active: true })],
  },
  'users.delete': {
    setup: aUser({ firstName: 'Del', lastName: 'Eted' }, signedIn),
    act: (caller, t) => caller.users.delete({ id: t.id ?? '' }),
    rows: (org, t) => [
      userRow(
        org.adminId,
        t,
        'user.deleted',
        {
          email: t.email,
          firstName: 'Del',
          lastName: 'Eted',
          role: 'user',
          active: true,
          accountId: org.defaultAccountId,
        },
        null,
      ),
    ],
  },
  'users.move': {
    setup: async (org) => {
      const account = await org.addAccount('Moved To');
      const user = await org.addUser();
      return { id: user.id, email: user.email, other: account.id };
    },
    act: (caller, t) => caller.users.move({ id: t.id ?? '', accountId: t.other ?? '', version: 1 }),
    rows: (org, t) => [
      userRow(org.adminId, t, 'user.moved', { accountId: org.defaultAccountId }, { accountId: t.other ?? '' }),
    ],
  },
  'users.setRole': {
    setup: aUser(),
    act: (caller, t) => caller.users.setRole({ id: t.id ?? '', role: 'admin' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.role_changed', { role: 'user' }, { role: 'admin' })],
  },
  'users.unlock': {
    setup: async (org) => {
      const user = await org.addUser();
      const lockedUntil = new Date(Date.now() + 10 * 60_000);
      await (await testDb())
        .updateTable('users')
        .set({ failedSignIns: 5, lockedUntil })
        .where('id', '=', user.id)
        .execute();
      return { id: user.id, email: user.email, lockedUntil: lockedUntil.toISOString() };
    },
    act: (caller, t) => caller.users.unlock({ id: t.id ?? '' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.unlocked', { lockedUntil: t.lockedUntil }, { lockedUntil: null })],
  },
  'users.endSessions': {
    setup: aUser({}, signedIn),
    act: (caller, t) => caller.users.endSessions({ id: t.id ?? '' }),
    rows: (org, t) => [userRow(org.adminId, t, 'user.sessions_ended', null, { ended: 1 })],
  },
  // The request writes the row of the bulk action itself; each user's row is the worker's (bulk.test.ts).
  'users.bulk': {
    setup: async (org) => {
      const user = await org.addUser();
      return { id: user.id };
    },
    act: async (caller, t) => {
      const input = { selection: { ids: [t.id ?? ''] }, action: 'deactivate' as const };
      const { preview } = await caller.users.bulk({ ...input, dryRun: true });
      const { operation } = await caller.users.bulk({ ...input, dryRun: false, previewToken: preview?.previewToken });
      t.operationId = operation?.id ?? '';
    },
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'users.bulk_action',
        targetType: 'bulk_operation',
        targetId: t.operationId ?? '',
        targetLabel: 'deactivate 1 user',
        before: null,
        after: { operationId: t.operationId, action: 'deactivate', users: 1, selection: { ids: 1 } },
      },
    ],
  },
  'apiKeys.create': {
    setup: async () => ({}),
    act: (caller) => caller.apiKeys.create({ name: 'Audited key' }),
    // The key's owner is the target, so audit.list({ userId }) shows the user's keys; never the secret.
    rows: (org) => [
      {
        actorId: org.adminId,
        action: 'api_key.created',
        targetType: 'user',
        targetId: org.adminId,
        targetLabel: org.adminEmail,
        before: null,
        after: {
          apiKeyId: expect.any(String),
          name: 'Audited key',
          prefix: expect.any(String),
          expiresAt: expect.any(String),
        },
      },
    ],
  },
  'apiKeys.revoke': {
    setup: async (org) => ({ keyId: (await org.admin.apiKeys.create({ name: 'Doomed key' })).apiKey.id }),
    act: (caller, t) => caller.apiKeys.revoke({ id: t.keyId ?? '' }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'api_key.revoked',
        targetType: 'user',
        targetId: org.adminId,
        targetLabel: org.adminEmail,
        before: { revokedAt: null },
        after: { apiKeyId: t.keyId, name: 'Doomed key', prefix: expect.any(String), revokedAt: expect.any(String) },
      },
    ],
  },
  // A SCIM connection belongs to its account: the account is the target.
  'scim.connections.create': {
    setup: async (org) => {
      const account = await org.addAccount('Provisioned');
      return { provisionedId: account.id };
    },
    act: (caller, t) => caller.scim.connections.create({ accountId: t.provisionedId ?? '', name: 'Okta' }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'scim_connection.created',
        targetType: 'account',
        targetId: t.provisionedId ?? '',
        targetLabel: 'Provisioned',
        before: null,
        after: { scimConnectionId: expect.any(String), name: 'Okta', prefix: expect.any(String) },
      },
    ],
  },
  'scim.connections.revoke': {
    setup: async (org) => {
      const account = await org.addAccount('Provisioned');
      const { connection } = await org.admin.scim.connections.create({ accountId: account.id, name: 'Doomed' });
      return { connectionId: connection.id, provisionedId: account.id };
    },
    act: (caller, t) => caller.scim.connections.revoke({ id: t.connectionId ?? '' }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'scim_connection.revoked',
        targetType: 'account',
        targetId: t.provisionedId ?? '',
        targetLabel: 'Provisioned',
        before: { revokedAt: null },
        after: {
          scimConnectionId: t.connectionId,
          name: 'Doomed',
          prefix: expect.any(String),
          revokedAt: expect.any(String),
        },
      },
    ],
  },
  // An import writes the rows the single calls would, and one for itself (on the account).
  'imports.commit': {
    setup: async (org) => {
      const user = await org.addUser({ firstName: 'Old', lastName: 'Name' });
      const fresh = uniqueEmail('imported');
      const preview = await org.previewImport(
        `email,first name,last name,active\n${user.email},New,Name,false\n${fresh},Fresh,Person,\n`,
      );
      const account = await org.admin.accounts.get({ id: org.defaultAccountId });
      return { importId: preview.id, id: user.id, email: user.email, fresh, accountName: account.name };
    },
    act: (caller, t) => caller.imports.commit({ id: t.importId ?? '' }),
    rows: (org, t) => [
      {
        actorId: org.adminId,
        action: 'account.users_imported',
        targetType: 'account',
        targetId: org.defaultAccountId,
        targetLabel: t.accountName ?? '',
        before: null,
        after: {
          importId: t.importId,
          fileName: 'users.csv',
          created: 1,
          updated: 1,
          unchanged: 0,
          skipped: 0,
          deactivated: 1,
          reactivated: 0,
          roleChanged: 0,
          sessionsEnded: 0,
          apiKeysRevoked: 0,
        },
      },
      {
        actorId: org.adminId,
        action: 'user.created',
        targetType: 'user',
        targetId: expect.any(String),
        targetLabel: t.fresh ?? '',
        before: null,
        after: {
          email: t.fresh,
          firstName: 'Fresh',
          lastName: 'Person',
          role: 'user',
          active: true,
          accountId: org.defaultAccountId,
          passwordSet: false,
        },
      },
      {
        actorId: org.adminId,
        action: 'user.invited',
        targetType: 'user',
        targetId: expect.any(String),
        targetLabel: t.fresh ?? '',
        before: null,
        after: { email: t.fresh, expiresAt: expect.any(String), mailId: expect.any(String) },
      },
      userRow(org.adminId, t, 'user.deactivated', { active: true }, { active: false }),
      userRow(org.adminId, t, 'user.updated', { firstName: 'Old' }, { firstName: 'New' }),
    ],
  },
};

const mutations = Object.entries(appRouter._def.procedures)
  .filter(([, procedure]) => (procedure as unknown as { _def: { type: string } })._def.type === 'mutation')
  .map(([path]) => path);
/** The mutations that write audit rows (a mutation without a case counts, so that it fails). */
const audited = mutations.filter((path) => {
  const kase = cases[path];
  return !kase || !('none' in kase.rows);
});

async function prepare(path: string) {
  const kase = cases[path];
  if (!kase) expect.fail(`add an entry for ${path} to the audit cases`);
  const db = await testDb();
  const org = await createTestOrg(db);
  const t = { ...(await kase.setup(org)), accountId: org.defaultAccountId };
  const caller = kase.as ? await kase.as(org, t) : org.admin;
  return { db, org, t, caller, kase };
}

/** Everything of the organization the mutations can change. */
async function snapshotOf(org: TestOrg) {
  const db = await testDb();
  const rowsOf = (table: 'accounts' | 'users' | 'apiKeys' | 'scimConnections') =>
    db.selectFrom(table).selectAll().where('organizationId', '=', org.organizationId).orderBy('id').execute();
  const accounts = await rowsOf('accounts');
  const users = await rowsOf('users');
  const sessions = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .selectAll('sessions')
    .where('users.organizationId', '=', org.organizationId)
    .orderBy('sessions.id')
    .execute();
  const apiKeys = await rowsOf('apiKeys');
  const scimConnections = await rowsOf('scimConnections');
  const audit = await auditRowsOf(db, org.organizationId);
  return { accounts, users, sessions, apiKeys, scimConnections, audit };
}

describe('audit log', () => {
  it('has a case for every mutation and none for a procedure that is gone', () => {
    expect(mutations.length).toBeGreaterThanOrEqual(13);
    expect(Object.keys(cases).filter((path) => !mutations.includes(path))).toEqual([]);
  });

  describe.each(mutations)('%s', (path) => {
    it('writes its audit rows (actor, action, target, changed fields before and after, time)', async () => {
      const { db, org, t, caller, kase } = await prepare(path);
      const before = await auditRowsOf(db, org.organizationId);
      const started = Date.now();
      await kase.act(caller, t);
      // Rows of one call share its millisecond: their order among themselves is not defined.
      const byWhat = <R extends { action: string; targetId: string | null }>(rows: R[]) =>
        [...rows].sort((a, b) => `${a.action} ${a.targetId}`.localeCompare(`${b.action} ${b.targetId}`));
      const written = byWhat((await auditRowsOf(db, org.organizationId)).slice(before.length));
      if ('none' in kase.rows) {
        expect(written, kase.rows.none).toEqual([]);
        return;
      }
      const expected = byWhat(kase.rows(org, t));
      const actor = await db
        .selectFrom('users')
        .select(['email', 'firstName', 'lastName'])
        .where('id', '=', expected[0]?.actorId ?? '')
        .executeTakeFirst();
      expect(written).toHaveLength(expected.length);
      expected.forEach((row, index) => {
        const actual = written[index];
        expect(actual).toMatchObject({
          organizationId: org.organizationId,
          actorId: row.actorId,
          actorEmail: actor?.email,
          action: row.action,
          targetType: row.targetType,
          targetId: row.targetId,
          targetLabel: row.targetLabel,
          // Who and whom as they were, kept whatever happens to them later.
          actorName: actor ? `${actor.firstName} ${actor.lastName}` : null,
          targetEmail: row.targetType === 'user' ? row.targetLabel : null,
          targetName: row.targetType === 'user' ? expect.stringMatching(/\S \S/) : null,
          accountId: row.targetType === 'user' || row.targetType === 'account' ? expect.any(String) : null,
        });
        // Exactly the changed fields: nothing more, nothing less.
        expect(actual?.changes).toEqual({ before: row.before, after: row.after });
        expect(actual?.createdAt.getTime()).toBeGreaterThanOrEqual(started - 5_000);
        expect(actual?.createdAt.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
      });
      // No secret ever reaches the log.
      const text = JSON.stringify(written);
      expect(text).not.toContain('$argon2');
      for (const secret of ['a changed password', 'its own password', 'set by an admin', testPassword]) {
        expect(text).not.toContain(secret);
      }
    });
  });

  // The change and its audit row commit together: when the row cannot be
  // written, the change is rolled back with it.
  it.each(audited)('%s changes nothing when its audit row cannot be written', async (path) => {
    const { org, t, caller, kase } = await prepare(path);
    const before = await snapshotOf(org);
    await withAuditFailing(await testDb(), org.organizationId, 'audit log unavailable', async () => {
      await expect(kase.act(caller, t)).rejects.toThrow();
    });
    expect(await snapshotOf(org)).toEqual(before);
  });
});

describe('audit.list', () => {
  it('pages newest first through every row exactly once, also when rows are added between pages', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    for (let i = 0; i < 6; i++) await org.addUser();
    const all = await auditRowsOf(db, org.organizationId);
    expect(all).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | undefined;
    let previous: { createdAt: Date; id: string } | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await org.admin.audit.list({ limit: 2, cursor });
      for (const item of result.items) {
        if (previous) {
          const order = previous.createdAt.getTime() - item.createdAt.getTime() || previous.id.localeCompare(item.id);
          expect(order).toBeGreaterThan(0);
        }
        previous = item;
      }
      seen.push(...result.items.map((i) => i.id));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
      if (page < 2) await org.addUser();
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(all.map((row) => row.id).sort());
  });

  it('filters by user, as target or as actor', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser({ role: 'admin' });
    const target = await caller.users.create({
      accountId: org.defaultAccountId,
      email: uniqueEmail(),
      firstName: 'T',
      lastName: 'T',
    });
    await org.admin.users.update({ id: user.id, firstName: 'Renamed' });
    const actions = async (userId: string) =>
      (await org.admin.audit.list({ userId })).items.map((i) => `${i.action}:${i.targetLabel}`).sort();
    expect(await actions(user.id)).toEqual(
      [
        `user.created:${user.email}`,
        `user.created:${target.email}`,
        // Created without a password by this administrator: invited.
        `user.invited:${target.email}`,
        `user.updated:${user.email}`,
      ].sort(),
    );
    expect(await actions(target.id)).toEqual([`user.created:${target.email}`, `user.invited:${target.email}`].sort());
  });

  it('keeps rows of a deleted actor whole: their id, email and name, no longer linked', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser({ role: 'admin', firstName: 'Lea', lastName: 'Ver' });
    const created = await caller.accounts.create({ name: 'By a leaver' });
    await org.admin.users.delete({ id: user.id });
    const row = (await org.admin.audit.list({})).items.find((i) => i.targetId === created.id);
    expect(row).toMatchObject({
      action: 'account.created',
      actorId: user.id,
      actorEmail: user.email,
      actorName: 'Lea Ver',
      actorExists: false,
    });
    // Their whole history, by the id they had and by the email they had.
    for (const filter of [{ userId: user.id }, { email: user.email }]) {
      const actions = (await org.admin.audit.list(filter)).items.map((i) => i.action).sort();
      expect(actions, JSON.stringify(filter)).toEqual(['account.created', 'user.created', 'user.deleted']);
    }
  });

  it('never shows another organization’s rows', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    const user = await org.addUser();
    const theirs = await other.admin.audit.list({ limit: 100 });
    expect(JSON.stringify(theirs)).not.toContain(user.id);
    expect(JSON.stringify(theirs)).not.toContain(org.organizationId);
    expect((await other.admin.audit.list({ userId: user.id })).items).toEqual([]);
  });

  it('answers a tampered cursor with BAD_REQUEST', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    for (const cursor of [
      'not base64 json',
      encodeCursor(['only one']),
      encodeCursor(['not a date', randomUUID()]),
      encodeCursor([new Date().toISOString(), 'not a uuid']),
    ]) {
      await expectTRPCError(org.admin.audit.list({ cursor }), 'BAD_REQUEST');
    }
  });
});

// Finding 8: gaps in the audit log.
describe('audit gaps', () => {
  it('deleting an account writes a user.deleted row for each user it removes, found later by id and email', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount('Closing down');
    const users = [];
    for (let i = 0; i < 3; i++)
      users.push(await org.addUser({ accountId: account.id, firstName: `U${i}`, lastName: 'X' }));
    await org.admin.accounts.delete({ id: account.id });
    const deleted = await db
      .selectFrom('auditLog')
      .select(['targetId', 'targetEmail', 'targetName', 'accountId', 'actorId'])
      .where('organizationId', '=', org.organizationId)
      .where('action', '=', 'user.deleted')
      .execute();
    expect(deleted.map((row) => row.targetId).sort()).toEqual(users.map((u) => u.id).sort());
    for (const row of deleted) expect(row).toMatchObject({ accountId: account.id, actorId: org.adminId });
    for (const user of users) {
      const byEmail = (await org.admin.audit.list({ email: user.email })).items.map((i) => i.action);
      expect(byEmail).toEqual(['user.deleted', 'user.created']);
      const byId = (await org.admin.audit.list({ userId: user.id })).items.map((i) => i.action);
      expect(byId).toEqual(['user.deleted', 'user.created']);
    }
  });

  it('keeps the target as it was when the row was written, after a rename and a deletion', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ email: uniqueEmail('before'), firstName: 'Old', lastName: 'Name' });
    await org.admin.users.setRole({ id: user.id, role: 'admin' });
    const renamedEmail = uniqueEmail('after');
    await org.admin.users.update({ id: user.id, email: renamedEmail, firstName: 'New' });
    await org.admin.users.delete({ id: user.id });
    const rows = (await org.admin.audit.list({ userId: user.id })).items.reverse();
    expect(rows.map((r) => [r.action, r.targetEmail, r.targetName, r.targetExists])).toEqual([
      ['user.created', user.email, 'Old Name', false],
      ['user.role_changed', user.email, 'Old Name', false],
      ['user.updated', renamedEmail, 'New Name', false],
      // The email change mailed both addresses (email-change.test.ts).
      ['user.email_change_notified', renamedEmail, 'New Name', false],
      ['user.deleted', renamedEmail, 'New Name', false],
    ]);
    // Both emails lead to the history written under them.
    expect((await org.admin.audit.list({ email: user.email })).items.map((i) => i.action)).toEqual([
      'user.role_changed',
      'user.created',
    ]);
  });

  it('users.unlock on a user who is not locked changes nothing and writes no row', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const stateOf = () =>
      db
        .selectFrom('users')
        .select(['failedSignIns', 'lockedUntil', 'version'])
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
    // Three failures so far (not locked), then a lock that has already run out.
    for (const lockedUntil of [null, new Date(Date.now() - 60_000)]) {
      await db.updateTable('users').set({ failedSignIns: 3, lockedUntil }).where('id', '=', user.id).execute();
      const before = await stateOf();
      const rowsBefore = (await auditRowsOf(db, org.organizationId)).length;
      await expect(org.admin.users.unlock({ id: user.id })).resolves.toMatchObject({ id: user.id, lockedUntil: null });
      expect(await stateOf()).toEqual(before);
      expect(await auditRowsOf(db, org.organizationId)).toHaveLength(rowsBefore);
    }
  });
});
