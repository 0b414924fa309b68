// The CSV export of a users search: who may, which users, and the audit row.
// The host (apps/server/src/export-route.ts) only sends the stream this returns.
//
// The file is written page by page: keyset pages of `exportUsersPage` (the
// search behind `users.search`, so the file has exactly the users the search's
// pages show, in the same email order), one read ahead while the last is sent,
// and no more until the client has taken them, so memory stays flat whatever
// the number of users and a slow client slows only its own export. Pages are separate statements (no
// transaction held open for the whole download, which a slow client would
// stretch); the email keyset is unique, so a user present throughout is
// written exactly once, while one created or deleted during the export may or
// may not be in it.
import { Readable } from 'node:stream';
import type { ReadReplica } from '@roster/db';
import { ZodRealError } from 'zod';
import { accountNames, findAccount } from '../accounts/queries.js';
import { recordAudit } from '../audit/queries.js';
import { assertAccess, scopedFilter } from '../core/access.js';
import { authenticate, type Credentials } from '../core/authenticate.js';
import { onReader, type Reading } from '../core/read-replica.js';
import { appError, mapDatabaseError } from '../errors.js';
import type { InflightTracker } from '../inflight.js';
import type { Actor } from '../shared/actor.js';
import { userFilterSchema } from '../shared/schemas.js';
import { neutralizeFormulaCell, userCsvColumns } from './csv-columns.js';
import { type ExportRow, exportUsersPage, type UserFilter } from './queries.js';

/**
 * Users read per statement: big enough that a million users take few round
 * trips, small enough to hold. Tests make it small, to cross many pages with few users.
 */
/**
 * `pause`: after each page the export waits this share of the time the page took, so a big export
 * leaves the server's CPU to everyone else's requests (at 2.5, an export works at most about 30% of the time).
 */
export const exportLimits = { pageSize: 2_000, running: 4, pause: 2.5 };

/**
 * Exports running in this process. Each takes a share of the one thread that
 * answers every request; past `exportLimits.running` at once, a new one is
 * refused (429) rather than slowing everyone's requests.
 */
let running = 0;

export type UserExportFilter = Omit<UserFilter, 'cursor' | 'limit' | 'columns'>;

/** The query parameters a users export takes: the filters of `users.search`, and `bom`. */
const parameterNames = new Set([
  'query',
  'accountId',
  'active',
  'role',
  'locked',
  'neverSignedIn',
  'lastSignInBefore',
  'bom',
]);
const booleanNames = new Set(['active', 'locked', 'neverSignedIn', 'bom']);

/**
 * The filters of an export's query string, checked by the schema of
 * `users.search` (booleans are `true` / `false`). An unknown or repeated
 * parameter is refused rather than ignored: a misspelt filter would otherwise
 * export far more users than the person meant.
 */
export function parseUserExportParams(params: URLSearchParams): { filter: UserExportFilter; bom: boolean } {
  const raw: Record<string, string | boolean> = {};
  const seen = new Set<string>();
  const issues: Array<{ path: string; message: string }> = [];
  for (const [name, value] of params) {
    const repeated = seen.has(name);
    seen.add(name);
    if (!parameterNames.has(name)) {
      issues.push({
        path: name,
        message: `"${name.slice(0, 40)}" is not a filter of the export: use query, accountId, active, role, locked, neverSignedIn, lastSignInBefore or bom`,
      });
    } else if (repeated) {
      issues.push({ path: name, message: `${name} is given more than once` });
    } else if (booleanNames.has(name)) {
      if (value === 'true' || value === 'false') raw[name] = value === 'true';
      else issues.push({ path: name, message: `${name} is true or false` });
    } else if (value !== '') {
      raw[name] = value;
    }
  }
  const { bom, neverSignedIn, lastSignInBefore, ...rest } = raw;
  const filterInput: Record<string, unknown> = { ...rest };
  if (neverSignedIn === true && lastSignInBefore !== undefined) {
    issues.push({ path: 'neverSignedIn', message: 'Give neverSignedIn or lastSignInBefore, not both' });
  } else if (neverSignedIn === true) {
    filterInput.lastSignIn = { never: true };
  } else if (typeof lastSignInBefore === 'string') {
    const before = new Date(lastSignInBefore);
    if (Number.isNaN(before.getTime())) {
      issues.push({ path: 'lastSignInBefore', message: 'lastSignInBefore is a date, such as 2026-09-01T00:00:00Z' });
    } else filterInput.lastSignIn = { before };
  }
  const parsed = userFilterSchema.safeParse(filterInput);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: issue.path.map(String).join('.'), message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) {
    throw appError(
      'INVALID_INPUT',
      issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
      new ZodRealError(
        issues.map((issue) => ({
          code: 'custom' as const,
          path: [issue.path],
          message: issue.message,
          input: undefined,
        })),
      ),
    );
  }
  const filter: UserExportFilter = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value !== undefined && value !== '') Object.assign(filter, { [key]: value });
  }
  return { filter, bom: bom === true };
}

export type UserExport = {
  /** Who asked (an active administrator). */
  actor: Actor;
  filter: UserExportFilter;
  /** A file name for Content-Disposition: ASCII letters, digits, `-` and `.` only. */
  filename: string;
  /** The CSV, UTF-8: header row, then one row per user; it records the audit row when it ends, however it ends. */
  stream: Readable;
  /** Settles once the stream has ended (or was abandoned) and its audit row is written. */
  finished: Promise<{ rows: number; complete: boolean }>;
};

const slug = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .toLowerCase();

/** Anything in a cell that RFC 4180 quotes (a comma, a quote, a line break), or a neutralized cell (OWASP quotes those too). */
const quoteNeeded = /[",\r\n]|^'/;

/**
 * One text cell as the file has it: neutralized (neutralizeFormulaCell), then
 * quoted with its quotes doubled when RFC 4180 needs it, a lone CR or LF
 * included. The same bytes as csv-stringify's with `{ record_delimiter:
 * 'windows', quote_record_delimiter: true, quoted_match: /^'/ }` (a test holds
 * the two equal on random text), at a tenth of its cost per row, which was a
 * third of a million-row export's time.
 */
export function csvCell(value: string): string {
  const text = neutralizeFormulaCell(value);
  return quoteNeeded.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header row, CRLF-ended. */
export const userCsvHeader = `${userCsvColumns.join(',')}\r\n`;

/**
 * One user's row, CRLF-ended. The id (a UUID), role and active never need
 * quotes or neutralizing; the rest are written with csvCell. Dates come as
 * ISO 8601 text from the database (exportColumns).
 */
export function userCsvLine(user: ExportRow, accountName: string): string {
  return `${user.id},${csvCell(accountName)},${csvCell(user.email)},${csvCell(user.firstName)},${csvCell(
    user.lastName,
  )},${user.role},${user.active ? 'true' : 'false'},${csvCell(user.createdAt)},${csvCell(user.lastLoginAt ?? '')}\r\n`;
}

/**
 * Checks who asks and what, and returns the export's stream; throws an
 * AppError (UNAUTHENTICATED, NOT_ADMIN, INVALID_INPUT, NOT_FOUND…) before any
 * byte when it is refused. Authorization is `users.search`'s: an active
 * administrator, by session or API key, within their organization.
 */
/** What an export needs of a request: its credentials, and the host's count of running work (a Context has both). */
export type ExportRequest = Credentials & {
  inflight: InflightTracker | null;
  /** The read replica the pages are read from when it may serve the caller (core/read-replica.ts). */
  replica?: ReadReplica | null;
  onActor?: ((actor: Actor) => void) | null;
};

export async function startUserExport(ctx: ExportRequest, params: URLSearchParams): Promise<UserExport> {
  try {
    return await prepare(ctx, params);
  } catch (error) {
    throw mapDatabaseError(error) ?? error;
  }
}

async function prepare(ctx: ExportRequest, params: URLSearchParams): Promise<UserExport> {
  const actor = await authenticate(ctx);
  if (actor) ctx.onActor?.(actor);
  if (!actor) throw appError('UNAUTHENTICATED', 'Sign in to continue.');
  // A read: the users.search rule (accountRead). An account administrator's
  // export is of their account, in the query (scopedFilter: naming another is NOT_FOUND).
  assertAccess(actor, 'accountRead');
  const parsed = parseUserExportParams(params);
  const filter = scopedFilter(actor, parsed.filter);
  const bom = parsed.bom;
  const reading: Reading = { db: ctx.db, replica: ctx.replica ?? null, actor };
  const accountId = filter.accountId;
  const account = accountId
    ? await onReader(reading, (db) => findAccount(db, actor.organizationId, accountId))
    : undefined;
  if (filter.accountId && !account) throw appError('NOT_FOUND', 'No such account.');
  if (running >= exportLimits.running) {
    throw appError('RATE_LIMITED', `${running} exports are running already; try again when one has finished.`);
  }
  const day = new Date().toISOString().slice(0, 10);
  const filename = `users${account ? `-${slug(account.name) || 'account'}` : ''}-${day}.csv`;
  const { stream, finished } = userCsvStream(reading, filter, { bom, accountName: account?.name ?? null });
  running += 1;
  const release = () => {
    running -= 1;
  };
  // Whoever awaits `finished` sees a failed audit write; unawaited, it must not crash the process.
  finished.then(release, release);
  ctx.inflight?.track(finished);
  return { actor, filter, filename, stream, finished };
}

/** The file's stream: its pages (each from the replica when it may serve the caller, else the primary) and its audit row (the primary). */
function userCsvStream(
  source: Reading,
  filter: UserExportFilter,
  options: { bom: boolean; accountName: string | null },
) {
  const { db, actor } = source;
  const names = new Map<string, string>();
  let cursor: string | undefined;
  let first = true;
  let done = false;
  let rows = 0;

  /** The next page as CSV text (the header row before the first), or null after the last. */
  type Page = Awaited<ReturnType<typeof exportUsersPage>>;
  const read = (after: string | undefined) =>
    onReader(source, (reader) =>
      exportUsersPage(reader, actor.organizationId, { ...filter, cursor: after, limit: exportLimits.pageSize }),
    );
  /** The next page, asked for as soon as the one before it arrived, so the database reads it while this one is written. */
  let ahead: Promise<Page> | null = null;

  let owedMs = 0;
  async function nextChunk(): Promise<string | null> {
    if (done) return null;
    // Other requests first: a pause in proportion to the last page's work (exportLimits.pause), or at least a
    // turn of the event loop (embedded PGlite answers without one; a client's goodbye must get in too).
    if (owedMs >= 1) await new Promise((resolve) => setTimeout(resolve, Math.min(owedMs, 100)));
    else await new Promise((resolve) => setImmediate(resolve));
    if (stream.destroyed) return null;
    const started = performance.now();
    const page = await (ahead ?? read(cursor));
    cursor = page.nextCursor ?? undefined;
    done = cursor === undefined;
    ahead = done ? null : read(cursor);
    // Awaited by the next call; if the stream ends first, its failure is nobody's to handle.
    ahead?.catch(() => {});
    const missing = [...new Set(page.items.map((user) => user.accountId))].filter((id) => !names.has(id));
    if (missing.length > 0) {
      const found = await onReader(source, (reader) => accountNames(reader, actor.organizationId, missing));
      for (const { id, name } of found) names.set(id, name);
    }
    let text = first ? `${options.bom ? '\uFEFF' : ''}${userCsvHeader}` : '';
    for (const user of page.items) text += userCsvLine(user, names.get(user.accountId) ?? '');
    rows += page.items.length;
    first = false;
    owedMs = (performance.now() - started) * exportLimits.pause;
    return text;
  }

  let reading = false;
  const stream = new Readable({
    // A page (~300 KB at 2,000 rows) is pushed whole. The next is read while less than this waits to be sent,
    // so the database works on one page while the socket sends the one before; past it, the export waits for
    // the client (backpressure): at most a few pages per export are ever held.
    highWaterMark: 1024 * 1024,
    read() {
      if (reading) return;
      reading = true;
      nextChunk().then(
        (chunk) => {
          reading = false;
          if (stream.destroyed) return;
          if (chunk === null) stream.push(null);
          else stream.push(chunk, 'utf8');
        },
        (error: unknown) => {
          reading = false;
          stream.destroy(mapDatabaseError(error) ?? (error instanceof Error ? error : new Error(String(error))));
        },
      );
    },
  });

  // One audit row, when the stream ends whichever way: finished, abandoned by the client, or failed.
  const finished = new Promise<{ rows: number; complete: boolean }>((resolve, reject) => {
    stream.once('close', () => {
      const complete = stream.readableEnded;
      db.transaction()
        .execute((tx) =>
          recordAudit(tx, {
            actor,
            action: 'users.exported',
            targetType: filter.accountId ? 'account' : 'organization',
            targetId: filter.accountId ?? actor.organizationId,
            targetLabel: options.accountName,
            after: { filter, rows, complete },
          }),
        )
        .then(() => resolve({ rows, complete }), reject);
    });
  });
  return { stream, finished };
}
