import type { Db, UserLinkPurpose } from '@roster/db';
import { recordAudit } from '../audit/queries.js';
import { type AppError, appError } from '../errors.js';
import type { findLinkByHash } from './queries.js';

type FoundLink = Awaited<ReturnType<typeof findLinkByHash>>;

const what = { invitation: 'invitation link', password_reset: 'password reset link' } as const;

/**
 * Why a mailed link does not work, as a refusal (expired, used, or no longer
 * valid); a link that exists is refused in the audit log too, in a transaction
 * of its own. A token that matches nothing leaves no row: it names no organization.
 */
export async function refuseLink(
  db: Db,
  link: FoundLink,
  purpose: UserLinkPurpose,
  attempt: 'look up' | 'accept' | 'reset',
): Promise<AppError> {
  const name = what[purpose];
  const again =
    purpose === 'invitation'
      ? 'Ask your administrator to send a new invitation.'
      : 'Ask for a new one with Forgot password? on the sign-in page.';
  if (!link) return appError('LINK_INVALID', `This ${name} is not valid. ${again}`);
  const why = link.usedAt ? 'used' : link.revokedAt ? 'revoked' : !link.active ? 'user_deactivated' : 'expired';
  await db.transaction().execute((tx) =>
    recordAudit(tx, {
      actor: { organizationId: link.organizationId, id: null, email: null },
      action: 'auth.link_refused',
      targetType: 'user',
      targetId: link.userId,
      targetLabel: link.userEmail,
      after: { purpose, attempt, reason: why },
    }),
  );
  if (why === 'used') return appError('LINK_USED', `This ${name} was used already: it works once. ${again}`);
  if (why === 'expired') return appError('LINK_EXPIRED', `This ${name} has expired. ${again}`);
  return appError('LINK_INVALID', `This ${name} no longer works. ${again}`);
}
