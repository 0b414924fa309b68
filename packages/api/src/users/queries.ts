import { type Database, type Db, type NewUser, preparedQuery, type Role, type UserUpdate } from '@roster/db';
import { type Expression, type ExpressionBuilder, type SqlBool, sql, type Transaction } from 'kysely';
import { decodeCursor, escapeLike, toPage } from '../shared/cursor.js';

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

/** How a (trimmed, lower-cased) search text is matched; each way has its index. */
export type SearchPath = 'none' | 'short' | 'emailPrefix' | 'substring';

export function searchPathOf(text: string | undefined): SearchPath {
  if (!text) return 'none';
  if (text.length < 3) return 'short';
  return looksLikeEmailStart(text) ? 'emailPrefix' : 'substring';
}

type Match = (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>;

/**
 * The condition for a search text. `indexed` is written so that an index can
 * find the matching rows (btree prefixes, trigrams); `scan` means the same but
 * no index can serve it, so that Postgres checks it on rows read in email order.
 */
export function matchOf(path: SearchPath, text: string, how: 'indexed' | 'scan'): Match | null {
  const prefix = `${escapeLike(text)}%`;
  switch (path) {
    case 'none':
      return null;
    case 'emailPrefix':
      // The email column is collated "C", so its btree serves LIKE 'prefix%' as a range.
      return (eb) => eb('users.email', 'like', prefix);
    case 'short':
      return how === 'indexed'
        ? (eb) =>
            eb.or([
              eb('users.email', 'like', prefix),
              eb(sql<string>`lower(first_name)`, 'like', prefix),
              eb(sql<string>`lower(last_name)`, 'like', prefix),
            ])
        : (eb) =>
            eb.or([
              eb(sql<string>`left(email, ${text.length})`, '=', text),
              eb(sql<string>`left(lower(first_name), ${text.length})`, '=', text),
              eb(sql<string>`left(lower(last_name), ${text.length})`, '=', text),
            ]);
    case 'substring':
      return how === 'indexed'
        ? (eb) => eb('users.searchText', 'like', `%${escapeLike(text)}%`)
        : (eb) => eb(sql<number>`strpos(search_text, ${text})`, '>', 0);
  }
}

function filteredUsers(db: Db, organizationId: string, filter: UserFilter, match: Match | null) {
  const after = decodeCursor(filter.cursor, ['text']);
  let query = db.selectFrom('users').where('users.organizationId', '=', organizationId);
  if (filter.accountId) query = query.where('users.accountId', '=', filter.accountId);
  if (filter.active !== undefined) query = query.where('users.active', '=', filter.active);
  if (filter.role) query = query.where('users.role', '=', filter.role);
  if (filter.locked !== undefined) {
    query = query.where(
      filter.locked
        ? sql<boolean>`users.locked_until > now()`
        : sql<boolean>`(users.locked_until is null or users.locked_until <= now())`,
    );
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
    .select(userColumns)
    .orderBy('users.email')
    .limit(filter.limit + 1);
}

/**
 * Searches with more matches than this read them in email order instead (see
 * `searchUsers`): either way a search reads at most a few thousand rows.
 */
export const candidateCap = 5_000;

/**
 * The matching rows found through an index (at most `candidateCap + 1` of them,
 * in no order), then the page sorted from them, with the number of candidates.
 * Only the candidates' ids and emails are collected and sorted; the page's
 * rows are then read whole by id (a third less work at a thousand candidates).
 */
export function candidateUsersQuery(db: Db, organizationId: string, filter: UserFilter, match: Match) {
  return db
    .with(
      (cte) => cte('candidates').materialized(),
      () =>
        filteredUsers(db, organizationId, filter, match)
          .select(['users.id', 'users.email'])
          .limit(candidateCap + 1),
    )
    .with('page', (qb) =>
      qb
        .selectFrom('candidates')
        .select([
          'candidates.id',
          'candidates.email',
          sql<number>`cast(count(*) over () as integer)`.as('candidateCount'),
        ])
        .orderBy('candidates.email')
        .limit(filter.limit + 1),
    )
    .selectFrom('page')
    .innerJoin('users', 'users.id', 'page.id')
    .select([...userColumns, 'page.candidateCount'])
    .orderBy('page.email');
}

/**
 * One page of users of an organization, ordered by email (unique, so the keyset
 * cursor is exact and stable under concurrent inserts). No search reads more
 * than a few thousand rows, whatever the organization's size:
 * - no text: an email btree ((organization, email) or (account, email)), read in
 *   order from the cursor, so a page a million rows deep costs what the first does;
 * - text that looks like the start of an email address: the addresses that start
 *   with it, a range of the email btree; when there are none, as other text;
 * - other text (by prefix when one or two characters, else anywhere in
 *   "first last email"): the matches are found through the btree prefix or
 *   trigram indexes and sorted, unless there are more than `candidateCap`: then
 *   they are common enough that reading users in email order finds a page in a
 *   few thousand rows. This does not depend on the planner guessing how many
 *   rows a pattern matches.
 */
export async function searchUsers(db: Db, organizationId: string, filter: UserFilter) {
  const pageOf = <T extends { email: string }>(rows: T[]) => toPage(rows, filter.limit, (row) => [row.email]);
  const text = filter.query?.trim().toLowerCase() ?? '';
  let path = searchPathOf(text);
  if (path === 'none' || path === 'emailPrefix') {
    const page = pageOf(await orderedUsersQuery(db, organizationId, filter, matchOf(path, text, 'indexed')).execute());
    if (path === 'none' || page.items.length > 0) return page;
    path = 'substring';
  }
  const match = matchOf(path, text, 'indexed');
  if (!match) throw new Error(`No match for search path ${path}`);
  const rows = await candidateUsersQuery(db, organizationId, filter, match).execute();
  if ((rows[0]?.candidateCount ?? 0) <= candidateCap) {
    return pageOf(rows.map(({ candidateCount: _, ...user }) => user));
  }
  return pageOf(await orderedUsersQuery(db, organizationId, filter, matchOf(path, text, 'scan')).execute());
}
