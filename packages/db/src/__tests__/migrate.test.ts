import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../connect.js';
import { migrateToLatest } from '../migrate.js';
import * as m0001 from '../migrations/0001_initial.js';
import { dropFreshDbs, freshDb, serverUrl } from '../test/fresh-db.js';

afterAll(dropFreshDbs);

describe('migrations', () => {
  it('apply once, report nothing more to do, and go down and up again', async () => {
    const { db } = await freshDb();
    expect(await migrateToLatest(db)).toEqual(['0001_initial']);
    expect(await migrateToLatest(db)).toEqual([]);

    // Down leaves nothing behind, and up works again.
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ '0001_initial': m0001 }) } });
    const down = await migrator.migrateDown();
    expect(down.error).toBeUndefined();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.tables
      where table_schema = 'public' and table_name in ('organizations', 'accounts', 'users', 'sessions', 'audit_log')`.execute(
      db,
    );
    expect(rows[0]?.n).toBe(0);
    expect(await migrateToLatest(db)).toEqual(['0001_initial']);
    await db.destroy();
  });

  it.runIf(serverUrl)('are safe when two servers start at the same moment', async () => {
    const first = await freshDb();
    const second = createDb({ url: first.url });
    const results = await Promise.all([migrateToLatest(first.db), migrateToLatest(second.db)]);
    expect(results.flat()).toEqual(['0001_initial']);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(first.db);
    expect(rows[0]?.n).toBe(1);
    await first.db.destroy();
    await second.db.destroy();
  });
});
