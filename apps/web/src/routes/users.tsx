import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { useCallback, useId, useMemo } from 'react';
import { AccountFilter } from '../components/account-filter';
import { MoreRows } from '../components/data-table';
import { useMe } from '../components/me';
import { SearchBox } from '../components/search-box';
import { EmptyState, ErrorState, Spinner } from '../components/states';
import { UsersTable } from '../components/users-table';
import { useAccountNames } from '../lib/account-names';
import type { UsersSearch } from '../lib/search';
import { useTitle } from '../lib/title';
import { trpc } from '../trpc';

const route = getRouteApi('/app/admin/users');

/** Organization-wide user search: text, and filters for active, role and account. */
export function UsersPage() {
  useTitle('Users');
  const search = route.useSearch();
  const navigate = useNavigate();
  const me = useMe();
  const ids = { active: useId(), role: useId(), locked: useId() };
  const setSearch = useCallback(
    (change: Partial<UsersSearch>) =>
      void navigate({ to: '.', search: (previous: UsersSearch) => ({ ...previous, ...change }), replace: true }),
    [navigate],
  );

  const accountId = search.account && /^[0-9a-f-]{36}$/i.test(search.account) ? search.account : undefined;
  const users = trpc.users.search.useInfiniteQuery(
    {
      query: search.q,
      active: search.active === undefined ? undefined : search.active === 'active',
      role: search.role,
      accountId,
      locked: search.locked ? true : undefined,
      limit: 25,
    },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  const items = useMemo(() => users.data?.pages.flatMap((page) => page.items) ?? [], [users.data]);
  // The Account column: the names of the accounts on screen, asked for page by page.
  const accountNames = useAccountNames(
    useMemo(() => users.data?.pages.map((page) => page.items.map((user) => user.accountId)) ?? [], [users.data]),
  );
  const chooseAccount = useCallback((id: string | undefined) => setSearch({ account: id }), [setSearch]);
  const filtered = Boolean(search.q || search.active || search.role || accountId || search.locked);

  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Users</h1>
          <p className="muted">
            Every user of the organization, in every account. Open a user for their sessions and API keys.
          </p>
        </div>
      </div>
      <div className="filters">
        <SearchBox
          label="Search users"
          placeholder="Search by name or email"
          value={search.q ?? ''}
          onChange={(text) => setSearch({ q: text || undefined })}
        />
        <div className="filter">
          <label htmlFor={ids.active}>Status</label>
          <select
            id={ids.active}
            value={search.active ?? ''}
            onChange={(event) => setSearch({ active: (event.target.value || undefined) as UsersSearch['active'] })}
          >
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="inactive">Inactive</option>
          </select>
        </div>
        <div className="filter">
          <label htmlFor={ids.role}>Role</label>
          <select
            id={ids.role}
            value={search.role ?? ''}
            onChange={(event) => setSearch({ role: (event.target.value || undefined) as UsersSearch['role'] })}
          >
            <option value="">Any role</option>
            <option value="admin">Administrator</option>
            <option value="user">User</option>
          </select>
        </div>
        <AccountFilter accountId={accountId} onChange={chooseAccount} />
        <div className="filter">
          <label htmlFor={ids.locked}>Sign-in</label>
          <select
            id={ids.locked}
            value={search.locked ?? ''}
            onChange={(event) => setSearch({ locked: event.target.value === 'locked' ? 'locked' : undefined })}
          >
            <option value="">Any sign-in state</option>
            <option value="locked">Locked</option>
          </select>
        </div>
        {filtered && (
          <button
            type="button"
            className="btn btn-quiet"
            onClick={() => void navigate({ to: '.', search: {}, replace: true })}
          >
            Clear filters
          </button>
        )}
      </div>
      {users.isPending ? (
        <Spinner label="Loading users…" />
      ) : users.isError ? (
        <ErrorState error={users.error} onRetry={() => void users.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? 'No user matches these filters.' : 'There are no users yet.'}>
          {filtered ? 'Change the search or the filters.' : 'Users are added on an account’s page.'}
        </EmptyState>
      ) : (
        <UsersTable
          caption="Users"
          users={items}
          accountNames={accountNames}
          defaultAccountId={me.accountId}
          footer={
            <MoreRows
              shown={items.length}
              noun={['user', 'users']}
              hasMore={users.hasNextPage}
              loading={users.isFetchingNextPage}
              onMore={() => void users.fetchNextPage()}
            />
          }
        />
      )}
    </>
  );
}
