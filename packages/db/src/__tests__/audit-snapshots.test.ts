import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { describe, expect, it } from 'vitest';
import { migrations } from '../migrate.js';
import { freshDb } from '../test/fresh-db.js';

// 0006 keeps who and what as they were; rows written before it are backfilled.
describe('0006_audit_snapshots', () => {
  it('backfills snapshots, finds deleted actors again, and keeps actor ids from then on', async () => {
    const { db } = await freshDb();
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('0005_sign_in_pending')).error).toBeUndefined();

    // One statement at a time (prepared statements hold one), in one transaction
    // (an organization needs its default account by commit).
    const run = (text: string) =>
      db.transaction().execute(async (tx) => {
        for (const statement of text.split(/;\s*$/m).filter((part) => part.trim())) {
          await sql.raw(statement).execute(tx);
        }
      });
    await run(`
      insert into organizations (id, name) values ('00000000-0000-4000-8000-000000000001', 'Org');
      insert into accounts (id, organization_id, name, is_default) values
        ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'Default', true),
        ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-000000000001', 'Sales', false);
      insert into users (id, organization_id, account_id, email, first_name, last_name, role) values
        ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-000000000001',
         '00000000-0000-4000-8000-0000000000a1', 'stays@example.com', 'Stay', 'Here', 'admin'),
        ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-000000000001',
         '00000000-0000-4000-8000-0000000000a2', 'target@example.com', 'Tar', 'Get', 'user');
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type, target_id, target_label, changes, created_at) values
        -- by an administrator deleted later (actor_id already blanked by the old reference)
        ('00000000-0000-4000-8000-000000000001', null, 'gone@example.com', 'user.updated', 'user',
         '00000000-0000-4000-8000-0000000000b2', 'target@example.com', '{}', '2026-01-01T10:00Z'),
        ('00000000-0000-4000-8000-000000000001', null, 'gone@example.com', 'account.updated', 'account',
         '00000000-0000-4000-8000-0000000000a2', 'Sales', '{}', '2026-01-01T10:01Z'),
        -- that administrator's deletion
        ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000b1', 'stays@example.com',
         'user.deleted', 'user', '00000000-0000-4000-8000-0000000000c1', 'gone@example.com',
         '{"before": {"email": "gone@example.com", "firstName": "Gone", "lastName": "Away", "accountId": "00000000-0000-4000-8000-0000000000a1"}}',
         '2026-01-02T10:00Z');
    `);
    expect((await migrator.migrateTo('0006_audit_snapshots')).error).toBeUndefined();

    const rows = await sql<Record<string, unknown>>`
      select action, actor_id, actor_email, actor_name, target_email, target_name, account_id, search_text
      from audit_log order by created_at`.execute(db);
    expect(rows.rows).toEqual([
      {
        action: 'user.updated',
        actorId: '00000000-0000-4000-8000-0000000000c1',
        actorEmail: 'gone@example.com',
        actorName: 'Gone Away',
        targetEmail: 'target@example.com',
        targetName: 'Tar Get',
        accountId: '00000000-0000-4000-8000-0000000000a2',
        searchText: 'gone@example.com gone away target@example.com tar get target@example.com',
      },
      {
        action: 'account.updated',
        actorId: '00000000-0000-4000-8000-0000000000c1',
        actorEmail: 'gone@example.com',
        actorName: 'Gone Away',
        targetEmail: null,
        targetName: null,
        accountId: '00000000-0000-4000-8000-0000000000a2',
        searchText: 'gone@example.com gone away   sales',
      },
      {
        action: 'user.deleted',
        actorId: '00000000-0000-4000-8000-0000000000b1',
        actorEmail: 'stays@example.com',
        actorName: 'Stay Here',
        targetEmail: 'gone@example.com',
        targetName: 'Gone Away',
        accountId: '00000000-0000-4000-8000-0000000000a1',
        searchText: 'stays@example.com stay here gone@example.com gone away gone@example.com',
      },
    ]);

    // An actor's rows keep their id when the actor is deleted.
    await run(`delete from users where id = '00000000-0000-4000-8000-0000000000b1'`);
    const kept = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where actor_id = '00000000-0000-4000-8000-0000000000b1'`.execute(db);
    expect(kept.rows[0]?.n).toBe(1);

    // And down goes back to the reference (blanking ids of users gone meanwhile).
    expect((await migrator.migrateTo('0005_sign_in_pending')).error).toBeUndefined();
    const blanked = await sql<{ n: number }>`select count(*)::int as n from audit_log where actor_id is null`.execute(
      db,
    );
    expect(blanked.rows[0]?.n).toBe(3);
    await db.destroy();
  });
});
