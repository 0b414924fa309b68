import { type Database, type Db, preparedQuery } from '@roster/db';
import { type RawBuilder, sql, type Transaction } from 'kysely';
import { userColumns } from '../users/queries.js';

// Sessions: looked up by the hash of their token (core/tokens.ts); the token itself is never stored.

export type NewSession = {
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  clientAddress: string | null;
  userAgent: string | null;
};

/** Inserts a session, created and last seen at the start of the transaction. */
export async function insertSession(db: Db, session: NewSession): Promise<void> {
  await db.insertInto('sessions').values(session).execute();
}

/**
 * Inserts a session created and last seen at the moment under the user's row
 * lock (clock_timestamp), not the transaction's start: sessions of one user
 * are ordered by it.
 */
export async function insertSessionNow(tx: Transaction<Database>, session: NewSession): Promise<void> {
  await tx
    .insertInto('sessions')
    .values({ ...session, createdAt: sql<Date>`clock_timestamp()`, lastSeenAt: sql<Date>`clock_timestamp()` })
    .execute();
}

/**
 * The first step of a sign-in with a correct password, in the sign-in's
 * transaction: one conditional update that takes the user's row lock and
 * admits the sign-in only if, at that moment, the user is active, not locked
 * out and still has the password that was checked. A failure counted in
 * parallel takes the same row lock (`recordFailureRows`), so the two are
 * decided one after the other, never both on a stale read. Admitted, the run
 * of failures ends and the time of this sign-in is noted; returns the user as
 * the API shows them, or undefined when not admitted.
 */
export async function admitSignIn(
  tx: Transaction<Database>,
  user: { id: string; organizationId: string; passwordHash: string },
) {
  return tx
    .updateTable('users')
    .set({ lastLoginAt: sql<Date>`clock_timestamp()`, failedSignIns: 0 })
    .where('users.organizationId', '=', user.organizationId)
    .where('users.id', '=', user.id)
    .where('users.active', '=', true)
    .where('users.passwordHash', '=', user.passwordHash)
    .where((eb) => eb.or([eb('lockedUntil', 'is', null), eb('lockedUntil', '<=', sql<Date>`clock_timestamp()`)]))
    .returning(userColumns)
    .executeTakeFirst();
}

/**
 * Ends the user's sessions that are over (past their absolute expiry, or idle
 * for `idleTimeoutMs`) and the oldest live ones beyond the newest `keep`. A
 * statement of its own, run after the row lock: it sees every session
 * committed before. Returns how many it ended.
 */
export async function endSessionsBeyond(
  tx: Transaction<Database>,
  userId: string,
  input: { idleTimeoutMs: number; keep: number },
): Promise<number> {
  const idle = sql`(${input.idleTimeoutMs}::bigint * interval '1 millisecond')`;
  const ended = await tx
    .deleteFrom('sessions')
    .where('userId', '=', userId)
    .where((eb) =>
      eb.or([
        eb('expiresAt', '<=', sql<Date>`now()`),
        eb('lastSeenAt', '<=', sql<Date>`now() - ${idle}`),
        eb(
          'id',
          'in',
          eb
            .selectFrom('sessions')
            .select('id')
            .where('userId', '=', userId)
            .orderBy('createdAt', 'desc')
            .orderBy('id', 'desc')
            .offset(input.keep),
        ),
      ]),
    )
    .executeTakeFirst();
  return Number(ended.numDeletedRows);
}

/** Ends every session of a user, but one (the caller's own, when it changes its password). */
export async function endSessions(db: Db, userId: string, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('userId', '=', userId);
  if (exceptSessionId) query = query.where('id', '<>', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ends the session of a token's hash; returns whose it was, or undefined when there was none. */
export async function endSessionByTokenHash(db: Db, tokenHash: string) {
  return db.deleteFrom('sessions').where('tokenHash', '=', tokenHash).returning('userId').executeTakeFirst();
}

export async function endSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

/** Notes that the session was used now. */
export async function touchSession(db: Db, id: string): Promise<void> {
  await db.updateTable('sessions').set({ lastSeenAt: sql<Date>`now()` }).where('id', '=', id).execute();
}

/**
 * Notes the primary's WAL position now on a session or API key, after its
 * change committed (read replica only, core/read-replica.ts). The insert
 * position is past the change's commit record whatever `synchronous_commit`
 * says; it is never lowered, so two changes at once leave the later one. One
 * statement, committed without waiting for the disk (`synchronous_commit` off
 * for its own transaction only): other servers see it at once, and waiting for
 * the flush doubled a change's time (~4 ms against ~0.5 ms here). A crash of
 * the primary may lose the note, never the change.
 */
export async function noteWritePosition(
  db: Db,
  table: 'sessions' | 'api_keys',
  where: { id: string } | { tokenHash: string },
): Promise<void> {
  const row = 'id' in where ? sql`id = ${where.id}` : sql`token_hash = ${where.tokenHash}`;
  await sql`
    with async as (select set_config('synchronous_commit', 'off', true))
    update ${sql.table(table)} set write_lsn = greatest(coalesce(write_lsn, '0/0'::pg_lsn), pg_current_wal_insert_lsn())
    from async where ${row}`.execute(db);
}

/** The session and its user, by the token's hash: every signed-in request runs it, so it is compiled once. */
export const sessionByTokenHash = preparedQuery((db, tokenHash: string) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .select([
      'sessions.id as sessionId',
      'sessions.lastSeenAt',
      'sessions.expiresAt',
      'sessions.writeLsn',
      'users.id',
      'users.organizationId',
      'users.accountId',
      'users.email',
      'users.role',
      'users.active',
    ])
    .where('sessions.tokenHash', '=', tokenHash),
);

/** The user's sessions that are still live (neither idle too long nor past their lifetime), newest first. */
export async function listLiveSessions(db: Db, userId: string, idleTimeoutMs: number) {
  return db
    .selectFrom('sessions')
    .select(['id', 'createdAt', 'lastSeenAt', 'expiresAt', 'clientAddress', 'userAgent'])
    .where('userId', '=', userId)
    .where('expiresAt', '>', sql<Date>`now()`)
    .where(sql<boolean>`last_seen_at > now() - ${Math.trunc(idleTimeoutMs)}::bigint * interval '1 millisecond'`)
    .orderBy('createdAt', 'desc')
    .orderBy('id')
    .limit(100)
    .execute();
}

// The sweep (sweep.ts): what sign-in leaves behind, deleted once it no longer counts.

/** How much one sweep of a table deletes: rows per statement, and statements per run. */
export type SweepBatches = { batchSize: number; maxBatches: number };

const milliseconds = (value: number) => sql`(${value}::bigint * interval '1 millisecond')`;

/**
 * Deletes the rows of `table` (keyed by `key`) that `expired` selects, by
 * batches of `batchSize` while batches come back full, `maxBatches` at most.
 * Each batch picks its rows with `for update skip locked`.
 */
async function sweepTable(
  db: Db,
  table: string,
  key: string,
  expired: RawBuilder<unknown>,
  { batchSize, maxBatches }: SweepBatches,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const { rows } = await sql`
      delete from ${sql.table(table)} where ${sql.ref(key)} in (
        select ${sql.ref(key)} from ${sql.table(table)} where ${expired}
        limit ${batchSize}::int for update skip locked
      ) returning 1
    `.execute(db);
    total += rows.length;
    if (rows.length < batchSize) break;
  }
  return total;
}

/** Sessions past their absolute expiry, or idle for `idleTimeoutMs`. */
export function sweepSessions(db: Db, idleTimeoutMs: number, batches: SweepBatches): Promise<number> {
  const expired = sql`expires_at <= now() or last_seen_at <= now() - ${milliseconds(idleTimeoutMs)}`;
  return sweepTable(db, 'sessions', 'id', expired, batches);
}

/** Client address attempts out of their window, or abandoned in flight. */
export function sweepSignInAttempts(db: Db, windowMs: number, batches: SweepBatches): Promise<number> {
  const expired = sql`attempted_at <= now() - ${milliseconds(windowMs)} or pending_until <= now()`;
  return sweepTable(db, 'sign_in_attempts', 'id', expired, batches);
}

/** Per-email windows that have ended. */
export function sweepEmailWindows(db: Db, windowMs: number, batches: SweepBatches): Promise<number> {
  const expired = sql`window_started_at <= now() - ${milliseconds(windowMs)}`;
  return sweepTable(db, 'sign_in_email_windows', 'email_key', expired, batches);
}

// Sign-in's limits (sign-in.ts, rate-limits.ts): attempts per client address,
// sign-ins per email, and a user's run of failures.

/** The per-address limits a reservation is made under (sign-in-policy.ts `signInPolicy`). */
export type AddressLimits = { windowMs: number; pendingMs: number; maxFailures: number };

const windowOf = (windowMs: number) => sql`(${windowMs}::int * interval '1 millisecond')`;

/**
 * Takes the address's advisory lock for the rest of the transaction. Rate-limit
 * bookkeeping: with synchronous_commit off a crash may forget its last fraction
 * of a second, and in exchange this lock is not held through a disk flush.
 */
export async function lockClientKey(tx: Transaction<Database>, key: string): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(tx);
  await sql`select pg_advisory_xact_lock(hashtextextended(${`roster.sign_in.${key}`}, 0))`.execute(tx);
}

/**
 * One statement, after the lock: forget what has left the window and
 * reservations abandoned in flight (this address's rows, and a bounded batch
 * of anyone's old ones), count what is left, and reserve a place when there is
 * one. Its parts share one snapshot, so the counts leave out by their
 * conditions what the deletes remove. `id` is the reservation, null when none
 * was made.
 */
export async function reserveAddressPlace(tx: Transaction<Database>, key: string, limits: AddressLimits) {
  const window = windowOf(limits.windowMs);
  const { rows } = await sql<{ failures: number; inFlight: number; id: string | null }>`
      with forgotten as (
        delete from sign_in_attempts
        where client_key = ${key} and (attempted_at <= now() - ${window} or pending_until <= now())
      ), swept as (
        delete from sign_in_attempts where id in (
          select id from sign_in_attempts where attempted_at <= now() - ${window} limit 100
        )
      ), counts as (
        select
          count(*) filter (where pending_until is null)::int as failures,
          count(*) filter (where pending_until > now())::int as in_flight
        from sign_in_attempts
        where client_key = ${key} and attempted_at > now() - ${window}
      ), reserved as (
        insert into sign_in_attempts (client_key, pending_until)
        select ${key}, now() + ${limits.pendingMs}::int * interval '1 millisecond'
        from counts where failures + in_flight < ${limits.maxFailures}::int
        returning id
      )
      select failures, in_flight as "inFlight", (select id from reserved) as id from counts
    `.execute(tx);
  return rows[0];
}

/**
 * Seconds until the address may fail once more: until the oldest failure that
 * keeps it at its limit leaves the window.
 */
export async function secondsUntilAddressFrees(
  tx: Transaction<Database>,
  key: string,
  limits: Pick<AddressLimits, 'windowMs' | 'maxFailures'>,
): Promise<number> {
  const window = windowOf(limits.windowMs);
  const blocking = await tx
    .selectFrom('signInAttempts')
    .select(
      sql<number>`greatest(1, ceil(extract(epoch from (attempted_at + ${window} - now()))))::int`.as('waitSeconds'),
    )
    .where('clientKey', '=', key)
    .where('pendingUntil', 'is', null)
    .where(sql<boolean>`attempted_at > now() - ${window}`)
    .orderBy('attemptedAt', 'desc')
    .offset(limits.maxFailures - 1)
    .limit(1)
    .executeTakeFirstOrThrow();
  return blocking.waitSeconds;
}

/** Gives a reserved attempt back: it no longer counts against the address. */
export async function deleteAttempt(db: Db, id: string): Promise<void> {
  await db.deleteFrom('signInAttempts').where('id', '=', id).execute();
}

/** Counts a failure of the address outright (its reservation was cleaned up as abandoned meanwhile). */
export async function insertFailedAttempt(db: Db, key: string): Promise<void> {
  await db.insertInto('signInAttempts').values({ clientKey: key }).execute();
}

/** A correct password ends the run of failures. */
export async function resetUserFailures(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ failedSignIns: 0 })
    .where('id', '=', userId)
    .where('failedSignIns', '>', 0)
    .execute();
}

/**
 * Records a wrong password in one statement whatever the case (rate-limits.ts
 * `recordFailure` says what it does). Returns whether the reservation
 * `attemptId` was still there to settle.
 */
export async function recordFailureRows(
  db: Db,
  input: {
    attemptId: string | null;
    userId: string | null;
    reason: string | null;
    clientAddress: string | null;
    maxFailures: number;
    lockoutMs: number;
  },
): Promise<boolean> {
  const max = input.maxFailures;
  const { rows } = await sql<{ settled: number }>`
    with settled as (
      update sign_in_attempts set pending_until = null where id = ${input.attemptId}::uuid returning id
    ), counted as (
      update users set
        failed_sign_ins = case when failed_sign_ins + 1 >= ${max}::int then 0 else failed_sign_ins + 1 end,
        locked_until = case when failed_sign_ins + 1 >= ${max}::int
          then clock_timestamp() + ${input.lockoutMs}::int * interval '1 millisecond' else locked_until end
      where id = ${input.userId}::uuid and (locked_until is null or locked_until <= clock_timestamp())
      returning id, organization_id, email, first_name, last_name, account_id, failed_sign_ins, locked_until
    ), failed as (
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type, target_id, target_label,
        target_email, target_name, account_id, changes)
      select organization_id, null, null, 'auth.sign_in_failed', 'user', id, email,
        email, first_name || ' ' || last_name, account_id,
        jsonb_build_object('before', null, 'after',
          jsonb_build_object('reason', ${input.reason}::text, 'clientAddress', ${input.clientAddress}::text))
      from users where id = ${input.userId}::uuid and ${input.reason}::text is not null
    ), locked as (
      -- Before the update the user was not locked, so a reset count means this failure locked them.
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type, target_id, target_label,
        target_email, target_name, account_id, changes)
      select organization_id, null, 'system', 'user.locked', 'user', id, email,
        email, first_name || ' ' || last_name, account_id,
        jsonb_build_object('before', null, 'after', jsonb_build_object(
          'lockedUntil', to_char(locked_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'failedSignIns', ${max}::int, 'clientAddress', ${input.clientAddress}::text))
      from counted where failed_sign_ins = 0 and locked_until is not null
    )
    select (select count(*) from settled)::int as settled
  `.execute(db);
  return Boolean(rows[0]?.settled);
}

/**
 * Counts a sign-in of an email's key in its current window (a new window once
 * the last has ended), in one upsert: atomic under concurrency. Returns the
 * count and the seconds until the window ends.
 */
export async function countEmailSignIn(db: Db, key: string, windowMs: number) {
  const window = windowOf(windowMs);
  return db
    .insertInto('signInEmailWindows')
    .values({ emailKey: key, windowStartedAt: sql<Date>`now()`, signIns: 1 })
    .onConflict((oc) =>
      oc.column('emailKey').doUpdateSet({
        windowStartedAt: sql<Date>`case when sign_in_email_windows.window_started_at <= now() - ${window}
          then now() else sign_in_email_windows.window_started_at end`,
        signIns: sql<number>`case when sign_in_email_windows.window_started_at <= now() - ${window}
          then 1 else sign_in_email_windows.sign_ins + 1 end`,
      }),
    )
    .returning([
      'signIns',
      sql<number>`greatest(1, ceil(extract(epoch from (window_started_at + ${window} - now()))))::int`.as(
        'waitSeconds',
      ),
    ])
    .executeTakeFirstOrThrow();
}

/**
 * The user an email signs in as, across organizations (an email is unique
 * installation-wide), with the hash to check and whether a lockout is in force.
 */
export async function findSignInUser(db: Db, email: string) {
  return db
    .selectFrom('users')
    .select([
      'id',
      'organizationId',
      'email',
      'active',
      'passwordHash',
      sql<boolean>`coalesce(locked_until > now(), false)`.as('locked'),
    ])
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

/** A signed-in user's password hash, and the seconds their lockout still lasts (null or not positive: none). */
export async function findPasswordState(db: Db, userId: string) {
  return db
    .selectFrom('users')
    .select([
      'passwordHash',
      sql<number | null>`ceil(extract(epoch from (locked_until - now())))::int`.as('lockedForSeconds'),
    ])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}
