import { Link } from '@tanstack/react-router';
import { type ReactNode, useMemo } from 'react';
import { formatDateTime, fullName, roleLabel } from '../lib/format';
import type { User } from '../trpc';
import { type Columns, columnsFor, DataTable } from './data-table';
import { LockBadge } from './lock-badge';
import { UserActions } from './user-actions';

const column = columnsFor<User>();

/** Users with their actions; with `accountNames`, also the account each belongs to. */
export function UsersTable({
  users,
  caption,
  defaultAccountId,
  accountNames,
  footer,
}: {
  users: User[];
  caption: string;
  defaultAccountId: string;
  /** Account names by id: the Account column (a name not known yet shows as a link all the same). */
  accountNames?: Map<string, string>;
  footer?: ReactNode;
}) {
  const columns = useMemo(() => {
    const list: Columns<User> = [
      column.accessor((user) => fullName(user), {
        id: 'name',
        header: 'Name',
        cell: ({ getValue, row }) => (
          <Link
            to="/users/$userId"
            params={{ userId: row.original.id }}
            className="strong-link"
            aria-label={`${getValue()} (${row.original.email})`}
          >
            {getValue()}
          </Link>
        ),
      }),
      column.accessor('email', {
        header: 'Email',
        cell: ({ getValue }) => <span className="email">{getValue()}</span>,
      }),
    ];
    if (accountNames) {
      list.push(
        column.accessor('accountId', {
          header: 'Account',
          cell: ({ getValue }) => {
            return (
              <Link to="/accounts/$accountId" params={{ accountId: getValue() }}>
                {accountNames.get(getValue()) ?? 'Open account'}
              </Link>
            );
          },
        }),
      );
    }
    list.push(
      column.accessor('role', {
        header: 'Role',
        cell: ({ getValue }) => (
          <span className={getValue() === 'admin' ? 'badge badge-purple' : 'badge'}>{roleLabel(getValue())}</span>
        ),
      }),
      column.accessor('active', {
        header: 'Active',
        cell: ({ getValue, row }) => (
          <span className="name-cell">
            {getValue() ? (
              <span className="badge badge-green">Active</span>
            ) : (
              <span className="badge badge-gray">Inactive</span>
            )}
            {row.original.lockedUntil && <LockBadge until={row.original.lockedUntil} />}
          </span>
        ),
      }),
      column.accessor('lastLoginAt', {
        header: 'Last sign-in',
        cell: ({ getValue }) => {
          const value = getValue();
          return value ? formatDateTime(value) : <span className="muted">Never</span>;
        },
      }),
      column.display({
        id: 'actions',
        header: 'Actions',
        cell: ({ row }) => <UserActions user={row.original} defaultAccountId={defaultAccountId} />,
      }),
    );
    return list;
  }, [accountNames, defaultAccountId]);

  return <DataTable caption={caption} columns={columns} data={users} footer={footer} />;
}
