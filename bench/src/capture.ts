import { appRouter, createCallerFactory, createContext } from '@roster/api';
import type { Database } from '@roster/db';
import * as rosterDb from '@roster/db';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { FloorStatement } from './floor-server.js';

const createCaller = createCallerFactory(appRouter);

/** The name Roster prepares a statement under (builds without statementNameOf prepared nothing by name here). */
const nameOf: (sqlText: string) => string | undefined =
  'statementNameOf' in rosterDb && typeof rosterDb.statementNameOf === 'function'
    ? (rosterDb.statementNameOf as (sqlText: string) => string | undefined)
    : () => undefined;
type Caller = ReturnType<typeof createCaller>;

/**
 * Runs one call through Roster's own router, on a Kysely configured as
 * `createDb` configures it, and records the SQL it sends: the floor then runs
 * exactly these statements, the same way: a statement Roster sends as a named
 * prepared statement (see preparedQuery) is sent under a name by the floor too,
 * so that both parse and plan it once per connection. Only reads (select, with)
 * are kept (a session's occasional last-seen refresh is not part of every request).
 */
export async function captureSql(
  url: string,
  sessionToken: string,
  call: (caller: Caller) => Promise<unknown>,
): Promise<FloorStatement[]> {
  const statements: FloorStatement[] = [];
  let recording = false;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
    log(event) {
      if (recording && event.level === 'query' && /^\s*(select|with)\b/i.test(event.query.sql)) {
        const name = nameOf(event.query.sql);
        statements.push({ sql: event.query.sql, parameters: [...event.query.parameters], ...(name ? { name } : {}) });
      }
    },
  });
  try {
    const caller = createCaller(createContext({ db, sessionToken }));
    // A first call fills what Roster keeps between requests (the search's statistics sample); the second is recorded.
    await call(caller);
    recording = true;
    await call(caller);
  } finally {
    await db.destroy();
  }
  return statements;
}
