import type { Kysely } from 'kysely';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_api_keys.js';
import * as m0003 from './migrations/0003_sign_in_defences.js';
import * as m0004 from './migrations/0004_search_scale.js';
import * as m0005 from './migrations/0005_sign_in_pending.js';
import * as m0006 from './migrations/0006_audit_snapshots.js';
import * as m0007 from './migrations/0007_api_key_expiry.js';
import * as m0008 from './migrations/0008_sign_in_limits.js';
import * as m0009 from './migrations/0009_search_fold.js';
import * as m0010 from './migrations/0010_scim.js';
import * as m0011 from './migrations/0011_user_imports.js';
import * as m0012 from './migrations/0012_bulk_operations.js';
import * as m0013 from './migrations/0013_user_sort_orders.js';
import * as m0014 from './migrations/0014_mail_outbox.js';
import * as m0015 from './migrations/0015_invitations_and_resets.js';
import * as m0016 from './migrations/0016_delegated_roles.js';
import * as m0017 from './migrations/0017_write_positions.js';
import type { Database } from './schema.js';

/** Every migration, in order. Listed here rather than read from disk so bundles and tests agree. */
export const migrations = {
  '0001_initial': m0001,
  '0002_api_keys': m0002,
  '0003_sign_in_defences': m0003,
  '0004_search_scale': m0004,
  '0005_sign_in_pending': m0005,
  '0006_audit_snapshots': m0006,
  '0007_api_key_expiry': m0007,
  '0008_sign_in_limits': m0008,
  '0009_search_fold': m0009,
  '0010_scim': m0010,
  '0011_user_imports': m0011,
  '0012_bulk_operations': m0012,
  '0013_user_sort_orders': m0013,
  '0014_mail_outbox': m0014,
  '0015_invitations_and_resets': m0015,
  '0016_delegated_roles': m0016,
  '0017_write_positions': m0017,
};

/**
 * Brings the schema up to date. Kysely's Postgres adapter takes a transaction-scoped
 * advisory lock and runs all pending migrations in one transaction, so two servers
 * starting at once apply each migration exactly once.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    throw result.error instanceof Error ? result.error : new Error(String(result.error));
  }
  return (result.results ?? []).map((r) => r.migrationName);
}
