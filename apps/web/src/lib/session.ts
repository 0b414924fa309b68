import type { QueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { trpc, type User } from '../trpc';

/** The cache key of `auth.me`: the console's single source of "who is signed in". */
export const meKey = () => getQueryKey(trpc.auth.me, undefined, 'query');

/**
 * The session is gone (ended, expired, or the user was deactivated). Marking
 * "nobody is signed in" is enough: the signed-in layout sees it and sends the
 * person to sign in, remembering where they were.
 */
export function markSignedOut(queryClient: QueryClient) {
  queryClient.setQueryData<User | null>(meKey(), null);
}

/** Starts a fresh session in the cache: nothing of the previous one survives. */
export function markSignedIn(queryClient: QueryClient, user: User) {
  queryClient.removeQueries();
  queryClient.setQueryData<User | null>(meKey(), user);
}
