import {
  type Database,
  type Db,
  type NewUser,
  preparedPlaceholder,
  preparedQuery,
  type Role,
  type UserUpdate,
} from '@roster/db';
import { type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely';
import { appError } from '../errors.js';
import { type CursorPart, decodeCursor, encodeCursor, escapeLike, toPage } from '../shared/cursor.js';
import type { LastSignInFilter, UserSort, UserSortField } from '../shared/schemas.js';
import { foldSearchText } from './fold.js';
import { commonShare, estimateText, type TextEstimate } from './search-stats-queries.js';

/** Who a user is and what they may do: the plain columns of both `userColumns` and `exportColumns`. */
const personColumns = [
  'users.id',
  'users.accountId',
  'users.email',
  'users.firstName',
  'users.lastName',
  'users.role',
  'users.active',
] as const;

/** The only columns a user is ever read with: the password hash is not among them. */
export const userColumns = [
  ...personColumns,
  'users.createdAt',
  'users.updatedAt',
  'users.lastLoginAt',
  'users.version',
  // Only a lock still in force: a past date would read as "locked" to a hasty eye.
  sql<Date | null>`case when users.locked_until > now() then users.locked_until end`.as('lockedUntil'),
  // Whether there is a password at all (a user created without one cannot sign in); never the hash itself.
  sql<boolean>`users.password_hash is not null`.as('hasPassword'),
  // Invited (an invitation mailed and not yet accepted or cancelled), and until when its link works.
  sql<boolean>`exists (select 1 from user_links l where l.user_id = users.id and l.purpose = 'invitation'
    and l.used_at is null and l.revoked_at is null)`.as('invited'),
  sql<Date | null>`(select l.expires_at from user_links l where l.user_id = users.id and l.purpose = 'invitation'
    and l.used_at is null and l.revoked_at is null)`.as('invitationExpiresAt'),
] as const;

/** A timestamp as JavaScript's toISOString writes it (UTC, milliseconds), written by the database. */
const isoText = (column: 'created_at' | 'last_login_at') =>
  sql<string>`to_char(${sql.ref(`users.${column}`)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The columns of a CSV export's rows (users/export.ts): its timestamps come as
 * text, so a million rows make no Date objects to parse and format again.
 */
export const exportColumns = [
  ...personColumns,
  isoText('created_at').as('createdAt'),
  isoText('last_login_at').as('lastLoginAt'),
] as const;

/** A row of `exportColumns`. */
export type ExportRow = {
  id: string;
  accountId: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  active: boolean;
  createdAt: string;
  lastLoginAt: string | null;
};

/**
 * The columns a search reads: the user's (userColumns), or an export's. The
 * queries are typed with userColumns' row; only `exportUsersPage` asks for
 * the export's, and it gives its rows their own type.
 */
const columnsOf = (filter: UserFilter) =>
  filter.columns === 'export' ? (exportColumns as unknown as typeof userColumns) : userColumns;

// The reads behind users.get: compiled once (see preparedQuery).
const userById = preparedQuery((db, organizationId: string, id: string) =>
  db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organizationId', '=', organizationId)
    .where('users.id', '=', id),
);

const userByLowerEmail = preparedQuery((db, organizationId: string, lowerEmail: string) =>
  db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organizationId', '=', organizationId)
    .where(sql<string>`lower(email)`, '=', lowerEmail),
);

export async function findUserById(db: Db, organizationId: string, id: string) {
  return (await userById(db, organizationId, id))[0];
}

export async function findUserByEmail(db: Db, organizationId: string, email: string) {
  return (await userByLowerEmail(db, organizationId, email.toLowerCase()))[0];
}

/** Locks the user's row for the rest of the transaction. */
export async function lockUser(tx: Transaction<Database>, organizationId: string, id: string) {
  return tx
    .selectFrom('users')
    .select([...userColumns, 'users.passwordHash'])
    .where('users.organizationId', '=', organizationId)
    .where('users.id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Serializes the changes that could leave an organization without an active
 * administrator: whoever holds this lock sees the final count. FOR NO KEY
 * UPDATE, not FOR UPDATE: rows that reference the organization (an audit row,
 * a session) take a key-share lock on it as they are written, which FOR UPDATE
 * would block; a password set (user row locked, then its audit row written)
 * beside a role change (organization locked, then the user row) deadlocked.
 */
export async function lockOrganization(tx: Transaction<Database>, organizationId: string): Promise<void> {
  await tx.selectFrom('organizations').select('id').where('id', '=', organizationId).forNoKeyUpdate().execute();
}

export async function countActiveAdmins(db: Db, organizationId: string, excludingId?: string): Promise<number> {
  let query = db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('organizationId', '=', organizationId)
    .where('role', '=', 'admin')
    .where('active', '=', true);
  if (excludingId) query = query.where('id', '<>', excludingId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function insertUser(db: Db, values: NewUser) {
  return db.insertInto('users').values(values).returning(userColumns).executeTakeFirstOrThrow();
}

/** Applies a change and bumps the version, so concurrent edits are detected. */
export async function updateUserRow(db: Db, organizationId: string, id: string, values: UserUpdate) {
  return db
    .updateTable('users')
    .set({ ...values, version: sql<number>`version + 1` })
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .returning(userColumns)
    .executeTakeFirstOrThrow();
}

/**
 * Sets the user's password hash: the one statement that changes a password,
 * whoever changes it (an administrator, the user, a test fixture). A new
 * user's hash goes in with `insertUser`.
 */
export async function setPasswordHash(db: Db, organizationId: string, id: string, passwordHash: string) {
  await db
    .updateTable('users')
    .set({ passwordHash })
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .execute();
}

/** Lifts a lockout and forgets the run of failed sign-ins. */
export async function clearLockout(db: Db, organizationId: string, id: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ failedSignIns: 0, lockedUntil: null })
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .execute();
}

/** Locks the user's row and says whether they are active (undefined when there is no such user). */
export async function lockUserActive(tx: Transaction<Database>, organizationId: string, id: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'active'])
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Who a user is, for the audit row of a request that knows only their id (a
 * session's): not scoped by organization, since that is what it finds out.
 */
export async function findUserIdentity(db: Db, id: string) {
  return db.selectFrom('users').select(['id', 'organizationId', 'email']).where('id', '=', id).executeTakeFirst();
}

/** Moves the user to another account (the accounts' user_count follow by trigger) and bumps the version. */
export async function moveUserRow(db: Db, organizationId: string, id: string, accountId: string) {
  return updateUserRow(db, organizationId, id, { accountId });
}

/**
 * What deactivating the user would end: their live sessions (as users.sessions
 * lists them) and their API keys that still work.
 */
export async function countWhatDeactivationEnds(db: Db, userId: string, idleTimeoutMs: number) {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom('sessions')
        .select(eb.fn.countAll<number>().as('n'))
        .where('sessions.userId', '=', userId)
        .where('sessions.expiresAt', '>', sql<Date>`now()`)
        .where(
          sql<boolean>`sessions.last_seen_at > now() - ${Math.trunc(idleTimeoutMs)}::bigint * interval '1 millisecond'`,
        )
        .as('sessions'),
      eb
        .selectFrom('apiKeys')
        .select(eb.fn.countAll<number>().as('n'))
        .where('apiKeys.userId', '=', userId)
        .where('apiKeys.revokedAt', 'is', null)
        .where('apiKeys.expiresAt', '>', sql<Date>`now()`)
        .as('apiKeys'),
    ])
    .executeTakeFirstOrThrow();
  return { sessions: Number(row.sessions ?? 0), apiKeys: Number(row.apiKeys ?? 0) };
}

export async function deleteUserRow(db: Db, organizationId: string, id: string): Promise<void> {
  await db.deleteFrom('users').where('organizationId', '=', organizationId).where('id', '=', id).execute();
}

export type UserFilter = {
  query?: string | undefined;
  accountId?: string | undefined;
  active?: boolean | undefined;
  role?: Role | undefined;
  /** Only users locked out after failed sign-ins (true), or only those who are not (false). */
  locked?: boolean | undefined;
  /** Dormant users: never signed in, or last signed in before a date. */
  lastSignIn?: LastSignInFilter | undefined;
  /** The page order; absent, email ascending. */
  sort?: UserSort | undefined;
  cursor?: string | undefined;
  limit: number;
  /** Which columns the rows have: the user's (default), or a CSV export's (see exportUsersPage). Never from input. */
  columns?: 'export' | undefined;
};

/** The dormant filter's condition on users.last_login_at (a range, or IS NULL, of the last sign-in indexes). */
function lastSignInCondition(filter: LastSignInFilter): RawBuilder<SqlBool> {
  return 'never' in filter
    ? sql<SqlBool>`users.last_login_at is null`
    : sql<SqlBool>`users.last_login_at < ${filter.before}`;
}

/**
 * Does the search text look like the start of an email address? It has an @
 * (not first: "@acme.com" is a search for a domain), or no spaces and a
 * character that names never have but addresses often do (. _ + or a digit).
 */
export function looksLikeEmailStart(text: string): boolean {
  if (/\s/.test(text)) return false;
  const at = text.indexOf('@');
  if (at > 0) return true;
  return at === -1 && /[._+0-9]/.test(text);
}

/** How a (trimmed) search text is matched; each way has its index. */
export type SearchPath = 'none' | 'short' | 'emailPrefix' | 'substring';

export function searchPathOf(text: string | undefined): SearchPath {
  if (!text) return 'none';
  if ([...text].length < 3) return 'short';
  return looksLikeEmailStart(text) ? 'emailPrefix' : 'substring';
}

type Match = (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>;

/**
 * The condition for a one- or two-letter search (`folded` by foldSearchText):
 * the start of the first name, the last name (both folded) or the email.
 * `indexed` is written so that btree prefix indexes find the rows; `scan` means
 * the same but no index can serve it, so that Postgres checks it on rows read
 * in email order.
 */
export function shortMatchOf(folded: string, how: 'indexed' | 'scan'): Match {
  const prefix = `${escapeLike(folded)}%`;
  return how === 'indexed'
    ? (eb) =>
        eb.or([
          eb('users.email', 'like', prefix),
          eb(sql<string>`roster_search_fold(first_name)`, 'like', prefix),
          eb(sql<string>`roster_search_fold(last_name)`, 'like', prefix),
        ])
    : (eb) =>
        eb.or([
          eb(sql<string>`left(email, ${folded.length})`, '=', folded),
          eb(sql<string>`left(roster_search_fold(first_name), ${folded.length})`, '=', folded),
          eb(sql<string>`left(roster_search_fold(last_name), ${folded.length})`, '=', folded),
        ]);
}

/** The LIKE pattern of addresses that start with `lowered` (its own % and _ matched as themselves). */
const emailPrefixPattern = (lowered: string) => `${escapeLike(lowered)}%`;

/** The start of an email address: the email column is collated "C", so its btree serves LIKE 'prefix%' as a range. */
export function emailPrefixMatchOf(lowered: string): Match {
  return (eb) => eb('users.email', 'like', emailPrefixPattern(lowered));
}

/** Users locked out after failed sign-ins (a lock still in force), or those who are not. */
const lockedIs = (locked: boolean) =>
  locked
    ? sql<boolean>`users.locked_until > now()`
    : sql<boolean>`(users.locked_until is null or users.locked_until <= now())`;

function filteredUsers(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  match: Match | null,
  emailCursor: 'email' | 'none' = 'email',
) {
  const after = emailCursor === 'email' ? decodeCursor(filter.cursor, ['text']) : undefined;
  let query = db.selectFrom('users').where('users.organizationId', '=', organizationId);
  if (filter.lastSignIn) query = query.where(lastSignInCondition(filter.lastSignIn));
  if (filter.accountId) query = query.where('users.accountId', '=', filter.accountId);
  if (filter.active !== undefined) query = query.where('users.active', '=', filter.active);
  if (filter.role) query = query.where('users.role', '=', filter.role);
  if (filter.locked !== undefined) {
    query = query.where(lockedIs(filter.locked));
  }
  if (after) query = query.where('users.email', '>', after[0] as string);
  return match ? query.where(match) : query;
}

/**
 * Users in email order from the cursor on: an email btree read in order, each
 * row checked against `match`, until a page (plus one) is found.
 */
export function orderedUsersQuery(db: Db, organizationId: string, filter: UserFilter, match: Match | null) {
  return filteredUsers(db, organizationId, filter, match)
    .select(columnsOf(filter))
    .orderBy('users.email')
    .limit(filter.limit + 1);
}

/** Rows a plain list fetches: the page and one more, rounded up, so a few statements serve every page size. */
const plainFetchSizes = [26, 51, 101, 2_001];

/** What a plain list's SQL depends on (see plainOrderedUsers). */
type PlainShape = { columns: 'user' | 'export'; account: boolean; cursor: boolean; prefix: boolean; fetch: number };

/** A plain list's query (see plainOrderedUsers); `take()` gives each value in turn. */
function buildPlainQuery(db: Db, shape: PlainShape, take: () => string) {
  let query = db.selectFrom('users').where('users.organizationId', '=', take());
  if (shape.account) query = query.where('users.accountId', '=', take());
  if (shape.cursor) query = query.where('users.email', '>', take());
  // The email column is collated "C": Postgres reads LIKE 'prefix%' as a range of the btree.
  if (shape.prefix) query = query.where('users.email', 'like', take());
  return query
    .select(shape.columns === 'export' ? (exportColumns as unknown as typeof userColumns) : userColumns)
    .orderBy('users.email')
    .limit(sql.lit<number>(shape.fetch));
}

const plainQueries = new Map<string, (db: Db, ...args: string[]) => Promise<UserRow[]>>();

/** A plain list's shape and values, or null for a filter it does not serve. */
function plainOf(organizationId: string, filter: UserFilter, prefix: string | null) {
  const plain = filter.active === undefined && !filter.role && filter.locked === undefined && !filter.lastSignIn;
  const fetch = plainFetchSizes.find((size) => size >= filter.limit + 1);
  if (!plain || !fetch) return null;
  const after = decodeCursor(filter.cursor, ['text'])?.[0];
  const values = [organizationId];
  if (filter.accountId) values.push(filter.accountId);
  if (after !== undefined) values.push(after);
  if (prefix !== null) values.push(emailPrefixPattern(prefix));
  const shape: PlainShape = {
    columns: filter.columns ?? 'user',
    account: Boolean(filter.accountId),
    cursor: after !== undefined,
    prefix: prefix !== null,
    fetch,
  };
  return { shape, values };
}

/**
 * A page in email order (searchUsers has checked the order) with no filter but
 * the account: a list, or the addresses that start with `prefix` (lower-cased).
 * These run at every visit to a list, so each shape is built and compiled by
 * Kysely once (see preparedQuery), then only filled in. Returns null for a
 * filter it does not serve (orderedUsersQuery does).
 */
export async function plainOrderedUsers(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  prefix: string | null,
): Promise<UserRow[] | null> {
  const plain = plainOf(organizationId, filter, prefix);
  if (!plain) return null;
  const { shape, values } = plain;
  const id = JSON.stringify(shape);
  let run = plainQueries.get(id);
  if (!run) {
    run = preparedQuery(
      (db, ...args: string[]) => {
        let next = 0;
        return buildPlainQuery(db, shape, () => args[next++] as string);
      },
      // Not a prepared statement on the server: planned for any value, Postgres guesses an organization's or
      // account's size from how many there are, and in a database of many small ones reads a big account's
      // users through a bitmap and sorts them all (search-plan.test.ts). Planned with its values, never.
      { arity: values.length, onServer: false },
    ) as (db: Db, ...args: string[]) => Promise<UserRow[]>;
    plainQueries.set(id, run);
  }
  return run(db, ...values);
}

/** A plain list's query with its values in place, for EXPLAIN in tests (null: not a plain list). */
export function plainOrderedUsersQuery(db: Db, organizationId: string, filter: UserFilter, prefix: string | null) {
  const plain = plainOf(organizationId, filter, prefix);
  if (!plain) return null;
  let next = 0;
  return buildPlainQuery(db, plain.shape, () => plain.values[next++] as string);
}

/**
 * Searches with more matches than this read them in email order instead (see
 * `searchUsers`): either way a search reads at most a few thousand rows.
 */
export const candidateCap = 5_000;

/**
 * The sizes the search works with: `candidateCap`, and a head of at least
 * `headRows` and at most `headRowsMax` users (see substringPlanOf), unless a
 * test makes them small, to reach every step of a search with a few users.
 */
export const searchLimits = { candidateCap, headRows: 10_000, headRowsMax: 100_000 };

/**
 * The matching rows found through an index (at most `candidateCap + 1` of them,
 * in no order), then the page sorted from them, with the number of candidates.
 * Only the candidates' ids and emails are collected and sorted; the page's
 * rows are then read whole by id.
 */
export function candidateUsersQuery(db: Db, organizationId: string, filter: UserFilter, match: Match) {
  return db
    .with(
      (cte) => cte('candidates').materialized(),
      () =>
        filteredUsers(db, organizationId, filter, match)
          .select(['users.id', 'users.email'])
          .limit(searchLimits.candidateCap + 1),
    )
    .with('page', (qb) =>
      qb
        .selectFrom('candidates')
        .select(['candidates.id', 'candidates.email'])
        .orderBy('candidates.email')
        .limit(filter.limit + 1),
    )
    .selectFrom('page')
    .innerJoin('users', 'users.id', 'page.id')
    .select([...columnsOf(filter), sql<number>`(select count(*) from candidates)::int`.as('candidateCount')])
    .orderBy('page.email');
}

/** How a substring search starts: with the head of the email order (common text) or the trigram index (the rest). */
export type SubstringRoute = 'common' | 'rare';

/** A substring search's route, and how many users its head reads at most (route 'common'). */
export type SubstringPlan = { route: SubstringRoute; headRows: number };

/**
 * How a substring search for text this common starts (see estimateText):
 * - 'common' when a page of its matches likely lies near the head of the email
 *   order: the text is in at least `commonShare` (0.5%) of the sample, or in so
 *   many users (more than `candidateCap`, as a text in 0.1% of ten million is)
 *   that the trigram index would collect more candidates than the cap anyway.
 *   The head reads as many users as the least common text taken this way
 *   needs for a page: 10,000 up to a million users, 60,000 at ten million, at
 *   most `headRowsMax`. It stops at the page, so a common text reads far fewer.
 * - 'rare' otherwise (and with no sample yet): the trigram index first.
 */
export function substringPlanOf(estimate: TextEstimate | null, limit: number): SubstringPlan {
  const { candidateCap: cap, headRows, headRowsMax } = searchLimits;
  if (!estimate || (estimate.share < commonShare && estimate.share * estimate.rows <= cap)) {
    return { route: 'rare', headRows };
  }
  const least = Math.min(commonShare, cap / Math.max(estimate.rows, 1));
  // Rounded up to 10,000 rows: each head size is a query shape of its own (see substringQueryOf).
  const needed = Math.ceil((limit + 1) / least / 10_000) * 10_000;
  return { route: 'common', headRows: Math.min(headRowsMax, Math.max(headRows, needed)) };
}

/**
 * What a substring search's SQL depends on, besides its values: each shape is
 * built and compiled by Kysely once (see preparedQuery), then only filled in.
 */
type SubstringShape = {
  route: SubstringRoute;
  columns: 'user' | 'export';
  candidateCap: number;
  headRows: number;
  account: boolean;
  cursor: boolean;
  active: boolean | undefined;
  role: Role | undefined;
  locked: boolean | undefined;
  lastSignIn: 'never' | 'before' | undefined;
  limit: number;
};

/** The values of a substring search; each is passed once for every place the SQL uses it. */
type SubstringValues = {
  organizationId: string;
  accountId: string;
  after: string;
  folded: string;
  pattern: string;
  before: string;
};

function substringShapeOf(filter: UserFilter, { route, headRows }: SubstringPlan): SubstringShape {
  return {
    route,
    columns: filter.columns ?? 'user',
    candidateCap: searchLimits.candidateCap,
    headRows,
    account: Boolean(filter.accountId),
    cursor: decodeCursor(filter.cursor, ['text']) !== undefined,
    active: filter.active,
    role: filter.role,
    locked: filter.locked,
    lastSignIn: filter.lastSignIn ? ('never' in filter.lastSignIn ? 'never' : 'before') : undefined,
    limit: filter.limit,
  };
}

/** Users of the organization that pass the shape's filters (`take` hands out each value for one use). */
function scopedUsers(db: Db, shape: SubstringShape, take: (key: keyof SubstringValues) => string) {
  let query = db.selectFrom('users').where('users.organizationId', '=', take('organizationId'));
  if (shape.account) query = query.where('users.accountId', '=', take('accountId'));
  if (shape.active !== undefined) query = query.where('users.active', '=', shape.active);
  if (shape.role) query = query.where('users.role', '=', shape.role);
  if (shape.locked !== undefined) {
    query = query.where(lockedIs(shape.locked));
  }
  if (shape.lastSignIn === 'never') query = query.where(sql<SqlBool>`users.last_login_at is null`);
  if (shape.lastSignIn === 'before')
    query = query.where(sql<SqlBool>`users.last_login_at < ${take('before')}::timestamptz`);
  if (shape.cursor) query = query.where('users.email', '>', take('after'));
  return query;
}

/**
 * The page of a search for `folded` (foldSearchText'd, three letters or more)
 * anywhere in search_text, in one statement. Of the ways below, each runs only
 * when the one before it could not answer (a one-time filter on a materialized
 * CTE, so Postgres skips the scan):
 * 1. head (route 'common' only): up to `headRows` users from the cursor on (see substringPlanOf), read
 *    in email order from users_org_email_search alone (an index-only scan) and
 *    checked with strpos until a page is found. It answers when it finds a full
 *    page, or (without filters but the cursor) when there are fewer than that many users to read.
 * 2. candidates: the matches found through the trigram index, at most
 *    `candidateCap + 1` of them (ids and emails only); when there are no more
 *    than `candidateCap`, the page is sorted from them.
 * 3. ordered: otherwise the text is common, so reading users in email order
 *    (from the same covering btree) finds a page in a few thousand rows.
 * Then the page's users are read whole by id. The route only decides what is
 * tried first: the page is the same either way.
 *
 * `take(key)` is called once for every place a value goes (see preparedQuery).
 */
function buildSubstringQuery(db: Db, shape: SubstringShape, take: (key: keyof SubstringValues) => string) {
  // Sizes are written into the SQL, not sent as values: the generic plan then knows a page is small.
  const pageSize = sql.lit(shape.limit + 1);
  const cap = sql.lit(shape.candidateCap);
  const cap1 = sql.lit(shape.candidateCap + 1);
  const head1 = sql.lit(shape.headRows);
  const users = () => scopedUsers(db, shape, take);
  const ordered = () =>
    users()
      .select(['users.id', 'users.email'])
      .where(sql<SqlBool>`strpos(users.search_text, ${take('folded')}) > 0`)
      .orderBy('users.email')
      .limit(pageSize);
  const candidates = (gate: boolean) => {
    // The pattern is a value of its own: planned for any value, LIKE is then estimated to match 0.5% of users,
    // so the generic plan reads the trigram index (an expression of the text would be guessed far commoner).
    const query = users()
      .select(['users.id', 'users.email'])
      .where(sql<SqlBool>`users.search_text like ${take('pattern')}`);
    return (gate ? query.where(sql<SqlBool>`not (select yes from head_answers)`) : query).limit(cap1);
  };
  let page: RawBuilder<{ id: string; email: string }>;
  if (shape.route === 'rare') {
    page = sql`(
      with candidates as materialized (${candidates(false)}),
      few_candidates as materialized (select (select count(*) from candidates) <= ${cap} as yes)
      select id, email from (select id, email from candidates order by email limit ${pageSize}) as sorted
        where (select yes from few_candidates)
      union all
      select id, email from (${ordered()}) as ordered where not (select yes from few_candidates)
    )`;
  } else {
    // The first headRows users from the cursor on, in email order (an index-only scan, stopped as soon as a
    // page of them match). Without other filters than the cursor, also whether there are fewer users than that
    // (counted from the same index, only when they did not fill a page): then the head has seen them all.
    const head = users().select(['users.id', 'users.email', 'users.searchText']).orderBy('users.email').limit(head1);
    const headFolded = take('folded');
    const countable =
      !shape.account &&
      shape.active === undefined &&
      !shape.role &&
      shape.locked === undefined &&
      shape.lastSignIn === undefined;
    const sawAll = countable
      ? sql`or (select count(*) from (${users().select(sql<number>`1`.as('one')).orderBy('users.email').limit(head1)}) as head) < ${head1}`
      : sql``;
    page = sql`(
      with head_hits as materialized (
        select id, email from (${head}) as head
        where strpos(search_text, ${headFolded}) > 0 order by email limit ${pageSize}
      ),
      head_answers as materialized (
        select (select count(*) from head_hits) = ${pageSize} ${sawAll} as yes
      ),
      candidates as materialized (${candidates(true)}),
      few_candidates as materialized (select (select count(*) from candidates) <= ${cap} as yes)
      select id, email from head_hits where (select yes from head_answers)
      union all
      select id, email from (select id, email from candidates order by email limit ${pageSize}) as sorted
        where not (select yes from head_answers) and (select yes from few_candidates)
      union all
      select id, email from (${ordered()}) as ordered
        where not (select yes from head_answers) and not (select yes from few_candidates)
    )`;
  }
  return db
    .with('page', () => page)
    .selectFrom('page')
    .innerJoin('users', 'users.id', 'page.id')
    .select(shape.columns === 'export' ? (exportColumns as unknown as typeof userColumns) : userColumns)
    .orderBy('page.email');
}

type UserRow = Awaited<ReturnType<typeof findUserById>> & {};

/** For each shape: the prepared query, and which value goes to each of its arguments. */
const substringQueries = new Map<
  string,
  { run: (db: Db, ...args: string[]) => Promise<UserRow[]>; keys: Array<keyof SubstringValues> }
>();

function substringQueryOf(db: Db, shape: SubstringShape) {
  const id = JSON.stringify(shape);
  let entry = substringQueries.get(id);
  if (!entry) {
    // Which value each argument is, in the order build takes them.
    const keys: Array<keyof SubstringValues> = [];
    // Building (not running) the query once tells which value each argument is. Its stand-ins are
    // preparedQuery's, so what records the queries built (a plugin, a test) can tell this build from a search.
    buildSubstringQuery(db, shape, (key) => {
      keys.push(key);
      return preparedPlaceholder(keys.length - 1);
    });
    const run = preparedQuery(
      (db, ...args: string[]) => {
        let next = 0;
        return buildSubstringQuery(db, shape, () => args[next++] as string);
      },
      // Compiled once, but not a prepared statement on the server: planned for any value, Postgres guesses an
      // organization's size from how many there are, and in a database of many small ones would read a big
      // organization's users one by one rather than through the trigram index. Planned with its values, never.
      { arity: keys.length, onServer: false },
    ) as (db: Db, ...args: string[]) => Promise<UserRow[]>;
    entry = { run, keys };
    substringQueries.set(id, entry);
  }
  return entry;
}

/** The values a substring search's statement takes, by name. */
function substringValuesOf(organizationId: string, filter: UserFilter, folded: string): SubstringValues {
  return {
    organizationId,
    accountId: filter.accountId ?? '',
    after: decodeCursor(filter.cursor, ['text'])?.[0] ?? '',
    folded,
    pattern: `%${escapeLike(folded)}%`,
    before: filter.lastSignIn && 'before' in filter.lastSignIn ? filter.lastSignIn.before.toISOString() : '',
  };
}

/** The substring search's page of users (see buildSubstringQuery). */
export async function substringUsers(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  folded: string,
  plan: SubstringPlan,
): Promise<UserRow[]> {
  const values = substringValuesOf(organizationId, filter, folded);
  const { run, keys } = substringQueryOf(db, substringShapeOf(filter, plan));
  return run(db, ...keys.map((key) => values[key]));
}

/** The substring search's SQL with its values in place, for EXPLAIN in tests. */
export function substringUsersQuery(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  folded: string,
  plan: SubstringPlan,
) {
  const values = substringValuesOf(organizationId, filter, folded);
  return buildSubstringQuery(db, substringShapeOf(filter, plan), (key) => values[key]);
}

/** A sort key's part: the SQL (on `users`), the name it is selected as, and how its cursor value is sent back. */
type KeyPart = { expr: RawBuilder<unknown>; alias: string; value: (text: string) => RawBuilder<unknown> };

const asText = (text: string) => sql`${text}`;
const asUuid = (text: string) => sql`${text}::uuid`;
const asTime = (text: string) => sql`${text}::timestamptz`;
/** A timestamp as text to the microsecond (a JavaScript Date would lose them, and keyset paging would skip ties). */
const microText = (column: string) =>
  sql<string | null>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Each order's key, ending in the id so that it is unique; the index of
 * migration 0013 (or the email btrees) lists users in exactly this order.
 * Name: the last name, then the first name, folded (case and accents do not
 * matter) and compared byte by byte (collation "C").
 */
const sortKeys: Record<UserSortField, { parts: KeyPart[]; cursor: CursorPart[] }> = {
  email: { parts: [{ expr: sql`users.email`, alias: 'email', value: asText }], cursor: ['text'] },
  name: {
    parts: [
      { expr: sql`(roster_search_fold(users.last_name) collate "C")`, alias: 'sortLast', value: asText },
      { expr: sql`(roster_search_fold(users.first_name) collate "C")`, alias: 'sortFirst', value: asText },
      { expr: sql`users.id`, alias: 'id', value: asUuid },
    ],
    cursor: ['text', 'text', 'uuid'],
  },
  created: {
    parts: [
      { expr: sql`users.created_at`, alias: 'sortAt', value: asTime },
      { expr: sql`users.id`, alias: 'id', value: asUuid },
    ],
    cursor: ['microTimestamp', 'uuid'],
  },
  lastSignIn: {
    parts: [
      { expr: sql`users.last_login_at`, alias: 'sortAt', value: asTime },
      { expr: sql`users.id`, alias: 'id', value: asUuid },
    ],
    cursor: ['microTimestampOrNone', 'uuid'],
  },
};

export const defaultSort: UserSort = { by: 'email', direction: 'asc' };

const sortTag = (sort: UserSort) => `${sort.by}:${sort.direction}`;
const isDefaultSort = (sort: UserSort) => sort.by === 'email' && sort.direction === 'asc';

/**
 * A cursor's values for the order asked for. Email ascending keeps the cursor it
 * always had ([email]); every other order's cursor starts with its tag
 * ("name:desc"), so a cursor of one order is refused in another.
 */
export function decodeSortCursor(cursor: string | undefined, sort: UserSort): string[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    raw = undefined;
  }
  const tag = Array.isArray(raw) ? (raw.length === 1 ? 'email:asc' : raw[0]) : undefined;
  if (typeof tag === 'string' && /^(name|email|lastSignIn|created):(asc|desc)$/.test(tag) && tag !== sortTag(sort)) {
    throw appError(
      'INVALID_CURSOR',
      `This cursor is for another order (${tag.replace(':', ', ')}); start again from the first page.`,
    );
  }
  const parts = sortKeys[sort.by].cursor;
  if (isDefaultSort(sort)) return decodeCursor(cursor, parts);
  return decodeCursor(cursor, ['text', ...parts])?.slice(1);
}

/** The cursor after a row of a page in this order. */
function sortCursorOf(sort: UserSort, row: SortedRow): string {
  const values = sortValuesOf(sort, row);
  return isDefaultSort(sort) ? encodeCursor(values) : encodeCursor([sortTag(sort), ...values]);
}

type SortedRow = UserRow & { sortLast?: string; sortFirst?: string; sortTime?: string | null };

function sortValuesOf(sort: UserSort, row: SortedRow): string[] {
  switch (sort.by) {
    case 'email':
      return [row.email];
    case 'name':
      return [row.sortLast ?? '', row.sortFirst ?? '', row.id];
    default:
      return [row.sortTime ?? '', row.id];
  }
}

/** The columns a sorted page selects besides the user's: the sort key as the cursor carries it. */
function sortSelections(by: UserSortField) {
  switch (by) {
    case 'name':
      return [
        sql<string>`(roster_search_fold(users.last_name) collate "C")`.as('sortLast'),
        sql<string>`(roster_search_fold(users.first_name) collate "C")`.as('sortFirst'),
      ];
    case 'created':
      return [microText('users.created_at').as('sortTime')];
    case 'lastSignIn':
      return [microText('users.last_login_at').as('sortTime')];
    default:
      return [];
  }
}

const comparison = (direction: UserSort['direction']) => (direction === 'asc' ? sql.raw('>') : sql.raw('<'));
const ordering = (direction: UserSort['direction']) => sql.raw(direction);

/** (k1, k2, …) > (v1, v2, …): a row comparison, which a btree on (…, k1, k2, …) serves as a range. */
function keysetAfter(parts: KeyPart[], values: string[], direction: UserSort['direction'], on?: string) {
  const left = parts.map((part) => (on ? sql.ref(`${on}.${part.alias}`) : part.expr));
  const right = parts.map((part, i) => part.value(values[i] ?? ''));
  return sql<SqlBool>`(${sql.join(left)}) ${comparison(direction)} (${sql.join(right)})`;
}

/**
 * A page of users in a sort order read from its index, from the cursor on,
 * each row checked against the filters (and `match`). Last sign-in: those who
 * signed in, in order, then those who never did (in id order), each part read
 * from its own range of the index and the two pages put together.
 */
function sortedUsersQuery(db: Db, organizationId: string, filter: UserFilter, sort: UserSort, match: Match | null) {
  const after = decodeSortCursor(filter.cursor, sort);
  const { parts } = sortKeys[sort.by];
  const page = sql.lit(filter.limit + 1);
  const base = () =>
    filteredUsers(db, organizationId, filter, match, 'none').select([...userColumns, ...sortSelections(sort.by)]);
  const ordered = <Q extends { orderBy: (e: RawBuilder<unknown>) => Q }>(query: Q, keys: KeyPart[]) =>
    keys.reduce((q, part) => q.orderBy(sql`${part.expr} ${ordering(sort.direction)}`), query);
  if (sort.by !== 'lastSignIn') {
    let query = base();
    if (after) query = query.where(keysetAfter(parts, after, sort.direction));
    return { kind: 'plain' as const, query: ordered(query, parts).limit(page) };
  }
  // Last sign-in: the signed-in part, then the never-signed-in part (last in both directions).
  const [time, id] = parts as [KeyPart, KeyPart];
  const inNullPart = after !== undefined && after[0] === '';
  const wantSigned = !inNullPart && !(filter.lastSignIn && 'never' in filter.lastSignIn);
  const wantNever = !(filter.lastSignIn && 'before' in filter.lastSignIn);
  const signed = () => {
    let query = base().select(sql<number>`0`.as('sortGroup')).where(sql<SqlBool>`users.last_login_at is not null`);
    if (after) query = query.where(keysetAfter(parts, after, sort.direction));
    return ordered(query, [time, id]).limit(page);
  };
  const never = () => {
    let query = base().select(sql<number>`1`.as('sortGroup')).where(sql<SqlBool>`users.last_login_at is null`);
    if (inNullPart) query = query.where(keysetAfter([id], [after?.[1] ?? ''], sort.direction));
    // Ordered by the (null) time too, so that the order is the index's: (organization, last_login_at, id).
    return ordered(query, [time, id]).limit(page);
  };
  return { kind: 'lastSignIn' as const, signed: wantSigned ? signed() : null, never: wantNever ? never() : null };
}

async function runSorted(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  sort: UserSort,
  match: Match | null,
): Promise<SortedRow[]> {
  const built = sortedUsersQuery(db, organizationId, filter, sort, match);
  if (built.kind === 'plain') return (await built.query.execute()) as SortedRow[];
  // Each part stops at a page; the signed-in part's rows come first.
  const signed = built.signed ? ((await built.signed.execute()) as SortedRow[]) : [];
  if (signed.length > filter.limit || !built.never) return signed;
  return [...signed, ...((await built.never.execute()) as SortedRow[])];
}

/** The statements behind a sorted page (one, or for last sign-in one per part), for EXPLAIN in tests. */
export function sortedUsersStatements(db: Db, organizationId: string, filter: UserFilter, sort: UserSort) {
  const built = sortedUsersQuery(db, organizationId, filter, sort, null);
  return built.kind === 'plain' ? [built.query] : [built.signed, built.never].filter((q) => q !== null);
}

/**
 * A page of a search in another order than email ascending: the matches found
 * through the search's indexes (at most `candidateCap + 1`, with their sort
 * keys), sorted and paged from the cursor, then read whole by id. More matches
 * than that means the text is common: reading users in the sort order and
 * checking each against the search finds a page in a few thousand rows.
 */
export function sortedCandidatesQuery(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  sort: UserSort,
  match: Match,
) {
  const after = decodeSortCursor(filter.cursor, sort);
  const { parts } = sortKeys[sort.by];
  const keyColumns = parts.filter((part) => part.alias !== 'id' && part.alias !== 'email');
  const direction = ordering(sort.direction);
  let from: RawBuilder<SqlBool> = sql<SqlBool>`true`;
  if (after && sort.by === 'lastSignIn') {
    // Those who never signed in come after everyone who did, in both directions.
    from =
      after[0] === ''
        ? sql<SqlBool>`candidates.sort_at is null and ${keysetAfter([parts[1] as KeyPart], [after[1] ?? ''], sort.direction, 'candidates')}`
        : sql<SqlBool>`(candidates.sort_at is null or ${keysetAfter(parts, after, sort.direction, 'candidates')})`;
  } else if (after) {
    from = keysetAfter(parts, after, sort.direction, 'candidates');
  }
  const rank =
    sort.by === 'lastSignIn'
      ? sql<number>`row_number() over (order by (matches.sort_at is null), matches.sort_at ${direction}, matches.id ${direction})`
      : sql<number>`row_number() over (order by ${sql.join(parts.map((p) => sql`${sql.ref(`matches.${p.alias}`)} ${direction}`))})`;
  return (
    db
      .with(
        (cte) => cte('matches').materialized(),
        () =>
          filteredUsers(db, organizationId, filter, match, 'none')
            .select(['users.id', 'users.email', ...keyColumns.map((part) => part.expr.as(part.alias))])
            .limit(searchLimits.candidateCap + 1),
      )
      .with('candidates', (qb) => qb.selectFrom('matches').selectAll().select(rank.as('rank')))
      .with('page', (qb) =>
        qb
          .selectFrom('candidates')
          .select(['candidates.id', 'candidates.rank'])
          .where(from)
          .orderBy('candidates.rank')
          .limit(filter.limit + 1),
      )
      // The number of matches comes back even when the page is empty (one row, without a user).
      .selectFrom(sql<{ n: number }>`(select count(*)::int as n from matches)`.as('counted'))
      .leftJoin('page', (join) => join.onTrue())
      .leftJoin('users', 'users.id', 'page.id')
      .select([...userColumns, ...sortSelections(sort.by), sql<number>`counted.n`.as('candidateCount')])
      .orderBy('page.rank')
  );
}

/**
 * The page of a search whose matches are too many to sort (see searchSorted),
 * from the head of the order: of the next `searchLimits.headRows` users after
 * the cursor, read in the sort order from its index, the first page (and one)
 * that match, as ids in that order. Reading stops once they are found; only a
 * short page costs a count of the head, to tell whether it reached the end
 * (then the page is all there is) or not (then the head could not answer: null).
 */
async function sortedHead(db: Db, organizationId: string, filter: UserFilter, sort: UserSort, scan: Match) {
  const after = decodeSortCursor(filter.cursor, sort);
  const { parts } = sortKeys[sort.by];
  const direction = ordering(sort.direction);
  const head = () => {
    let query = filteredUsers(db, organizationId, filter, null, 'none');
    if (after) query = query.where(keysetAfter(parts, after, sort.direction));
    for (const part of parts) query = query.orderBy(sql`${part.expr} ${direction}`);
    return query.limit(searchLimits.headRows);
  };
  // The head's rows keep the index's order through the filter and the limit (no join, sort or aggregate between).
  const hits = await db
    .selectFrom(
      head()
        .select(['users.id', (eb) => sql<boolean>`${scan(eb)}`.as('hit')])
        .as('head'),
    )
    .select('head.id')
    .where(sql<SqlBool>`head.hit`)
    .limit(filter.limit + 1)
    .execute();
  if (hits.length <= filter.limit) {
    const { n } = await db
      .selectFrom(head().select(sql<number>`1`.as('one')).as('head'))
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    if (n >= searchLimits.headRows) return null;
  }
  if (hits.length === 0) return [];
  let rows = db
    .selectFrom('users')
    .select([...userColumns, ...sortSelections(sort.by)])
    .where('users.organizationId', '=', organizationId)
    .where(
      'users.id',
      'in',
      hits.map((hit) => hit.id),
    );
  for (const part of parts) rows = rows.orderBy(sql`${part.expr} ${direction}`);
  return (await rows.execute()) as SortedRow[];
}

const tooBroad = (typed: string) =>
  appError(
    'SEARCH_TOO_BROAD',
    `Too many users match “${typed}” to sort them in this order: sort by email to page through all of them, or narrow the search (more of the name or email, or a filter).`,
  );

/**
 * A search's page in a sort order other than email ascending:
 * 1. the matches found through the search's indexes, when there are at most
 *    `candidateCap` (5,000), sorted (sortedCandidatesQuery);
 * 2. more matches than that: the text is common, so the next 10,000 users in the
 *    order (read from its index) hold a page of them (sortedHead); by last
 *    sign-in, which names and emails do not follow, users are read in that order
 *    until a page is found. Text the statistics' sample says is common tries
 *    this first;
 * 3. otherwise (many matches, but bunched far along the order, as "smith" is in
 *    name order) the search is refused with SEARCH_TOO_BROAD: email order pages
 *    through any search.
 */
async function searchSorted(db: Db, organizationId: string, filter: UserFilter, sort: UserSort, typed: string) {
  const folded = foldSearchText(typed);
  const path = searchPathOf(folded);
  const pageOf = (rows: SortedRow[]) => sortedPage(rows, filter.limit, sort);
  if (path === 'none') return pageOf(await runSorted(db, organizationId, filter, sort, null));
  const ways: Array<[indexed: Match, scan: Match]> = [];
  if (path === 'short') ways.push([shortMatchOf(folded, 'indexed'), shortMatchOf(folded, 'scan')]);
  if (path === 'emailPrefix') {
    const prefix = emailPrefixMatchOf(typed.toLowerCase());
    ways.push([prefix, prefix]);
  }
  if (path !== 'short') {
    ways.push([
      (eb) => eb(sql<string>`users.search_text`, 'like', `%${escapeLike(folded)}%`),
      (eb) => eb(sql<number>`strpos(users.search_text, ${folded})`, '>', 0),
    ]);
  }
  const fromHead = (scan: Match) => sortedHead(db, organizationId, filter, sort, scan);
  // Text most users' names or emails hold (per the statistics' sample): the head of the order first.
  const common =
    path === 'substring' && sort.by !== 'lastSignIn' && ((await estimateText(db, folded))?.share ?? 0) >= commonShare;
  for (const [index, [indexed, scan]] of ways.entries()) {
    if (common) {
      const rows = await fromHead(scan);
      if (rows) return pageOf(rows);
    }
    const rows = await sortedCandidatesQuery(db, organizationId, filter, sort, indexed).execute();
    const count = rows[0]?.candidateCount ?? 0;
    // No address starts with the text: it is searched as any other text (as in email order).
    if (path === 'emailPrefix' && index === 0 && count === 0) continue;
    if (count <= searchLimits.candidateCap) {
      return pageOf(rows.filter((row) => row.id !== null).map(({ candidateCount: _, ...row }) => row as SortedRow));
    }
    if (sort.by === 'lastSignIn') return pageOf(await runSorted(db, organizationId, filter, sort, scan));
    const fromTheHead = common ? null : await fromHead(scan);
    if (fromTheHead) return pageOf(fromTheHead);
    throw tooBroad(typed);
  }
  return pageOf([]);
}

function sortedPage(rows: SortedRow[], limit: number, sort: UserSort) {
  const hasMore = rows.length > limit;
  const kept = hasMore ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  const items = kept.map(({ sortLast: _l, sortFirst: _f, sortTime: _t, ...user }) => {
    const { sortGroup: _g, ...rest } = user as typeof user & { sortGroup?: number };
    return rest as UserRow;
  });
  return { items, nextCursor: hasMore && last ? sortCursorOf(sort, last) : null };
}

/**
 * One page of users of an organization, ordered by email (unique, so the keyset
 * cursor is exact and stable under concurrent inserts). No search reads more
 * than a few thousand rows, whatever the organization's size. Search text is
 * folded (foldSearchText: case and accents do not matter) and matched:
 * - none: an email btree ((organization, email) or (account, email)), read in
 *   order from the cursor, so a page a million rows deep costs what the first does;
 * - text that looks like the start of an email address: the addresses that start
 *   with it, a range of the email btree; when there are none, as other text;
 * - one or two letters: the start of the first name, last name or email, found
 *   through btree prefix indexes and sorted, unless there are more than
 *   `candidateCap`: then reading users in email order finds a page in a few
 *   thousand rows;
 * - other text: anywhere in "first last email", see substringUsersQuery.
 */
export async function searchUsers(db: Db, organizationId: string, filter: UserFilter) {
  const sort = filter.sort ?? defaultSort;
  if (!isDefaultSort(sort)) return searchSorted(db, organizationId, filter, sort, filter.query?.trim() ?? '');
  // Another order's cursor is refused by name (the email order's own is checked where it is used).
  decodeSortCursor(filter.cursor, sort);
  const pageOf = <T extends { email: string }>(rows: T[]) => toPage(rows, filter.limit, (row) => [row.email]);
  const typed = filter.query?.trim() ?? '';
  const folded = foldSearchText(typed);
  const path = searchPathOf(folded);
  if (path === 'none') {
    const rows = await plainOrderedUsers(db, organizationId, filter, null);
    return pageOf(rows ?? (await orderedUsersQuery(db, organizationId, filter, null).execute()));
  }
  if (path === 'emailPrefix') {
    const lowered = typed.toLowerCase();
    const rows = await plainOrderedUsers(db, organizationId, filter, lowered);
    const page = pageOf(
      rows ?? (await orderedUsersQuery(db, organizationId, filter, emailPrefixMatchOf(lowered)).execute()),
    );
    if (page.items.length > 0) return page;
  }
  if (path === 'short') {
    const rows = await candidateUsersQuery(db, organizationId, filter, shortMatchOf(folded, 'indexed')).execute();
    if ((rows[0]?.candidateCount ?? 0) <= searchLimits.candidateCap) {
      return pageOf(rows.map(({ candidateCount: _, ...user }) => user));
    }
    return pageOf(await orderedUsersQuery(db, organizationId, filter, shortMatchOf(folded, 'scan')).execute());
  }
  const plan = substringPlanOf(await estimateText(db, folded), filter.limit);
  return pageOf(await substringUsers(db, organizationId, filter, folded, plan));
}

/**
 * One page of a CSV export: the users `searchUsers` finds for the filter, in
 * the same order and by the same paths, with `exportColumns`.
 */
export async function exportUsersPage(
  db: Db,
  organizationId: string,
  filter: Omit<UserFilter, 'columns'>,
): Promise<{ items: ExportRow[]; nextCursor: string | null }> {
  const page = await searchUsers(db, organizationId, { ...filter, columns: 'export' });
  return page as unknown as { items: ExportRow[]; nextCursor: string | null };
}
