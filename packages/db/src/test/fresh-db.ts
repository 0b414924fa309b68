import { createDb, type DbHandle } from '../connect.js';
import { migrateToLatest } from '../migrate.js';
import { createTestDatabase } from '../server-databases.js';
import { pgliteTemplate } from './pglite-template.js';

/** The server the tests run against, or undefined for in-memory PGlite. */
export const serverUrl = process.env.DATABASE_URL || undefined;

/**
 * A fresh, empty database: in-memory PGlite, or a new database on the real server
 * (dropped by the run's global teardown, src/test/global-setup.ts). Not migrated:
 * the migration tests start from nothing.
 */
export async function freshDb(): Promise<DbHandle & { url: string | undefined }> {
  // On PGlite, from a dump of what initdb makes (made once and cached), instead of initdb each time.
  if (!serverUrl) return { ...createDb({ loadDataDir: await pgliteTemplate('empty') }), url: undefined };
  const url = await createTestDatabase(serverUrl);
  return { ...createDb({ url }), url };
}

/** A fresh database with every migration applied: on PGlite, started from the cached template. */
export async function freshMigratedDb(): Promise<DbHandle & { url: string | undefined }> {
  if (!serverUrl) return { ...createDb({ loadDataDir: await pgliteTemplate() }), url: undefined };
  const fresh = await freshDb();
  await migrateToLatest(fresh.db);
  return fresh;
}
