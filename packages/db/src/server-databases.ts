import { randomUUID } from 'node:crypto';
import pg from 'pg';

// Databases that tests and the benchmark create on a real PostgreSQL server: the
// one place that names them, creates them and drops them.

/** Prefix of every database a test run creates, so the run's teardown finds them all. */
export const testDatabasePrefix = 'roster_test_';

/** `serverUrl` with its database replaced by `name`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` on a connection of its own to `url`, closed after. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the empty database `name` on the server (names are ours, never user input). */
export async function createServerDatabase(serverUrl: string, name: string, comment?: string): Promise<string> {
  await withClient(serverUrl, async (client) => {
    await client.query(`create database "${name}"`);
    if (comment !== undefined)
      await client.query(`comment on database "${name}" is '${comment.replaceAll("'", "''")}'`);
  });
  return databaseUrl(serverUrl, name);
}

/**
 * A fresh database for a test on the server, named after the test run
 * (`ROSTER_TEST_RUN`, set by the global setup) so that the run's teardown drops it.
 */
export function createTestDatabase(serverUrl: string): Promise<string> {
  const run = process.env.ROSTER_TEST_RUN ?? 'adhoc';
  return createServerDatabase(serverUrl, `${testDatabasePrefix}${run}_${randomUUID().slice(0, 8)}`);
}

/** Drops the test databases of one run (or of every run), even while connections are open. */
export async function dropTestDatabases(serverUrl: string, runId?: string): Promise<void> {
  await withClient(serverUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [
      `${testDatabasePrefix}${runId ?? ''}%`,
    ]);
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  });
}
