import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../connect.js';
import { migrateToLatest } from '../migrate.js';

const serverUrl = process.env.DATABASE_URL || undefined;
const created: string[] = [];

/** A fresh database: in-memory PGlite, or a new database on the real server. */
async function freshDb(): Promise<DbHandle> {
  if (!serverUrl) return createDb({});
  const name = `roster_dbtest_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  created.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return createDb({ url: url.toString() });
}

afterAll(async () => {
  if (!serverUrl) return;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe('migrations', () => {
  it('apply once, then report nothing to do', async () => {
    const { db } = await freshDb();
    expect(await migrateToLatest(db)).toEqual(['0001_initial', '0004_search_scale']);
    expect(await migrateToLatest(db)).toEqual([]);
    await db.destroy();
  });

  it.runIf(serverUrl)('are safe when two servers start at the same moment', async () => {
    const first = await freshDb();
    const url = new URL(serverUrl ?? '');
    url.pathname = `/${created.at(-1)}`;
    const second = createDb({ url: url.toString() });
    const results = await Promise.all([migrateToLatest(first.db), migrateToLatest(second.db)]);
    expect(results.flat()).toEqual(['0001_initial', '0004_search_scale']);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(first.db);
    expect(rows[0]?.n).toBe(2);
    await first.db.destroy();
    await second.db.destroy();
  });
});
