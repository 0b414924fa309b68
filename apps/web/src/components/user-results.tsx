import type { UserSearchFilter } from '@roster/api/schemas';
import type { ReactNode } from 'react';
import { errorMessage, errorReason } from '../lib/errors';
import type { PageSize } from '../lib/page-size';
import type { User } from '../trpc';
import { BulkBar, useBulkSelection } from './bulk-actions';
import { useMe } from './me';
import { PagedList, type PagedQuery } from './paged-list';
import { SearchTooBroad, type TableSort, UsersTable } from './users-table';

/**
 * The users a search found, on the Users page and in an account's Users
 * section: the bulk bar for those who manage them; the notice of a search too
 * broad to sort this way; else the table, page by page, with its checkboxes.
 * The selection follows the search (a new search starts a new selection).
 */
export function UserResults({
  users,
  filter,
  manages,
  sort,
  onSort,
  caption,
  accountNames,
  total,
  empty,
  pageSize,
}: {
  users: PagedQuery<User>;
  /** The search, which the bulk bar acts on when everything it matches is chosen. */
  filter: UserSearchFilter;
  manages: boolean;
  sort: TableSort | undefined;
  onSort: (sort: TableSort) => void;
  caption: string;
  accountNames?: Map<string, string>;
  total?: number | undefined;
  empty: { title: string; hint?: ReactNode };
  pageSize: PageSize;
}) {
  const me = useMe();
  const bulk = useBulkSelection(filter);
  return (
    <>
      {manages && <BulkBar bulk={bulk} filter={filter} moreThanShown={users.hasNextPage} />}
      {errorReason(users.error) === 'SEARCH_TOO_BROAD' ? (
        <SearchTooBroad
          message={errorMessage(users.error)}
          onSortByEmail={() => onSort({ by: 'email', direction: 'asc' })}
        />
      ) : (
        <PagedList
          query={users}
          loading="Loading users…"
          noun={['user', 'users']}
          pageSize={pageSize}
          total={total}
          empty={empty}
        >
          {(items, footer) => (
            <UsersTable
              caption={caption}
              users={items}
              accountNames={accountNames}
              defaultAccountId={me.accountId}
              footer={footer}
              sort={sort}
              onSort={onSort}
              selection={manages ? bulk.rows : undefined}
            />
          )}
        </PagedList>
      )}
    </>
  );
}
