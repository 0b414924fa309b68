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

/** The session and its user, by the token's hash: every signed-in request runs it, so it is compiled once. */
export const sessionByTokenHash = preparedQuery((db, tokenHash: string) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .select([
      'sessions.id as sessionId',
      'sessions.lastSeenAt',
      'sessions.expiresAt',
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
