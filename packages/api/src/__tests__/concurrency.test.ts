import { TRPCError } from '@trpc/server';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  activeAdminsOf,
  auditRowsOf,
  createTestOrg,
  type TestOrg,
  testDb,
  testServerUrl,
  uniqueEmail,
} from '../test/index.js';

/**
 * Races. On Postgres the calls of a Promise.all really run at once, each on its
 * own connection; on PGlite they are serialized, and the rules must hold as well.
 */

type Settled = 'ok' | TRPCError['code'];

async function settle(calls: Promise<unknown>[]): Promise<Settled[]> {
  const results = await Promise.allSettled(calls);
  return results.map((result) => {
    if (result.status === 'fulfilled') return 'ok';
    if (result.reason instanceof TRPCError) return result.reason.code;
    throw result.reason;
  });
}

const count = (outcomes: Settled[], outcome: Settled) => outcomes.filter((o) => o === outcome).length;

const activeAdmins = async (org: TestOrg) => activeAdminsOf(await testDb(), org.organizationId);

/** An organization with exactly two active administrators, each signed in. */
async function twoAdmins() {
  const db = await testDb();
  const org = await createTestOrg(db);
  const { user: second, caller: secondCaller } = await org.addSignedInUser({ role: 'admin' });
  const first = { id: org.adminId, caller: org.admin };
  return { org, first, second: { id: second.id, caller: secondCaller } };
}

type Admins = Awaited<ReturnType<typeof twoAdmins>>;

const races: [string, (a: Admins) => Promise<unknown>[]][] = [
  [
    'deactivate each other',
    ({ first, second }) => [
      first.caller.users.deactivate({ id: second.id }),
      second.caller.users.deactivate({ id: first.id }),
    ],
  ],
  [
    'delete each other',
    ({ first, second }) => [first.caller.users.delete({ id: second.id }), second.caller.users.delete({ id: first.id })],
  ],
  [
    'demote each other',
    ({ first, second }) => [
      first.caller.users.setRole({ id: second.id, role: 'user' }),
      second.caller.users.setRole({ id: first.id, role: 'user' }),
    ],
  ],
  [
    'one deactivates, the other deletes',
    ({ first, second }) => [
      first.caller.users.deactivate({ id: second.id }),
      second.caller.users.delete({ id: first.id }),
    ],
  ],
  [
    'one demotes, the other deactivates',
    ({ first, second }) => [
      first.caller.users.setRole({ id: second.id, role: 'user' }),
      second.caller.users.deactivate({ id: first.id }),
    ],
  ],
];

/**
 * Runs the calls while a transaction of the test holds both administrators' rows,
 * releasing them only once both calls wait on a lock: both changes are then in
 * flight at once, past authentication, each about to count the administrators.
 */
async function inFlightTogether(admins: Admins, calls: () => Promise<unknown>[]): Promise<Settled[]> {
  const db = await testDb();
  let started: Promise<Settled[]> | undefined;
  await db.transaction().execute(async (tx) => {
    await tx
      .selectFrom('users')
      .select('id')
      .where('id', 'in', [admins.first.id, admins.second.id])
      .forUpdate()
      .execute();
    started = settle(calls());
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await sql<{ waiting: number }>`
        select count(*)::int as waiting from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
      if ((rows[0]?.waiting ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error('the two calls never both waited on a lock');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  if (!started) throw new Error('not started');
  return started;
}

describe('the last two administrators acting on each other at the same instant', () => {
  // Whichever way the race goes, one change wins and one administrator stays.
  // The loser is refused by the rule, or (when the winner's commit came before
  // it even authenticated) by its own ended session or lost role.
  it.each(races)('%s: exactly one succeeds and one active administrator remains', async (_, race) => {
    for (let round = 0; round < (testServerUrl ? 4 : 2); round++) {
      const admins = await twoAdmins();
      const outcomes = await settle(race(admins));
      expect(count(outcomes, 'ok'), `round ${round + 1}: ${outcomes}`).toBe(1);
      expect(['PRECONDITION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN']).toContain(outcomes.find((o) => o !== 'ok'));
      // On PGlite the calls queue for its one connection in order: both authenticate, then
      // both transactions run, so the second always meets the rule.
      if (!testServerUrl) expect(outcomes).toContain('PRECONDITION_FAILED');
      expect(await activeAdmins(admins.org), `round ${round + 1}`).toHaveLength(1);
    }
  });

  it.runIf(testServerUrl).each(races)(
    '%s, with both transactions open at once (Postgres): the rule refuses the second',
    async (_, race) => {
      const admins = await twoAdmins();
      const outcomes = await inFlightTogether(admins, () => race(admins));
      expect(outcomes.sort()).toEqual(['PRECONDITION_FAILED', 'ok']);
      expect(await activeAdmins(admins.org)).toHaveLength(1);
    },
  );
});

describe('duplicate emails racing', () => {
  it('20 creates of one email (in assorted cases): exactly one succeeds, 19 are CONFLICT', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const email = uniqueEmail('race');
    const outcomes = await settle(
      Array.from({ length: 20 }, (_, i) =>
        org.admin.users.create({
          accountId: i % 2 ? account.id : org.defaultAccountId,
          email: i % 3 ? email : email.toUpperCase(),
          firstName: `Racer${i}`,
          lastName: 'Same',
        }),
      ),
    );
    expect(count(outcomes, 'ok')).toBe(1);
    expect(count(outcomes, 'CONFLICT')).toBe(19);
    const rows = await db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(rows).toHaveLength(1);
    // Only the winner was audited (its creation, and its invitation: it has no password).
    const created = (await auditRowsOf(db, org.organizationId)).filter((r) => r.targetLabel === email);
    expect(created.map((r) => r.action).sort()).toEqual(['user.created', 'user.invited']);
    // ... and only the winner was mailed.
    const mails = await db.selectFrom('mailOutbox').select('id').where('toAddress', '=', email).execute();
    expect(mails).toHaveLength(1);
  });

  it('two organizations creating one email at once: one wins', async () => {
    const db = await testDb();
    const [a, b] = await Promise.all([createTestOrg(db), createTestOrg(db)]);
    const email = uniqueEmail('cross');
    const outcomes = await settle(
      [a, b].map((org) =>
        org.admin.users.create({ accountId: org.defaultAccountId, email, firstName: 'X', lastName: 'Y' }),
      ),
    );
    expect(outcomes.sort()).toEqual(['CONFLICT', 'ok']);
  });

  it('accounts created at once with a shared user email: one account exists, with its users', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const shared = uniqueEmail('shared');
    const outcomes = await settle(
      [1, 2, 3].map((n) =>
        org.admin.accounts.create({
          name: `Racing ${n}`,
          users: [
            { email: uniqueEmail(`own${n}`), firstName: 'Own', lastName: `${n}` },
            { email: shared, firstName: 'Shared', lastName: `${n}` },
          ],
        }),
      ),
    );
    expect(count(outcomes, 'ok')).toBe(1);
    expect(count(outcomes, 'CONFLICT')).toBe(2);
    const accounts = (await org.admin.accounts.list({ query: 'Racing' })).items;
    expect(accounts).toHaveLength(1);
    expect(accounts[0]?.userCount).toBe(2);
  });

  it('accounts created at once with one name: one wins', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const outcomes = await settle(
      ['Samename', 'SAMENAME', 'samename'].map((name) => org.admin.accounts.create({ name })),
    );
    expect(outcomes.sort()).toEqual(['CONFLICT', 'CONFLICT', 'ok']);
  });
});

describe('optimistic concurrency racing', () => {
  it('two saves of one version: one succeeds, the other is CONFLICT, and the winner’s change stands', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const second = await org.addSignedInUser({ role: 'admin' });
    const user = await org.addUser({ firstName: 'Start', lastName: 'Start' });
    const results = await Promise.allSettled([
      org.admin.users.update({ id: user.id, firstName: 'FromFirst', version: user.version }),
      second.caller.users.update({ id: user.id, lastName: 'FromSecond', version: user.version }),
    ]);
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as TRPCError).code));
    expect([...outcomes].sort()).toEqual(['CONFLICT', 'ok']);
    const stored = await org.admin.users.get({ id: user.id });
    expect(stored.version).toBe(user.version + 1);
    expect(stored).toEqual(
      outcomes[0] === 'ok'
        ? (results[0] as PromiseFulfilledResult<unknown>).value
        : (results[1] as PromiseFulfilledResult<unknown>).value,
    );
    expect(stored.firstName === 'Start' || stored.lastName === 'Start').toBe(true);
  });

  it('two administrators deactivating one user at once: it ends inactive, with one audit row', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const second = await org.addSignedInUser({ role: 'admin' });
    const user = await org.addUser();
    const outcomes = await settle([
      org.admin.users.deactivate({ id: user.id }),
      second.caller.users.deactivate({ id: user.id }),
    ]);
    expect(outcomes).toEqual(['ok', 'ok']);
    expect((await org.admin.users.get({ id: user.id })).active).toBe(false);
    const rows = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'user.deactivated');
    expect(rows).toHaveLength(1);
  });
});
