import { createHash, randomBytes } from 'node:crypto';
import { type Database, type Db, preparedQuery } from '@roster/db';
import { sql, type Transaction } from 'kysely';
import { authenticateApiKey } from '../api-keys/service.js';
import type { Actor, Context } from '../context.js';
import { userColumns } from '../users/queries.js';

/** Sessions are looked up by this hash; the token itself is never stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Starts a session: a fresh random 256-bit token, returned once for the cookie. */
export async function createSession(
  db: Db,
  input: { userId: string; clientAddress: string | null; userAgent: string | null; absoluteTimeoutMs: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + input.absoluteTimeoutMs);
  await db
    .insertInto('sessions')
    .values({
      tokenHash: hashToken(token),
      userId: input.userId,
      expiresAt,
      clientAddress: input.clientAddress,
      userAgent: input.userAgent,
    })
    .execute();
  return { token, expiresAt };
}

/** Live sessions a user may hold; a sign-in beyond it ends the oldest. */
export const maxSessionsPerUser = 20;

/**
 * The first step of a sign-in with a correct password, in the sign-in's
 * transaction: one conditional update that takes the user's row lock and
 * admits the sign-in only if, at that moment, the user is active, not locked
 * out and still has the password that was checked. A failure counted in
 * parallel takes the same row lock (sign-in.ts `recordUserFailure`), so the two
 * are decided one after the other, never both on a stale read. Admitted, the
 * run of failures ends and the time of this sign-in is noted; returns the user
 * as the API shows them, or undefined when not admitted.
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
 * Starts a session of an admitted sign-in (`admitSignIn`), in its transaction,
 * under the user's row lock: sign-ins of one user run here one at a time. The
 * user's expired sessions end, and so do the oldest live ones beyond
 * `maxSessionsPerUser - 1`, so with the new one the user holds at most the cap.
 * Returns the token, once, for the cookie, and how many sessions it ended.
 */
export async function startSession(
  tx: Transaction<Database>,
  input: {
    userId: string;
    clientAddress: string | null;
    userAgent: string | null;
    absoluteTimeoutMs: number;
    idleTimeoutMs: number;
  },
) {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + input.absoluteTimeoutMs);
  const idle = sql`(${input.idleTimeoutMs}::bigint * interval '1 millisecond')`;
  // A statement of its own, after the row lock: it sees every session committed before.
  const ended = await tx
    .deleteFrom('sessions')
    .where('userId', '=', input.userId)
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
            .where('userId', '=', input.userId)
            .orderBy('createdAt', 'desc')
            .orderBy('id', 'desc')
            .offset(maxSessionsPerUser - 1),
        ),
      ]),
    )
    .executeTakeFirst();
  await tx
    .insertInto('sessions')
    .values({
      tokenHash: hashToken(token),
      userId: input.userId,
      // The moment under the row lock, not the transaction's start: sessions of one user are ordered by it.
      createdAt: sql<Date>`clock_timestamp()`,
      lastSeenAt: sql<Date>`clock_timestamp()`,
      expiresAt,
      clientAddress: input.clientAddress,
      userAgent: input.userAgent,
    })
    .execute();
  return { token, expiresAt, endedSessions: Number(ended.numDeletedRows) };
}

/** Ends every session of a user, but one (the caller's own, when it changes its password). */
export async function endSessions(db: Db, userId: string, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('userId', '=', userId);
  if (exceptSessionId) query = query.where('id', '<>', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ends the session of a token; returns whose it was (for the audit log), or undefined when there was none. */
export async function endSessionByToken(db: Db, token: string) {
  return db.deleteFrom('sessions').where('tokenHash', '=', hashToken(token)).returning('userId').executeTakeFirst();
}

// Refreshing last_seen_at on every request would make every read a write. It
// is refreshed at most once a minute, and at least every quarter of the idle
// time: a session in use must never look idle (with a one-minute idle time, a
// once-a-minute refresh would end every session a minute after sign-in).
const touchEveryMs = 60_000;

/** The session and its user, by the token's hash: every signed-in request runs it, so it is compiled once. */
const sessionByTokenHash = preparedQuery((db, tokenHash: string) =>
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

/**
 * The actor behind the context's credential, or null. With an Authorization
 * header, that is its API key, and only it: a key that does not work throws
 * UNAUTHORIZED rather than falling back to a cookie or to anonymous. Otherwise
 * the session cookie: a session of a deactivated or deleted user, or one past
 * its idle or absolute expiry, is no session.
 */
export async function authenticate(ctx: Context): Promise<Actor | null> {
  if (ctx.bearerToken !== null) return authenticateApiKey(ctx, ctx.bearerToken);
  if (!ctx.sessionToken || ctx.sessionToken.length > 200) return null;
  const [row] = await sessionByTokenHash(ctx.db, hashToken(ctx.sessionToken));
  if (!row) return null;
  const now = Date.now();
  const idleExpired = now - row.lastSeenAt.getTime() > ctx.sessions.idleTimeoutMs;
  if (!row.active || idleExpired || row.expiresAt.getTime() <= now) {
    await ctx.db.deleteFrom('sessions').where('id', '=', row.sessionId).execute();
    return null;
  }
  if (now - row.lastSeenAt.getTime() > Math.min(touchEveryMs, ctx.sessions.idleTimeoutMs / 4)) {
    await ctx.db
      .updateTable('sessions')
      .set({ lastSeenAt: sql<Date>`now()` })
      .where('id', '=', row.sessionId)
      .execute();
  }
  return {
    id: row.id,
    organizationId: row.organizationId,
    accountId: row.accountId,
    email: row.email,
    role: row.role,
    via: 'session',
    sessionId: row.sessionId,
  };
}
