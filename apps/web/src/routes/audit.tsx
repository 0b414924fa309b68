import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useId, useMemo, useState } from 'react';
import { columnsFor, DataTable } from '../components/data-table';
import { PagedList } from '../components/paged-list';
import { useAccountNames } from '../lib/account-names';
import { errorCode, errorMessage } from '../lib/errors';
import { formatDateTime } from '../lib/format';
import { useTitle } from '../lib/title';
import { type AuditEntry, trpc } from '../trpc';

const route = getRouteApi('/app/admin/audit');

const actionLabels: Record<string, string> = {
  'user.created': 'Added user',
  'user.updated': 'Edited user',
  'user.deactivated': 'Deactivated user',
  'user.reactivated': 'Reactivated user',
  'user.deleted': 'Deleted user',
  'user.role_changed': 'Changed role',
  'user.password_set': 'Set password',
  'user.password_changed': 'Changed own password',
  'account.created': 'Created account',
  'account.updated': 'Edited account',
  'account.deleted': 'Deleted account',
  'organization.created': 'Created organization',
  'user.locked': 'Locked after failed sign-ins',
  'user.unlocked': 'Unlocked sign-in',
  'user.sessions_ended': 'Ended sessions',
  'api_key.created': 'Created API key',
  'api_key.revoked': 'Revoked API key',
  'api_key.refused': 'Refused an API key',
};

// Also the order fields are listed in (the database keeps JSON keys in its own order).
const fieldLabels: Record<string, string> = {
  firstName: 'First name',
  lastName: 'Last name',
  email: 'Email',
  role: 'Role',
  active: 'Active',
  accountId: 'Account',
  name: 'Name',
  description: 'Description',
  users: 'Users',
  userCount: 'Users',
  passwordSet: 'Password set',
  admin: 'Administrator',
  prefix: 'Key',
  expiresAt: 'Expires',
  revokedAt: 'Revoked',
  reason: 'Reason',
  lockedUntil: 'Locked until',
  failedSignIns: 'Failed sign-ins',
  ended: 'Sessions ended',
  clientAddress: 'Client address',
  userAgent: 'Browser or client',
  apiKeyId: 'Key id',
};

/** ISO timestamps in the log's changes, shown like every other date of the console. */
const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const fieldOrder = Object.keys(fieldLabels);
const rank = (key: string) => (fieldOrder.includes(key) ? fieldOrder.indexOf(key) : fieldOrder.length);

/** The account ids an entry's changes mention. */
function accountIdsOf(entry: AuditEntry): string[] {
  return [entry.changes.before?.accountId, entry.changes.after?.accountId].filter(
    (id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id),
  );
}

function show(key: string, value: unknown, accounts: Map<string, string>): string {
  if (value === undefined || value === null || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (key === 'accountId' && typeof value === 'string') return accounts.get(value) ?? 'another account';
  if (key === 'role') return value === 'admin' ? 'Administrator' : 'User';
  if (typeof value === 'string' && isoDate.test(value)) return formatDateTime(new Date(value));
  return String(value);
}

function Changes({ entry, accounts }: { entry: AuditEntry; accounts: Map<string, string> }) {
  const before = entry.changes.before ?? {};
  const after = entry.changes.after ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => rank(a) - rank(b));
  if (keys.length === 0) return <span className="muted">—</span>;
  const both = entry.changes.before && entry.changes.after;
  return (
    <ul className="changes">
      {keys.map((key) => (
        <li key={key}>
          <span className="change-field">{fieldLabels[key] ?? key}:</span>{' '}
          {both ? (
            <>
              <del>{show(key, before[key], accounts)}</del> <span aria-hidden="true">→</span>
              <span className="visually-hidden">changed to</span> <ins>{show(key, after[key], accounts)}</ins>
            </>
          ) : (
            // Only one side: the values a thing was created with, or had when deleted.
            <span className="value">{show(key, entry.changes.after ? after[key] : before[key], accounts)}</span>
          )}
        </li>
      ))}
    </ul>
  );
}

const column = columnsFor<AuditEntry>();

/** Audit log: who did what to whom, when, with the values before and after. */
export function AuditPage() {
  useTitle('Audit log');
  const { user: userId } = route.useSearch();
  const navigate = useNavigate();
  const validUserId = userId && /^[0-9a-f-]{36}$/i.test(userId) ? userId : undefined;
  const entries = trpc.audit.list.useInfiniteQuery(
    { userId: validUserId, limit: 25 },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  // Accounts named in the changes on screen (a user moved from one to another), page by page.
  const accountsById = useAccountNames(
    useMemo(() => entries.data?.pages.map((page) => page.items.flatMap(accountIdsOf)) ?? [], [entries.data]),
  );

  const columns = useMemo(
    () => [
      column.accessor('createdAt', {
        header: 'When',
        cell: ({ getValue }) => <time dateTime={getValue().toISOString()}>{formatDateTime(getValue())}</time>,
      }),
      column.accessor('actorEmail', {
        header: 'Who',
        cell: ({ getValue }) => <span className="email">{getValue() ?? 'System'}</span>,
      }),
      column.accessor('action', {
        header: 'What',
        cell: ({ getValue }) => <span className="strong">{actionLabels[getValue()] ?? getValue()}</span>,
      }),
      column.accessor('targetLabel', {
        header: 'To whom',
        cell: ({ getValue, row }) => (
          <span className="email">
            {getValue() ?? '—'}
            <span className="muted small"> ({row.original.targetType})</span>
          </span>
        ),
      }),
      column.display({
        id: 'changes',
        header: 'Changes',
        cell: ({ row }) => <Changes entry={row.original} accounts={accountsById} />,
      }),
    ],
    [accountsById],
  );

  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Audit log</h1>
          <p className="muted">Every change to accounts and users, newest first.</p>
        </div>
      </div>
      <UserFilter
        userId={validUserId}
        onChange={(id) => void navigate({ to: '.', search: { user: id }, replace: false })}
      />
      <PagedList
        query={entries}
        loading="Loading the audit log…"
        noun={['entry', 'entries']}
        empty={{
          title: validUserId ? 'Nothing recorded for this user.' : 'Nothing has been recorded yet.',
          hint: 'Changes appear here as administrators make them.',
        }}
      >
        {(items, footer) => <DataTable caption="Audit log" columns={columns} data={items} footer={footer} />}
      </PagedList>
    </>
  );
}

/** Narrows the log to one user (as actor or target), found by email. */
function UserFilter({ userId, onChange }: { userId: string | undefined; onChange: (id: string | undefined) => void }) {
  const id = useId();
  const utils = trpc.useUtils();
  const [email, setEmail] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const selected = trpc.users.get.useQuery({ id: userId ?? '' }, { enabled: Boolean(userId), retry: false });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    if (!email.trim()) return onChange(undefined);
    setBusy(true);
    try {
      const user = await utils.users.get.fetch({ email: email.trim() });
      onChange(user.id);
      setEmail('');
    } catch (error) {
      setProblem(
        errorCode(error) === 'NOT_FOUND'
          ? `No user has the email ${email.trim()}.`
          : errorCode(error) === 'BAD_REQUEST'
            ? 'Enter a whole email address, like name@example.com.'
            : errorMessage(error),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="filters">
      <form className="inline-form" onSubmit={(event) => void submit(event)} noValidate>
        <label htmlFor={id}>Filter by user</label>
        <input
          id={id}
          type="email"
          placeholder="name@example.com"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-invalid={Boolean(problem)}
          aria-describedby={problem ? `${id}-error` : undefined}
        />
        <button type="submit" className="btn" disabled={busy}>
          Show activity
        </button>
        {problem && (
          <p className="field-error" id={`${id}-error`}>
            {problem}
          </p>
        )}
      </form>
      {userId && (
        <p className="chip">
          Activity of{' '}
          <strong>{selected.data?.email ?? (selected.isError ? 'a user who no longer exists' : '…')}</strong>
          <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange(undefined)}>
            Show everyone
          </button>
        </p>
      )}
    </div>
  );
}
