import { auditName, recordAudit } from '../audit/queries.js';
import { clientKey, emailKey } from '../auth/limit-keys.js';
import { endSessions } from '../auth/queries.js';
import type { SessionRequest } from '../auth/service.js';
import { RetryLater } from '../auth/sign-in-policy.js';
import { hashSecret, randomSecret } from '../core/tokens.js';
import { appError } from '../errors.js';
import { queueMail, wakeMailWorkers } from '../mail/service.js';
import type { MailConfig } from '../shared/config.js';
import { setPasswordHash } from '../users/queries.js';
import { countResetRequests, findResetUser, insertLinks, revokeOpenLinks } from './queries.js';
import { setPasswordByLink } from './redeem.js';

/** Reset mails one email may be sent an hour; beyond, requests are answered the same and send nothing. */
export const resetsPerEmailPerHour = 3;
/** Reset requests one client address (an IPv6 /64) may make an hour; beyond, TOO_MANY_REQUESTS. */
export const resetsPerAddressPerHour = 10;

/** The one answer to every reset request, whether the email is anyone's or not. */
export const resetRequestAnswer = {
  ok: true as const,
  message:
    'If this email belongs to an active user, a link to choose a new password is on its way. It works for 30 minutes.',
};

/**
 * `auth.requestPasswordReset`: mails a reset link to an active user with this
 * email, and answers the same, after the same time (at least `mail.resetAnswerMs`),
 * whether or not there is one: the answer tells nobody which emails exist. Per
 * email at most `resetsPerEmailPerHour` mails (the rest silently send nothing,
 * so no one can flood a mailbox); per client address at most
 * `resetsPerAddressPerHour` requests (then TOO_MANY_REQUESTS, which depends on
 * the caller's own requests only). Deactivated users get nothing. A user who has
 * no password yet (invited) gets a reset link too: choosing a password through
 * it is what accepting the invitation does, and it ends the invitation.
 */
export async function requestPasswordReset(
  request: Pick<SessionRequest, 'db' | 'clientAddress'> & { mail: MailConfig },
  input: { email: string },
) {
  const started = Date.now();
  try {
    const queued = await request.db.transaction().execute(async (tx) => {
      const counts = await countResetRequests(tx, emailKey(input.email), clientKey(request.clientAddress) ?? 'unknown');
      if (counts.byAddress > resetsPerAddressPerHour) return 'address_limit' as const;
      // The same work whether the email is anyone's or not: the lookup runs either way.
      const user = await findResetUser(tx, input.email);
      if (!user?.active || counts.byEmail > resetsPerEmailPerHour) return false;
      const token = randomSecret();
      const expiresAt = new Date(Date.now() + request.mail.resetTtlMs);
      // A new link ends the earlier ones: only the latest mail works.
      await revokeOpenLinks(tx, user.organizationId, user.id, 'password_reset');
      await insertLinks(tx, [
        {
          organizationId: user.organizationId,
          userId: user.id,
          purpose: 'password_reset',
          tokenHash: hashSecret(token),
          email: user.email,
          expiresAt,
          createdBy: null,
        },
      ]);
      const url = `${request.mail.linkBase}/reset-password#${token}`;
      const mailId = await queueMail(tx, request.mail, {
        organizationId: user.organizationId,
        userId: user.id,
        to: user.email,
        params: {
          kind: 'password_reset',
          organization: user.organizationName,
          name: auditName(user),
          email: user.email,
          expiresAt: expiresAt.toISOString(),
        },
        link: { url, expiresAt },
      });
      await recordAudit(tx, {
        actor: { organizationId: user.organizationId, id: null, email: null },
        action: 'user.password_reset_requested',
        targetType: 'user',
        targetId: user.id,
        targetLabel: user.email,
        after: { clientAddress: request.clientAddress, expiresAt: expiresAt.toISOString(), mailId },
      });
      return true;
    });
    if (queued === 'address_limit') {
      throw appError(
        'RATE_LIMITED',
        'Too many password reset requests from your network. Try again in an hour.',
        new RetryLater(3600),
      );
    }
    if (queued) queueMicrotask(wakeMailWorkers);
    return resetRequestAnswer;
  } finally {
    // The same time either way: a request that found a user and queued a mail is not told apart by its duration.
    const left = request.mail.resetAnswerMs - (Date.now() - started);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  }
}

/**
 * `auth.resetPassword`: sets a new password through a reset link (the same
 * rules as everywhere), uses the link up, ends every session of the user and
 * every other open link (reset or invitation), and signs in afresh, audited.
 */
export async function resetPassword(request: SessionRequest, input: { token: string; password: string }) {
  return setPasswordByLink(
    request,
    input,
    { purpose: 'password_reset', attempt: 'reset', action: 'user.password_reset' },
    async (tx, link, passwordHash) => {
      await revokeOpenLinks(tx, link.organizationId, link.userId);
      await setPasswordHash(tx, link.organizationId, link.userId, passwordHash);
      return { endedSessions: await endSessions(tx, link.userId) };
    },
  );
}
