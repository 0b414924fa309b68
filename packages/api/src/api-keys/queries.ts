import { type Database, type Db, type NewApiKey, preparedQuery } from '@roster/db';
import { sql, type Transaction } from 'kysely';
import { decodeCursor, toPage } from '../shared/cursor.js';

/** The only columns a key is read with for people: the secret's hash is not among them. */
export const apiKeyColumns = [
  'apiKeys.id',
  'apiKeys.userId',
  'apiKeys.name',
  'apiKeys.prefix',
  'apiKeys.createdAt',
  'apiKeys.lastUsedAt',
  'apiKeys.expiresAt',
  'apiKeys.revokedAt',
] as const;

export async function insertApiKey(db: Db, values: NewApiKey) {
  return db.insertInto('apiKeys').values(values).returning(apiKeyColumns).executeTakeFirstOrThrow();
}

/** Keys that still work: neither revoked nor expired. */
export async function countUsableApiKeys(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('apiKeys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('userId', '=', userId)
    .where('revokedAt', 'is', null)
    .where('expiresAt', '>', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** One page of a user's keys, newest first. */
export async function listApiKeys(
  db: Db,
  organizationId: string,
  input: { userId: string; includeRevoked: boolean; cursor?: string | undefined; limit: number },
) {
  const after = decodeCursor(input.cursor, ['timestamp', 'uuid']);
  let query = db
    .selectFrom('apiKeys')
    .select(apiKeyColumns)
    .where('apiKeys.organizationId', '=', organizationId)
    .where('apiKeys.userId', '=', input.userId);
  if (!input.includeRevoked) query = query.where('apiKeys.revokedAt', 'is', null);
  if (after) {
    const [createdAt, id] = after as [string, string];
    query = query.where(sql<boolean>`(api_keys.created_at, api_keys.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
  }
  const rows = await query
    .orderBy('apiKeys.createdAt', 'desc')
    .orderBy('apiKeys.id', 'desc')
    .limit(input.limit + 1)
    .execute();
  return toPage(rows, input.limit, (row) => [row.createdAt.toISOString(), row.id]);
}

/** Locks a key of the organization, with its owner's email (null when the owner is deleted). */
export async function lockApiKey(tx: Transaction<Database>, organizationId: string, id: string) {
  return tx
    .selectFrom('apiKeys')
    .leftJoin('users', 'users.id', 'apiKeys.userId')
    .select([...apiKeyColumns, 'users.email as userEmail'])
    .where('apiKeys.organizationId', '=', organizationId)
    .where('apiKeys.id', '=', id)
    .forUpdate('apiKeys')
    .executeTakeFirst();
}

export async function revokeApiKeyRow(tx: Transaction<Database>, id: string) {
  return tx
    .updateTable('apiKeys')
    .set({ revokedAt: sql<Date>`date_trunc('milliseconds', now())` })
    .where('id', '=', id)
    .returning(apiKeyColumns)
    .executeTakeFirstOrThrow();
}

/** Revokes the user's keys that still work (neither revoked nor expired), oldest first. */
export async function revokeLiveApiKeysOf(tx: Transaction<Database>, userId: string) {
  const rows = await tx
    .updateTable('apiKeys')
    .set({ revokedAt: sql<Date>`date_trunc('milliseconds', now())` })
    .where('userId', '=', userId)
    .where('revokedAt', 'is', null)
    .where('expiresAt', '>', sql<Date>`now()`)
    .returning(apiKeyColumns)
    .execute();
  return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
}

/**
 * A key by the hash of its secret, with what authentication needs of its owner:
 * every request with an API key runs it, so it is compiled once (see preparedQuery).
 */
const apiKeyBySecretHash = preparedQuery((db, secretHash: string) =>
  db
    .selectFrom('apiKeys')
    .leftJoin('users', 'users.id', 'apiKeys.userId')
    .select([
      'apiKeys.id',
      'apiKeys.organizationId as keyOrganizationId',
      'apiKeys.name',
      'apiKeys.prefix',
      'apiKeys.lastUsedAt',
      'apiKeys.expiresAt',
      'apiKeys.revokedAt',
      'apiKeys.writeLsn',
      'users.id as userId',
      'users.organizationId',
      'users.accountId',
      'users.email',
      'users.role',
      'users.active',
    ])
    .where('apiKeys.secretHash', '=', secretHash),
);

export async function findApiKeyBySecretHash(db: Db, secretHash: string) {
  return (await apiKeyBySecretHash(db, secretHash))[0];
}

export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.updateTable('apiKeys').set({ lastUsedAt: sql<Date>`now()` }).where('id', '=', id).execute();
}

/**
 * Marks a refused use, at most once per `windowSeconds` per key; true when this
 * call did, so the caller writes the audit row. Atomic, so concurrent refusals
 * of one key write one row.
 */
export async function claimRefusalAudit(tx: Transaction<Database>, id: string, windowSeconds: number) {
  const claimed = await tx
    .updateTable('apiKeys')
    .set({ lastRefusedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('lastRefusedAt', 'is', null),
        eb('lastRefusedAt', '<', sql<Date>`now() - make_interval(secs => ${windowSeconds})`),
      ]),
    )
    .returning('id')
    .executeTakeFirst();
  return claimed !== undefined;
}
