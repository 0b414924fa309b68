import { type ReactNode, useMemo } from 'react';
import type { PageSize } from '../lib/page-size';
import { MoreRows } from './data-table';
import { EmptyState, ErrorState, Spinner } from './states';

/** What PagedList needs of an infinite query over `{ items, nextCursor }` pages. */
export type PagedQuery<T> = {
  data?: { pages: ReadonlyArray<{ items: T[] }> } | undefined;
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
};

/** The rows of every page loaded so far. */
function usePagedItems<T>(query: PagedQuery<T>): T[] {
  return useMemo(() => query.data?.pages.flatMap((page) => page.items) ?? [], [query.data]);
}

/**
 * A server-paged list in its four states: loading, failed (with Try again),
 * empty (with what to do about it), or its table, whose footer counts the rows
 * (of the total, when it is known cheaply) and offers Show more while there are more pages.
 */
export function PagedList<T>({
  query,
  loading,
  noun,
  empty,
  total,
  pageSize,
  children,
}: {
  query: PagedQuery<T>;
  /** Said while the first page loads, e.g. "Loading users…". */
  loading: string;
  /** Singular and plural, for the footer: ['user', 'users']. */
  noun: [string, string];
  empty: { title: string; hint?: ReactNode };
  /** How many rows there are in all, when known without counting (an account's userCount). */
  total?: number | undefined;
  /** The rows a page brings (the `limit` the query was given, from usePageSize); with it, the footer lets people change it. */
  pageSize?: PageSize;
  /** The table of the rows, with the footer to put under it. */
  children: (items: T[], footer: ReactNode) => ReactNode;
}) {
  const items = usePagedItems(query);
  if (query.isPending) return <Spinner label={loading} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  if (items.length === 0) return <EmptyState title={empty.title}>{empty.hint}</EmptyState>;
  return children(
    items,
    <MoreRows
      shown={items.length}
      total={total}
      noun={noun}
      hasMore={query.hasNextPage}
      loading={query.isFetchingNextPage}
      onMore={() => void query.fetchNextPage()}
      pageSize={pageSize}
    />,
  );
}
