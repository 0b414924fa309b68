import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { columnsFor, DataTable } from '../components/data-table';
import { useMe } from '../components/me';
import { PagedList } from '../components/paged-list';
import { SearchBox } from '../components/search-box';
import { formatDate } from '../lib/format';
import { usePageSize } from '../lib/page-size';
import { permissionsOf } from '../lib/permissions';
import { type Account, trpc } from '../trpc';

const route = getRouteApi('/app/admin/orgReader/security/accounts');
const column = columnsFor<Account>();

const columns = [
  column.accessor('name', {
    header: 'Name',
    cell: ({ row }) => (
      <span className="name-cell">
        <Link
          to="/accounts/$accountId"
          params={{ accountId: row.original.id }}
          className="strong-link clamp"
          title={row.original.name}
        >
          {row.original.name}
        </Link>
        {row.original.isDefault && <span className="badge badge-blue">Default</span>}
      </span>
    ),
  }),
  column.accessor('description', {
    header: 'Description',
    cell: ({ getValue }) =>
      getValue() ? (
        <span className="clamp" title={getValue()}>
          {getValue()}
        </span>
      ) : (
        <span className="muted">—</span>
      ),
  }),
  column.accessor('userCount', { header: 'Users', cell: ({ getValue }) => getValue() }),
  column.accessor('createdAt', { header: 'Created', cell: ({ getValue }) => formatDate(getValue()) }),
];

/** Security Settings > Accounts: every account of the organization, searchable, a page at a time. */
export function AccountsTab() {
  const { q } = route.useSearch();
  const navigate = useNavigate();
  const pageSize = usePageSize();
  const accounts = trpc.accounts.list.useInfiniteQuery(
    { query: q, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );

  return (
    <section aria-labelledby="accounts-heading">
      <div className="toolbar">
        <h2 id="accounts-heading" className="section-title">
          Accounts
        </h2>
        <SearchBox
          label="Search accounts"
          value={q ?? ''}
          onChange={(text) => void navigate({ to: '.', search: { q: text || undefined }, replace: true })}
        />
        {permissionsOf(useMe()).isOrgAdmin && (
          <Link to="/accounts/new" className="btn btn-primary">
            Add account
          </Link>
        )}
      </div>
      <PagedList
        query={accounts}
        loading="Loading accounts…"
        noun={['account', 'accounts']}
        pageSize={pageSize}
        empty={{
          title: q ? `No account matches “${q}”.` : 'There are no accounts yet.',
          hint: q ? 'Try another name, or clear the search.' : 'Add an account to start adding users.',
        }}
      >
        {(items, footer) => <DataTable caption="Accounts" columns={columns} data={items} footer={footer} />}
      </PagedList>
    </section>
  );
}
