import type { Database, Db } from '@roster/db';
import { sql, type Transaction } from 'kysely';
import { decodeCursor, escapeLike, toPage } from '../shared/cursor.js';

export const accountColumns = [
  'accounts.id',
  'accounts.name',
  'accounts.description',
  'accounts.isDefault',
  'accounts.userCount',
  'accounts.createdAt',
  'accounts.updatedAt',
] as const;

export async function findAccount(db: Db, organizationId: string, id: string) {
  return db
    .selectFrom('accounts')
    .select(accountColumns)
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function lockAccount(tx: Transaction<Database>, organizationId: string, id: string) {
  return tx
    .selectFrom('accounts')
    .select(accountColumns)
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Names of accounts of the organization by id, in name order; ids of other
 * organizations find nothing, nor (with `scope`, an account administrator's
 * account) ids of the organization's other accounts.
 */
export async function accountNames(db: Db, organizationId: string, ids: string[], scope?: string) {
  return db
    .selectFrom('accounts')
    .select(['id', 'name'])
    .where('organizationId', '=', organizationId)
    .where('id', 'in', ids)
    .$if(scope !== undefined, (query) => query.where('id', '=', scope ?? ''))
    .orderBy('name')
    .execute();
}

/**
 * Accounts by name (then id, so the keyset is total); the default account sorts
 * like any other. With `scope` (an account administrator's account), that one only.
 */
export async function listAccounts(
  db: Db,
  organizationId: string,
  input: { query?: string | undefined; cursor?: string | undefined; limit: number },
  scope?: string,
) {
  const after = decodeCursor(input.cursor, ['text', 'uuid']);
  let query = db.selectFrom('accounts').select(accountColumns).where('organizationId', '=', organizationId);
  if (scope !== undefined) query = query.where('id', '=', scope);
  const text = input.query?.trim().toLowerCase();
  if (text) query = query.where(sql<string>`lower(name)`, 'like', `%${escapeLike(text)}%`);
  if (after) {
    const [name, id] = after as [string, string];
    query = query.where(sql<boolean>`(name, id) > (${name}, ${id}::uuid)`);
  }
  const rows = await query
    .orderBy('name')
    .orderBy('id')
    .limit(input.limit + 1)
    .execute();
  return toPage(rows, input.limit, (row) => [row.name, row.id]);
}

/** The account's id and whether it is the organization's default one; undefined for another organization's. */
export async function findAccountKind(db: Db, organizationId: string, id: string) {
  return db
    .selectFrom('accounts')
    .select(['id', 'isDefault'])
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function insertAccount(db: Db, organizationId: string, values: { name: string; description: string }) {
  return db
    .insertInto('accounts')
    .values({ organizationId, ...values })
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function updateAccountRow(
  db: Db,
  organizationId: string,
  id: string,
  values: { name?: string | undefined; description?: string | undefined },
) {
  return db
    .updateTable('accounts')
    .set(values)
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .returning(accountColumns)
    .executeTakeFirstOrThrow();
}

export async function deleteAccountRow(db: Db, organizationId: string, id: string): Promise<void> {
  await db.deleteFrom('accounts').where('organizationId', '=', organizationId).where('id', '=', id).execute();
}
