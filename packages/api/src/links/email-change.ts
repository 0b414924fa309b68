import type { Database } from '@roster/db';
import type { Transaction } from 'kysely';
import { auditName, recordAudit } from '../audit/queries.js';
import { type MailToQueue, queueMails, wakeMailWorkers } from '../mail/service.js';
import type { Actor } from '../shared/actor.js';
import type { MailConfig } from '../shared/config.js';
import { type Invitee, inviteUsers } from './invitations.js';
import { findOpenInvitation, organizationName, personOf, revokeOpenLinks } from './queries.js';

/**
 * After an administrator (or SCIM) changed a user's email, in the same
 * transaction: the change applies at once (the API's contract), so the old
 * address is told, and the new one too; every link mailed to the old address
 * stops working (a reset link must not outlive the address it went to), and an
 * invited user's invitation goes again, to the new address, instead of the notice.
 */
export async function afterEmailChange(
  tx: Transaction<Database>,
  actor: Actor,
  mail: MailConfig,
  from: string,
  user: Invitee,
): Promise<void> {
  const invitation = await findOpenInvitation(tx, actor.organizationId, user.id);
  await revokeOpenLinks(tx, actor.organizationId, user.id);
  const organization = await organizationName(tx, actor.organizationId);
  const person = actor.via === 'scim' ? null : await personOf(tx, actor.organizationId, actor.id);
  const changedBy = person
    ? `${person.firstName} ${person.lastName} (${person.email})`
    : `Your identity provider (${actor.email})`;
  const common = { organization, changedBy, name: auditName(user), from, to: user.email };
  const mails: MailToQueue[] = [
    {
      organizationId: actor.organizationId,
      userId: user.id,
      to: from,
      params: { kind: 'email_changed_old' as const, ...common },
    },
  ];
  if (!invitation) {
    mails.push({
      organizationId: actor.organizationId,
      userId: user.id,
      to: user.email,
      params: { kind: 'email_changed_new' as const, ...common },
    });
  }
  const mailIds = await queueMails(tx, mail, mails);
  await recordAudit(tx, {
    actor,
    action: 'user.email_change_notified',
    targetType: 'user',
    targetId: user.id,
    targetLabel: user.email,
    after: { from, to: user.email, mailIds, reinvited: invitation !== undefined },
  });
  if (invitation) await inviteUsers(tx, actor, mail, [user], 'user.invitation_resent');
  queueMicrotask(wakeMailWorkers);
}
