import type { BulkAction, Database, Db } from '@roster/db';
import { type ExpressionBuilder, type RawBuilder, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import { escapeLike } from '../shared/cursor.js';
import type { BulkSkipReason, UserSearchFilter } from '../shared/schemas.js';
import { foldSearchText } from '../users/fold.js';
import { emailPrefixMatchOf, searchPathOf, shortMatchOf } from '../users/queries.js';

// The SQL of bulk actions: selecting users, classifying them (done or skipped,
// and why), applying an action to a batch, and the operations' bookkeeping.

/** Ids as one text value: uuids have no commas, and a single value works the same on pg and PGlite. */
const uuidArray = (ids: readonly string[]) => sql`string_to_array(${ids.join(',')}, ',')::uuid[]`;

type UsersQuery = SelectQueryBuilder<Database, 'users', object>;

/**
 * The users of the organization a search selects: the same filters as
 * users.search, and its query matched the same ways (see searchUsers), but all
 * of them rather than a page. Email-like text matches addresses that start
 * with it; when there are none, anywhere in the name and email (as the search does).
 */
export async function searchSelection(db: Db, organizationId: string, filter: UserSearchFilter, scope?: string) {
  const base = (): UsersQuery => {
    let query = db.selectFrom('users').where('users.organizationId', '=', organizationId);
    // An account administrator's selection: their account only, whatever the filter says.
    if (scope !== undefined) query = query.where('users.accountId', '=', scope);
    if (filter.accountId) query = query.where('users.accountId', '=', filter.accountId);
    if (filter.active !== undefined) query = query.where('users.active', '=', filter.active);
    if (filter.role) query = query.where('users.role', '=', filter.role);
    if (filter.locked !== undefined) {
      query = query.where(
        filter.locked
          ? sql<boolean>`users.locked_until > now()`
          : sql<boolean>`(users.locked_until is null or users.locked_until <= now())`,
      );
    }
    const lastSignIn = filter.lastSignIn;
    if (lastSignIn && 'never' in lastSignIn) query = query.where('users.lastLoginAt', 'is', null);
    if (lastSignIn && 'before' in lastSignIn) query = query.where('users.lastLoginAt', '<', lastSignIn.before);
    return query;
  };
  const typed = filter.query?.trim() ?? '';
  const folded = foldSearchText(typed);
  const path = searchPathOf(folded);
  if (path === 'none') return base();
  if (path === 'short') return base().where(shortMatchOf(folded, 'indexed'));
  if (path === 'emailPrefix') {
    const match = emailPrefixMatchOf(typed.toLowerCase());
    const any = await base().select('users.id').where(match).limit(1).executeTakeFirst();
    if (any) return base().where(match);
  }
  return base().where(sql<boolean>`users.search_text like ${`%${escapeLike(folded)}%`}`);
}

/**
 * The users of the organization among the ids (ids of nobody, or of another
 * organization, select nobody; with `scope`, nor ids of another account).
 */
export function idsSelection(db: Db, organizationId: string, ids: readonly string[], scope?: string): UsersQuery {
  return db
    .selectFrom('users')
    .where('users.organizationId', '=', organizationId)
    .$if(scope !== undefined, (query) => query.where('users.accountId', '=', scope ?? ''))
    .where(sql<boolean>`users.id = any(${uuidArray(ids)})`);
}

export type ClassifyContext = {
  action: BulkAction;
  actorId: string;
  toAccountId: string | null;
  /** An account administrator's operation: only the plain users of this account change. */
  scopeAccountId: string | null;
};

const liveSessionOf = sql<boolean>`exists (select 1 from sessions s where s.user_id = users.id and s.expires_at > now())`;

/**
 * Why the action would leave a user as they are, or null when it changes them:
 * the rules of the single actions (the last administrator aside, which depends
 * on the whole set: see lastAdminSkips). Evaluated on the users row.
 */
export function skipReasonOf(context: ClassifyContext): RawBuilder<BulkSkipReason | null> {
  const reason = actionSkipReasonOf(context);
  if (context.scopeAccountId === null) return reason;
  // Checked again when applied: someone moved or given a role meanwhile is left alone.
  return sql`coalesce(case when users.account_id <> ${context.scopeAccountId}::uuid or users.role <> 'user'
    then 'outside_delegation' end, ${reason})`;
}

function actionSkipReasonOf(context: ClassifyContext): RawBuilder<BulkSkipReason | null> {
  const self = sql`users.id = ${context.actorId}::uuid`;
  switch (context.action) {
    case 'deactivate':
      return sql`case when ${self} then 'self' when not users.active then 'already' end`;
    case 'reactivate':
      return sql`case when users.active then 'already' end`;
    case 'delete':
      return sql`case when ${self} then 'self' end`;
    case 'move':
      return sql`case when ${self} then 'self'
        when users.account_id = ${context.toAccountId}::uuid then 'already'
        when users.role = 'admin' then 'admin_default_account' end`;
    case 'end_sessions':
      return sql`case when ${self} then 'self' when not ${liveSessionOf} then 'already' end`;
    case 'unlock':
      return sql`case when users.locked_until is null or users.locked_until <= now() then 'already' end`;
  }
}

/** Actions that can take away an active administrator: they hold the organization's lock (as the single ones do). */
export const removesAdmins = (action: BulkAction) => action === 'deactivate' || action === 'delete';

export type PreviewCounts = {
  total: number;
  fingerprint: string;
  reasons: Array<{ reason: BulkSkipReason | null; count: number }>;
  /** Active administrators the action would change, and those it would leave. */
  adminsChanged: number;
  adminsLeft: number;
  sessions: number;
  apiKeys: number;
};

/**
 * One statement: the selected users (materialized once), counted by what the
 * action would do to them, their fingerprint (every id and version, in id
 * order), and what changing them would end.
 */
export async function previewCounts(
  db: Db,
  organizationId: string,
  selected: UsersQuery,
  context: ClassifyContext,
): Promise<PreviewCounts> {
  const rows = selected.select([
    'users.id',
    'users.version',
    'users.role',
    'users.active',
    skipReasonOf(context).as('reason'),
  ]);
  const endsSessions = ['deactivate', 'delete', 'end_sessions'].includes(context.action);
  const endsKeys = ['deactivate', 'delete'].includes(context.action);
  const { rows: result } = await sql<{
    total: number;
    fingerprint: string;
    reasons: Array<{ reason: BulkSkipReason | null; count: number }> | null;
    adminsChanged: number;
    adminsLeft: number;
    sessions: number;
    apiKeys: number;
  }>`
    with selected as materialized (${rows}),
    changed as materialized (select id, role, active from selected where reason is null)
    select
      (select count(*)::int from selected) as total,
      (select md5(coalesce(string_agg(id::text || ':' || version, ',' order by id), '')) from selected) as fingerprint,
      (select json_agg(json_build_object('reason', reason, 'count', n))
         from (select reason, count(*)::int as n from selected group by reason) as g) as reasons,
      (select count(*)::int from changed where role = 'admin' and active) as admins_changed,
      (select count(*)::int from users u where u.organization_id = ${organizationId}::uuid
         and u.role = 'admin' and u.active and u.id not in (select id from changed)) as admins_left,
      ${
        endsSessions
          ? sql`(select count(*)::int from sessions s where s.user_id in (select id from changed) and s.expires_at > now())`
          : sql`0`
      } as sessions,
      ${
        endsKeys
          ? sql`(select count(*)::int from api_keys k where k.user_id in (select id from changed)
               and k.revoked_at is null and k.expires_at > now())`
          : sql`0`
      } as api_keys
  `.execute(db);
  const row = result[0];
  if (!row) throw new Error('preview: no row');
  return {
    total: row.total,
    fingerprint: row.fingerprint,
    reasons: row.reasons ?? [],
    adminsChanged: row.adminsChanged,
    adminsLeft: row.adminsLeft,
    sessions: row.sessions,
    apiKeys: row.apiKeys,
  };
}

/** Pins the selected users as the operation's pending results, with their versions; returns their fingerprint. */
export async function pinSelection(
  tx: Transaction<Database>,
  operationId: string,
  selected: UsersQuery,
  ids: readonly string[] | null,
): Promise<{ total: number; found: number; fingerprint: string }> {
  if (ids) {
    // Every id given: those of nobody (or of another organization) are answered "not found" when processed.
    await sql`
      insert into bulk_operation_results (operation_id, user_id, version)
      select ${operationId}::uuid, given.id, found.version
      from (select distinct unnest(${uuidArray(ids)}) as id) as given
      left join (${selected.select(['users.id', 'users.version'])}) as found on found.id = given.id
    `.execute(tx);
  } else {
    await sql`
      insert into bulk_operation_results (operation_id, user_id, version)
      select ${operationId}::uuid, id, version from (${selected.select(['users.id', 'users.version'])}) as found
    `.execute(tx);
  }
  const { rows } = await sql<{ total: number; found: number; fingerprint: string }>`
    select count(*)::int as total, count(version)::int as found,
      md5(coalesce(string_agg(user_id::text || ':' || version, ',' order by user_id) filter (where version is not null), ''))
        as fingerprint
    from bulk_operation_results where operation_id = ${operationId}::uuid
  `.execute(tx);
  const row = rows[0];
  if (!row) throw new Error('pinSelection: no row');
  return row;
}

export const operationColumns = [
  'bulkOperations.id',
  'bulkOperations.action',
  'bulkOperations.status',
  'bulkOperations.selection',
  'bulkOperations.toAccountId',
  'bulkOperations.actorId',
  'bulkOperations.actorEmail',
  'bulkOperations.total',
  'bulkOperations.done',
  'bulkOperations.skipped',
  'bulkOperations.error',
  'bulkOperations.createdAt',
  'bulkOperations.startedAt',
  'bulkOperations.finishedAt',
] as const;

/** The operation; with `scope`, only one of an account administrator of that account. */
export async function findOperation(db: Db, organizationId: string, id: string, scope?: string) {
  return db
    .selectFrom('bulkOperations')
    .select(operationColumns)
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .$if(scope !== undefined, (query) => query.where('scopeAccountId', '=', scope ?? ''))
    .executeTakeFirst();
}

export async function listOperations(
  db: Db,
  organizationId: string,
  after: [string, string] | undefined,
  limit: number,
  scope?: string,
) {
  let query = db
    .selectFrom('bulkOperations')
    .select(operationColumns)
    .where('organizationId', '=', organizationId)
    .$if(scope !== undefined, (q) => q.where('scopeAccountId', '=', scope ?? ''))
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after) {
    query = query.where(sql<boolean>`(created_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`);
  }
  return query.execute();
}

export async function listResults(
  db: Db,
  operationId: string,
  outcome: 'pending' | 'done' | 'skipped' | undefined,
  after: string | undefined,
  limit: number,
) {
  let query = db
    .selectFrom('bulkOperationResults')
    .select(['userId', 'outcome', 'reason', 'label', 'processedAt'])
    .where('operationId', '=', operationId)
    .orderBy('userId')
    .limit(limit + 1);
  if (outcome) query = query.where('outcome', '=', outcome);
  if (after) query = query.where('userId', '>', after);
  return query.execute();
}

/** Counts of the skipped results by reason. */
export async function skipCounts(db: Db, operationId: string) {
  const rows = await db
    .selectFrom('bulkOperationResults')
    .select(['reason', (eb) => eb.fn.countAll<number>().as('count')])
    .where('operationId', '=', operationId)
    .where('outcome', '=', 'skipped')
    .groupBy('reason')
    .execute();
  return rows.map((row) => ({ reason: row.reason as BulkSkipReason, count: Number(row.count) }));
}

// ----- The worker's queries -----

/** How long a server holds an operation it works on without renewing (each batch renews it). */
export const leaseSeconds = 60;

/**
 * Takes the oldest unfinished operation no live server holds (one whose holder
 * went away is taken over), for `leaseSeconds`. Skip-locked, so servers claiming
 * at once never take the same one.
 */
export async function claimOperation(db: Db) {
  const { rows } = await sql<{ id: string }>`
    update bulk_operations set status = 'running',
      started_at = coalesce(started_at, date_trunc('milliseconds', clock_timestamp())),
      claimed_until = now() + ${leaseSeconds} * interval '1 second'
    where id = (
      select id from bulk_operations
      where status in ('queued', 'running') and (claimed_until is null or claimed_until < now())
      order by created_at limit 1 for update skip locked
    )
    returning id
  `.execute(db);
  const id = rows[0]?.id;
  if (!id) return undefined;
  return db
    .selectFrom('bulkOperations')
    .select(['id', 'organizationId', 'actorId', 'actorEmail', 'action', 'toAccountId', 'scopeAccountId'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

export type ClaimedOperation = NonNullable<Awaited<ReturnType<typeof claimOperation>>>;

/**
 * The next pending users of the operation, their result rows locked for the
 * batch; skip-locked, so batches running side by side take different users.
 */
export async function pendingUserIds(tx: Db, operationId: string, limit: number): Promise<string[]> {
  const rows = await tx
    .selectFrom('bulkOperationResults')
    .select('userId')
    .where('operationId', '=', operationId)
    .where('outcome', '=', 'pending')
    .orderBy('userId')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
  return rows.map((row) => row.userId);
}

/** Whether any of these users is an active administrator now (read without locking). */
export async function anyActiveAdmin(tx: Db, organizationId: string, ids: readonly string[]): Promise<boolean> {
  const row = await idsSelection(tx, organizationId, ids)
    .select('users.id')
    .where('users.role', '=', 'admin')
    .where('users.active', '=', true)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The batch's users, locked in id order (a fixed order: two operations never deadlock on each other's rows). */
export async function lockBatchUsers(
  tx: Transaction<Database>,
  organizationId: string,
  ids: readonly string[],
  context: ClassifyContext,
) {
  return idsSelection(tx, organizationId, ids)
    .select([
      'users.id',
      'users.email',
      'users.firstName',
      'users.lastName',
      'users.role',
      'users.active',
      'users.accountId',
      'users.lockedUntil',
      skipReasonOf(context).as('reason'),
    ])
    .orderBy('users.id')
    .forUpdate()
    .execute();
}

/** Active administrators of the organization other than these. */
export async function activeAdminsBesides(tx: Db, organizationId: string, ids: readonly string[]): Promise<number> {
  const row = await tx
    .selectFrom('users')
    .select((eb: ExpressionBuilder<Database, 'users'>) => eb.fn.countAll<number>().as('count'))
    .where('organizationId', '=', organizationId)
    .where('role', '=', 'admin')
    .where('active', '=', true)
    .where(sql<boolean>`not (users.id = any(${uuidArray(ids)}))`)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function setActiveMany(tx: Db, organizationId: string, ids: readonly string[], active: boolean) {
  if (ids.length === 0) return;
  await tx
    .updateTable('users')
    .set({ active, version: sql<number>`version + 1` })
    .where('organizationId', '=', organizationId)
    .where(sql<boolean>`id = any(${uuidArray(ids)})`)
    .execute();
}

export async function moveMany(tx: Db, organizationId: string, ids: readonly string[], toAccountId: string) {
  if (ids.length === 0) return;
  await tx
    .updateTable('users')
    .set({ accountId: toAccountId, version: sql<number>`version + 1` })
    .where('organizationId', '=', organizationId)
    .where(sql<boolean>`id = any(${uuidArray(ids)})`)
    .execute();
}

export async function unlockMany(tx: Db, organizationId: string, ids: readonly string[]) {
  if (ids.length === 0) return;
  await tx
    .updateTable('users')
    .set({ failedSignIns: 0, lockedUntil: null })
    .where('organizationId', '=', organizationId)
    .where(sql<boolean>`id = any(${uuidArray(ids)})`)
    .execute();
}

export async function deleteMany(tx: Db, organizationId: string, ids: readonly string[]) {
  if (ids.length === 0) return;
  await tx
    .deleteFrom('users')
    .where('organizationId', '=', organizationId)
    .where(sql<boolean>`id = any(${uuidArray(ids)})`)
    .execute();
}

/** Ends the users' sessions; returns how many each had. */
export async function endSessionsOfMany(tx: Db, ids: readonly string[]): Promise<Map<string, number>> {
  const ended = new Map<string, number>();
  if (ids.length === 0) return ended;
  const rows = await tx
    .deleteFrom('sessions')
    .where(sql<boolean>`user_id = any(${uuidArray(ids)})`)
    .returning('userId')
    .execute();
  for (const row of rows) ended.set(row.userId, (ended.get(row.userId) ?? 0) + 1);
  return ended;
}

/** Revokes the users' working keys, for good (as users.deactivate does). */
export async function revokeKeysOfMany(tx: Db, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return tx
    .updateTable('apiKeys')
    .set({ revokedAt: sql<Date>`date_trunc('milliseconds', now())` })
    .where(sql<boolean>`user_id = any(${uuidArray(ids)})`)
    .where('revokedAt', 'is', null)
    .where('expiresAt', '>', sql<Date>`now()`)
    .returning(['id', 'userId', 'name', 'prefix', 'revokedAt'])
    .execute();
}

export type ResultRow = { userId: string; outcome: 'done' | 'skipped'; reason: string | null; label: string | null };

/** Records what became of the batch's users and adds them to the operation's counts, renewing its lease. */
export async function recordResults(tx: Db, operationId: string, results: readonly ResultRow[]) {
  const json = JSON.stringify(
    results.map((r) => ({ user_id: r.userId, outcome: r.outcome, reason: r.reason, label: r.label })),
  );
  await sql`
    update bulk_operation_results r
    set outcome = v.outcome, reason = v.reason, label = v.label, processed_at = date_trunc('milliseconds', now())
    from jsonb_to_recordset(${json}::jsonb) as v(user_id uuid, outcome text, reason text, label text)
    where r.operation_id = ${operationId}::uuid and r.user_id = v.user_id
  `.execute(tx);
  const done = results.filter((r) => r.outcome === 'done').length;
  await tx
    .updateTable('bulkOperations')
    .set({
      done: sql<number>`done + ${done}::int`,
      skipped: sql<number>`skipped + ${results.length - done}::int`,
      claimedUntil: sql<Date>`now() + ${leaseSeconds} * interval '1 second'`,
    })
    .where('id', '=', operationId)
    .execute();
}

export async function finishOperation(db: Db, operationId: string, error: string | null) {
  await db
    .updateTable('bulkOperations')
    .set({
      status: error ? 'failed' : 'done',
      error,
      claimedUntil: null,
      finishedAt: sql<Date>`date_trunc('milliseconds', clock_timestamp())`,
    })
    .where('id', '=', operationId)
    .execute();
}

/** Gives an unfinished operation back to the queue (its server stops working on it). */
export async function releaseOperation(db: Db, operationId: string) {
  await db.updateTable('bulkOperations').set({ claimedUntil: null }).where('id', '=', operationId).execute();
}

/**
 * Lets this transaction's statements run a minute (counting or pinning every
 * user a search selects reads all of them), never shorter than the server's own
 * setting (0 is none).
 */
export async function allowLongStatementsInTransaction(tx: Db): Promise<void> {
  await sql`select set_config('statement_timeout', '60000', true)
    where (select setting::int from pg_settings where name = 'statement_timeout') between 1 and 59999`.execute(tx);
}

/** A batch lost with the server (committed but not yet on disk) is redone: its results go with it. */
export async function relaxSynchronousCommit(tx: Db): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(tx);
}

/** The before/after of each user's audit row in a batch, computed from the users row (recordUsersAudit). */
export const bulkAuditChanges = {
  deactivated: sql`'{"before":{"active":true},"after":{"active":false}}'::jsonb`,
  reactivated: sql`'{"before":{"active":false},"after":{"active":true}}'::jsonb`,
  deleted: sql`jsonb_build_object('before', jsonb_build_object(
    'email', users.email, 'firstName', users.first_name, 'lastName', users.last_name,
    'role', users.role, 'active', users.active, 'accountId', users.account_id), 'after', null)`,
  moved: (to: string) =>
    sql`jsonb_build_object('before', jsonb_build_object('accountId', users.account_id),
      'after', jsonb_build_object('accountId', ${to}::uuid))`,
  accountOf: (to: string) => sql<string>`${to}::uuid`,
  /** `counts`: JSON of ended sessions by user id. */
  sessionsEnded: (counts: string) =>
    sql`jsonb_build_object('before', null, 'after',
      jsonb_build_object('ended', coalesce((${counts}::jsonb ->> users.id::text)::int, 0)))`,
  unlocked: sql`jsonb_build_object('before', jsonb_build_object('lockedUntil',
      to_char(users.locked_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
    'after', jsonb_build_object('lockedUntil', null))`,
};

/** Records a bulk operation, queued, its total set once its users are pinned (setOperationTotal). */
export async function insertOperation(
  tx: Db,
  values: {
    organizationId: string;
    actorId: string;
    actorEmail: string;
    action: BulkAction;
    selection: string;
    toAccountId: string | null;
    scopeAccountId: string | null;
    previewToken: string;
  },
) {
  return tx
    .insertInto('bulkOperations')
    .values({ ...values, total: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function setOperationTotal(tx: Db, id: string, total: number): Promise<void> {
  await tx.updateTable('bulkOperations').set({ total }).where('id', '=', id).execute();
}
