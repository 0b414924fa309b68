import { bulkActionLabels } from '@roster/api/schemas';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useId, useMemo, useState } from 'react';
import { bulkPhrase } from '../components/bulk-actions';
import { MoreRows } from '../components/data-table';
import { EmptyState, ErrorState, Spinner } from '../components/states';
import { formatDateTime } from '../lib/format';
import { useTitle } from '../lib/title';
import { type RouterOutputs, trpc } from '../trpc';

type Operation = RouterOutputs['users']['bulkList']['items'][number];

const statusLabels: Record<Operation['status'], string> = {
  queued: 'Waiting to start',
  running: 'In progress',
  done: 'Done',
  failed: 'Stopped',
};

const unfinished = (operation: Operation | undefined) =>
  operation?.status === 'queued' || operation?.status === 'running';

/** "Deactivate 1,234 users" as the title of an operation. */
const titleOf = (operation: Operation) => bulkPhrase(operation.action, operation.total);

/** Every bulk action of the organization, newest first: each can be opened again for its progress and results. */
export function BulkActionsPage() {
  useTitle('Bulk actions');
  const list = trpc.users.bulkList.useInfiniteQuery(
    { limit: 25 },
    {
      getNextPageParam: (page) => page.nextCursor ?? undefined,
      // While one is still running, its progress moves here too.
      refetchInterval: (query) => (query.state.data?.pages.some((page) => page.items.some(unfinished)) ? 2_000 : false),
    },
  );
  const items = useMemo(() => list.data?.pages.flatMap((page) => page.items) ?? [], [list.data]);
  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>Bulk actions</h1>
          <p className="muted">
            Actions on many users at once, started from a users table. They run on the server: close the page and come
            back for their progress and results.
          </p>
        </div>
        <Link to="/users" className="btn">
          Users
        </Link>
      </div>
      {list.isPending ? (
        <Spinner label="Loading bulk actions…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No bulk actions yet.">
          Select users in a users table (the checkboxes), then choose an action.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="data-table">
            <caption className="visually-hidden">Bulk actions</caption>
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col" className="col-status">
                  Status
                </th>
                <th scope="col">Progress</th>
                <th scope="col">Started by</th>
                <th scope="col" className="col-createdAt">
                  Started
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((operation) => (
                <tr key={operation.id}>
                  <td data-label="Action">
                    <Link
                      to="/bulk-actions/$operationId"
                      params={{ operationId: operation.id }}
                      className="strong-link"
                    >
                      {titleOf(operation)}
                    </Link>
                  </td>
                  <td data-label="Status" className="col-status">
                    {statusLabels[operation.status]}
                  </td>
                  <td data-label="Progress">
                    {operation.processed.toLocaleString()} of {operation.total.toLocaleString()}:{' '}
                    {operation.done.toLocaleString()} done, {operation.skipped.toLocaleString()} skipped
                  </td>
                  <td data-label="Started by">{operation.actorEmail ?? '—'}</td>
                  <td data-label="Started" className="col-createdAt">
                    {formatDateTime(operation.createdAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <MoreRows
            shown={items.length}
            noun={['bulk action', 'bulk actions']}
            hasMore={list.hasNextPage}
            loading={list.isFetchingNextPage}
            onMore={() => void list.fetchNextPage()}
          />
        </div>
      )}
    </>
  );
}

const route = getRouteApi('/app/admin/bulk-actions/$operationId');

type Outcome = 'done' | 'skipped' | undefined;

/** One bulk action: a progress bar while it runs (asked every second), then what became of each user. */
export function BulkOperationPage() {
  const { operationId } = route.useParams();
  const [outcome, setOutcome] = useState<Outcome>(undefined);
  const outcomeId = useId();
  const status = trpc.users.bulkStatus.useQuery(
    { id: operationId, limit: 1 },
    { retry: false, refetchInterval: (query) => (unfinished(query.state.data?.operation) ? 1_000 : false) },
  );
  const operation = status.data?.operation;
  const finished = operation !== undefined && !unfinished(operation);
  const results = trpc.users.bulkStatus.useInfiniteQuery(
    { id: operationId, outcome, limit: 50 },
    { enabled: finished, getNextPageParam: (page) => page.results.nextCursor ?? undefined },
  );
  const rows = useMemo(() => results.data?.pages.flatMap((page) => page.results.items) ?? [], [results.data]);
  useTitle(operation ? titleOf(operation) : 'Bulk action');

  if (status.isPending) return <Spinner label="Loading the bulk action…" />;
  if (status.isError || !operation) {
    return <ErrorState error={status.error} onRetry={() => void status.refetch()} />;
  }
  const percent = operation.total ? Math.floor((operation.processed / operation.total) * 100) : 100;
  return (
    <>
      <div className="page-header">
        <div className="page-header-text">
          <h1>{titleOf(operation)}</h1>
          <p className="muted">
            Started {formatDateTime(operation.createdAt)} by {operation.actorEmail ?? 'a deleted administrator'}.{' '}
            {operation.selection.kind === 'search' ? 'Selected by search.' : 'Selected by hand.'}
          </p>
        </div>
        <Link to="/bulk-actions" className="btn">
          All bulk actions
        </Link>
      </div>
      <section className="bulk-progress" aria-labelledby="progress-heading">
        <h2 id="progress-heading" className="section-title">
          {statusLabels[operation.status]}
        </h2>
        <progress
          max={Math.max(operation.total, 1)}
          value={operation.total ? operation.processed : 1}
          aria-labelledby="progress-heading"
          aria-valuetext={`${percent}%: ${operation.processed} of ${operation.total} users`}
        />
        <output aria-live="polite" className="bulk-progress-text">
          {operation.processed.toLocaleString()} of {operation.total.toLocaleString()} users ({percent}%):{' '}
          {operation.done.toLocaleString()} done, {operation.skipped.toLocaleString()} skipped.
        </output>
        {operation.status === 'failed' && (
          <div className="alert alert-error" role="alert">
            <p>{operation.error ?? 'The bulk action stopped on an error.'}</p>
          </div>
        )}
        {unfinished(operation) && (
          <p className="muted">It runs on the server: you can leave this page and find it again under Bulk actions.</p>
        )}
        {status.data.skippedByReason.length > 0 && (
          <ul className="bulk-skips" aria-label="Skipped, by reason">
            {status.data.skippedByReason.map((skip) => (
              <li key={skip.reason}>
                {skip.message}: {skip.count.toLocaleString()}
              </li>
            ))}
          </ul>
        )}
      </section>
      {finished && (
        <section aria-labelledby="results-heading">
          <div className="toolbar">
            <h2 id="results-heading" className="section-title">
              Results
            </h2>
            <div className="filter">
              <label htmlFor={outcomeId}>Show</label>
              <select
                id={outcomeId}
                value={outcome ?? ''}
                onChange={(event) => setOutcome((event.target.value || undefined) as Outcome)}
              >
                <option value="">Every user</option>
                <option value="done">Done</option>
                <option value="skipped">Skipped</option>
              </select>
            </div>
          </div>
          {results.isPending ? (
            <Spinner label="Loading results…" />
          ) : results.isError ? (
            <ErrorState error={results.error} onRetry={() => void results.refetch()} />
          ) : rows.length === 0 ? (
            <EmptyState title="No users here." />
          ) : (
            <div className="table-wrap">
              <table className="data-table">
                <caption className="visually-hidden">
                  What {bulkActionLabels[operation.action].toLowerCase()} did to each user
                </caption>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col" className="col-status">
                      Outcome
                    </th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <tr key={row.userId}>
                      <td data-label="User">
                        {row.email ?? <span className="muted">Unknown user ({row.userId})</span>}
                      </td>
                      <td data-label="Outcome" className="col-status">
                        <span className={row.outcome === 'done' ? 'badge badge-green' : 'badge'}>
                          {row.outcome === 'done' ? 'Done' : row.outcome === 'skipped' ? 'Skipped' : 'Waiting'}
                        </span>
                      </td>
                      <td data-label="Reason">{row.message ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <MoreRows
                shown={rows.length}
                total={
                  outcome === 'done' ? operation.done : outcome === 'skipped' ? operation.skipped : operation.total
                }
                noun={['user', 'users']}
                hasMore={results.hasNextPage}
                loading={results.isFetchingNextPage}
                onMore={() => void results.fetchNextPage()}
              />
            </div>
          )}
        </section>
      )}
    </>
  );
}
