import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createAccount } from '../accounts/service.js';
import { createApiKey } from '../api-keys/service.js';
import { mapDatabaseError } from '../errors.js';
import { authenticateConnection, createConnection, revokeConnection } from '../scim/connections-service.js';
import { createScimUser } from '../scim/users-service.js';
import type { Actor } from '../shared/actor.js';
import { defaultApiKeyConfig, defaultMailConfig } from '../shared/config.js';
import {
  auditRowsOf,
  callerAs,
  createTestOrg,
  errorDataOf,
  type TestOrg,
  testDb,
  testServerUrl,
  uniqueEmail,
} from '../test/index.js';
import { createUser, deleteUser, setActive, updateUser } from '../users/service.js';

// A request is authorized when it starts; its change commits later. A caller
// who loses their access in between (deactivated, demoted, deleted, their SCIM
// connection revoked) must change nothing: every audit writer confirms the
// caller in the change's own transaction (audit/queries.ts confirmActor).

type Target = { org: TestOrg; userId: string; accountId: string };

/** Audited changes an administrator makes, each as its service runs it with the actor it was authorized as. */
const changes: Record<string, (db: Kysely<Database>, actor: Actor, target: Target) => Promise<unknown>> = {
  'users.create': (db, actor, { accountId }) =>
    createUser(
      db,
      actor,
      { accountId, email: uniqueEmail('late'), firstName: 'Late', lastName: 'Create', sendInvitation: false },
      defaultMailConfig,
    ),
  'users.update': (db, actor, { userId }) =>
    updateUser(db, actor, { id: userId, firstName: 'Changed' }, defaultMailConfig),
  'users.deactivate': (db, actor, { userId }) => setActive(db, actor, { id: userId, active: false }),
  'users.delete': (db, actor, { userId }) => deleteUser(db, actor, userId),
  'accounts.create': (db, actor) =>
    createAccount(db, actor, { name: `Late ${uniqueEmail()}`, users: [] }, defaultMailConfig),
  'apiKeys.create': (db, actor) => createApiKey(db, actor, { name: 'Late key' }, defaultApiKeyConfig),
  'scim.connections.create': (db, actor, { accountId }) => createConnection(db, actor, { accountId, name: 'Late' }),
};

/**
 * Changes refused before their audit row, by a check of their own: a key's
 * owner is locked and must be active (UNAUTHENTICATED), and a deleted caller's
 * new connection would refer to a user who is gone (the foreign key: NOT_FOUND).
 */
const earlierRefusals: Record<string, Partial<Record<keyof typeof losses, { reason: string; code: string }>>> = {
  'apiKeys.create': {
    deactivated: { reason: 'UNAUTHENTICATED', code: 'UNAUTHORIZED' },
    deleted: { reason: 'UNAUTHENTICATED', code: 'UNAUTHORIZED' },
  },
  'scim.connections.create': { deleted: { reason: 'NOT_FOUND', code: 'NOT_FOUND' } },
};

/** How the administrator loses their access, done by a second administrator, and the refusal it brings. */
const losses = {
  demoted: { reason: 'ACCESS_CHANGED', code: 'FORBIDDEN' },
  deactivated: { reason: 'USER_DEACTIVATED', code: 'UNAUTHORIZED' },
  deleted: { reason: 'USER_DELETED', code: 'UNAUTHORIZED' },
} as const;

async function loseAccess(org: TestOrg, db: Kysely<Database>, loss: keyof typeof losses) {
  const second = await org.addUser({ role: 'admin' });
  const other = await callerAs(db, second.id);
  if (loss === 'demoted') await other.users.setRole({ id: org.adminId, role: 'user' });
  if (loss === 'deactivated') await other.users.deactivate({ id: org.adminId });
  if (loss === 'deleted') await other.users.delete({ id: org.adminId });
}

/** What a refused change must leave as it was: the target user, the organization's accounts, keys and audit. */
async function snapshot(db: Kysely<Database>, target: Target) {
  const user = await db.selectFrom('users').selectAll().where('id', '=', target.userId).executeTakeFirst();
  const count = async (table: 'accounts' | 'users' | 'scimConnections') =>
    (
      await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organizationId', '=', target.org.organizationId)
        .executeTakeFirstOrThrow()
    ).n;
  const keys = await db
    .selectFrom('apiKeys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return {
    user,
    accounts: Number(await count('accounts')),
    users: Number(await count('users')),
    connections: Number(await count('scimConnections')),
    keys: Number(keys.n),
    audit: (await auditRowsOf(db, target.org.organizationId)).length,
  };
}

describe('a change whose caller lost their access after being authorized changes nothing', () => {
  for (const [loss, refusal] of Object.entries(losses) as [
    keyof typeof losses,
    (typeof losses)[keyof typeof losses],
  ][]) {
    it.each(Object.keys(changes))(`%s, by an administrator ${loss} meanwhile`, async (name) => {
      const db = await testDb();
      const org = await createTestOrg(db);
      const account = await org.addAccount();
      const user = await org.addUser({ accountId: account.id, firstName: 'Before' });
      const target = { org, userId: user.id, accountId: account.id };
      // Authorized as an administrator: the actor the request carries from here on.
      const authorized = org.adminActor;
      await loseAccess(org, db, loss);
      const before = await snapshot(db, target);
      const change = changes[name];
      if (!change) throw new Error(`no change named ${name}`);
      const error = await change(db, authorized, target).then(
        () => expect.fail(`${name} went through for an administrator ${loss} before it committed`),
        // As the router answers it: a database error becomes its tRPC error (trpc.ts `guarded`).
        (caught: unknown) => mapDatabaseError(caught) ?? caught,
      );
      const expected = earlierRefusals[name]?.[loss] ?? refusal;
      expect(errorDataOf(error as Parameters<typeof errorDataOf>[0])).toMatchObject(expected);
      expect(await snapshot(db, target)).toEqual(before);
    });
  }

  it('the same administrator, still an administrator, makes each of these changes (the check lets them through)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    for (const [name, change] of Object.entries(changes)) {
      const user = await org.addUser({ accountId: account.id });
      await expect(
        change(db, org.adminActor, { org, userId: user.id, accountId: account.id }),
        name,
      ).resolves.toBeTruthy();
    }
  });

  it('an account administrator moved to another account meanwhile changes nothing in the old one', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const elsewhere = await org.addAccount();
    const delegate = await org.addUser({ accountId: account.id, role: 'account_admin' });
    const user = await org.addUser({ accountId: account.id, firstName: 'Before' });
    const authorized: Actor = {
      ...org.adminActor,
      id: delegate.id,
      email: delegate.email,
      role: 'account_admin',
      accountId: account.id,
    };
    await org.admin.users.move({ id: delegate.id, accountId: elsewhere.id, version: delegate.version });
    const error = await updateUser(db, authorized, { id: user.id, firstName: 'Changed' }, defaultMailConfig).catch(
      (caught: unknown) => caught,
    );
    expect(errorDataOf(error as Parameters<typeof errorDataOf>[0]).reason).toBe('ACCESS_CHANGED');
    expect((await org.admin.users.get({ id: user.id })).firstName).toBe('Before');
  });

  it('a SCIM request whose connection was revoked meanwhile creates nobody', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const { token, connection } = await org.admin.scim.connections.create({ accountId: account.id, name: 'IdP' });
    const actor = await authenticateConnection(db, token);
    if (!actor) throw new Error('the new connection did not authenticate');
    await revokeConnection(db, org.adminActor, connection.id);
    const email = uniqueEmail('scim-late');
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, active: true };
    const error = await createScimUser(db, actor, body, 'https://roster.test/scim/v2', defaultMailConfig).catch(
      (caught: unknown) => caught,
    );
    expect(errorDataOf(error as Parameters<typeof errorDataOf>[0]).reason).toBe('UNAUTHENTICATED');
    const created = await db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(created).toEqual([]);
  });
});

describe.runIf(testServerUrl)('on Postgres, requests in flight when their caller is demoted', () => {
  it('16 changes authorized before the demotion and committing after it: all refused, none applied', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const users = await Promise.all(Array.from({ length: 16 }, () => org.addUser({ firstName: 'Before' })));
    const second = await org.addUser({ role: 'admin' });
    const other = await callerAs(db, second.id);
    let inFlight: Promise<PromiseSettledResult<unknown>[]> | undefined;
    // The demotion holds the administrator's row while the 16 requests are authorized (a read, never blocked)
    // and run up to their audit row, where each waits for it; then it commits.
    await db.transaction().execute(async (tx) => {
      await sql`select id from users where id = ${org.adminId} for update`.execute(tx);
      inFlight = Promise.allSettled(users.map((user) => org.admin.users.update({ id: user.id, firstName: 'After' })));
      const deadline = Date.now() + 60_000;
      for (;;) {
        // pg_stat_activity is read once per transaction unless its snapshot is cleared.
        await sql`select pg_stat_clear_snapshot()`.execute(tx);
        const { rows } = await sql<{ waiting: number }>`
          select count(*)::int as waiting from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`.execute(tx);
        if ((rows[0]?.waiting ?? 0) >= users.length) break;
        if (Date.now() > deadline) throw new Error('the 16 requests never reached the lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await sql`update users set role = 'user' where id = ${org.adminId}`.execute(tx);
    });
    const outcomes = await (inFlight ?? Promise.resolve([]));
    expect(outcomes).toHaveLength(users.length);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect(errorDataOf(outcome.reason).reason).toBe('ACCESS_CHANGED');
    }
    const names = await db
      .selectFrom('users')
      .select('firstName')
      .where(
        'id',
        'in',
        users.map((user) => user.id),
      )
      .execute();
    expect(names.map((row) => row.firstName)).toEqual(users.map(() => 'Before'));
    // The second administrator still works: the check refuses only the demoted one.
    await expect(other.users.update({ id: users[0]?.id ?? '', firstName: 'By the other' })).resolves.toMatchObject({
      firstName: 'By the other',
    });
  });
});
