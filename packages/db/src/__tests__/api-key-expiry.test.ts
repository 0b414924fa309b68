import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { describe, expect, it } from 'vitest';
import { migrations } from '../migrate.js';
import { freshDb } from '../test/fresh-db.js';

describe('0007_api_key_expiry', () => {
  it('gives keys without an expiry one 365 days from now, keeps the others, and requires one from then on', async () => {
    const { db } = await freshDb();
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('0006_audit_snapshots')).error).toBeUndefined();
    await db.transaction().execute(async (tx) => {
      for (const statement of [
        `insert into organizations (id, name) values ('00000000-0000-4000-8000-000000000001', 'Org')`,
        `insert into accounts (organization_id, name, is_default) values ('00000000-0000-4000-8000-000000000001', 'Default', true)`,
        `insert into api_keys (organization_id, name, prefix, secret_hash, expires_at) values
          ('00000000-0000-4000-8000-000000000001', 'forever', 'rk_aaaaaaaa', 'h1', null),
          ('00000000-0000-4000-8000-000000000001', 'dated', 'rk_bbbbbbbb', 'h2', '2030-01-31T00:00Z')`,
      ]) {
        await sql.raw(statement).execute(tx);
      }
    });
    const started = Date.now();
    expect((await migrator.migrateTo('0007_api_key_expiry')).error).toBeUndefined();
    const rows = await db.selectFrom('apiKeys').select(['name', 'expiresAt']).orderBy('name').execute();
    expect(rows[0]?.expiresAt.toISOString()).toBe('2030-01-31T00:00:00.000Z');
    const forever = rows[1]?.expiresAt.getTime() ?? 0;
    expect(forever).toBeGreaterThanOrEqual(started + 365 * 86_400_000 - 5_000);
    expect(forever).toBeLessThanOrEqual(Date.now() + 365 * 86_400_000);
    await expect(
      sql`insert into api_keys (organization_id, name, prefix, secret_hash) values
        ('00000000-0000-4000-8000-000000000001', 'none', 'rk_cccccccc', 'h3')`.execute(db),
    ).rejects.toThrow(/expires_at/);
    expect((await migrator.migrateTo('0006_audit_snapshots')).error).toBeUndefined();
    await db.destroy();
  });
});
