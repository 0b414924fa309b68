import type { Db } from '@roster/db';
import { revokeKeysOf } from '../api-keys/service.js';
import { recordAudit } from '../audit/queries.js';
import { endSessions, listLiveSessions } from '../auth/queries.js';
import { assertMayManageUser, assertUserInScope } from '../core/access.js';
import { appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import type { SessionConfig } from '../shared/config.js';
import type { SessionOutput, UserOutput } from '../shared/outputs.js';
import { clearLockout, findUserById, lockUser } from './queries.js';

// What administrators do about a user's sign-in: lift a lockout, see and end sessions.

const notFound = () => appError('NOT_FOUND', 'No such user.');

/**
 * Lifts a lockout and forgets the failed sign-ins, audited. A user who is not
 * locked is left exactly as they are (their count of failures included): no
 * change without an audit row.
 */
export async function unlockUser(db: Db, actor: Actor, id: string): Promise<UserOutput> {
  return db.transaction().execute(async (tx) => {
    const found = await lockUser(tx, actor.organizationId, id);
    if (!found) throw notFound();
    assertMayManageUser(actor, found);
    const { passwordHash: _, ...user } = found;
    if (!user.lockedUntil) return user;
    await clearLockout(tx, actor.organizationId, user.id);
    await recordAudit(tx, {
      actor,
      action: 'user.unlocked',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      before: { lockedUntil: user.lockedUntil.toISOString() },
      after: { lockedUntil: null },
    });
    return { ...user, lockedUntil: null };
  });
}

/** The user's sessions that are still live (neither idle too long nor past their lifetime), newest first. */
export async function listSessions(
  db: Db,
  actor: Actor,
  id: string,
  sessions: SessionConfig,
): Promise<SessionOutput[]> {
  const user = await findUserById(db, actor.organizationId, id);
  if (!user) throw notFound();
  assertUserInScope(actor, user);
  const rows = await listLiveSessions(db, user.id, sessions.idleTimeoutMs);
  const currentSessionId = actor.via === 'session' ? actor.sessionId : null;
  return rows.map((row) => ({ ...row, current: row.id === currentSessionId }));
}

/**
 * Signs the user out everywhere, at once. An administrator ending their own
 * sessions keeps the one they are using (as a password change does). With
 * `revokeApiKeys`, their keys that still work are revoked too, for good.
 */
export async function endUserSessions(
  db: Db,
  actor: Actor,
  input: { id: string; revokeApiKeys?: boolean | undefined },
): Promise<{ ended: number; apiKeysRevoked: number }> {
  return db.transaction().execute(async (tx) => {
    const user = await lockUser(tx, actor.organizationId, input.id);
    if (!user) throw notFound();
    // An account administrator may end their own sessions, as anyone they manage.
    assertMayManageUser(actor, user, { self: true });
    const ended = await endSessions(
      tx,
      user.id,
      user.id === actor.id && actor.via === 'session' ? actor.sessionId : undefined,
    );
    const apiKeysRevoked = input.revokeApiKeys ? await revokeKeysOf(tx, actor, user, 'sessions_ended') : 0;
    await recordAudit(tx, {
      actor,
      action: 'user.sessions_ended',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      after: input.revokeApiKeys ? { ended, apiKeysRevoked } : { ended },
    });
    return { ended, apiKeysRevoked };
  });
}
