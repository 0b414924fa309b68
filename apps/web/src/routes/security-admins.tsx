import { useMemo } from 'react';
import { MoreRows } from '../components/data-table';
import { useMe } from '../components/me';
import { EmptyState, ErrorState, Spinner } from '../components/states';
import { UsersTable } from '../components/users-table';
import { trpc } from '../trpc';

/** Security Settings > Administrators: who can manage the organization, and changing that. */
export function AdministratorsTab() {
  const me = useMe();
  const admins = trpc.users.search.useInfiniteQuery(
    { role: 'admin', limit: 25 },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );
  const items = useMemo(() => admins.data?.pages.flatMap((page) => page.items) ?? [], [admins.data]);
  return (
    <section aria-labelledby="admins-heading">
      <div className="toolbar">
        <h2 id="admins-heading" className="section-title">
          Administrators
        </h2>
      </div>
      <p className="muted section-intro">
        Administrators manage every account and user. They belong to the default account; make one of its users an
        administrator from the user's actions. The organization always keeps at least one active administrator.
      </p>
      {admins.isPending ? (
        <Spinner label="Loading administrators…" />
      ) : admins.isError ? (
        <ErrorState error={admins.error} onRetry={() => void admins.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No administrators found." />
      ) : (
        <UsersTable
          caption="Administrators"
          users={items}
          defaultAccountId={me.accountId}
          footer={
            <MoreRows
              shown={items.length}
              noun={['administrator', 'administrators']}
              hasMore={admins.hasNextPage}
              loading={admins.isFetchingNextPage}
              onMore={() => void admins.fetchNextPage()}
            />
          }
        />
      )}
    </section>
  );
}
