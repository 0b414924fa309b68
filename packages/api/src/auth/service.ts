import type { Database } from '@roster/db';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { fieldError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import type { SessionConfig } from '../shared/config.js';
import { findUserIdentity, setPasswordHash } from '../users/queries.js';
import { assertNotCommonPassword } from './common-passwords.js';
import { hashPassword } from './passwords.js';
import { endSessions } from './queries.js';
import { endSessionByToken, startSession } from './sessions.js';
import { checkCredentials, checkCurrentPassword, type SignInInput } from './sign-in.js';

/** What a sign-in or sign-out knows of its request. */
export type SessionRequest = {
  db: Kysely<Database>;
  /** The session the browser holds already, if any. */
  sessionToken: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  sessions: SessionConfig;
};

/**
 * Signs in with an email and password (rate limits, lockout and constant-time
 * failure live in sign-in.ts) and starts a session, audited. Returns the
 * token, once, for the cookie.
 */
export async function signIn(request: SessionRequest, input: SignInInput) {
  return checkCredentials(request, input, async (tx, found, organizationId) => {
    // A new token at every sign-in; the one the browser held before is ended.
    if (request.sessionToken) await endSessionByToken(tx, request.sessionToken);
    const session = await startSession(tx, found.id, request);
    await recordAudit(tx, {
      actor: { id: found.id, email: found.email, organizationId },
      action: 'auth.signed_in',
      targetType: 'user',
      targetId: found.id,
      targetLabel: found.email,
      after: { clientAddress: request.clientAddress, endedSessions: session.endedSessions },
    });
    return { ...session, user: found };
  });
}

/** Ends the session of a token, audited as its user's sign-out; nothing when there is none. */
export async function signOut(request: Pick<SessionRequest, 'db' | 'clientAddress'>, token: string): Promise<void> {
  await request.db.transaction().execute(async (tx) => {
    const ended = await endSessionByToken(tx, token);
    const user = ended && (await findUserIdentity(tx, ended.userId));
    if (!user) return;
    await recordAudit(tx, {
      actor: { id: user.id, email: user.email, organizationId: user.organizationId },
      action: 'auth.signed_out',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      after: { clientAddress: request.clientAddress },
    });
  });
}

/**
 * Changes the signed-in user's own password, after checking the current one
 * (wrong guesses count like failed sign-ins). Everyone else who signed in as
 * this user is signed out; this session goes on.
 */
export async function changePassword(
  request: Pick<SessionRequest, 'db' | 'clientAddress' | 'sessions'>,
  actor: Actor & { via: 'session' },
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  assertNotCommonPassword(input.newPassword, ['newPassword']);
  if (!(await checkCurrentPassword(request, actor, input.currentPassword))) {
    // Named as the field at fault in data.fieldErrors, like any bad input.
    throw fieldError('WRONG_CURRENT_PASSWORD', ['currentPassword'], 'The current password is incorrect.');
  }
  const passwordHash = await hashPassword(input.newPassword);
  await request.db.transaction().execute(async (tx) => {
    await setPasswordHash(tx, actor.organizationId, actor.id, passwordHash);
    await endSessions(tx, actor.id, actor.sessionId);
    await recordAudit(tx, {
      actor,
      action: 'user.password_changed',
      targetType: 'user',
      targetId: actor.id,
      targetLabel: actor.email,
    });
  });
}
