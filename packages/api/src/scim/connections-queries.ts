import { type Database, type Db, preparedQuery } from '@roster/db';
import { sql, type Transaction } from 'kysely';

/** The columns a connection is shown with: the token's hash is not among them. */
export const connectionColumns = [
  'scimConnections.id',
  'scimConnections.accountId',
  'scimConnections.name',
  'scimConnections.prefix',
  'scimConnections.createdBy',
  'scimConnections.createdAt',
  'scimConnections.lastUsedAt',
  'scimConnections.revokedAt',
] as const;

export async function insertConnection(
  tx: Transaction<Database>,
  values: {
    organizationId: string;
    accountId: string;
    name: string;
    prefix: string;
    tokenHash: string;
    createdBy: string;
  },
) {
  return tx.insertInto('scimConnections').values(values).returning(connectionColumns).executeTakeFirstOrThrow();
}

/** Every connection of the organization with its account's name, newest first (a handful per organization). */
export async function listConnections(db: Db, organizationId: string) {
  return db
    .selectFrom('scimConnections')
    .innerJoin('accounts', 'accounts.id', 'scimConnections.accountId')
    .select([...connectionColumns, 'accounts.name as accountName'])
    .where('scimConnections.organizationId', '=', organizationId)
    .orderBy('scimConnections.createdAt', 'desc')
    .orderBy('scimConnections.id', 'desc')
    .limit(500)
    .execute();
}

export async function lockConnection(tx: Transaction<Database>, organizationId: string, id: string) {
  return tx
    .selectFrom('scimConnections')
    .innerJoin('accounts', 'accounts.id', 'scimConnections.accountId')
    .select([...connectionColumns, 'accounts.name as accountName'])
    .where('scimConnections.organizationId', '=', organizationId)
    .where('scimConnections.id', '=', id)
    .forUpdate('scimConnections')
    .executeTakeFirst();
}

export async function revokeConnectionRow(tx: Transaction<Database>, id: string) {
  return tx
    .updateTable('scimConnections')
    .set({ revokedAt: sql<Date>`date_trunc('milliseconds', now())` })
    .where('id', '=', id)
    .returning(connectionColumns)
    .executeTakeFirstOrThrow();
}

/** A connection by its token's hash: every SCIM request runs it, so it is compiled once. */
const connectionByTokenHash = preparedQuery((db, tokenHash: string) =>
  db
    .selectFrom('scimConnections')
    .select([
      'scimConnections.id',
      'scimConnections.organizationId',
      'scimConnections.accountId',
      'scimConnections.name',
      'scimConnections.prefix',
      'scimConnections.lastUsedAt',
      'scimConnections.revokedAt',
    ])
    .where('scimConnections.tokenHash', '=', tokenHash),
);

export async function findConnectionByTokenHash(db: Db, tokenHash: string) {
  return (await connectionByTokenHash(db, tokenHash))[0];
}

export async function touchConnection(db: Db, id: string): Promise<void> {
  await db.updateTable('scimConnections').set({ lastUsedAt: sql<Date>`now()` }).where('id', '=', id).execute();
}

/** The connection that last created or changed a user of the organization (undefined: no such user). */
export async function connectionOfUser(db: Db, organizationId: string, userId: string) {
  return db
    .selectFrom('users')
    .leftJoin('scimConnections', 'scimConnections.id', 'users.scimConnectionId')
    .select([
      'users.id as userId',
      'scimConnections.id',
      'scimConnections.name',
      'scimConnections.prefix',
      'scimConnections.revokedAt',
    ])
    .where('users.organizationId', '=', organizationId)
    .where('users.id', '=', userId)
    .executeTakeFirst();
}
