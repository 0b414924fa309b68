import type { ErrorReason } from '@roster/api/error-reasons';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/confirm-dialog';
import { FormError } from '../components/field';
import { useMe } from '../components/me';
import { AccountLoadFailed, EmptyState, ErrorState, LoadFailed, Spinner } from '../components/states';
import { errorMessage, errorReason } from '../lib/errors';
import { plural } from '../lib/format';
import { permissionsOf } from '../lib/permissions';
import { useRefreshAdminData } from '../lib/refresh';
import { useTitle } from '../lib/title';
import { type Account, type RouterOutputs, trpc } from '../trpc';

const route = getRouteApi('/app/admin/accounts/$accountId/import');

type ImportInfo = RouterOutputs['imports']['get'];
type ImportRow = RouterOutputs['imports']['rows']['items'][number];
type Verdict = ImportRow['verdict'];
type Filter = 'all' | Verdict;

const verdictLabels: Record<Verdict, string> = {
  error: 'Error',
  create: 'Create',
  update: 'Update',
  unchanged: 'Unchanged',
};
const verdictBadges: Record<Verdict, string> = {
  error: 'badge-red',
  create: 'badge-green',
  update: 'badge-blue',
  unchanged: 'badge-gray',
};
const fieldLabels: Record<string, string> = {
  firstName: 'First name',
  lastName: 'Last name',
  role: 'Role',
  active: 'Active',
};
const n = (value: number) => value.toLocaleString();

/** Sends the file to POST /import/users, as it is (text/csv): the preview's id, or the server's refusal. */
async function uploadFile(accountId: string, file: File): Promise<{ id: string }> {
  let response: Response;
  try {
    response = await fetch(
      `/import/users?accountId=${encodeURIComponent(accountId)}&fileName=${encodeURIComponent(file.name)}`,
      { method: 'POST', headers: { 'content-type': 'text/csv' }, body: file, credentials: 'same-origin' },
    );
  } catch {
    throw new UploadError('The server could not be reached. Check your connection and try again.');
  }
  const body = (await response.json().catch(() => ({}))) as {
    import?: { id: string };
    error?: { message: string; reason?: ErrorReason };
  };
  if (!response.ok || !body.import) {
    throw new UploadError(body.error?.message ?? `The upload failed (HTTP ${response.status}).`, body.error?.reason);
  }
  return body.import;
}

class UploadError extends Error {
  constructor(
    message: string,
    readonly reason?: ErrorReason,
  ) {
    super(message);
  }
}

/** Import users into an account from a CSV file: choose, preview every row, apply. */
export function AccountImportPage() {
  const me = useMe();
  const { accountId } = route.useParams();
  const { id: importId } = route.useSearch();
  const navigate = useNavigate();
  const account = trpc.accounts.get.useQuery({ id: accountId }, { retry: false });
  useTitle(account.data ? `Import users · ${account.data.name}` : 'Import users');

  if (account.isPending) return <Spinner label="Loading account…" />;
  if (account.isError) {
    return (
      <>
        <h1>Import users</h1>
        <AccountLoadFailed error={account.error} onRetry={() => void account.refetch()} />
      </>
    );
  }
  if (!permissionsOf(me).managesAccount(account.data.id)) {
    // An auditor (or another account's administrator) reads users but imports none: nothing here to press.
    return (
      <>
        <h1>Import users</h1>
        <EmptyState title="Importing users into this account is not for you.">
          <Link to="/accounts/$accountId" params={{ accountId: account.data.id }}>
            Back to the account
          </Link>
        </EmptyState>
      </>
    );
  }
  const setImport = (id: string | undefined) => void navigate({ to: '.', search: id ? { id } : {}, replace: false });
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        {permissionsOf(me).readsOrganization && (
          <>
            <Link to="/security/accounts">Accounts</Link>
            <span aria-hidden="true"> / </span>
          </>
        )}
        <Link to="/accounts/$accountId" params={{ accountId }}>
          {account.data.name}
        </Link>
      </nav>
      <h1>Import users</h1>
      <p className="muted">
        Into the account <strong className="long-text">{account.data.name}</strong>. Nothing changes until you apply the
        preview.
      </p>
      <ChooseFile account={account.data} onPreviewed={setImport} />
      {importId && (
        <Preview key={importId} account={account.data} importId={importId} onAgain={() => setImport(undefined)} />
      )}
    </>
  );
}

function ChooseFile({ account, onPreviewed }: { account: Account; onPreviewed: (id: string) => void }) {
  const inputId = useId();
  const helpId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) {
      setProblem('Choose a CSV file first.');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const preview = await uploadFile(account.id, file);
      onPreviewed(preview.id);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : 'The upload failed.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="choose-heading" className="section">
      <h2 id="choose-heading" className="section-title">
        1. Choose a file
      </h2>
      <form onSubmit={submit} className="form import-form" noValidate>
        <FormError>{problem}</FormError>
        <div className="field">
          <label htmlFor={inputId}>CSV file</label>
          <input
            id={inputId}
            type="file"
            accept=".csv,text/csv"
            aria-describedby={helpId}
            onChange={(event) => {
              setFile(event.target.files?.[0] ?? null);
              setProblem(null);
            }}
          />
          <p id={helpId} className="field-hint">
            UTF-8, comma-separated, at most 20 MB. The first row names the columns, in any order: <strong>email</strong>{' '}
            (required), first name, last name, active (true or false)
            {account.isDefault ? ', role (admin or user)' : ''}. Users are matched by email; none is deleted. Passwords
            are never imported. An export of this account imports as it is.
          </p>
        </div>
        <div>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Reading the file…' : 'Preview'}
          </button>
        </div>
        {busy && <Spinner label="Reading the file and checking every row…" />}
      </form>
    </section>
  );
}

function Preview({ account, importId, onAgain }: { account: Account; importId: string; onAgain: () => void }) {
  const utils = trpc.useUtils();
  const refresh = useRefreshAdminData();
  const info = trpc.imports.get.useQuery({ id: importId }, { retry: false });
  const [filter, setFilter] = useState<Filter>('all');
  const [skipErrors, setSkipErrors] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const commit = trpc.imports.commit.useMutation({
    onSuccess: async () => {
      setConfirming(false);
      await Promise.all([utils.imports.get.invalidate({ id: importId }), refresh()]);
    },
    onError: () => setConfirming(false),
  });
  // While the apply runs, its progress (kept by the server that runs it).
  const progress = trpc.imports.get.useQuery(
    { id: importId },
    { enabled: commit.isPending, refetchInterval: 500, gcTime: 0 },
  );

  if (info.isPending) return <Spinner label="Loading the preview…" />;
  if (info.isError) {
    return (
      <LoadFailed
        error={info.error}
        onRetry={() => void info.refetch()}
        gone="This preview does not exist (previews are kept for a day)."
        back={
          <button type="button" className="btn" onClick={onAgain}>
            Start again
          </button>
        }
      />
    );
  }
  const data = info.data;
  const s = data.summary;
  const changes = s.create + s.update;
  const expired = data.status === 'previewed' && data.expiresAt.getTime() < Date.now();
  const stale = errorReason(commit.error) === 'IMPORT_STALE';
  const live = progress.data?.progress ?? null;

  return (
    <section aria-labelledby="preview-heading" className="section">
      <h2 id="preview-heading" className="section-title">
        2. Preview{data.fileName ? ` of ${data.fileName}` : ''}
      </h2>
      <dl className="facts import-counts" aria-label="Counts">
        <div>
          <dt>Rows</dt>
          <dd>{n(s.total)}</dd>
        </div>
        <div>
          <dt>Create</dt>
          <dd>{n(s.create)}</dd>
        </div>
        <div>
          <dt>Update</dt>
          <dd>{n(s.update)}</dd>
        </div>
        <div>
          <dt>Unchanged</dt>
          <dd>{n(s.unchanged)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>{n(s.error)}</dd>
        </div>
      </dl>
      {s.notes.length > 0 && (
        <ul className="note import-notes">
          {s.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}

      <ImportRows importId={importId} summary={s} filter={filter} onFilter={setFilter} />

      <h2 className="section-title import-apply-title">3. Apply</h2>
      {data.status === 'applied' && data.result ? (
        <div className="alert alert-info" role="status">
          <p className="alert-title">Import applied.</p>
          <p>
            {plural(data.result.created, 'user')} created, {plural(data.result.updated, 'user')} updated
            {data.result.deactivated
              ? ` (${n(data.result.deactivated)} deactivated: their sessions ended and their API keys were revoked)`
              : ''}
            {data.result.reactivated ? `, ${n(data.result.reactivated)} reactivated` : ''}, {n(data.result.unchanged)}{' '}
            unchanged, {n(data.result.skipped)} skipped. Every change is in the audit log.
          </p>
          <p>
            <Link to="/accounts/$accountId" params={{ accountId: account.id }}>
              Back to {account.name}
            </Link>{' '}
            ·{' '}
            <button type="button" className="btn btn-small" onClick={onAgain}>
              Import another file
            </button>
          </p>
        </div>
      ) : expired ? (
        <div className="alert alert-error" role="alert">
          <p>This preview has expired (after an hour). Choose the file again to preview it anew.</p>
        </div>
      ) : (
        <div className="import-apply">
          {s.error > 0 && (
            <label className="field-checkbox">
              <input type="checkbox" checked={skipErrors} onChange={(event) => setSkipErrors(event.target.checked)} />{' '}
              Skip the {plural(s.error, 'row')} with errors (or fix the file and choose it again)
            </label>
          )}
          {commit.isPending ? (
            <div className="import-progress">
              <label htmlFor="import-progress">
                Applying…{' '}
                {live ? `${n(live.done)} of ${n(live.total)} changes` : `${n(changes)} changes in one transaction`}
              </label>
              <progress
                id="import-progress"
                max={live?.total || undefined}
                value={live ? live.done : undefined}
                aria-valuetext={live ? `${n(live.done)} of ${n(live.total)} changes` : 'Starting'}
              />
            </div>
          ) : (
            <ConfirmDialog
              open={confirming}
              onOpenChange={setConfirming}
              title="Apply this import?"
              confirmLabel="Apply"
              pending={commit.isPending}
              error={null}
              onConfirm={() => commit.mutate({ id: importId, skipErrors })}
              trigger={
                <button
                  type="button"
                  className="btn btn-primary"
                  disabled={changes === 0 || (s.error > 0 && !skipErrors)}
                >
                  Apply
                </button>
              }
            >
              {`In ${account.name}: create ${plural(s.create, 'user')} and update ${plural(s.update, 'user')}` +
                `${s.error ? `, skipping ${plural(s.error, 'row')} with errors` : ''}. All of it or nothing, in one step.`}
            </ConfirmDialog>
          )}
          {changes === 0 && <p className="muted">Nothing to change: every row is unchanged or in error.</p>}
          {commit.error && (
            <div className="alert alert-error" role="alert">
              <p>{errorMessage(commit.error)}</p>
              {stale && (
                <button type="button" className="btn btn-small" onClick={onAgain}>
                  Choose the file again
                </button>
              )}
            </div>
          )}
        </div>
      )}
    </section>
  );
}

const pageSize = 500;
const rowHeight = 44;

/** The preview's rows, fetched page by page and drawn only where the table shows them. */
function ImportRows({
  importId,
  summary,
  filter,
  onFilter,
}: {
  importId: string;
  summary: ImportInfo['summary'];
  filter: Filter;
  onFilter: (filter: Filter) => void;
}) {
  const filterId = useId();
  const rows = trpc.imports.rows.useInfiniteQuery(
    { id: importId, verdict: filter === 'all' ? undefined : filter, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined },
  );
  const total = filter === 'all' ? summary.total : summary[filter];
  const loaded = rows.data?.pages.flatMap((page) => page.items) ?? [];
  const scrollRef = useRef<HTMLElement>(null);
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 10,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= loaded.length - 50 && rows.hasNextPage && !rows.isFetchingNextPage) void rows.fetchNextPage();
  }, [lastIndex, loaded.length, rows]);
  const before = items[0]?.start ?? 0;
  const after = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);

  const options: [Filter, string][] = [
    ['all', `All rows, errors first (${n(summary.total)})`],
    ['error', `Errors (${n(summary.error)})`],
    ['create', `Create (${n(summary.create)})`],
    ['update', `Update (${n(summary.update)})`],
    ['unchanged', `Unchanged (${n(summary.unchanged)})`],
  ];
  return (
    <>
      <div className="toolbar import-filter">
        <label htmlFor={filterId}>Show</label>
        <select id={filterId} value={filter} onChange={(event) => onFilter(event.target.value as Filter)}>
          {options.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {rows.isError ? (
        <ErrorState error={rows.error} onRetry={() => void rows.refetch()} />
      ) : total === 0 ? (
        <EmptyState title="No rows here." />
      ) : (
        <section
          className="table-wrap import-scroll"
          ref={scrollRef}
          aria-label="Preview rows (scrolls)"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard.
          tabIndex={0}
        >
          <table className="data-table import-table" aria-rowcount={total + 1}>
            <caption className="visually-hidden">Preview of every row of the file</caption>
            <thead>
              <tr aria-rowindex={1}>
                <th scope="col" className="col-line">
                  Line
                </th>
                <th scope="col" className="col-email">
                  Email
                </th>
                <th scope="col" className="col-verdict">
                  Verdict
                </th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {before > 0 && (
                <tr>
                  <td colSpan={4} style={{ height: before, padding: 0, border: 0 }} />
                </tr>
              )}
              {items.map((item) => {
                const row = loaded[item.index];
                return (
                  <tr
                    key={item.key}
                    data-index={item.index}
                    ref={virtualizer.measureElement}
                    aria-rowindex={item.index + 2}
                  >
                    {row ? (
                      <>
                        <td className="col-line" data-label="Line">
                          {row.line}
                        </td>
                        <td className="col-email long-text" data-label="Email">
                          {row.email}
                        </td>
                        <td className="col-verdict" data-label="Verdict">
                          <span className={`badge ${verdictBadges[row.verdict]}`}>{verdictLabels[row.verdict]}</span>
                        </td>
                        <td className="col-details" data-label="Details">
                          {details(row)}
                        </td>
                      </>
                    ) : (
                      <td colSpan={4} className="muted">
                        Loading…
                      </td>
                    )}
                  </tr>
                );
              })}
              {after > 0 && (
                <tr>
                  <td colSpan={4} style={{ height: after, padding: 0, border: 0 }} />
                </tr>
              )}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

const show = (value: unknown) => (value === true ? 'yes' : value === false ? 'no' : String(value));

function details(row: ImportRow): string {
  if (row.verdict === 'error') return row.error ?? '';
  if (row.verdict === 'create') {
    return [
      `${row.firstName ?? ''} ${row.lastName ?? ''}`.trim(),
      row.role === 'admin' ? 'administrator' : null,
      row.active === false ? 'deactivated' : null,
    ]
      .filter(Boolean)
      .join(', ');
  }
  if (row.verdict === 'update' && row.changes) {
    return Object.keys(row.changes.after)
      .map((key) => `${fieldLabels[key] ?? key}: ${show(row.changes?.before[key])} → ${show(row.changes?.after[key])}`)
      .join('; ');
  }
  return 'No change';
}
