import type { UserSearchFilter } from '@roster/api/schemas';
import type { ReactNode } from 'react';
import { errorMessage, errorReason } from '../lib/errors';
import type { PageSize } from '../lib/page-size';
import type { User } from '../trpc';
import { BulkBar, type useBulkSelection } from './bulk-actions';
import { PagedList, type PagedQuery } from './paged-list';
import { SearchTooBroad, type TableSort, UsersTable } from './users-table';

/**
 * The users a search found, on the Users page and in an account's Users
 * section: the bulk bar for those who manage them; the notice of a search too
 * broad to sort this way; else the table, page by page, with its checkboxes.
 */
export function UserResults({
  users,
  filter,
  bulk,
  manages,
  sort,
  onSort,
  caption,
  defaultAccountId,
  accountNames,
  total,
  empty,
  pageSize,
}: {
  users: PagedQuery<User>;
  /** The search, which the bulk bar acts on when everything it matches is chosen. */
  filter: UserSearchFilter;
  bulk: ReturnType<typeof useBulkSelection>;
  manages: boolean;
  sort: TableSort | undefined;
  onSort: (sort: TableSort) => void;
  caption: string;
  defaultAccountId: string;
  accountNames?: Map<string, string>;
  total?: number | undefined;
  empty: { title: string; hint?: ReactNode };
  pageSize: PageSize;
}) {
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
              defaultAccountId={defaultAccountId}
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
