import { createHash } from 'node:crypto';
import type { BulkAction, Db } from '@roster/db';
import type { RawBuilder } from 'kysely';
import { findAccount } from '../accounts/queries.js';
import { auditName, confirmCaller, recordAudit, recordAuditMany, recordUsersAudit } from '../audit/queries.js';
import { accountScopeOf, scopedFilter } from '../core/access.js';
import { startWorker, type Worker } from '../core/worker.js';
import { AppError, appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import { decodeCursor, toPage } from '../shared/cursor.js';
import type { BulkOperationOutput, BulkPreview } from '../shared/outputs.js';
import {
  type AuditAction,
  type BulkInput,
  type BulkSelection,
  type BulkSkipReason,
  bulkSkipMessage,
  bulkSkipReasons,
  type UserSearchFilter,
} from '../shared/schemas.js';
import { lockOrganization } from '../users/queries.js';
import { assertAccountInOrganization } from '../users/service.js';
import {
  activeAdminsBesides,
  allowLongStatementsInTransaction,
  anyActiveAdmin,
  bulkAuditChanges,
  type ClaimedOperation,
  type ClassifyContext,
  claimOperation,
  deleteMany,
  endSessionsOfMany,
  findOperation,
  finishOperation,
  idsSelection,
  insertOperation,
  listOperations,
  listResults,
  lockBatchUsers,
  moveMany,
  pendingUserIds,
  pinSelection,
  previewCounts,
  type ResultRow,
  recordResults,
  relaxSynchronousCommit,
  releaseOperation,
  removesAdmins,
  revokeKeysOfMany,
  searchSelection,
  setActiveMany,
  setOperationTotal,
  skipCounts,
  unlockMany,
} from './queries.js';

// Bulk actions on users: a preview (nothing changes) whose token pins the
// selected set, then an operation applied in batches by a background worker,
// each batch one transaction with its audit rows, under the same rules as the
// single actions.

type OperationRow = NonNullable<Awaited<ReturnType<typeof findOperation>>>;

function operationOutput(row: OperationRow): BulkOperationOutput {
  const selection = row.selection as { ids?: string[]; search?: UserSearchFilter };
  // Stored as JSON: a dormant filter's date comes back as its text.
  const search = selection.search ?? {};
  const lastSignIn = search.lastSignIn;
  const revived: UserSearchFilter =
    lastSignIn && 'before' in lastSignIn ? { ...search, lastSignIn: { before: new Date(lastSignIn.before) } } : search;
  return {
    ...row,
    selection: selection.ids ? { kind: 'ids', count: selection.ids.length } : { kind: 'search', search: revived },
    processed: row.done + row.skipped,
  };
}

/** The token a preview hands out: the action, its account, and the fingerprint of the selected users and versions. */
function tokenOf(input: Pick<BulkInput, 'action' | 'toAccountId' | 'selection'>, fingerprint: string) {
  return createHash('sha256')
    .update(JSON.stringify([input.action, input.toAccountId ?? null, 'ids' in input.selection, fingerprint]))
    .digest('base64url')
    .slice(0, 32);
}

function uniqueIds(selection: BulkSelection): string[] | null {
  return 'ids' in selection ? [...new Set(selection.ids.map((id) => id.toLowerCase()))] : null;
}

/** The selected users; an account administrator's, of their account only (in the query: core/access.ts). */
async function selectionQuery(db: Db, actor: Actor, selection: BulkSelection) {
  const ids = uniqueIds(selection);
  const scope = accountScopeOf(actor);
  return ids
    ? idsSelection(db, actor.organizationId, ids, scope)
    : searchSelection(
        db,
        actor.organizationId,
        scopedFilter(actor, 'search' in selection ? selection.search : {}),
        scope,
      );
}

/** Account administrators never move users between accounts. */
function assertActionAllowed(actor: Actor, input: BulkInput) {
  if (input.action === 'move' && accountScopeOf(actor) !== undefined) {
    throw appError(
      'OUTSIDE_DELEGATION',
      'Not allowed: account administrators do not move users between accounts; ask an organization administrator.',
    );
  }
}

async function targetAccount(db: Db, actor: Actor, input: BulkInput) {
  if (input.action !== 'move' || !input.toAccountId) return null;
  await assertAccountInOrganization(db, actor, input.toAccountId);
  const row = await findAccount(db, actor.organizationId, input.toAccountId);
  return row ? { id: row.id, name: row.name } : null;
}

const contextOf = (actor: Actor, input: BulkInput): ClassifyContext => ({
  action: input.action,
  actorId: actor.id,
  toAccountId: input.toAccountId ?? null,
  scopeAccountId: accountScopeOf(actor) ?? null,
});

/**
 * Counting or pinning every user a search selects reads all of them: at a
 * million users, longer than the server's statement timeout (10 s by default)
 * may allow. These transactions get a minute.
 */
async function allowLongStatements(tx: Db) {
  await allowLongStatementsInTransaction(tx);
}

/** What the action would do, without changing anything. */
export async function previewBulk(db: Db, actor: Actor, input: BulkInput): Promise<BulkPreview> {
  assertActionAllowed(actor, input);
  const toAccount = await targetAccount(db, actor, input);
  const ids = uniqueIds(input.selection);
  // One read-only transaction: every user the search finds, however many, may take longer than a request's
  // usual statement timeout.
  const counts = await db.transaction().execute(async (tx) => {
    await allowLongStatements(tx);
    return previewCounts(
      tx,
      actor.organizationId,
      await selectionQuery(tx, actor, input.selection),
      contextOf(actor, input),
    );
  });
  const skipped = new Map<BulkSkipReason, number>();
  let affected = 0;
  for (const { reason, count } of counts.reasons) {
    if (reason === null) affected += count;
    else skipped.set(reason, (skipped.get(reason) ?? 0) + count);
  }
  // The organization keeps an active administrator: when the action would change them all, the last is skipped.
  if (removesAdmins(input.action) && counts.adminsChanged > 0 && counts.adminsLeft === 0) {
    affected -= 1;
    skipped.set('last_admin', 1);
  }
  if (ids && ids.length > counts.total) skipped.set('not_found', ids.length - counts.total);
  return {
    action: input.action,
    toAccount,
    total: counts.total,
    affected,
    skipped: bulkSkipReasons
      .filter((reason) => skipped.has(reason))
      .map((reason) => ({
        reason,
        count: skipped.get(reason) ?? 0,
        message: bulkSkipMessage(reason, input.action),
      })),
    ends: { sessions: counts.sessions, apiKeys: counts.apiKeys },
    previewToken: tokenOf(input, counts.fingerprint),
  };
}

const selectionChanged = () =>
  appError(
    'BULK_SELECTION_CHANGED',
    'The selected users have changed since the preview (added, removed or edited meanwhile). Preview again, then apply.',
  );

/**
 * Applies: pins the selection as it is now (evaluated again, never trusted from
 * the preview), refuses when it is not the previewed set, and queues the
 * operation with one audit row for the bulk action itself. The worker does the rest.
 */
export async function startBulk(db: Db, actor: Actor, input: BulkInput): Promise<BulkOperationOutput> {
  assertActionAllowed(actor, input);
  const started = await db.transaction().execute(async (tx) => {
    await allowLongStatements(tx);
    await targetAccount(tx, actor, input);
    const ids = uniqueIds(input.selection);
    const selected = await selectionQuery(tx, actor, input.selection);
    const operation = await insertOperation(tx, {
      organizationId: actor.organizationId,
      actorId: actor.id,
      actorEmail: actor.email,
      action: input.action,
      selection: JSON.stringify(ids ? { ids } : input.selection),
      toAccountId: input.toAccountId ?? null,
      scopeAccountId: accountScopeOf(actor) ?? null,
      previewToken: input.previewToken ?? '',
    });
    const pinned = await pinSelection(tx, operation.id, selected, ids);
    if (tokenOf(input, pinned.fingerprint) !== input.previewToken) throw selectionChanged();
    if (pinned.found === 0) {
      throw appError('BULK_NOTHING_TO_DO', 'No users match this selection: there is nothing to do.');
    }
    await setOperationTotal(tx, operation.id, pinned.total);
    await recordAudit(tx, {
      actor,
      action: 'users.bulk_action',
      targetType: 'bulk_operation',
      targetId: operation.id,
      targetLabel: `${input.action} ${pinned.total} ${pinned.total === 1 ? 'user' : 'users'}`,
      accountId: input.toAccountId ?? null,
      after: {
        operationId: operation.id,
        action: input.action,
        users: pinned.total,
        selection: ids ? { ids: ids.length } : input.selection,
        ...(input.toAccountId ? { toAccountId: input.toAccountId } : {}),
      },
    });
    const row = await findOperation(tx, actor.organizationId, operation.id);
    if (!row) throw new Error('startBulk: operation vanished');
    return operationOutput(row);
  });
  // This server's worker starts on it now rather than at its next round.
  for (const wake of wakers) queueMicrotask(wake);
  return started;
}

/** The workers of this process (startBulkWorker), woken when an operation is queued here. */
const wakers = new Set<() => void>();

export async function bulkStatus(
  db: Db,
  actor: Actor,
  input: {
    id: string;
    outcome?: 'pending' | 'done' | 'skipped' | undefined;
    cursor?: string | undefined;
    limit: number;
  },
) {
  const row = await findOperation(db, actor.organizationId, input.id, accountScopeOf(actor));
  if (!row) throw appError('NOT_FOUND', 'No such bulk action.');
  const operation = operationOutput(row);
  const after = decodeCursor(input.cursor, ['uuid'])?.[0];
  const results = toPage(await listResults(db, row.id, input.outcome, after, input.limit), input.limit, (r) => [
    r.userId,
  ]);
  const skipped = await skipCounts(db, row.id);
  return {
    operation,
    skippedByReason: skipped.map((s) => ({ ...s, message: bulkSkipMessage(s.reason, operation.action) })),
    results: {
      items: results.items.map((r) => ({
        userId: r.userId,
        email: r.label,
        outcome: r.outcome,
        reason: (r.reason as BulkSkipReason | null) ?? null,
        message: r.reason ? bulkSkipMessage(r.reason, operation.action) : null,
      })),
      nextCursor: results.nextCursor,
    },
  };
}

export async function bulkList(db: Db, actor: Actor, input: { cursor?: string | undefined; limit: number }) {
  const after = decodeCursor(input.cursor, ['timestamp', 'uuid']) as [string, string] | undefined;
  const page = toPage(
    await listOperations(db, actor.organizationId, after, input.limit, accountScopeOf(actor)),
    input.limit,
    (row) => [row.createdAt.toISOString(), row.id],
  );
  return { items: page.items.map(operationOutput), nextCursor: page.nextCursor };
}

// ----- The worker -----

export type BulkWorkOptions = {
  /** Users per batch (one transaction each). */
  batchSize?: number;
  /** Stop after this many batches (the rest waits for the next run). */
  maxBatches?: number;
  /** Batches run side by side (default 2: on PostgreSQL, the work of two connections). */
  concurrency?: number;
  /** Pause between batches, so other requests get the database in between. */
  pauseMs?: number;
  /** Asked before each batch: false stops (a server shutting down). */
  keepGoing?: () => boolean;
};

/** Errors a retry of the same batch may not meet: a deadlock, a serialization failure. */
const transient = (error: unknown) =>
  typeof error === 'object' &&
  error !== null &&
  ['40P01', '40001'].includes(String((error as { code?: unknown }).code));

/**
 * Works on unfinished bulk operations until there are none (or `maxBatches`):
 * claims one (skip-locked, with a lease renewed by every batch, so several
 * servers share the work and a restarted one takes over what a dead one left),
 * applies it batch by batch, and marks it done. Returns the batches run.
 */
export async function runBulkWork(db: Db, options: BulkWorkOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 1_000;
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  let batches = 0;
  while (batches < maxBatches && (options.keepGoing?.() ?? true)) {
    const operation = await claimOperation(db);
    if (!operation) break;
    let failures = 0;
    let finished = false;
    while (batches < maxBatches && (options.keepGoing?.() ?? true)) {
      // Batches side by side take different users (skip-locked); the organization's lock still serializes
      // those that could remove an administrator.
      const lanes = Math.min(concurrency, maxBatches - batches);
      const outcomes = await Promise.allSettled(
        Array.from({ length: lanes }, () => processBatchLocked(db, operation, batchSize)),
      );
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      const done = outcomes.filter((o) => o.status === 'fulfilled' && o.value).length;
      batches += done;
      if (failed) {
        if (transient(failed.reason) && ++failures < 5) continue;
        await finishOperation(db, operation.id, failureMessage(failed.reason, operation));
        finished = true;
        break;
      }
      failures = 0;
      if (done === 0) {
        await finishOperation(db, operation.id, null);
        finished = true;
        break;
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      else await new Promise((resolve) => setImmediate(resolve));
    }
    // Stopped before the end (a limit, a shutdown): another run, here or on another server, goes on at once.
    if (!finished) await releaseOperation(db, operation.id);
  }
  return batches;
}

/** A batch found an administrator it had not locked the organization for: it is run again, with the lock. */
class NeedsOrganizationLock extends Error {}

async function processBatchLocked(db: Db, operation: ClaimedOperation, batchSize: number): Promise<boolean> {
  try {
    return await processBatch(db, operation, batchSize, false);
  } catch (error) {
    if (error instanceof NeedsOrganizationLock) return processBatch(db, operation, batchSize, true);
    throw error;
  }
}

/** The reasons audit/queries.ts refuses a change whose actor lost their access after it was authorized. */
const accessLost = new Set(['ACCESS_CHANGED', 'USER_DEACTIVATED', 'USER_DELETED']);

function failureMessage(error: unknown, operation: ClaimedOperation): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === '23503' && operation.action === 'move') return 'The account to move users to no longer exists.';
  if (error instanceof AppError && accessLost.has(error.reason)) {
    return 'Stopped: whoever started it was deactivated, deleted or given another role meanwhile; the users not yet processed were left as they were.';
  }
  return 'The bulk action stopped on an error; the users not yet processed were left as they were.';
}

/**
 * One batch in one transaction: the next pending users, locked in id order,
 * judged by the rules of the single actions, changed with set-based
 * statements, each change with its audit row, and the results recorded.
 * Returns false when nothing was pending.
 */
async function processBatch(
  db: Db,
  operation: ClaimedOperation,
  batchSize: number,
  organizationLock: boolean,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    // A batch lost with the server (committed but not yet on disk) is redone: its results go with it.
    await relaxSynchronousCommit(tx);
    const organizationId = operation.organizationId;
    const action = operation.action as BulkAction;
    const ids = await pendingUserIds(tx, operation.id, batchSize);
    if (ids.length === 0) return false;
    // As users.deactivate and users.delete do, before the users' locks: whoever holds it sees the final count
    // of administrators. Only for a batch with administrators in it: one without takes none away (and nobody
    // becomes an administrator while its users are locked), so such batches run side by side.
    let locked = false;
    if (removesAdmins(action) && (organizationLock || (await anyActiveAdmin(tx, organizationId, ids)))) {
      await lockOrganization(tx, organizationId);
      locked = true;
    }
    // Whoever started it must still be who they were then (an administrator, or the account administrator
    // of the operation's account), at every batch: one demoted, deactivated or deleted meanwhile stops it.
    // After the organization's lock, before the users' rows: the order the single actions lock in.
    await confirmCaller(tx, {
      id: operation.actorId,
      organizationId,
      role: operation.scopeAccountId ? 'account_admin' : 'admin',
      accountId: operation.scopeAccountId,
    });
    const context: ClassifyContext = {
      action,
      actorId: operation.actorId ?? '00000000-0000-0000-0000-000000000000',
      toAccountId: operation.toAccountId,
      scopeAccountId: operation.scopeAccountId,
    };
    const users = await lockBatchUsers(tx, organizationId, ids, context);
    const reasons = new Map<string, BulkSkipReason | null>(users.map((u) => [u.id, u.reason]));
    if (removesAdmins(action) && !locked && users.some((u) => u.reason === null && u.role === 'admin' && u.active)) {
      throw new NeedsOrganizationLock();
    }
    if (removesAdmins(action)) {
      const admins = users.filter((u) => u.reason === null && u.role === 'admin' && u.active);
      if (
        admins.length > 0 &&
        (await activeAdminsBesides(
          tx,
          organizationId,
          admins.map((u) => u.id),
        )) === 0
      ) {
        reasons.set((admins.at(-1) as { id: string }).id, 'last_admin');
      }
    }
    const changed = users.filter((u) => reasons.get(u.id) === null);
    const changedIds = changed.map((u) => u.id);
    const actor = {
      organizationId,
      id: operation.actorId,
      email: operation.actorEmail,
    };
    const snapshot = (u: (typeof users)[number]) => ({
      targetType: 'user' as const,
      targetId: u.id,
      targetLabel: u.email,
      targetEmail: u.email,
      targetName: auditName(u),
      accountId: u.accountId,
    });
    const audit = (name: AuditAction, changes: RawBuilder<unknown>, accountId?: RawBuilder<string>) =>
      recordUsersAudit(tx, actor, name, changedIds, changes, accountId);
    switch (action) {
      case 'deactivate': {
        // As users.deactivate: out at once, sessions ended and keys revoked for good.
        await endSessionsOfMany(tx, changedIds);
        const keys = await revokeKeysOfMany(tx, changedIds);
        await setActiveMany(tx, organizationId, changedIds, false);
        await audit('user.deactivated', bulkAuditChanges.deactivated);
        const byId = new Map(changed.map((u) => [u.id, u]));
        await recordAuditMany(
          tx,
          actor,
          keys.map((key) => {
            const user = byId.get(key.userId ?? '') as (typeof users)[number];
            return {
              ...snapshot(user),
              action: 'api_key.revoked' as const,
              before: { revokedAt: null },
              after: {
                apiKeyId: key.id,
                name: key.name,
                prefix: key.prefix,
                revokedAt: key.revokedAt?.toISOString(),
                reason: 'user_deactivated',
              },
            };
          }),
        );
        break;
      }
      case 'reactivate':
        await setActiveMany(tx, organizationId, changedIds, true);
        await audit('user.reactivated', bulkAuditChanges.reactivated);
        break;
      case 'delete':
        // Written first: the rows are gone after.
        await audit('user.deleted', bulkAuditChanges.deleted);
        await deleteMany(tx, organizationId, changedIds);
        break;
      case 'move': {
        const to = operation.toAccountId as string;
        await audit('user.moved', bulkAuditChanges.moved(to), bulkAuditChanges.accountOf(to));
        await moveMany(tx, organizationId, changedIds, to);
        break;
      }
      case 'end_sessions': {
        const ended = await endSessionsOfMany(tx, changedIds);
        const counts = JSON.stringify(Object.fromEntries(ended));
        await audit('user.sessions_ended', bulkAuditChanges.sessionsEnded(counts));
        break;
      }
      case 'unlock':
        await audit('user.unlocked', bulkAuditChanges.unlocked);
        await unlockMany(tx, organizationId, changedIds);
        break;
    }
    const emailOf = new Map(users.map((u) => [u.id, u.email]));
    const results: ResultRow[] = ids.map((id) => {
      if (!emailOf.has(id)) return { userId: id, outcome: 'skipped', reason: 'not_found', label: null };
      const reason = reasons.get(id) ?? null;
      return { userId: id, outcome: reason ? 'skipped' : 'done', reason, label: emailOf.get(id) ?? null };
    });
    await recordResults(tx, operation.id, results);
    return true;
  });
}

export type BulkWorker = Worker;

/**
 * Runs `runBulkWork` every `intervalMs` (one run at a time; the timer does not
 * keep the process alive). `wake` starts a run now (after an apply), `stop`
 * finishes the batch in progress and leaves the rest to the next server start.
 */
export function startBulkWorker(
  db: Db,
  options: BulkWorkOptions & { intervalMs?: number; onError?: (error: unknown) => void } = {},
): BulkWorker {
  return startWorker({
    work: (keepGoing) => runBulkWork(db, { ...options, keepGoing }),
    intervalMs: options.intervalMs ?? 1_000,
    onError: options.onError,
    wakers,
  });
}
