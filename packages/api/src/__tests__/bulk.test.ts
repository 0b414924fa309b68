import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runBulkWork } from '../bulk/service.js';
import {
  auditRowsOf,
  callerAs,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  sessionOf,
  type TestOrg,
  testDb,
  testServerUrl,
} from '../test/index.js';

console.log(`bulk actions run on ${testServerUrl ? 'PostgreSQL' : 'PGlite'}`);

type Caller = TestOrg['admin'];
type BulkArgs = Parameters<Caller['users']['bulk']>[0];
type Selection = BulkArgs['selection'];

/** Previews, applies with the preview's token, and runs the worker to the end; returns the preview and the final status. */
async function bulk(
  db: Kysely<Database>,
  caller: Caller,
  args: { selection: Selection; action: BulkArgs['action']; toAccountId?: string },
  work = true,
) {
  const { preview } = await caller.users.bulk({ ...args, dryRun: true });
  if (!preview) throw new Error('no preview');
  const { operation } = await caller.users.bulk({ ...args, dryRun: false, previewToken: preview.previewToken });
  if (!operation) throw new Error('no operation');
  if (work) await runBulkWork(db);
  const status = await caller.users.bulkStatus({ id: operation.id, limit: 100 });
  return { preview, operation, status };
}

const userRow = (db: Kysely<Database>, id: string) =>
  db.selectFrom('users').select(['active', 'accountId', 'role', 'lockedUntil']).where('id', '=', id).executeTakeFirst();

const liveSessions = async (db: Kysely<Database>, userId: string) =>
  Number(
    (
      await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('userId', '=', userId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('users.bulk preview', () => {
  it('counts who changes and who is skipped and why, and what it ends, changing nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Other');
    const a = await org.addSignedInUser();
    const b = await org.addUser({ canSignIn: true });
    await sessionOf(db, b.id);
    await sessionOf(db, b.id);
    await (await callerAs(db, b.id)).apiKeys.create({ name: 'script' });
    const inactive = await org.addUser();
    await org.admin.users.deactivate({ id: inactive.id });
    const foreign = await other.addUser();

    const { preview } = await org.admin.users.bulk({
      selection: { ids: [a.user.id, b.id, inactive.id, org.adminId, foreign.id, crypto.randomUUID()] },
      action: 'deactivate',
      dryRun: true,
    });
    expect(preview).toMatchObject({
      action: 'deactivate',
      total: 4,
      affected: 2,
      // a's session; b's two, and the one the key was created from.
      ends: { sessions: 4, apiKeys: 1 },
    });
    expect(preview?.skipped).toEqual([
      { reason: 'self', count: 1, message: 'You cannot do this to yourself' },
      { reason: 'already', count: 1, message: 'Already deactivated' },
      { reason: 'not_found', count: 2, message: 'Not found' },
    ]);
    expect(preview?.previewToken).toMatch(/^[\w-]{20,}$/);
    // A preview changes nothing and writes nothing.
    expect((await userRow(db, b.id))?.active).toBe(true);
    expect((await userRow(db, foreign.id))?.active).toBe(true);
    const rows = await auditRowsOf(db, org.organizationId);
    expect(rows.filter((r) => r.action === 'users.bulk_action')).toHaveLength(0);
  });

  it('selects by search at any size: the same filters as users.search', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const tag = `zq${crypto.randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 7; i++) await org.addUser({ accountId: account.id, lastName: `${tag}son` });
    await org.addUser({ accountId: account.id, lastName: 'Other' });
    await org.addUser({ lastName: `${tag}son` }); // another account

    const byQuery = await org.admin.users.bulk({
      selection: { search: { query: tag, accountId: account.id } },
      action: 'deactivate',
      dryRun: true,
    });
    expect(byQuery.preview).toMatchObject({ total: 7, affected: 7, skipped: [] });
    const whole = await org.admin.users.bulk({
      selection: { search: { accountId: account.id } },
      action: 'reactivate',
      dryRun: true,
    });
    expect(whole.preview).toMatchObject({
      total: 8,
      affected: 0,
      skipped: [{ reason: 'already', count: 8, message: 'Already active' }],
    });
  });

  it('selects by the dormant filter exactly the users the list shows, and applies to them only', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await org.addUser({ accountId: account.id }));
    // Two signed in long ago, two today, two never.
    const signedIn = (id: string, at: Date) =>
      db.updateTable('users').set({ lastLoginAt: at }).where('id', '=', id).execute();
    await signedIn((users[0] as { id: string }).id, new Date('2025-01-01T00:00:00Z'));
    await signedIn((users[1] as { id: string }).id, new Date('2025-02-01T00:00:00Z'));
    await signedIn((users[2] as { id: string }).id, new Date());
    await signedIn((users[3] as { id: string }).id, new Date());
    const before = new Date('2026-01-01T00:00:00Z');
    for (const lastSignIn of [{ never: true as const }, { before }]) {
      const search = { accountId: account.id, lastSignIn };
      const listed = (await org.admin.users.search({ ...search, limit: 100 })).items.map((u) => u.id).sort();
      expect(listed).toHaveLength(2);
      const { preview } = await org.admin.users.bulk({ selection: { search }, action: 'deactivate', dryRun: true });
      expect(preview).toMatchObject({ total: 2, affected: 2 });
      const { operation } = await org.admin.users.bulk({
        selection: { search },
        action: 'deactivate',
        dryRun: false,
        previewToken: preview?.previewToken ?? '',
      });
      // The operation shows the filter it was given, the date a date again.
      expect(operation?.selection).toEqual({ kind: 'search', search });
      while (await runBulkWork(db)) {}
      const inactive = await db
        .selectFrom('users')
        .select('id')
        .where('accountId', '=', account.id)
        .where('active', '=', false)
        .execute();
      expect(
        inactive
          .map((u) => u.id)
          .filter((id) => listed.includes(id))
          .sort(),
      ).toEqual(listed);
    }
    const stillActive = await db
      .selectFrom('users')
      .select('id')
      .where('accountId', '=', account.id)
      .where('active', '=', true)
      .execute();
    expect(stillActive.map((u) => u.id).sort()).toEqual(
      [(users[2] as { id: string }).id, (users[3] as { id: string }).id].sort(),
    );
  });
});

describe('users.bulk apply', () => {
  it('deactivates in batches, ends sessions and keys, records per-user results and every audit row', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await org.addUser({ canSignIn: true }));
    const first = users[0] as (typeof users)[number];
    const keyCaller = await callerAs(db, first.id);
    await keyCaller.apiKeys.create({ name: 'one' });
    const selection = { ids: [...users.map((u) => u.id), org.adminId] };
    // Whatever other files of this worker left queued first, so that the one batch below is ours.
    await runBulkWork(db);
    const { preview } = await org.admin.users.bulk({ selection, action: 'deactivate', dryRun: true });
    const { operation } = await org.admin.users.bulk({
      selection,
      action: 'deactivate',
      dryRun: false,
      previewToken: preview?.previewToken ?? '',
    });
    expect(operation).toMatchObject({ status: 'queued', total: 6, done: 0, skipped: 0, processed: 0 });
    const id = operation?.id ?? '';

    // Two users a batch, one batch: progress shows, the rest is still to do.
    await runBulkWork(db, { batchSize: 2, maxBatches: 1 });
    const midway = await org.admin.users.bulkStatus({ id });
    expect(midway.operation).toMatchObject({ status: 'running', processed: 2 });
    await runBulkWork(db, { batchSize: 2 });
    const status = await org.admin.users.bulkStatus({ id, limit: 100 });
    expect(status.operation).toMatchObject({ status: 'done', total: 6, done: 5, skipped: 1, processed: 6 });
    expect(status.operation.finishedAt).toBeInstanceOf(Date);
    expect(status.skippedByReason).toEqual([{ reason: 'self', count: 1, message: 'You cannot do this to yourself' }]);
    expect(status.results.items).toHaveLength(6);
    expect(status.results.items.find((r) => r.userId === org.adminId)).toMatchObject({
      outcome: 'skipped',
      reason: 'self',
      email: org.adminEmail,
    });
    for (const user of users) {
      expect(await userRow(db, user.id)).toMatchObject({ active: false });
      expect(await liveSessions(db, user.id)).toBe(0);
      expect(status.results.items.find((r) => r.userId === user.id)).toMatchObject({
        outcome: 'done',
        reason: null,
        email: user.email,
      });
    }
    const key = await db.selectFrom('apiKeys').select('revokedAt').where('userId', '=', first.id).executeTakeFirst();
    expect(key?.revokedAt).toBeInstanceOf(Date);
    // The key's user is out at once.
    expect(await keyCaller.auth.me()).toBeNull();

    const audit = await auditRowsOf(db, org.organizationId);
    const deactivated = audit.filter((r) => r.action === 'user.deactivated');
    expect(deactivated.map((r) => r.targetId).sort()).toEqual(users.map((u) => u.id).sort());
    expect(deactivated[0]).toMatchObject({
      actorId: org.adminId,
      actorEmail: org.adminEmail,
      actorName: 'Organization Administrator',
    });
    expect(deactivated[0]?.changes).toEqual({ before: { active: true }, after: { active: false } });
    expect(audit.filter((r) => r.action === 'api_key.revoked')).toHaveLength(1);
    const bulkRows = audit.filter((r) => r.action === 'users.bulk_action');
    expect(bulkRows).toHaveLength(1);
    expect(bulkRows[0]).toMatchObject({ targetType: 'bulk_operation', targetId: id });
    expect(bulkRows[0]?.changes.after).toMatchObject({ operationId: id, action: 'deactivate', users: 6 });

    const list = await org.admin.users.bulkList();
    expect(list.items[0]).toMatchObject({
      id,
      action: 'deactivate',
      status: 'done',
      selection: { kind: 'ids', count: 6 },
    });
  });

  it('stops, saying why, when whoever started it loses their access midway; the rest stay as they were', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const starter = await org.addUser({ role: 'admin' });
    const starterCaller = await callerAs(db, starter.id);
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await org.addUser());
    await runBulkWork(db);
    const selection = { ids: users.map((u) => u.id) };
    const { preview } = await starterCaller.users.bulk({ selection, action: 'deactivate', dryRun: true });
    const { operation } = await starterCaller.users.bulk({
      selection,
      action: 'deactivate',
      dryRun: false,
      previewToken: preview?.previewToken ?? '',
    });
    const id = operation?.id ?? '';
    await runBulkWork(db, { batchSize: 2, maxBatches: 1 });
    // The administrator who started it is demoted before the second batch.
    await org.admin.users.setRole({ id: starter.id, role: 'user' });
    await runBulkWork(db, { batchSize: 2 });
    const { operation: stopped } = await org.admin.users.bulkStatus({ id });
    expect(stopped).toMatchObject({ processed: 2 });
    expect(stopped.error).toMatch(/given another role meanwhile/);
    expect(stopped.status).toBe('failed');
    // The first batch's two (taken in id order), and no more.
    const rows = await Promise.all(users.map((user) => userRow(db, user.id)));
    expect(rows.filter((row) => row?.active === false)).toHaveLength(2);
    expect(rows.filter((row) => row?.active === true)).toHaveLength(2);
  });

  it('two batches side by side never take the same user, administrators among them included', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    await runBulkWork(db);
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await org.addUser({ role: i % 4 === 0 ? 'admin' : 'user' })).id);
    const { operation } = await bulk(
      db,
      org.admin,
      { selection: { ids: [...ids, org.adminId] }, action: 'deactivate' },
      false,
    );
    await runBulkWork(db, { batchSize: 2, concurrency: 2 });
    const status = await org.admin.users.bulkStatus({ id: operation.id, limit: 100 });
    expect(status.operation).toMatchObject({ status: 'done', total: 10, done: 9, skipped: 1, processed: 10 });
    expect(
      status.results.items
        .filter((r) => r.outcome === 'done')
        .map((r) => r.userId)
        .sort(),
    ).toEqual([...ids].sort());
    const audit = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'user.deactivated');
    expect(audit.map((r) => r.targetId).sort()).toEqual([...ids].sort());
    const active = await db
      .selectFrom('users')
      .select('id')
      .where('organizationId', '=', org.organizationId)
      .where('active', '=', true)
      .execute();
    expect(active.map((u) => u.id)).toEqual([org.adminId]);
  });

  it('pages per-user results by outcome', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await org.addUser()).id);
    const { operation } = await bulk(db, org.admin, {
      selection: { ids: [...ids, org.adminId] },
      action: 'deactivate',
    });
    const page1 = await org.admin.users.bulkStatus({ id: operation.id, outcome: 'done', limit: 3 });
    expect(page1.results.items).toHaveLength(3);
    const page2 = await org.admin.users.bulkStatus({
      id: operation.id,
      outcome: 'done',
      limit: 3,
      cursor: page1.results.nextCursor,
    });
    expect(page2.results.items).toHaveLength(2);
    expect(page2.results.nextCursor).toBeNull();
    expect([...page1.results.items, ...page2.results.items].map((r) => r.userId).sort()).toEqual(ids.sort());
    const bad = await expectTRPCError(
      org.admin.users.bulkStatus({ id: operation.id, cursor: 'not-a-cursor' }),
      'BAD_REQUEST',
    );
    expect(errorDataOf(bad).reason).toBe('INVALID_CURSOR');
  });

  it('refuses a stale preview: a user added to the search, or one edited, since', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const a = await org.addUser({ accountId: account.id });
    const selection = { search: { accountId: account.id } };
    const { preview } = await org.admin.users.bulk({ selection, action: 'deactivate', dryRun: true });
    await org.addUser({ accountId: account.id });
    const error = await expectTRPCError(
      org.admin.users.bulk({ selection, action: 'deactivate', dryRun: false, previewToken: preview?.previewToken }),
      'CONFLICT',
    );
    expect(errorDataOf(error).reason).toBe('BULK_SELECTION_CHANGED');
    expect(error.message).toMatch(/Preview again/);

    const again = await org.admin.users.bulk({ selection, action: 'deactivate', dryRun: true });
    await org.admin.users.update({ id: a.id, firstName: 'Changed' });
    const edited = await expectTRPCError(
      org.admin.users.bulk({
        selection,
        action: 'deactivate',
        dryRun: false,
        previewToken: again.preview?.previewToken,
      }),
      'CONFLICT',
    );
    expect(errorDataOf(edited).reason).toBe('BULK_SELECTION_CHANGED');
    // A token of another action does not apply this one.
    const reactivate = await org.admin.users.bulk({ selection, action: 'reactivate', dryRun: true });
    await expectTRPCError(
      org.admin.users.bulk({
        selection,
        action: 'deactivate',
        dryRun: false,
        previewToken: reactivate.preview?.previewToken,
      }),
      'CONFLICT',
    );
    // Nothing was queued, nothing changed.
    expect((await org.admin.users.bulkList()).items).toHaveLength(0);
    expect((await userRow(db, a.id))?.active).toBe(true);
  });

  it('moves users to another account; administrators cannot leave the default account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const from = await org.addAccount();
    const to = await org.addAccount();
    const u1 = await org.addUser({ accountId: from.id });
    const u2 = await org.addUser();
    const admin2 = await org.addUser({ role: 'admin' });
    const already = await org.addUser({ accountId: to.id });
    const { preview, status } = await bulk(db, org.admin, {
      selection: { ids: [u1.id, u2.id, admin2.id, already.id, org.adminId] },
      action: 'move',
      toAccountId: to.id,
    });
    expect(preview).toMatchObject({ total: 5, affected: 2, toAccount: { id: to.id, name: to.name } });
    expect(preview.skipped.map((s) => [s.reason, s.count])).toEqual([
      ['self', 1],
      ['admin_default_account', 1],
      ['already', 1],
    ]);
    expect(status.operation).toMatchObject({ status: 'done', done: 2, skipped: 3 });
    expect((await userRow(db, u1.id))?.accountId).toBe(to.id);
    expect((await userRow(db, u2.id))?.accountId).toBe(to.id);
    expect((await userRow(db, admin2.id))?.accountId).toBe(org.defaultAccountId);
    expect((await org.admin.accounts.get({ id: to.id })).userCount).toBe(3);
    expect((await org.admin.accounts.get({ id: from.id })).userCount).toBe(0);
    const moved = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'user.moved');
    expect(moved.find((r) => r.targetId === u1.id)?.changes).toEqual({
      before: { accountId: from.id },
      after: { accountId: to.id },
    });
    expect(moved).toHaveLength(2);
  });

  it('refuses a move to an account of another organization, or without an account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Other');
    const u = await org.addUser();
    const error = await expectTRPCError(
      org.admin.users.bulk({
        selection: { ids: [u.id] },
        action: 'move',
        toAccountId: other.defaultAccountId,
        dryRun: true,
      }),
      'NOT_FOUND',
    );
    expect(error.message).toBe('No such account.');
    const missing = await expectTRPCError(
      org.admin.users.bulk({ selection: { ids: [u.id] }, action: 'move', dryRun: true }),
      'BAD_REQUEST',
    );
    expect(errorDataOf(missing).fieldErrors).toMatchObject({
      toAccountId: ['Choose the account to move the users to'],
    });
  });

  it('deletes, reactivates, unlocks and ends sessions, each audited per user', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const doomed = await org.addUser();
    const { status: deleted } = await bulk(db, org.admin, { selection: { ids: [doomed.id] }, action: 'delete' });
    expect(deleted.operation).toMatchObject({ done: 1 });
    expect(await userRow(db, doomed.id)).toBeUndefined();
    expect(deleted.results.items[0]).toMatchObject({ email: doomed.email, outcome: 'done' });

    const sleeper = await org.addUser();
    await org.admin.users.deactivate({ id: sleeper.id });
    await bulk(db, org.admin, { selection: { ids: [sleeper.id] }, action: 'reactivate' });
    expect((await userRow(db, sleeper.id))?.active).toBe(true);

    const locked = await org.addUser();
    await db
      .updateTable('users')
      .set({ lockedUntil: new Date(Date.now() + 600_000), failedSignIns: 5 })
      .where('id', '=', locked.id)
      .execute();
    const { preview: unlockPreview } = await bulk(db, org.admin, {
      selection: { ids: [locked.id, sleeper.id] },
      action: 'unlock',
    });
    expect(unlockPreview).toMatchObject({ affected: 1, skipped: [{ reason: 'already', message: 'Not locked' }] });
    expect((await userRow(db, locked.id))?.lockedUntil).toBeNull();

    const signedIn = await org.addSignedInUser();
    const { preview: endPreview } = await bulk(db, org.admin, {
      selection: { ids: [signedIn.user.id, sleeper.id] },
      action: 'end_sessions',
    });
    expect(endPreview).toMatchObject({ affected: 1, ends: { sessions: 1, apiKeys: 0 } });
    expect(await liveSessions(db, signedIn.user.id)).toBe(0);

    const rows = await auditRowsOf(db, org.organizationId);
    const rowOf = (action: string, id: string) => rows.find((r) => r.action === action && r.targetId === id);
    expect(rowOf('user.deleted', doomed.id)).toMatchObject({
      targetEmail: doomed.email,
      targetName: 'Test User',
      accountId: org.defaultAccountId,
      changes: { before: { email: doomed.email, role: 'user', active: true }, after: null },
    });
    expect(rowOf('user.unlocked', locked.id)?.changes.before?.lockedUntil).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(rowOf('user.unlocked', locked.id)?.changes.after).toEqual({ lockedUntil: null });
    expect(rowOf('user.sessions_ended', signedIn.user.id)?.changes.after).toEqual({ ended: 1 });
    expect(rowOf('user.reactivated', sleeper.id)?.changes).toEqual({
      before: { active: false },
      after: { active: true },
    });
    const actions = rows.map((r) => `${r.action}:${r.targetId}`);
    expect(actions).toContain(`user.deleted:${doomed.id}`);
    expect(actions).toContain(`user.reactivated:${sleeper.id}`);
    expect(actions).toContain(`user.unlocked:${locked.id}`);
    expect(actions).toContain(`user.sessions_ended:${signedIn.user.id}`);
    expect(actions.filter((a) => a.startsWith('users.bulk_action'))).toHaveLength(4);
  });

  it('two administrators bulk-deactivating each other at once never leave the organization without one', async () => {
    const db = await testDb();
    for (let round = 0; round < 3; round++) {
      const org = await createTestOrg(db);
      const second = await org.addUser({ role: 'admin' });
      const shared = await org.addUser();
      const b = await callerAs(db, second.id);
      // Each selects the other (and a user both select); each is skipped in their own as "yourself".
      const [fromA, fromB] = await Promise.all([
        bulk(db, org.admin, { selection: { ids: [second.id, shared.id, org.adminId] }, action: 'deactivate' }, false),
        bulk(db, b, { selection: { ids: [org.adminId, shared.id, second.id] }, action: 'deactivate' }, false),
      ]);
      expect(fromA.preview.affected).toBe(2);
      expect(fromB.preview.affected).toBe(2);
      // Two workers (two servers) at once: each claims one operation.
      await Promise.all([runBulkWork(db), runBulkWork(db)]);
      const admins = await db
        .selectFrom('users')
        .select('id')
        .where('organizationId', '=', org.organizationId)
        .where('role', '=', 'admin')
        .where('active', '=', true)
        .execute();
      expect(admins).toHaveLength(1);
      // Whichever of the two is still an administrator reads both results.
      const survivor = admins[0]?.id === org.adminId ? org.admin : b;
      const statuses = await Promise.all(
        [fromA, fromB].map((x) => survivor.users.bulkStatus({ id: x.operation.id, limit: 10 })),
      );
      // The survivor's operation ran to the end. The other's starter was deactivated by it before the other's
      // batch could confirm them (both take the organization's lock first): that one stopped, saying so.
      const mine = statuses.find((s) => s.operation.actorId === admins[0]?.id);
      const theirs = statuses.find((s) => s.operation.actorId !== admins[0]?.id);
      expect(mine?.operation.status).toBe('done');
      expect(theirs?.operation).toMatchObject({ status: 'failed', processed: 0 });
      expect(theirs?.operation.error).toMatch(/deactivated, deleted or given another role meanwhile/);
      expect((await userRow(db, shared.id))?.active).toBe(false);
      const audit = await auditRowsOf(db, org.organizationId);
      expect(audit.filter((r) => r.action === 'user.deactivated' && r.targetId !== shared.id)).toHaveLength(1);
    }
  });

  it('a server that stops midway leaves the rest to another, which takes it over once the lease is past', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await org.addUser()).id);
    const { operation } = await bulk(db, org.admin, { selection: { ids }, action: 'deactivate' }, false);
    const lease = (until: 'future' | 'past' | null) =>
      db
        .updateTable('bulkOperations')
        .set({
          claimedUntil:
            until === null
              ? null
              : until === 'future'
                ? sql<Date>`now() + interval '1 hour'`
                : sql<Date>`now() - interval '1 second'`,
        })
        .where('id', '=', operation.id)
        .execute();
    // Held by another server: this one finishes whatever else is queued and leaves ours alone.
    await lease('future');
    await runBulkWork(db);
    expect((await org.admin.users.bulkStatus({ id: operation.id })).operation.processed).toBe(0);
    // One batch of one user, and the server dies holding it.
    await lease(null);
    await runBulkWork(db, { batchSize: 1, maxBatches: 1 });
    await lease('future');
    let status = await org.admin.users.bulkStatus({ id: operation.id });
    expect(status.operation).toMatchObject({ status: 'running', processed: 1 });
    await runBulkWork(db);
    expect((await org.admin.users.bulkStatus({ id: operation.id })).operation.processed).toBe(1);
    // Its lease runs out: the next run takes it over and finishes it.
    await lease('past');
    await runBulkWork(db);
    status = await org.admin.users.bulkStatus({ id: operation.id });
    expect(status.operation).toMatchObject({ status: 'done', done: 4, processed: 4 });
  });
});

describe('users.bulk access and input', () => {
  it('is for administrators, within their organization', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Other');
    const target = await org.addUser();
    const plain = await org.addSignedInUser();
    await expectTRPCError(
      plain.caller.users.bulk({ selection: { ids: [target.id] }, action: 'deactivate', dryRun: true }),
      'FORBIDDEN',
    );
    const { operation } = await bulk(db, org.admin, { selection: { ids: [target.id] }, action: 'end_sessions' });
    await expectTRPCError(plain.caller.users.bulkStatus({ id: operation.id }), 'FORBIDDEN');
    await expectTRPCError(other.admin.users.bulkStatus({ id: operation.id }), 'NOT_FOUND');
    expect((await other.admin.users.bulkList()).items).toEqual([]);

    // Another organization's ids are "not found", and untouched; its account selects nobody.
    const { preview } = await other.admin.users.bulk({
      selection: { ids: [target.id] },
      action: 'deactivate',
      dryRun: true,
    });
    expect(preview).toMatchObject({ total: 0, affected: 0, skipped: [{ reason: 'not_found', count: 1 }] });
    const nothing = await expectTRPCError(
      other.admin.users.bulk({
        selection: { ids: [target.id] },
        action: 'deactivate',
        dryRun: false,
        previewToken: preview?.previewToken,
      }),
      'PRECONDITION_FAILED',
    );
    expect(errorDataOf(nothing).reason).toBe('BULK_NOTHING_TO_DO');
    const bySearch = await other.admin.users.bulk({
      selection: { search: { accountId: org.defaultAccountId } },
      action: 'deactivate',
      dryRun: true,
    });
    expect(bySearch.preview?.total).toBe(0);
    expect((await userRow(db, target.id))?.active).toBe(true);
  });

  it('answers bad input with BAD_REQUEST and the field', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const bad = async (input: unknown, field: string) => {
      const error = await expectTRPCError(org.admin.users.bulk(input as BulkArgs), 'BAD_REQUEST');
      expect(Object.keys(errorDataOf(error).fieldErrors ?? {}).some((key) => key.split('.')[0] === field)).toBe(true);
      return error;
    };
    await bad({ selection: { ids: [org.adminId] }, action: 'explode', dryRun: true }, 'action');
    await bad({ selection: { ids: [] }, action: 'deactivate', dryRun: true }, 'selection');
    await bad({ selection: { ids: ['nope'] }, action: 'deactivate', dryRun: true }, 'selection');
    await bad({ selection: {}, action: 'deactivate', dryRun: true }, 'selection');
    await bad({ selection: { ids: [org.adminId] }, action: 'deactivate', dryRun: false }, 'previewToken');
    await bad({ selection: { search: { query: 'x'.repeat(201) } }, action: 'deactivate', dryRun: true }, 'selection');
    await bad(
      { selection: { ids: Array.from({ length: 10_001 }, () => crypto.randomUUID()) }, action: 'delete', dryRun: true },
      'selection',
    );
    await bad(
      { selection: { ids: [org.adminId] }, action: 'deactivate', toAccountId: org.defaultAccountId, dryRun: true },
      'toAccountId',
    );
    await expectTRPCError(org.admin.users.bulkStatus({ id: 'nope' }), 'BAD_REQUEST');
    await expectTRPCError(org.admin.users.bulkStatus({ id: crypto.randomUUID() }), 'NOT_FOUND');
  });
});
