import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../prepared.js';
import type { Database } from '../schema.js';
import { freshMigratedDb, serverUrl } from '../test/fresh-db.js';

let db: Kysely<Database>;

beforeAll(async () => {
  db = (await freshMigratedDb()).db;
  // A table without rules of its own, so the rows are plain.
  await db
    .insertInto('signInAttempts')
    .values([{ clientKey: 'Alpha' }, { clientKey: 'Beta' }, { clientKey: 'Gamma' }])
    .execute();
});

afterAll(async () => {
  await db?.destroy();
});

describe('preparedQuery', () => {
  const byName = preparedQuery((db, name: string) =>
    db.selectFrom('signInAttempts').select(['id', 'clientKey as name', 'attemptedAt']).where('clientKey', '=', name),
  );

  it('answers each call with its own arguments, columns camel-cased and typed as Kysely does', async () => {
    const [alpha] = await byName(db, 'Alpha');
    const [beta] = await byName(db, 'Beta');
    expect(alpha?.name).toBe('Alpha');
    expect(beta?.name).toBe('Beta');
    expect(beta?.attemptedAt).toBeInstanceOf(Date);
    expect(await byName(db, 'Nobody')).toEqual([]);
  });

  it('keeps arguments apart when one call overlaps another', async () => {
    const names = ['Alpha', 'Beta', 'Gamma', 'Beta', 'Alpha'];
    const rows = await Promise.all(names.map((name) => byName(db, name)));
    expect(rows.map((found) => found[0]?.name)).toEqual(names);
  });

  it('fills arguments in the order the SQL uses them, beside constants of its own', async () => {
    const between = preparedQuery((db, high: string, low: string) =>
      db
        .selectFrom('signInAttempts')
        .select('clientKey as name')
        .where('clientKey', '<', high)
        .where('clientKey', '<>', sql.val('Zeta'))
        .where('clientKey', '>', low)
        .orderBy('clientKey'),
    );
    expect((await between(db, 'Gamma', 'Alpha')).map((row) => row.name)).toEqual(['Beta']);
    expect((await between(db, 'Zulu', 'Aardvark')).map((row) => row.name)).toEqual(['Alpha', 'Beta', 'Gamma']);
  });

  it('runs inside a transaction, on its connection', async () => {
    await db
      .transaction()
      .execute(async (tx) => {
        await tx.insertInto('signInAttempts').values({ clientKey: 'Delta' }).execute();
        expect((await byName(tx, 'Delta')).length).toBe(1);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await byName(db, 'Delta')).toEqual([]);
  });

  it.runIf(serverUrl)('is prepared once per connection on a Postgres server, and reused', async () => {
    await db.transaction().execute(async (tx) => {
      // One transaction, one connection: what it has prepared is in pg_prepared_statements.
      await byName(tx, 'Alpha');
      await byName(tx, 'Beta');
      const prepared = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements where name like 'roster_prepared_%'
      `.execute(tx);
      const ours = prepared.rows.filter((row) => row.statement.includes('"sign_in_attempts"'));
      expect(ours.length).toBeGreaterThan(0);
      expect(new Set(ours.map((row) => row.name)).size).toBe(ours.length);
      expect((await byName(tx, 'Gamma'))[0]?.name).toBe('Gamma');
    });
  });

  it('refuses a build that does not use an argument as a value', async () => {
    const unused = preparedQuery((db, _name: string) => db.selectFrom('signInAttempts').select('id'));
    await expect(unused(db, 'Alpha')).rejects.toThrow(/argument 1 must be used exactly once/);
    const changed = preparedQuery((db, name: string) =>
      db.selectFrom('signInAttempts').select('id').where('clientKey', '=', name.toLowerCase()),
    );
    await expect(changed(db, 'Alpha')).rejects.toThrow(/argument 1 must be used exactly once/);
  });
});
