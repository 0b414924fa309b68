import { Link } from '@tanstack/react-router';
import { type ReactNode, useEffect, useLayoutEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { formatDate, fullName, roleLabel } from '../lib/format';
import { roleBadgeClass, roleShortLabel } from '../lib/permissions';
import type { User } from '../trpc';
import { type Columns, columnsFor, DataTable, DateTimeOrNever } from './data-table';
import { Email } from './email';
import { UserActions } from './user-actions';
import { UserBadges } from './user-badges';

const column = columnsFor<User>();

/**
 * Account names for the Account column, kept outside React's props: a name
 * arriving re-renders the cells that show it, not every row of the table.
 */
function createNameStore() {
  let names = new Map<string, string>();
  const listeners = new Set<() => void>();
  return {
    set(next: Map<string, string>) {
      names = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: (id: string) => names.get(id),
  };
}
type NameStore = ReturnType<typeof createNameStore>;

function AccountLink({ store, accountId }: { store: NameStore; accountId: string }) {
  const name = useSyncExternalStore(store.subscribe, () => store.get(accountId));
  return (
    <Link to="/accounts/$accountId" params={{ accountId }} className="clamp" title={name}>
      {name ?? 'Open account'}
    </Link>
  );
}

export type UserSortField = 'name' | 'email' | 'lastSignIn' | 'created';
export type TableSort = { by: UserSortField; direction: 'asc' | 'desc' };

const defaultSort: TableSort = { by: 'email', direction: 'asc' };

/** Which order each sortable column's header sets. */
const sortOfColumn: Record<string, UserSortField> = {
  name: 'name',
  email: 'email',
  lastLoginAt: 'lastSignIn',
  createdAt: 'created',
};

/**
 * A sortable column's header: a button that sorts by the column (ascending
 * first), or reverses the order when it already sorts by it. The th carries aria-sort.
 */
function SortHeader({
  label,
  field,
  sort,
  onSort,
}: {
  label: string;
  field: UserSortField;
  sort: TableSort;
  onSort: (sort: TableSort) => void;
}) {
  const active = sort.by === field;
  const next: TableSort = { by: field, direction: active && sort.direction === 'asc' ? 'desc' : 'asc' };
  return (
    <button
      type="button"
      className="sort-button"
      onClick={() => onSort(next)}
      title={`Sort by ${label.toLowerCase()}, ${next.direction === 'asc' ? 'ascending' : 'descending'}`}
    >
      {label}
      <span aria-hidden="true" className={active ? 'sort-mark sort-mark-active' : 'sort-mark'}>
        {active ? (sort.direction === 'asc' ? '▲' : '▼') : '↕'}
      </span>
    </button>
  );
}

/** The selection and the ids of the rows shown, for the checkboxes (see UsersTable). */
function createSelectionStore() {
  let state: { selection: RowSelection | undefined; pageIds: string[] } = { selection: undefined, pageIds: [] };
  const listeners = new Set<() => void>();
  return {
    set(selection: RowSelection | undefined, pageIds: string[]) {
      state = { selection, pageIds };
      for (const listener of listeners) listener();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: () => state,
  };
}
type SelectionStore = ReturnType<typeof createSelectionStore>;

function RowCheckbox({ store, user }: { store: SelectionStore; user: User }) {
  const { selection } = useSyncExternalStore(store.subscribe, store.get);
  if (!selection) return null;
  return (
    <input
      type="checkbox"
      aria-label={`Select ${fullName(user)} (${user.email})`}
      checked={selection.all || selection.selected.has(user.id)}
      disabled={selection.all}
      onChange={(event) => selection.toggle([user.id], event.target.checked)}
    />
  );
}

function PageCheckbox({ store }: { store: SelectionStore }) {
  const { selection, pageIds } = useSyncExternalStore(store.subscribe, store.get);
  if (!selection) return null;
  const allOnPage = selection.all || (pageIds.length > 0 && pageIds.every((id) => selection.selected.has(id)));
  return (
    <input
      type="checkbox"
      aria-label="Select every user shown"
      checked={allOnPage}
      disabled={selection.all}
      onChange={(event) => selection.toggle(pageIds, event.target.checked)}
    />
  );
}

/** The rows chosen for a bulk action (see components/bulk-actions.tsx). */
export type RowSelection = {
  selected: ReadonlySet<string>;
  /** Every user matching the search is selected: each row shows checked, and is changed by clearing it. */
  all: boolean;
  toggle: (ids: string[], on: boolean) => void;
};

/**
 * Users with their actions; with `accountNames`, also the account each belongs
 * to; with `selection`, checkboxes. With `onSort`, the name, email, last sign-in
 * and created headers sort the table (on the server: `sort` is the order the rows came in).
 */
export function UsersTable({
  users,
  caption,
  defaultAccountId,
  accountNames,
  footer,
  sort = defaultSort,
  onSort,
  selection,
}: {
  users: User[];
  caption: string;
  defaultAccountId: string;
  /** Account names by id: the Account column (a name not known yet shows as a link all the same). */
  accountNames?: Map<string, string>;
  footer?: ReactNode;
  sort?: TableSort;
  onSort?: (sort: TableSort) => void;
  selection?: RowSelection;
}) {
  const [store] = useState(createNameStore);
  useEffect(() => {
    if (accountNames) store.set(accountNames);
  }, [accountNames, store]);
  const withAccounts = accountNames !== undefined;

  // The selection reaches the checkboxes through a store, not the columns: columns made again would
  // remount every cell (losing focus, and the speed of Show more).
  const [selectionStore] = useState(createSelectionStore);
  const pageIds = useMemo(() => users.map((user) => user.id), [users]);
  useLayoutEffect(() => {
    selectionStore.set(selection, pageIds);
  }, [selection, pageIds, selectionStore]);
  const selectable = selection !== undefined;
  const columns = useMemo(() => {
    const list: Columns<User> = [];
    if (selectable) {
      list.push(
        column.display({
          id: 'select',
          header: () => <PageCheckbox store={selectionStore} />,
          cell: ({ row }) => <RowCheckbox store={selectionStore} user={row.original} />,
        }),
      );
    }
    list.push(
      column.accessor((user) => fullName(user), {
        id: 'name',
        header: 'Name',
        cell: ({ getValue, row }) => (
          <Link
            to="/users/$userId"
            params={{ userId: row.original.id }}
            className="strong-link clamp"
            aria-label={`${getValue()} (${row.original.email})`}
            title={getValue()}
          >
            {getValue()}
          </Link>
        ),
      }),
      column.accessor('email', {
        header: 'Email',
        cell: ({ getValue }) => <Email value={getValue()} className="clamp" />,
      }),
    );
    if (withAccounts) {
      list.push(
        column.accessor('accountId', {
          header: 'Account',
          cell: ({ getValue }) => <AccountLink store={store} accountId={getValue()} />,
        }),
      );
    }
    list.push(
      column.accessor('role', {
        header: 'Role',
        cell: ({ getValue }) => (
          <span className={roleBadgeClass(getValue())} title={roleLabel(getValue())}>
            {roleShortLabel(getValue())}
          </span>
        ),
      }),
      column.accessor('active', {
        header: 'Active',
        cell: ({ row }) => <UserBadges user={row.original} />,
      }),
      column.accessor('lastLoginAt', {
        header: 'Last sign-in',
        cell: ({ getValue }) => <DateTimeOrNever value={getValue()} />,
      }),
      column.accessor('createdAt', {
        header: 'Created',
        cell: ({ getValue }) => formatDate(getValue()),
      }),
      column.display({
        id: 'actions',
        header: 'Actions',
        cell: ({ row }) => <UserActions user={row.original} defaultAccountId={defaultAccountId} />,
      }),
    );
    return list;
  }, [withAccounts, store, defaultAccountId, selectable, selectionStore]);

  const ariaSort = useMemo(
    () =>
      onSort
        ? (columnId: string) => {
            const field = sortOfColumn[columnId];
            if (!field) return undefined;
            if (field !== sort.by) return 'none' as const;
            return sort.direction === 'asc' ? ('ascending' as const) : ('descending' as const);
          }
        : undefined,
    [onSort, sort],
  );

  const headerOf = useMemo(
    () =>
      onSort
        ? (columnId: string, label: string) => {
            const field = sortOfColumn[columnId];
            return field ? <SortHeader label={label} field={field} sort={sort} onSort={onSort} /> : undefined;
          }
        : undefined,
    [onSort, sort],
  );

  return (
    <DataTable
      caption={caption}
      columns={columns}
      data={users}
      footer={footer}
      ariaSort={ariaSort}
      headerOf={headerOf}
    />
  );
}

/**
 * Said instead of the table when a search in another order than email matches
 * too many users to sort (SEARCH_TOO_BROAD): the server's reason, and a button
 * back to email order, which pages through any search.
 */
export function SearchTooBroad({ message, onSortByEmail }: { message: string; onSortByEmail: () => void }) {
  return (
    <div className="alert alert-warning" role="alert">
      <p className="alert-title">This search cannot be sorted this way</p>
      <p>{message}</p>
      <button type="button" className="btn btn-small" onClick={onSortByEmail}>
        Sort by email
      </button>
    </div>
  );
}
