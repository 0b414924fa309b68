import { formatDateTime } from '../lib/format';
import type { User } from '../trpc';
import { LockBadge } from './lock-badge';

/** Whether the user can sign in: active or not, locked out, or without any password yet. */
export function UserBadges({ user }: { user: User }) {
  return (
    <span className="name-cell">
      {user.active ? (
        <span className="badge badge-green">Active</span>
      ) : (
        <span className="badge badge-gray">Inactive</span>
      )}
      {user.lockedUntil && <LockBadge until={user.lockedUntil} />}
      {user.invited && user.invitationExpiresAt && <InvitedBadge until={user.invitationExpiresAt} />}
      {!user.hasPassword && !user.invited && (
        <span
          className="badge badge-amber"
          title="No password and no open invitation: send an invitation from their page, or set a password."
        >
          Cannot sign in: no password
        </span>
      )}
    </span>
  );
}

/** Invited by email and not yet accepted; an expired link says so (resend it from the user's page). */
function InvitedBadge({ until }: { until: Date }) {
  const expired = until.getTime() <= Date.now();
  return (
    <span
      className={expired ? 'badge badge-amber' : 'badge badge-blue'}
      title={
        expired
          ? `The invitation link expired on ${formatDateTime(until)}: resend it from the user's page.`
          : `Invited by email: the link works until ${formatDateTime(until)}.`
      }
    >
      {expired ? 'Invited (link expired)' : 'Invited'}
    </span>
  );
}
