import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { hashSecret, randomSecret } from '../core/tokens.js';
import { endSessionByTokenHash, endSessionsBeyond, insertSession, insertSessionNow } from './queries.js';
import type { SessionRequest } from './service.js';

/** Starts a session: a fresh random 256-bit token, returned once for the cookie. */
export async function createSession(
  db: Db,
  input: { userId: string; clientAddress: string | null; userAgent: string | null; absoluteTimeoutMs: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomSecret();
  const expiresAt = new Date(Date.now() + input.absoluteTimeoutMs);
  await insertSession(db, {
    tokenHash: hashSecret(token),
    userId: input.userId,
    expiresAt,
    clientAddress: input.clientAddress,
    userAgent: input.userAgent,
  });
  return { token, expiresAt };
}

/** Live sessions a user may hold; a sign-in beyond it ends the oldest. */
export const maxSessionsPerUser = 20;

/**
 * Starts a session of an admitted sign-in (queries.ts `admitSignIn`), in its
 * transaction, under the user's row lock: sign-ins of one user run here one at
 * a time. The user's expired sessions end, and so do the oldest live ones
 * beyond `maxSessionsPerUser - 1`, so with the new one the user holds at most
 * the cap. The request gives the client's address and agent and the session
 * timeouts. Returns the token, once, for the cookie, and how many sessions it ended.
 */
export async function startSession(
  tx: Transaction<Database>,
  userId: string,
  request: Pick<SessionRequest, 'clientAddress' | 'userAgent' | 'sessions'>,
) {
  const token = randomSecret();
  const expiresAt = new Date(Date.now() + request.sessions.absoluteTimeoutMs);
  const endedSessions = await endSessionsBeyond(tx, userId, {
    idleTimeoutMs: request.sessions.idleTimeoutMs,
    keep: maxSessionsPerUser - 1,
  });
  await insertSessionNow(tx, {
    tokenHash: hashSecret(token),
    userId,
    expiresAt,
    clientAddress: request.clientAddress,
    userAgent: request.userAgent,
  });
  return { token, expiresAt, endedSessions };
}

/** Ends the session of a token; returns whose it was (for the audit log), or undefined when there was none. */
export async function endSessionByToken(db: Db, token: string) {
  return endSessionByTokenHash(db, hashSecret(token));
}
