import type { AppRouter } from '@roster/api';
import { httpBatchLink } from '@trpc/client';
import { createTRPCReact, type inferReactQueryProcedureOptions } from '@trpc/react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import superjson from 'superjson';

/** Typed hooks for every procedure: `trpc.users.search.useQuery(input)`. */
export const trpc = createTRPCReact<AppRouter>();

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type ReactQueryOptions = inferReactQueryProcedureOptions<AppRouter>;

/** A user and an account exactly as the API returns them. */
export type User = RouterOutputs['users']['get'];
export type Account = RouterOutputs['accounts']['get'];
export type ApiKey = RouterOutputs['apiKeys']['list']['items'][number];
export type Session = RouterOutputs['users']['sessions'][number];
export type AuditEntry = RouterOutputs['audit']['list']['items'][number];

/** The server answers at most 20 calls in one batch; stay within it. */
export const maxBatchItems = 20;

/** The server answers 414 to a URL over 8 KiB; longer batches of queries are split well before that. */
export const maxURLLength = 4000;

export function createTrpcClient() {
  return trpc.createClient({
    links: [
      httpBatchLink({
        url: '/trpc',
        transformer: superjson,
        maxItems: maxBatchItems,
        maxURLLength,
        fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
      }),
    ],
  });
}
