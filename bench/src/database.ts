import { randomUUID } from 'node:crypto';
import { createServerDatabase, databaseUrl, withClient } from '@roster/db/server-databases';

export { databaseUrl, withClient };

/** Every database the benchmark creates is named with this prefix ... */
export const benchDatabasePrefix = 'roster_bench_';
/** ... and carries this comment, so it never drops a database it did not create. */
const markerPrefix = 'roster-bench:';

const validName = /^roster_bench_[a-z0-9_]{1,40}$/;

/** Creates an empty database of our own and marks it as ours. */
export async function createBenchDatabase(serverUrl: string): Promise<string> {
  const name = `${benchDatabasePrefix}${new Date().toISOString().slice(0, 10).replaceAll('-', '')}_${randomUUID().slice(0, 8)}`;
  await createServerDatabase(serverUrl, name, `${markerPrefix}${randomUUID()}`);
  return name;
}

/** Throws unless `name` is a database this benchmark created (prefix and marker both). */
export async function assertOurs(serverUrl: string, name: string): Promise<void> {
  if (!validName.test(name)) {
    throw new Error(`Refusing to use "${name}": benchmark databases are named ${benchDatabasePrefix}…`);
  }
  const marker = await withClient(serverUrl, async (client) => {
    const { rows } = await client.query<{ marker: string | null }>(
      `select shobj_description(oid, 'pg_database') as marker from pg_database where datname = $1`,
      [name],
    );
    if (rows.length === 0) throw new Error(`There is no database "${name}" on ${new URL(serverUrl).host}.`);
    return rows[0]?.marker ?? null;
  });
  if (!marker?.startsWith(markerPrefix)) {
    throw new Error(
      `Refusing to touch "${name}": it does not carry the benchmark's marker, so this run did not create it.`,
    );
  }
}

export async function dropBenchDatabase(serverUrl: string, name: string): Promise<void> {
  await assertOurs(serverUrl, name);
  await withClient(serverUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
}
