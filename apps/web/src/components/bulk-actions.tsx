import {
  type BulkActionName,
  type BulkSelection,
  bulkActionLabels,
  bulkActions,
  type UserSearchFilter,
} from '@roster/api/schemas';
import { useNavigate } from '@tanstack/react-router';
import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { errorReason } from '../lib/errors';
import { permissionsOf } from '../lib/permissions';
import { trpc } from '../trpc';
import { AccountFilter } from './account-filter';
import { ConfirmDialog } from './confirm-dialog';
import { useMe } from './me';
import type { RowSelection } from './users-table';

const count = (n: number) => n.toLocaleString();
const usersWord = (n: number) => `${count(n)} ${n === 1 ? 'user' : 'users'}`;

/** "Deactivate 3 users", "Move 3 users to Acme", "End sessions of 3 users". */
export function bulkPhrase(action: BulkActionName, n: number, toAccountName?: string | null) {
  const phrase = `${bulkActionLabels[action]} ${usersWord(n)}`;
  return action === 'move' && toAccountName ? `${phrase} to ${toAccountName}` : phrase;
}

const actionOptions: Record<BulkActionName, string> = {
  deactivate: 'Deactivate',
  reactivate: 'Reactivate',
  delete: 'Delete',
  move: 'Move to another account',
  end_sessions: 'End sessions',
  unlock: 'Unlock sign-in',
};

/**
 * The rows chosen on a users table, or every user the search matches. A new
 * search (other filters) starts a new selection.
 */
export function useBulkSelection(filter: UserSearchFilter) {
  const key = JSON.stringify(filter);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [all, setAll] = useState(false);
  useEffect(() => {
    setSelected(new Set());
    setAll(false);
  }, [key]);
  const toggle = useCallback((ids: string[], on: boolean) => {
    setSelected((previous) => {
      const next = new Set(previous);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  const rows: RowSelection = useMemo(() => ({ selected, all, toggle }), [selected, all, toggle]);
  const clear = useCallback(() => {
    setSelected(new Set());
    setAll(false);
  }, []);
  const selection: BulkSelection | null = all ? { search: filter } : selected.size > 0 ? { ids: [...selected] } : null;
  return { rows, selection, all, setAll, clear, size: selected.size };
}

/**
 * Shown while users are selected: how many, "Select all N users matching this
 * search", an action (and for a move, the account), and Preview, which asks
 * the server what would happen before anything changes.
 */
export function BulkBar({
  bulk,
  filter,
  moreThanShown,
}: {
  bulk: ReturnType<typeof useBulkSelection>;
  filter: UserSearchFilter;
  /** There are more matching users than the rows loaded. */
  moreThanShown: boolean;
}) {
  const actionId = useId();
  // Account administrators never move users between accounts.
  const me = useMe();
  const [action, setAction] = useState<BulkActionName>('deactivate');
  const [toAccountId, setToAccountId] = useState<string | undefined>();
  const [open, setOpen] = useState(false);
  // How many users the search matches (more than the rows loaded): counted by a preview, which changes nothing,
  // once the bar shows, so that the button can say it.
  const counter = trpc.users.bulk.useMutation();
  const { mutate: count } = counter;
  const filterKey = JSON.stringify(filter);
  const wanted = Boolean(bulk.selection) && moreThanShown;
  useEffect(() => {
    if (wanted) count({ selection: { search: JSON.parse(filterKey) }, action: 'reactivate', dryRun: true });
  }, [wanted, filterKey, count]);
  const matching = counter.data?.preview?.total;
  if (!bulk.selection) return null;
  const selectAll = () => bulk.setAll(true);
  return (
    <section className="bulk-bar" aria-label="Bulk actions">
      <p className="bulk-bar-count" aria-live="polite">
        {bulk.all
          ? matching === undefined
            ? 'All users matching this search are selected (counting…).'
            : `All ${usersWord(matching)} matching this search are selected.`
          : `${usersWord(bulk.size)} selected.`}
      </p>
      {!bulk.all && moreThanShown && (
        <button type="button" className="btn btn-small btn-quiet" onClick={selectAll}>
          {matching === undefined
            ? 'Select all users matching this search'
            : `Select all ${usersWord(matching)} matching this search`}
        </button>
      )}
      <button type="button" className="btn btn-small btn-quiet" onClick={bulk.clear}>
        Clear selection
      </button>
      <div className="bulk-bar-action">
        <div className="filter">
          <label htmlFor={actionId}>Action</label>
          <select id={actionId} value={action} onChange={(event) => setAction(event.target.value as BulkActionName)}>
            {bulkActions
              .filter((name) => name !== 'move' || permissionsOf(me).isOrgAdmin)
              .map((name) => (
                <option key={name} value={name}>
                  {actionOptions[name]}
                </option>
              ))}
          </select>
        </div>
        {action === 'move' && (
          <AccountFilter
            accountId={toAccountId}
            onChange={setToAccountId}
            label="Move to"
            placeholder="Type an account's name"
          />
        )}
        <button
          type="button"
          className="btn btn-primary btn-small"
          disabled={action === 'move' && !toAccountId}
          onClick={() => setOpen(true)}
        >
          Preview…
        </button>
      </div>
      {open && (
        <BulkPreviewDialog
          selection={bulk.selection}
          action={action}
          toAccountId={action === 'move' ? toAccountId : undefined}
          onClose={() => setOpen(false)}
          onStarted={bulk.clear}
        />
      )}
    </section>
  );
}

/**
 * What the action would do (asked of the server, nothing changes yet): how many
 * users it changes, who it skips and why, what it ends. Confirming names the
 * count and the action, then opens the action's page, where its progress shows.
 */
function BulkPreviewDialog({
  selection,
  action,
  toAccountId,
  onClose,
  onStarted,
}: {
  selection: BulkSelection;
  action: BulkActionName;
  toAccountId: string | undefined;
  onClose: () => void;
  onStarted: () => void;
}) {
  const navigate = useNavigate();
  const utils = trpc.useUtils();
  const previewer = trpc.users.bulk.useMutation();
  const applier = trpc.users.bulk.useMutation();
  const request = useMemo(() => ({ selection, action, toAccountId }), [selection, action, toAccountId]);
  const { mutate: preview } = previewer;
  useEffect(() => {
    preview({ ...request, dryRun: true });
  }, [preview, request]);
  const result = previewer.data?.preview;
  const changed = errorReason(applier.error) === 'BULK_SELECTION_CHANGED';
  const apply = () => {
    if (!result) return;
    applier.mutate(
      { ...request, dryRun: false, previewToken: result.previewToken },
      {
        onSuccess: ({ operation }) => {
          void utils.users.invalidate();
          onStarted();
          if (operation) void navigate({ to: '/bulk-actions/$operationId', params: { operationId: operation.id } });
        },
        // The users changed since: show the new preview, to be confirmed again.
        onError: (error) => {
          if (errorReason(error) === 'BULK_SELECTION_CHANGED') preview({ ...request, dryRun: true });
        },
      },
    );
  };
  const danger = action === 'delete' || action === 'deactivate';
  return (
    <ConfirmDialog
      open
      onOpenChange={(next) => {
        if (!next) onClose();
      }}
      title={`${bulkActionLabels[action]} users?`}
      confirmLabel={result ? bulkPhrase(action, result.affected, result.toAccount?.name) : bulkActionLabels[action]}
      confirmDisabled={!result || result.affected === 0 || previewer.isPending}
      danger={danger}
      pending={applier.isPending}
      onConfirm={apply}
      error={previewer.error ?? (changed ? null : applier.error)}
    >
      {changed && <span className="bulk-changed">The users changed since the preview. Here is the new one.</span>}
      {!result ? (
        <span>{previewer.isError ? 'The preview failed.' : 'Counting the users it affects…'}</span>
      ) : (
        <span className="bulk-preview">
          <span className="bulk-preview-line">
            {result.affected === 0
              ? `Nothing to do: none of the ${usersWord(result.total)} selected would change.`
              : `${bulkPhrase(action, result.affected, result.toAccount?.name)} of the ${usersWord(result.total)} selected.`}
          </span>
          {result.skipped.length > 0 && (
            <span className="bulk-preview-line">
              Skipped:{' '}
              {result.skipped.map((skip, index) => (
                <span key={skip.reason}>
                  {index > 0 ? '; ' : ''}
                  {usersWord(skip.count)} ({skip.message.toLowerCase()})
                </span>
              ))}
              .
            </span>
          )}
          {(result.ends.sessions > 0 || result.ends.apiKeys > 0) && (
            <span className="bulk-preview-line">
              It ends {count(result.ends.sessions)} live {result.ends.sessions === 1 ? 'session' : 'sessions'}
              {result.ends.apiKeys > 0
                ? ` and ${count(result.ends.apiKeys)} working API ${result.ends.apiKeys === 1 ? 'key' : 'keys'}`
                : ''}
              .
            </span>
          )}
          {action === 'delete' && <strong className="bulk-preview-line">Deleting cannot be undone.</strong>}
          {action === 'deactivate' && (
            <span className="bulk-preview-line">
              Deactivated users can be reactivated; their API keys stay revoked.
            </span>
          )}
        </span>
      )}
    </ConfirmDialog>
  );
}
