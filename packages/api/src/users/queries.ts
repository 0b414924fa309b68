import { type Database, type Db, type NewUser, preparedQuery, type Role, type UserUpdate } from '@roster/db';
import { type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely';
import { decodeCursor, escapeLike, toPage } from '../shared/cursor.js';
import { foldSearchText } from './fold.js';
import { likelyCommon } from './search-stats-queries.js';

/** The only columns a user is ever read with: the password hash is not among them. */
export const userColumns = [
  'users.id',
  'users.accountId',
  'users.email',
  'users.firstName',
  'users.lastName',
  'users.role',
  'users.active',
  'users.createdAt',
  'users.updatedAt',
  'users.lastLoginAt',
  'users.version',
  // Only a lock still in force: a past date would read as "locked" to a hasty eye.
  sql<Date | null>`case when users.locked_until > now() then users.locked_until end`.as('lockedUntil'),
  // Whether there is a password at all (a user created without one cannot sign in); never the hash itself.
  sql<boolean>`users.password_hash is not null`.as('hasPassword'),
] as const;

/** A timestamp as JavaScript's toISOString writes it (UTC, milliseconds), written by the database. */
const isoText = (column: 'created_at' | 'last_login_at') =>
  sql<string>`to_char(${sql.ref(`users.${column}`)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The columns of a CSV export's rows (users/export.ts): its timestamps come as
 * text, so a million rows make no Date objects to parse and format again.
 */
export const exportColumns = [
  'users.id',
  'users.accountId',
  'users.email',
  'users.firstName',
  'users.lastName',
  'users.role',
  'users.active',
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
 * administrator: whoever holds this lock sees the final count.
 */
export async function lockOrganization(tx: Transaction<Database>, organizationId: string): Promise<void> {
  await tx.selectFrom('organizations').select('id').where('id', '=', organizationId).forUpdate().execute();
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
  cursor?: string | undefined;
  limit: number;
  /** Which columns the rows have: the user's (default), or a CSV export's (see exportUsersPage). Never from input. */
  columns?: 'export' | undefined;
};

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

/** The start of an email address: the email column is collated "C", so its btree serves LIKE 'prefix%' as a range. */
export function emailPrefixMatchOf(lowered: string): Match {
  return (eb) => eb('users.email', 'like', `${escapeLike(lowered)}%`);
}

/** Users locked out after failed sign-ins (a lock still in force), or those who are not. */
const lockedIs = (locked: boolean) =>
  locked
    ? sql<boolean>`users.locked_until > now()`
    : sql<boolean>`(users.locked_until is null or users.locked_until <= now())`;

function filteredUsers(db: Db, organizationId: string, filter: UserFilter, match: Match | null) {
  const after = decodeCursor(filter.cursor, ['text']);
  let query = db.selectFrom('users').where('users.organizationId', '=', organizationId);
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

/**
 * Searches with more matches than this read them in email order instead (see
 * `searchUsers`): either way a search reads at most a few thousand rows.
 */
export const candidateCap = 5_000;

/**
 * The sizes the search works with: `candidateCap` and `headRows` unless a
 * test makes them small, to reach every step of a search with a few users.
 */
export const searchLimits = { candidateCap, headRows: 10_000 };

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
  limit: number;
};

/** The values of a substring search; each is passed once for every place the SQL uses it. */
type SubstringValues = { organizationId: string; accountId: string; after: string; folded: string; pattern: string };

function substringShapeOf(filter: UserFilter, route: SubstringRoute): SubstringShape {
  return {
    route,
    columns: filter.columns ?? 'user',
    candidateCap: searchLimits.candidateCap,
    headRows: searchLimits.headRows,
    account: Boolean(filter.accountId),
    cursor: decodeCursor(filter.cursor, ['text']) !== undefined,
    active: filter.active,
    role: filter.role,
    locked: filter.locked,
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
  if (shape.cursor) query = query.where('users.email', '>', take('after'));
  return query;
}

/**
 * The page of a search for `folded` (foldSearchText'd, three letters or more)
 * anywhere in search_text, in one statement. Of the ways below, each runs only
 * when the one before it could not answer (a one-time filter on a materialized
 * CTE, so Postgres skips the scan):
 * 1. head (route 'common' only): up to `searchLimits.headRows` (10,000) users from the cursor on, read
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
    const countable = !shape.account && shape.active === undefined && !shape.role && shape.locked === undefined;
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
    // Building (not running) the query once tells which value each argument is.
    buildSubstringQuery(db, shape, (key) => {
      keys.push(key);
      return '';
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
  };
}

/** The substring search's page of users (see buildSubstringQuery). */
export async function substringUsers(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  folded: string,
  route: SubstringRoute,
): Promise<UserRow[]> {
  const values = substringValuesOf(organizationId, filter, folded);
  const { run, keys } = substringQueryOf(db, substringShapeOf(filter, route));
  return run(db, ...keys.map((key) => values[key]));
}

/** The substring search's SQL with its values in place, for EXPLAIN in tests. */
export function substringUsersQuery(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  folded: string,
  route: SubstringRoute,
) {
  const values = substringValuesOf(organizationId, filter, folded);
  return buildSubstringQuery(db, substringShapeOf(filter, route), (key) => values[key]);
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
  const pageOf = <T extends { email: string }>(rows: T[]) => toPage(rows, filter.limit, (row) => [row.email]);
  const typed = filter.query?.trim() ?? '';
  const folded = foldSearchText(typed);
  const path = searchPathOf(folded);
  if (path === 'none') return pageOf(await orderedUsersQuery(db, organizationId, filter, null).execute());
  if (path === 'emailPrefix') {
    const match = emailPrefixMatchOf(typed.toLowerCase());
    const page = pageOf(await orderedUsersQuery(db, organizationId, filter, match).execute());
    if (page.items.length > 0) return page;
  }
  if (path === 'short') {
    const rows = await candidateUsersQuery(db, organizationId, filter, shortMatchOf(folded, 'indexed')).execute();
    if ((rows[0]?.candidateCount ?? 0) <= searchLimits.candidateCap) {
      return pageOf(rows.map(({ candidateCount: _, ...user }) => user));
    }
    return pageOf(await orderedUsersQuery(db, organizationId, filter, shortMatchOf(folded, 'scan')).execute());
  }
  const route = (await likelyCommon(db, folded)) ? 'common' : 'rare';
  return pageOf(await substringUsers(db, organizationId, filter, folded, route));
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
