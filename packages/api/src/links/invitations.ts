import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { auditName, recordAudit, recordAuditMany } from '../audit/queries.js';
import type { SessionRequest } from '../auth/service.js';
import { assertMayManageUser } from '../core/access.js';
import { hashSecret, randomSecret } from '../core/tokens.js';
import { appError } from '../errors.js';
import { queueMails, wakeMailWorkers } from '../mail/service.js';
import type { Actor } from '../shared/actor.js';
import type { MailConfig } from '../shared/config.js';
import { findUserById, lockUser, setPasswordHash } from '../users/queries.js';
import {
  findLinkByHash,
  findOpenInvitation,
  insertLinks,
  organizationName,
  personOf,
  revokeOpenLinks,
} from './queries.js';
import { linkWorks, setPasswordByLink } from './redeem.js';
import { refuseLink } from './refusals.js';

/** A user to invite, as created (or read) in the caller's transaction. */
export type Invitee = {
  id: string;
  accountId: string;
  email: string;
  firstName: string;
  lastName: string;
  active: boolean;
};

/** Who the mail says invited them: a person's name and email, or the identity provider's connection. */
async function inviterOf(db: Db, actor: Actor): Promise<string> {
  if (actor.via === 'scim') return `Your identity provider (${actor.email})`;
  const person = await personOf(db, actor.organizationId, actor.id);
  return person ? `${person.firstName} ${person.lastName} (${person.email})` : actor.email;
}

/**
 * Invites users in the caller's transaction (the one that created them, or a
 * resend): a fresh single-use link each, stored as its hash, any earlier open
 * invitation revoked, the mail queued and an audit row written. Deactivated
 * users are not invited. Returns when each invitation expires, by user id.
 */
export async function inviteUsers(
  tx: Transaction<Database>,
  actor: Actor,
  config: MailConfig,
  users: readonly Invitee[],
  action: 'user.invited' | 'user.invitation_resent' = 'user.invited',
): Promise<Map<string, Date>> {
  const invited = users.filter((user) => user.active);
  const expiries = new Map<string, Date>();
  if (invited.length === 0) return expiries;
  const organization = await organizationName(tx, actor.organizationId);
  const inviter = await inviterOf(tx, actor);
  const expiresAt = new Date(Date.now() + config.invitationTtlMs);
  if (action === 'user.invitation_resent') {
    for (const user of invited) await revokeOpenLinks(tx, actor.organizationId, user.id, 'invitation');
  }
  const links = invited.map((user) => ({ user, token: randomSecret() }));
  await insertLinks(
    tx,
    links.map(({ user, token }) => ({
      organizationId: actor.organizationId,
      userId: user.id,
      purpose: 'invitation' as const,
      tokenHash: hashSecret(token),
      email: user.email,
      expiresAt,
      createdBy: actor.via === 'scim' ? null : actor.id,
    })),
  );
  const mailIds = await queueMails(
    tx,
    config,
    links.map(({ user, token }) => {
      // The token travels in the fragment: browsers never send it to the server, so no request log holds it.
      const url = `${config.linkBase}/invitation#${token}`;
      return {
        organizationId: actor.organizationId,
        userId: user.id,
        to: user.email,
        params: {
          kind: 'invitation' as const,
          organization,
          inviter,
          invitee: auditName(user),
          email: user.email,
          expiresAt: expiresAt.toISOString(),
        },
        link: { url, expiresAt },
      };
    }),
  );
  await recordAuditMany(
    tx,
    actor,
    invited.map((user, index) => ({
      action,
      targetType: 'user' as const,
      targetId: user.id,
      targetLabel: user.email,
      targetEmail: user.email,
      targetName: auditName(user),
      accountId: user.accountId,
      after: { email: user.email, expiresAt: expiresAt.toISOString(), mailId: mailIds[index] },
    })),
  );
  for (const user of invited) expiries.set(user.id, expiresAt);
  queueMicrotask(wakeMailWorkers);
  return expiries;
}

const notFound = () => appError('NOT_FOUND', 'No such user.');

/** `users.resendInvitation`: a new link (the previous one stops working), mailed again. */
export async function resendInvitation(db: Db, actor: Actor, config: MailConfig, id: string) {
  return db.transaction().execute(async (tx) => {
    const user = await lockUser(tx, actor.organizationId, id);
    if (!user) throw notFound();
    // An account administrator: plain users of their account only (core/access.ts).
    assertMayManageUser(actor, user);
    if (user.hasPassword) {
      throw appError('NOT_INVITED', 'This user has a password already: there is no invitation to resend.');
    }
    if (!user.active) {
      throw appError('USER_INACTIVE', 'This user is deactivated: reactivate them first, then resend the invitation.');
    }
    await inviteUsers(tx, actor, config, [user], 'user.invitation_resent');
    return reread(tx, actor, user.id);
  });
}

async function reread(tx: Transaction<Database>, actor: Actor, id: string) {
  const user = await findUserById(tx, actor.organizationId, id);
  if (!user) throw notFound();
  return user;
}

/** `users.cancelInvitation`: the open link stops working; the user stays, without a password. */
export async function cancelInvitation(db: Db, actor: Actor, id: string) {
  return db.transaction().execute(async (tx) => {
    const user = await lockUser(tx, actor.organizationId, id);
    if (!user) throw notFound();
    // An account administrator: plain users of their account only (core/access.ts).
    assertMayManageUser(actor, user);
    const open = await findOpenInvitation(tx, actor.organizationId, user.id);
    if (!open) throw appError('NOT_INVITED', 'This user has no open invitation.');
    await revokeOpenLinks(tx, actor.organizationId, user.id, 'invitation');
    await recordAudit(tx, {
      actor,
      action: 'user.invitation_cancelled',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      before: { email: open.email, expiresAt: open.expiresAt.toISOString() },
    });
    return reread(tx, actor, user.id);
  });
}

/** `auth.invitation`: what the invitation page shows (organization and email), or why the link does not work. */
export async function lookUpInvitation(db: Db, token: string) {
  const link = await findLinkByHash(db, hashSecret(token), 'invitation');
  if (!linkWorks(link)) {
    // The refusal is audited (when the link is known) in a transaction of its own.
    throw await refuseLink(db, link, 'invitation', 'look up');
  }
  return { organization: link.organizationName, email: link.userEmail, expiresAt: link.expiresAt };
}

/**
 * `auth.acceptInvitation`: sets the first password (the same rules as
 * everywhere, hashed before the transaction), uses up the link, and starts a
 * session as a sign-in does, audited. Returns the session token once.
 */
export async function acceptInvitation(request: SessionRequest, input: { token: string; password: string }) {
  return setPasswordByLink(
    request,
    input,
    { purpose: 'invitation', attempt: 'accept', action: 'user.invitation_accepted' },
    async (tx, link, passwordHash) => {
      await setPasswordHash(tx, link.organizationId, link.userId, passwordHash);
      return { passwordSet: true };
    },
  );
}
