import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useCallback, useMemo } from 'react';
import { AccountFilter } from '../components/account-filter';
import { ClearFilters } from '../components/clear-filters';
import { ExportCsvLink } from '../components/export-csv-link';
import { useMe } from '../components/me';
import { SearchBox } from '../components/search-box';
import { SelectFilter } from '../components/select-filter';
import { UserResults } from '../components/user-results';
import type { TableSort } from '../components/users-table';
import { useAccountNames } from '../lib/account-names';
import { usePageSize } from '../lib/page-size';
import { permissionsOf } from '../lib/permissions';
import { lastSignInFilterOf, shortSearchHint, type UsersSearch, userSortOf } from '../lib/search';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

const route = getRouteApi('/app/admin/users');

/** Organization-wide user search: text, and filters for active, role and account. */
export function UsersPage() {
  useTitle('Users');
  const search = route.useSearch();
  const navigate = useNavigate();
  const me = useMe();
  // Auditors read; administrators and account administrators (theirs only: the server scopes the search) change.
  const manages = permissionsOf(me).managesAccount(me.accountId);
  const setSearch = useCallback(
    (change: Partial<UsersSearch>) =>
      void navigate({ to: '.', search: (previous: UsersSearch) => ({ ...previous, ...change }), replace: true }),
    [navigate],
  );

  const pageSize = usePageSize();
  const accountId = search.account && /^[0-9a-f-]{36}$/i.test(search.account) ? search.account : undefined;
  // The filters of the list, and so of its CSV export and of a bulk action on all it matches:
  // the file, or the action, has exactly the users the pages show.
  const filter = useMemo(
    () => ({
      query: search.q,
      active: search.active === undefined ? undefined : search.active === 'active',
      role: search.role,
      accountId,
      locked: search.locked ? true : undefined,
      lastSignIn: lastSignInFilterOf(search.lastSignIn),
    }),
    [search.q, search.active, search.role, accountId, search.locked, search.lastSignIn],
  );
  const users = trpc.users.search.useInfiniteQuery(
    { ...filter, sort: userSortOf(search), limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  // The Account column: the names of the accounts on screen, asked for page by page.
  const accountNames = useAccountNames(
    useMemo(() => users.data?.pages.map((page) => page.items.map((user) => user.accountId)) ?? [], [users.data]),
  );
  const chooseAccount = useCallback((id: string | undefined) => setSearch({ account: id }), [setSearch]);
  const sort = userSortOf(search);
  // The order goes in the address (email ascending, the default, is left out), so a sorted view can be shared.
  const chooseSort = useCallback(
    (next: TableSort) =>
      setSearch({
        sort: next.by === 'email' ? undefined : next.by,
        order: next.direction === 'desc' ? ('desc' as const) : undefined,
      }),
    [setSearch],
  );
  const filtered = Boolean(search.q || search.active || search.role || accountId || search.locked || search.lastSignIn);

  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Users</h1>
          <p className="muted">
            Every user of the organization, in every account. Open a user for their sessions and API keys; select users
            for an action on all of them at once.
          </p>
        </div>
        <ExportCsvLink filter={filter} description="Download the users these filters show as a CSV file" />
        <Link to="/bulk-actions" className="btn">
          Bulk actions
        </Link>
      </div>
      <div className="filters">
        <SearchBox
          label="Search users"
          placeholder="Search by name or email"
          value={search.q ?? ''}
          onChange={(text) => setSearch({ q: text || undefined })}
        />
        <SelectFilter
          label="Status"
          value={search.active}
          options={[
            ['', 'Any status'],
            ['active', 'Active'],
            ['inactive', 'Inactive'],
          ]}
          onChange={(active) => setSearch({ active })}
        />
        <SelectFilter
          label="Role"
          value={search.role}
          options={[
            ['', 'Any role'],
            ['admin', 'Administrator'],
            ['account_admin', 'Account administrator'],
            ['auditor', 'Auditor'],
            ['user', 'User'],
          ]}
          onChange={(role) => setSearch({ role })}
        />
        <AccountFilter accountId={accountId} onChange={chooseAccount} />
        <SelectFilter
          label="Sign-in"
          value={search.locked}
          options={[
            ['', 'Any sign-in state'],
            ['locked', 'Locked'],
          ]}
          onChange={(locked) => setSearch({ locked })}
        />
        <SelectFilter
          label="Last sign-in"
          value={search.lastSignIn}
          options={[
            ['', 'Any time'],
            ['never', 'Never'],
            ['30d', 'Not in 30 days'],
            ['90d', 'Not in 90 days'],
            ['180d', 'Not in 180 days'],
          ]}
          onChange={(lastSignIn) => setSearch({ lastSignIn })}
        />
        <ClearFilters filtered={filtered} keep={{ sort: search.sort, order: search.order }} />
      </div>
      <UserResults
        users={users}
        filter={filter}
        manages={manages}
        sort={sort}
        onSort={chooseSort}
        caption="Users"
        accountNames={accountNames}
        pageSize={pageSize}
        empty={{
          title: filtered ? 'No user matches these filters.' : 'There are no users yet.',
          hint: filtered
            ? (shortSearchHint(search.q) ?? 'Change the search or the filters.')
            : 'Users are added on an account’s page.',
        }}
      />
    </>
  );
}
