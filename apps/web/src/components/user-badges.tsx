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
      {!user.hasPassword && (
        <span className="badge badge-amber" title="Created without a password: set one so they can sign in.">
          Cannot sign in: no password
        </span>
      )}
    </span>
  );
}
