import { sql } from 'kysely';
import { Migrator, NO_MIGRATIONS } from 'kysely/migration';
import { describe, expect, it } from 'vitest';
import { createDb } from '../connect.js';
import { migrateToLatest, migrations } from '../migrate.js';
import { freshDb, serverUrl } from '../test/fresh-db.js';

describe('migrations', () => {
  it('apply once, report nothing more to do, and go down and up again', async () => {
    const { db } = await freshDb();
    const all = Object.keys(migrations);
    expect(all[0]).toBe('0001_initial');
    expect(await migrateToLatest(db)).toEqual(all);
    expect(await migrateToLatest(db)).toEqual([]);

    // Every down leaves nothing behind, and up works again.
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.tables
      where table_schema = 'public' and table_name not like 'kysely_%'`.execute(db);
    expect(rows[0]?.n).toBe(0);
    expect(await migrateToLatest(db)).toEqual(all);
    await db.destroy();
    // Every migration down and up on PGlite: well over a minute on a busy 2-core machine.
  }, 180_000);

  it('roll back the sign-in defences (and what came after them) and apply them again', async () => {
    const { db } = await freshDb();
    await migrateToLatest(db);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo('0002_api_keys');
    expect(down.error).toBeUndefined();
    const undone = Object.keys(migrations).filter((name) => name > '0002_api_keys');
    expect(down.results?.map((r) => r.migrationName).sort()).toEqual(undone);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.columns
      where table_name = 'users' and column_name in ('failed_sign_ins', 'locked_until', 'search_text')
    `.execute(db);
    expect(rows[0]?.n).toBe(0);
    expect(await migrateToLatest(db)).toEqual(undone);
    await db.destroy();
  }, 180_000);

  it.runIf(serverUrl)('are safe when two servers start at the same moment', async () => {
    const first = await freshDb();
    const second = createDb({ url: first.url });
    const results = await Promise.all([migrateToLatest(first.db), migrateToLatest(second.db)]);
    expect(results.flat()).toEqual(Object.keys(migrations));
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(first.db);
    expect(rows[0]?.n).toBe(Object.keys(migrations).length);
    await first.db.destroy();
    await second.db.destroy();
  });
});
