import { trpc } from '../trpc';

/**
 * After a change, everything it can touch is refetched: lists, counts and the
 * audit log (every change writes one).
 */
export function useRefreshAdminData() {
  const utils = trpc.useUtils();
  return () =>
    Promise.all([utils.accounts.invalidate(), utils.users.invalidate(), utils.audit.invalidate()]).then(
      () => undefined,
    );
}
