import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { errorCode, errorPath, isUnauthorized } from './lib/errors';
import { markSignedOut } from './lib/session';

// Worth a second try: the network or a database that was briefly away. Never an answer like FORBIDDEN.
const transient = new Set([undefined, 'SERVICE_UNAVAILABLE', 'TIMEOUT', 'INTERNAL_SERVER_ERROR', 'TOO_MANY_REQUESTS']);

/** A failed sign-in is UNAUTHORIZED too, but it does not end a session. */
const endsSession = (error: unknown) => isUnauthorized(error) && errorPath(error) !== 'auth.login';

export function createQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error) => {
        if (endsSession(error)) markSignedOut(queryClient);
      },
    }),
    mutationCache: new MutationCache({
      onError: (error) => {
        if (endsSession(error)) markSignedOut(queryClient);
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failures, error) => failures < 2 && transient.has(errorCode(error)),
      },
      mutations: { retry: false },
    },
  });
  return queryClient;
}
