import type { Database, UserLinkPurpose } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { assertNotCommonPassword } from '../auth/common-passwords.js';
import { hashPassword } from '../auth/passwords.js';
import type { SessionRequest } from '../auth/service.js';
import { startSession } from '../auth/sessions.js';
import { hashSecret } from '../core/tokens.js';
import { findLinkByHash, markLinkUsed } from './queries.js';
import { refuseLink } from './refusals.js';

type FoundLink = Awaited<ReturnType<typeof findLinkByHash>>;
export type WorkingLink = NonNullable<FoundLink>;

/** Whether a mailed link still works: it exists, is neither used, revoked nor expired, and its user is active. */
export const linkWorks = (link: FoundLink): link is WorkingLink =>
  !!link && !link.usedAt && !link.revokedAt && !link.expired && link.active;

/**
 * Sets a password through a mailed link (accepting an invitation, resetting a
 * password): the same password rules as everywhere; a link that does not work
 * is refused before the password is hashed, and the hash is made before the
 * transaction; in it, the link is locked (and checked again) and used up, `change` makes the rest
 * of the change (it sets the password, and returns what the audit row adds
 * after the client address), a session starts as a sign-in's does, and the
 * row is written by the link's user. A link that does not work is refused
 * (refusals.ts) after the transaction. Returns the session token once.
 */
export async function setPasswordByLink(
  request: SessionRequest,
  input: { token: string; password: string },
  use: {
    purpose: UserLinkPurpose;
    attempt: 'accept' | 'reset';
    action: 'user.invitation_accepted' | 'user.password_reset';
  },
  change: (tx: Transaction<Database>, link: WorkingLink, passwordHash: string) => Promise<Record<string, unknown>>,
) {
  assertNotCommonPassword(input.password, ['password']);
  const tokenHash = hashSecret(input.token);
  // A link that does not work is refused before the password is hashed: a made-up token costs a lookup,
  // not argon2's memory and time. The transaction checks the link again, locked, before using it.
  const found = await findLinkByHash(request.db, tokenHash, use.purpose, false);
  if (!linkWorks(found)) throw await refuseLink(request.db, found, use.purpose, use.attempt);
  const passwordHash = await hashPassword(input.password);
  const outcome = await request.db.transaction().execute(async (tx) => {
    const link = await findLinkByHash(tx, tokenHash, use.purpose, true);
    if (!linkWorks(link)) return { refused: link };
    await markLinkUsed(tx, link.id);
    const changed = await change(tx, link, passwordHash);
    const session = await startSession(tx, link.userId, request);
    await recordAudit(tx, {
      actor: { id: link.userId, email: link.userEmail, organizationId: link.organizationId },
      action: use.action,
      targetType: 'user',
      targetId: link.userId,
      targetLabel: link.userEmail,
      after: { clientAddress: request.clientAddress, ...changed },
    });
    return { session, userId: link.userId, organizationId: link.organizationId };
  });
  if ('refused' in outcome) throw await refuseLink(request.db, outcome.refused, use.purpose, use.attempt);
  return outcome;
}
