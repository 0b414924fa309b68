import { type AuditAction, auditActions } from '@roster/api/schemas';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useCallback, useEffect, useId, useMemo, useState } from 'react';
import { AccountFilter } from '../components/account-filter';
import { ClearFilters } from '../components/clear-filters';
import { columnsFor, DataTable } from '../components/data-table';
import { PagedList } from '../components/paged-list';
import { SearchBox } from '../components/search-box';
import { SelectFilter } from '../components/select-filter';
import { useAccountNames } from '../lib/account-names';
import { formatDateTime } from '../lib/format';
import type { AuditSearch } from '../lib/search';
import { useTitle } from '../lib/title';
import { type AuditEntry, trpc } from '../trpc';

const route = getRouteApi('/app/admin/orgReader/audit');

/** A label for every action the API records: a new action without one fails the type check. */
const actionLabels: Record<AuditAction, string> = {
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
  'user.moved': 'Moved to another account',
  'users.bulk_action': 'Bulk action',
  'api_key.created': 'Created API key',
  'api_key.revoked': 'Revoked API key',
  'api_key.refused': 'Refused an API key',
  'auth.signed_in': 'Signed in',
  'auth.sign_in_failed': 'Failed sign-in',
  'auth.signed_out': 'Signed out',
  'scim_connection.created': 'Added provisioning connection',
  'scim_connection.revoked': 'Revoked provisioning connection',
  'users.exported': 'Exported users (CSV)',
  'account.users_imported': 'Imported users',
  'user.invited': 'Invited user',
  'user.invitation_resent': 'Resent invitation',
  'user.invitation_cancelled': 'Cancelled invitation',
  'user.invitation_accepted': 'Accepted invitation',
  'user.password_reset_requested': 'Asked for a password reset',
  'user.password_reset': 'Reset password by email',
  'user.email_change_notified': 'Mailed an email change',
  'auth.link_refused': 'Refused a mailed link',
  'mail.sent': 'Sent mail',
  'mail.failed': 'Gave up sending mail',
  'mail.logged': 'Logged mail (no SMTP)',
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
  apiKeysRevoked: 'API keys revoked',
  clientAddress: 'Client address',
  userAgent: 'Browser or client',
  apiKeyId: 'Key id',
  filter: 'Filter',
  rows: 'Rows',
  complete: 'Complete',
};

/** ISO timestamps in the log's changes, shown like every other date of the console. */
const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const fieldOrder = Object.keys(fieldLabels);
const rank = (key: string) => (fieldOrder.includes(key) ? fieldOrder.indexOf(key) : fieldOrder.length);

/** The account ids an entry's changes mention. */
function accountIdsOf(entry: AuditEntry): string[] {
  const exported = entry.changes.after?.filter as { accountId?: unknown } | undefined;
  return [entry.changes.before?.accountId, entry.changes.after?.accountId, exported?.accountId].filter(
    (id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id),
  );
}

/** An export's filter (users.exported), in words: “every user” when it has none. */
function describeFilter(filter: Record<string, unknown>, accounts: Map<string, string>): string {
  const parts: string[] = [];
  if (typeof filter.query === 'string') parts.push(`search “${filter.query}”`);
  if (typeof filter.accountId === 'string')
    parts.push(`account ${accounts.get(filter.accountId) ?? 'another account'}`);
  if (filter.active === true) parts.push('active');
  if (filter.active === false) parts.push('inactive');
  if (filter.role === 'admin') parts.push('administrators');
  if (filter.role === 'user') parts.push('users');
  if (filter.locked === true) parts.push('locked');
  if (filter.locked === false) parts.push('not locked');
  return parts.length ? parts.join(', ') : 'every user';
}

function show(key: string, value: unknown, accounts: Map<string, string>): string {
  if (value === undefined || value === null || value === '') return '—';
  if (key === 'filter' && typeof value === 'object') return describeFilter(value as Record<string, unknown>, accounts);
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

const uuid = /^[0-9a-f-]{36}$/i;
const isAction = (value: string | undefined): value is AuditAction =>
  (auditActions as readonly string[]).includes(value ?? '');

/** The start of a day (YYYY-MM-DD) in the browser's time zone; `after` gives the start of the next one. */
function startOfDay(day: string | undefined, after = false): Date | undefined {
  if (!day) return undefined;
  const date = new Date(`${day}T00:00:00`);
  if (Number.isNaN(date.getTime())) return undefined;
  if (after) date.setDate(date.getDate() + 1);
  return date;
}

/** Someone in an entry: a link to their page while they exist, else their name and email as they were. */
function Person({
  id,
  exists,
  name,
  email,
  fallback,
}: {
  id: string | null;
  exists: boolean;
  name: string | null;
  email: string | null;
  fallback: string;
}) {
  const text = name ?? email ?? fallback;
  return (
    <span className="audit-person">
      {id && exists ? (
        <Link to="/users/$userId" params={{ userId: id }} className="strong-link">
          {text}
        </Link>
      ) : (
        <span className="strong">{text}</span>
      )}
      {name && email && <span className="email muted small">{email}</span>}
      {id && !exists && email !== 'system' && <span className="muted small">(no longer a user)</span>}
    </span>
  );
}

function Target({ entry }: { entry: AuditEntry }) {
  if (entry.targetType === 'user') {
    return (
      <Person
        id={entry.targetId}
        exists={entry.targetExists}
        name={entry.targetName}
        email={entry.targetEmail ?? entry.targetLabel}
        fallback="—"
      />
    );
  }
  return (
    <span className="email">
      {entry.targetLabel ?? '—'}
      <span className="muted small"> ({entry.targetType === 'api_key' ? 'API key' : entry.targetType})</span>
    </span>
  );
}

/** Audit log: who did what to whom, when, with the values before and after. */
export function AuditPage() {
  useTitle('Audit log');
  const search = route.useSearch();
  const navigate = useNavigate();
  const setSearch = useCallback(
    (change: Partial<AuditSearch>) =>
      void navigate({ to: '.', search: (previous: AuditSearch) => ({ ...previous, ...change }), replace: true }),
    [navigate],
  );
  const userId = search.user && uuid.test(search.user) ? search.user : undefined;
  const accountId = search.account && uuid.test(search.account) ? search.account : undefined;
  const action = isAction(search.action) ? search.action : undefined;
  const from = startOfDay(search.from);
  const to = startOfDay(search.to, true);
  const badPeriod = Boolean(from && to && from > to);
  const entries = trpc.audit.list.useInfiniteQuery(
    {
      userId,
      email: search.email,
      query: search.q,
      action,
      accountId,
      from,
      to: badPeriod ? undefined : to,
      limit: 25,
    },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, placeholderData: (previous) => previous },
  );
  const filtered = Boolean(userId || search.email || search.q || action || accountId || from || to);
  // Accounts named in the changes on screen (a user moved from one to another), page by page.
  const accountsById = useAccountNames(
    useMemo(() => entries.data?.pages.map((page) => page.items.flatMap(accountIdsOf)) ?? [], [entries.data]),
  );
  const chooseAccount = useCallback((id: string | undefined) => setSearch({ account: id }), [setSearch]);

  const columns = useMemo(
    () => [
      column.accessor('createdAt', {
        header: 'When',
        cell: ({ getValue }) => <time dateTime={getValue().toISOString()}>{formatDateTime(getValue())}</time>,
      }),
      column.accessor('actorEmail', {
        header: 'Who',
        cell: ({ row }) => (
          <Person
            id={row.original.actorId}
            exists={row.original.actorExists}
            name={row.original.actorName}
            email={row.original.actorEmail}
            fallback="System"
          />
        ),
      }),
      column.accessor('action', {
        header: 'What',
        cell: ({ getValue }) => <span className="strong">{actionLabels[getValue()] ?? getValue()}</span>,
      }),
      column.accessor('targetLabel', {
        header: 'To whom',
        cell: ({ row }) => <Target entry={row.original} />,
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
      <div className="filters">
        <SearchBox
          label="Search the audit log"
          placeholder="Search by name or email"
          value={search.q ?? ''}
          onChange={(text) => setSearch({ q: text || undefined })}
        />
        <ActionFilter value={action} onChange={(chosen) => setSearch({ action: chosen })} />
        <AccountFilter accountId={accountId} onChange={chooseAccount} />
        <DayFilter label="From" value={search.from} onChange={(day) => setSearch({ from: day })} />
        <DayFilter label="To" value={search.to} onChange={(day) => setSearch({ to: day })} />
        <ClearFilters filtered={filtered} />
      </div>
      <UserFilter
        userId={userId}
        email={search.email}
        onChange={(who) => void navigate({ to: '.', search: (previous: AuditSearch) => ({ ...previous, ...who }) })}
      />
      {badPeriod && (
        <p className="field-error" role="alert">
          The end of the period comes before its start.
        </p>
      )}
      <PagedList
        query={entries}
        loading="Loading the audit log…"
        noun={['entry', 'entries']}
        empty={{
          title: filtered ? 'Nothing recorded matches these filters.' : 'Nothing has been recorded yet.',
          hint: filtered ? 'Change the search or the filters.' : 'Changes appear here as administrators make them.',
        }}
      >
        {(items, footer) => <DataTable caption="Audit log" columns={columns} data={items} footer={footer} />}
      </PagedList>
    </>
  );
}

function ActionFilter({
  value,
  onChange,
}: {
  value: AuditAction | undefined;
  onChange: (value: AuditAction | undefined) => void;
}) {
  const options = useMemo(
    () => [
      ['', 'Any action'] as const,
      ...[...auditActions]
        .sort((a, b) => actionLabels[a].localeCompare(actionLabels[b]))
        .map((action) => [action, actionLabels[action]] as const),
    ],
    [],
  );
  return <SelectFilter label="Action" value={value} options={options} onChange={onChange} />;
}

function DayFilter({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string | undefined;
  onChange: (day: string | undefined) => void;
}) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="date"
        value={value ?? ''}
        onChange={(event) => onChange(/^\d{4}-\d{2}-\d{2}$/.test(event.target.value) ? event.target.value : undefined)}
      />
    </div>
  );
}

/**
 * Narrows the log to one person, as actor or target, by the email they had:
 * a deleted user's history too. (`View activity` on a user opens it by id.)
 */
function UserFilter({
  userId,
  email,
  onChange,
}: {
  userId: string | undefined;
  email: string | undefined;
  onChange: (who: { user?: string; email?: string }) => void;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const selected = trpc.users.get.useQuery({ id: userId ?? '' }, { enabled: Boolean(userId), retry: false });
  useEffect(() => setProblem(null), [email, userId]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const wanted = text.trim().toLowerCase();
    if (!wanted) return onChange({ user: undefined, email: undefined });
    if (!/^[^\s@]+@[^\s@]+$/.test(wanted)) {
      setProblem('Enter a whole email address, like name@example.com, or search by part of it above.');
      return;
    }
    onChange({ user: undefined, email: wanted });
    setText('');
  };

  const who =
    email ?? (userId ? (selected.data?.email ?? (selected.isError ? 'a user who no longer exists' : '…')) : null);
  return (
    <div className="filters">
      <form className="inline-form" onSubmit={submit} noValidate>
        <label htmlFor={id}>Filter by user</label>
        <input
          id={id}
          type="email"
          placeholder="name@example.com"
          value={text}
          onChange={(event) => setText(event.target.value)}
          aria-invalid={Boolean(problem)}
          aria-describedby={problem ? `${id}-error` : `${id}-hint`}
        />
        <button type="submit" className="btn">
          Show activity
        </button>
        <p className="muted small" id={`${id}-hint`}>
          Deleted users too: their history keeps the email they had.
        </p>
        {problem && (
          <p className="field-error" id={`${id}-error`}>
            {problem}
          </p>
        )}
      </form>
      {who && (
        <p className="chip">
          Activity of <strong>{who}</strong>
          <button
            type="button"
            className="btn btn-small btn-quiet"
            onClick={() => onChange({ user: undefined, email: undefined })}
          >
            Show everyone
          </button>
        </p>
      )}
    </div>
  );
}
