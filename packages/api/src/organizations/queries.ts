import type { Database, Db } from '@roster/db';
import { sql, type Transaction } from 'kysely';

export async function insertOrganization(db: Db, name: string) {
  return db.insertInto('organizations').values({ name }).returning(['id', 'name']).executeTakeFirstOrThrow();
}

/** The organization's default account, which holds its administrators. */
export async function insertDefaultAccount(db: Db, organizationId: string) {
  return db
    .insertInto('accounts')
    .values({ organizationId, name: 'Default', isDefault: true })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
}

/** Whether the installation holds any organization at all. */
export async function anyOrganizationExists(db: Db): Promise<boolean> {
  return Boolean(await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst());
}

/** Serializes the first start of an installation across every server process on the database. */
export async function lockInstallation(tx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(7450021)`.execute(tx);
}
