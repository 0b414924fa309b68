import { appRouter, createCallerFactory, createContext } from '@roster/api';
import type { Database } from '@roster/db';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { FloorStatement } from './floor-server.js';

const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;

/**
 * Runs one call through Roster's own router, on a Kysely configured as
 * `createDb` configures it, and records the SQL it sends: the floor then runs
 * exactly these statements. Only reads (select, with) are kept (a session's occasional
 * last-seen refresh is not part of every request).
 */
export async function captureSql(
  url: string,
  sessionToken: string,
  call: (caller: Caller) => Promise<unknown>,
): Promise<FloorStatement[]> {
  const statements: FloorStatement[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
    log(event) {
      if (event.level === 'query' && /^\s*(select|with)\b/i.test(event.query.sql)) {
        statements.push({ sql: event.query.sql, parameters: [...event.query.parameters] });
      }
    },
  });
  try {
    const caller = createCaller(createContext({ db, sessionToken }));
    await call(caller);
  } finally {
    await db.destroy();
  }
  return statements;
}
