import { formatDateTime, formatLockTime } from '../lib/format';

/** "Locked until 14:05": the user cannot sign in until then (too many failed sign-ins). */
export function LockBadge({ until }: { until: Date }) {
  return (
    <span className="badge badge-red" title={`Too many failed sign-ins: locked until ${formatDateTime(until)}`}>
      Locked until {formatLockTime(until)}
    </span>
  );
}
