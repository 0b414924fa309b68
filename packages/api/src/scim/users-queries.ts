import { type Database, type Db, preparedQuery } from '@roster/db';
import { type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely';

/** The columns SCIM reads a user with (never the password hash). */
export const scimUserColumns = [
  'users.id',
  'users.email',
  'users.firstName',
  'users.lastName',
  'users.active',
  'users.externalId',
  'users.role',
  'users.version',
  'users.createdAt',
  'users.updatedAt',
] as const;

export type Scope = { organizationId: string; accountId: string };

/** The users a connection sees: those of its account, and no other. */
const scoped = (db: Db, scope: Scope) =>
  db
    .selectFrom('users')
    .where('users.organizationId', '=', scope.organizationId)
    .where('users.accountId', '=', scope.accountId);

// GET /Users/{id}, the read every sync repeats: compiled once (see preparedQuery).
const scimUserById = preparedQuery((db, organizationId: string, accountId: string, id: string) =>
  db
    .selectFrom('users')
    .select(scimUserColumns)
    .where('users.organizationId', '=', organizationId)
    .where('users.accountId', '=', accountId)
    .where('users.id', '=', id),
);

export async function findScimUser(db: Db, scope: Scope, id: string) {
  return (await scimUserById(db, scope.organizationId, scope.accountId, id))[0];
}

export async function lockScimUser(tx: Transaction<Database>, scope: Scope, id: string) {
  return scoped(tx, scope).select(scimUserColumns).where('users.id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * A page of the account's users in email order (unique, and the (account, email)
 * index serves it): from an offset (`startIndex`) or after a cursor's email.
 */
export async function pageOfScimUsers(
  db: Db,
  scope: Scope,
  input: { where: RawBuilder<SqlBool> | null; offset: number; afterEmail: string | null; limit: number },
) {
  let query = scoped(db, scope).select(scimUserColumns);
  if (input.where) query = query.where(input.where);
  if (input.afterEmail !== null) query = query.where('users.email', '>', input.afterEmail);
  return query.orderBy('users.email').offset(input.offset).limit(input.limit).execute();
}

/** How many users match: the account's maintained count when unfiltered, else counted. */
export async function countScimUsers(db: Db, scope: Scope, where: RawBuilder<SqlBool> | null): Promise<number> {
  if (!where) {
    const account = await db
      .selectFrom('accounts')
      .select('userCount')
      .where('organizationId', '=', scope.organizationId)
      .where('id', '=', scope.accountId)
      .executeTakeFirst();
    return Number(account?.userCount ?? 0);
  }
  const row = await scoped(db, scope)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where(where)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Sets the SCIM-only columns (no version bump: `bump` says whether this is itself a change). */
export async function setScimColumns(
  tx: Transaction<Database>,
  scope: Scope,
  id: string,
  values: { externalId?: string | null; scimConnectionId: string },
  bump: boolean,
) {
  await tx
    .updateTable('users')
    .set(bump ? { ...values, version: sql<number>`version + 1` } : values)
    .where('organizationId', '=', scope.organizationId)
    .where('accountId', '=', scope.accountId)
    .where('id', '=', id)
    .execute();
}

// The lookups identity providers make before every change (`userName eq`, `externalId eq`):
// compiled once, like GET by id. Each finds at most one user.
const scimUserByEmail = preparedQuery((db, organizationId: string, accountId: string, email: string) =>
  db
    .selectFrom('users')
    .select(scimUserColumns)
    .where('users.organizationId', '=', organizationId)
    .where('users.accountId', '=', accountId)
    .where('users.email', '=', email),
);

const scimUserByExternalId = preparedQuery((db, organizationId: string, accountId: string, externalId: string) =>
  db
    .selectFrom('users')
    .select(scimUserColumns)
    .where('users.organizationId', '=', organizationId)
    .where('users.accountId', '=', accountId)
    .where('users.externalId', '=', externalId),
);

export function lookUpScimUser(db: Db, scope: Scope, by: 'userName' | 'externalId', value: string) {
  return by === 'userName'
    ? scimUserByEmail(db, scope.organizationId, scope.accountId, value.toLowerCase())
    : scimUserByExternalId(db, scope.organizationId, scope.accountId, value);
}
