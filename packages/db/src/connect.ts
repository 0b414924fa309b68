import { mkdirSync } from 'node:fs';
import { CamelCasePlugin, Kysely, type KyselyConfig, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { statementNameOf } from './prepared.js';
import type { Database } from './schema.js';
import { SerializedDialect } from './serialized-dialect.js';

export type CreateDbOptions = {
  /** A postgres:// URL. When absent, an embedded PGlite database is used. */
  url?: string | undefined;
  /** Where PGlite keeps its files; `undefined` with no url keeps it in memory. */
  dataDir?: string | undefined;
  /** Pool size for a real server (default 10). */
  poolSize?: number;
  /** Per-statement limit in milliseconds, so one bad query cannot hold a connection. */
  statementTimeoutMs?: number;
  /**
   * PGlite only: start from this dump of a data directory (`dumpDataDir()`)
   * instead of running initdb, which is most of PGlite's start-up (tests use a
   * migrated template this way).
   */
  loadDataDir?: Blob | undefined;
  /**
   * Send preparedQuery's statements as named prepared statements (default true).
   * False behind a pooler in transaction mode (PgBouncer before 1.21), where a
   * statement prepared on one server connection is unknown on the next.
   */
  preparedStatements?: boolean;
  /** Told of every statement after it ran: its SQL (placeholders, never values) and time (the server's tracing). */
  onQuery?: (query: QueryEvent) => void;
};

export type QueryEvent = { sql: string; durationMs: number; failed: boolean };

export type DbHandle = {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  /** A human description of where the data lives (never includes a password). */
  location: string;
  /** Connections now: open, idle, and callers waiting for one (embedded: its one connection). */
  pool(): PoolUse;
};

export type PoolUse = { total: number; idle: number; waiting: number };

// int8 (count(*)) as a JS number: our counts stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

/**
 * Sends preparedQuery's statements under their names, so this connection
 * parses and plans each of them once (pg prepares a name on first use, and
 * again on a new connection). Kysely calls `query(text, values)`; every other
 * call passes through unchanged.
 */
function prepareNamedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const named = (...args: unknown[]) => {
    const [text, values] = args;
    const name =
      typeof text === 'string' && Array.isArray(values) && args.length === 2 ? statementNameOf(text) : undefined;
    return name ? query({ name, text, values }) : query(...args);
  };
  client.query = named as typeof client.query;
}

/**
 * Builds Kysely over node-postgres when `url` is given, else over embedded PGlite.
 * PGlite has a single connection, so its dialect is wrapped to run one
 * transaction (or statement) at a time.
 */
export function createDb(options: CreateDbOptions = {}): DbHandle {
  const plugins = [new CamelCasePlugin()];
  const onQuery = options.onQuery;
  // Only with a listener: without one Kysely times nothing.
  const log: KyselyConfig['log'] = onQuery
    ? (event) =>
        onQuery({ sql: event.query.sql, durationMs: event.queryDurationMillis, failed: event.level === 'error' })
    : undefined;
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 2_000,
    });
    // A client losing its server must not crash the process. The pool listens on
    // idle clients only; a checked-out client between two statements (inside a
    // transaction) would emit an unhandled 'error' when the server goes away.
    // The failure still reaches the caller through its next query, and the pool
    // drops the broken client when it is released.
    pool.on('error', () => {});
    const named = options.preparedStatements ?? true;
    pool.on('connect', (client) => {
      client.on('error', () => {});
      if (named) prepareNamedStatements(client);
    });
    const url = new URL(options.url);
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins, ...(log ? { log } : {}) }),
      kind: 'postgres',
      location: `postgres://${url.host}${url.pathname}`,
      pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    };
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = async () => {
    const instance = await openPglite(options.dataDir, options.loadDataDir);
    await instance.exec(`SET statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
    return instance;
  };
  const dialect = new SerializedDialect(new PGliteDialect({ pglite }));
  return {
    db: new Kysely<Database>({ dialect, plugins, ...(log ? { log } : {}) }),
    pool: () => ({ total: 1, idle: dialect.use.held ? 0 : 1, waiting: dialect.use.waiting }),
    kind: 'pglite',
    location: options.dataDir ? `embedded (${options.dataDir})` : 'embedded (in memory)',
  };
}

/**
 * An embedded PGlite instance with the extensions Roster's migrations use, in
 * `dataDir` (or in memory), optionally started from a dump instead of initdb.
 */
export async function openPglite(dataDir: string | undefined, loadDataDir?: Blob) {
  // Loaded only when used: PGlite's module alone adds ~40 MB to a server on Postgres.
  const [{ PGlite }, { pg_trgm }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
  ]);
  return PGlite.create(dataDir, { extensions: { pg_trgm }, ...(loadDataDir ? { loadDataDir } : {}) });
}
