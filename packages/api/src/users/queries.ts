import type { Database, NewUser, Role, UserUpdate } from '@roster/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import { decodeCursor, escapeLike, toPage } from '../shared/cursor.js';

type Db = Kysely<Database> | Transaction<Database>;

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
] as const;

export async function findUserById(db: Db, organizationId: string, id: string) {
  return db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organizationId', '=', organizationId)
    .where('users.id', '=', id)
    .executeTakeFirst();
}

export async function findUserByEmail(db: Db, organizationId: string, email: string) {
  return db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organizationId', '=', organizationId)
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
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
 * One page of users of an organization, ordered by email (unique, so the keyset
 * cursor is exact and stable under concurrent inserts). A query of three or more
 * characters matches anywhere in "first last email" through the trigram index;
 * shorter ones match the start of the email, first or last name through btree indexes.
 */
export async function searchUsers(db: Db, organizationId: string, filter: UserFilter) {
  const after = decodeCursor(filter.cursor, ['text']);
  let query = db.selectFrom('users').select(userColumns).where('users.organizationId', '=', organizationId);
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
  const text = filter.query?.trim().toLowerCase();
  if (text) {
    const escaped = escapeLike(text);
    if (text.length >= 3) {
      query = query.where(sql<boolean>`lower(first_name || ' ' || last_name || ' ' || email) like ${`%${escaped}%`}`);
    } else {
      const prefix = `${escaped}%`;
      query = query.where((eb) =>
        eb.or([
          eb('users.email', 'like', prefix),
          eb(sql<string>`lower(first_name)`, 'like', prefix),
          eb(sql<string>`lower(last_name)`, 'like', prefix),
        ]),
      );
    }
  }
  if (after) query = query.where('users.email', '>', after[0] as string);
  const rows = await query
    .orderBy('users.email')
    .limit(filter.limit + 1)
    .execute();
  return toPage(rows, filter.limit, (row) => [row.email]);
}
