// The floor: the SQL that Roster runs for a request, served by a bare node:http
// handler on a pg Pool of the same size, with nothing else (no framework, no
// validation, no serializer but JSON.stringify). Started by main.ts as its own
// process: `floor-server.ts <port> <config.json>`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import pg from 'pg';

/** A statement and its values; with a name, sent as a named prepared statement (as Roster sends it). */
export type FloorStatement = { sql: string; parameters: unknown[]; name?: string };
export type FloorConfig = {
  databaseUrl: string;
  poolSize: number;
  statementTimeoutMs: number;
  /** Path (e.g. "/users.get") -> the statements to run, in order; the last one's rows are the answer. */
  routes: Record<string, FloorStatement[]>;
};

const [portArg, configPath] = process.argv.slice(2);
if (!portArg || !configPath) throw new Error('usage: floor-server.ts <port> <config.json>');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as FloorConfig;

const pool = new pg.Pool({
  connectionString: config.databaseUrl,
  max: config.poolSize,
  statement_timeout: config.statementTimeoutMs,
});
pool.on('error', () => {});

const server = createServer(async (request, response) => {
  const path = request.url ?? '/';
  if (path === '/ready') {
    response.end('ok');
    return;
  }
  const statements = config.routes[path];
  if (!statements) {
    response.statusCode = 404;
    response.end();
    return;
  }
  try {
    let rows: unknown[] = [];
    for (const statement of statements) {
      rows = (
        await pool.query(
          statement.name
            ? { name: statement.name, text: statement.sql, values: statement.parameters }
            : { text: statement.sql, values: statement.parameters },
        )
      ).rows;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(rows));
  } catch (error) {
    response.statusCode = 500;
    response.end(String(error));
  }
});

server.keepAliveTimeout = 60_000;
server.listen(Number(portArg), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
