import { useMe } from '../components/me';
import { PagedList } from '../components/paged-list';
import { UsersTable } from '../components/users-table';
import { usePageSize } from '../lib/page-size';
import { trpc } from '../trpc';

/** Security Settings > Administrators: who can manage the organization, and changing that. */
export function AdministratorsTab() {
  const me = useMe();
  const pageSize = usePageSize();
  const admins = trpc.users.search.useInfiniteQuery(
    { role: 'admin', limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
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
      <PagedList
        query={admins}
        loading="Loading administrators…"
        noun={['administrator', 'administrators']}
        pageSize={pageSize}
        empty={{ title: 'No administrators found.' }}
      >
        {(items, footer) => (
          <UsersTable caption="Administrators" users={items} defaultAccountId={me.accountId} footer={footer} />
        )}
      </PagedList>
    </section>
  );
}
