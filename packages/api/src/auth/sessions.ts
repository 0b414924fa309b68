import { createHash, randomBytes } from 'node:crypto';
import { type Db, preparedQuery } from '@roster/db';
import { sql } from 'kysely';
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

/**
 * Signs a user in, in one statement: a new session, the sign-in attempt given
 * back (`attemptId`, see sign-in.ts), the run of failed sign-ins ended and the
 * time of this sign-in noted. Returns the token, once, for the cookie, and the
 * user as the API shows them; no user when they vanished meanwhile.
 */
export async function startSession(
  db: Db,
  input: {
    userId: string;
    organizationId: string;
    attemptId: string | null;
    clientAddress: string | null;
    userAgent: string | null;
    absoluteTimeoutMs: number;
  },
) {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + input.absoluteTimeoutMs);
  const user = await db
    // No attempt (an unknown client address): `id = null` deletes nothing.
    .with('released', (qb) => qb.deleteFrom('signInAttempts').where('id', '=', input.attemptId ?? sql<string>`null`))
    .with('started', (qb) =>
      qb.insertInto('sessions').values({
        tokenHash: hashToken(token),
        userId: input.userId,
        expiresAt,
        clientAddress: input.clientAddress,
        userAgent: input.userAgent,
      }),
    )
    .updateTable('users')
    .set({ lastLoginAt: sql<Date>`now()`, failedSignIns: 0 })
    .where('users.organizationId', '=', input.organizationId)
    .where('users.id', '=', input.userId)
    .returning(userColumns)
    .executeTakeFirst();
  return { token, expiresAt, user };
}

/** Ends every session of a user, but one (the caller's own, when it changes its password). */
export async function endSessions(db: Db, userId: string, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('userId', '=', userId);
  if (exceptSessionId) query = query.where('id', '<>', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function endSessionByToken(db: Db, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('tokenHash', '=', hashToken(token)).execute();
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
