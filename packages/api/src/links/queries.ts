import type { Database, Db, UserLinkPurpose, UserLinksTable } from '@roster/db';
import { sql, type Transaction } from 'kysely';

// The SQL of mailed links (invitations, password resets): only a token's sha256
// is stored, and every lookup is by that hash.

/** A link as it is inserted: the columns that are not the database's own (id, use, revocation, creation time). */
export type NewLink = Pick<
  UserLinksTable,
  'organizationId' | 'userId' | 'purpose' | 'tokenHash' | 'email' | 'expiresAt' | 'createdBy'
>;

export async function insertLinks(db: Db, links: NewLink[]): Promise<void> {
  // Seven values a row: well under the 65,535 a statement may carry.
  for (let start = 0; start < links.length; start += 2_000) {
    await db
      .insertInto('userLinks')
      .values(links.slice(start, start + 2_000))
      .execute();
  }
}

/**
 * Revokes the user's open links of a purpose (all purposes when none is given):
 * a resend, a cancel, an email change, a used reset. Returns how many.
 */
export async function revokeOpenLinks(
  db: Db,
  organizationId: string,
  userId: string,
  purpose?: UserLinkPurpose,
): Promise<number> {
  let query = db
    .updateTable('userLinks')
    .set({ revokedAt: sql<Date>`now()` })
    .where('organizationId', '=', organizationId)
    .where('userId', '=', userId)
    .where('usedAt', 'is', null)
    .where('revokedAt', 'is', null);
  if (purpose) query = query.where('purpose', '=', purpose);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The user's open invitation (expired or not), or undefined. */
export async function findOpenInvitation(db: Db, organizationId: string, userId: string) {
  return db
    .selectFrom('userLinks')
    .select(['id', 'email', 'expiresAt', 'createdAt'])
    .where('organizationId', '=', organizationId)
    .where('userId', '=', userId)
    .where('purpose', '=', 'invitation')
    .where('usedAt', 'is', null)
    .where('revokedAt', 'is', null)
    .executeTakeFirst();
}

/**
 * A link by its token's hash, with its user and organization; locked for the
 * rest of the transaction when `lock` (using it), so two uses of one link take
 * turns and the second finds it used.
 */
export async function findLinkByHash(
  db: Db | Transaction<Database>,
  tokenHash: string,
  purpose: UserLinkPurpose,
  lock = false,
) {
  let query = db
    .selectFrom('userLinks')
    .innerJoin('users', 'users.id', 'userLinks.userId')
    .innerJoin('organizations', 'organizations.id', 'userLinks.organizationId')
    .select([
      'userLinks.id',
      'userLinks.organizationId',
      'userLinks.userId',
      'userLinks.email',
      'userLinks.expiresAt',
      'userLinks.usedAt',
      'userLinks.revokedAt',
      sql<boolean>`user_links.expires_at <= now()`.as('expired'),
      'users.email as userEmail',
      'users.firstName',
      'users.lastName',
      'users.active',
      'organizations.name as organizationName',
    ])
    .where('userLinks.tokenHash', '=', tokenHash)
    .where('userLinks.purpose', '=', purpose);
  if (lock) query = query.forUpdate(['userLinks']);
  return query.executeTakeFirst();
}

export async function markLinkUsed(db: Db, id: string): Promise<void> {
  await db.updateTable('userLinks').set({ usedAt: sql<Date>`now()` }).where('id', '=', id).execute();
}

/** The organization's name, for mails. */
export async function organizationName(db: Db, organizationId: string): Promise<string> {
  const row = await db
    .selectFrom('organizations')
    .select('name')
    .where('id', '=', organizationId)
    .executeTakeFirstOrThrow();
  return row.name;
}

/** A user's name and email, for "who invited whom". */
export async function personOf(db: Db, organizationId: string, userId: string) {
  return db
    .selectFrom('users')
    .select(['firstName', 'lastName', 'email'])
    .where('organizationId', '=', organizationId)
    .where('id', '=', userId)
    .executeTakeFirst();
}

/** Records one password reset request under its keys, and counts those of the last hour under each. */
export async function countResetRequests(db: Db, emailKey: string, addressKey: string) {
  await db.insertInto('passwordResetRequests').values({ emailKey, addressKey }).execute();
  const row = await db
    .selectFrom('passwordResetRequests')
    .select([
      sql<number>`count(*) filter (where email_key = ${emailKey})::int`.as('byEmail'),
      sql<number>`count(*) filter (where address_key = ${addressKey})::int`.as('byAddress'),
    ])
    .where('createdAt', '>', sql<Date>`now() - interval '1 hour'`)
    .where((eb) => eb.or([eb('emailKey', '=', emailKey), eb('addressKey', '=', addressKey)]))
    .executeTakeFirstOrThrow();
  return { byEmail: row.byEmail, byAddress: row.byAddress };
}

/** The user an email belongs to (emails are unique installation-wide), for a reset request. */
export async function findResetUser(db: Db, email: string) {
  return db
    .selectFrom('users')
    .innerJoin('organizations', 'organizations.id', 'users.organizationId')
    .select([
      'users.id',
      'users.organizationId',
      'users.accountId',
      'users.email',
      'users.firstName',
      'users.lastName',
      'users.active',
      'organizations.name as organizationName',
    ])
    .where(sql<string>`lower(users.email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

/** Forgets reset requests older than an hour (the sweeper's). */
export async function deleteOldResetRequests(db: Db): Promise<void> {
  await db.deleteFrom('passwordResetRequests').where('createdAt', '<', sql<Date>`now() - interval '1 hour'`).execute();
}
