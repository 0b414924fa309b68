import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { hashingQueueLength, liveSessionCount, observeHashing } from '@roster/api';
import type { Database, PoolUse, ReadReplica, ReadRoute } from '@roster/db';
import type { Kysely } from 'kysely';
import client from 'prom-client';

// What the server counts, in Prometheus' text format (prom-client). Served on
// a port of its own (METRICS_PORT, loopback by default) or on the main port
// behind a token (METRICS_TOKEN); with neither, nowhere.

export type MetricsOptions = {
  db: Kysely<Database>;
  /** The database pool now (DbHandle.pool). */
  pool: () => PoolUse;
  version: string;
  /** The read replica (DATABASE_READ_URL), if any: its state, lag, pool and where list reads went. */
  replica?: ReadReplica;
  /** Live sessions are counted at most this often (default 15 s): a scrape must not load the database. */
  sessionCountEveryMs?: number;
};

export type Metrics = {
  registry: client.Registry;
  /** A finished request: its procedure (or route), status and duration. */
  request(procedure: string, status: number, seconds: number): void;
  inflight: client.Gauge;
  /** A sign-in's outcome: `success`, or the refusal's reason (INVALID_CREDENTIALS, LOCKED, …). */
  signIn(outcome: string): void;
  statementTimeout(): void;
  /** Stops reporting password hashing to this registry. */
  close(): void;
};

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'roster_' });

  new client.Gauge({
    name: 'roster_build_info',
    help: 'Always 1; the labels say which Roster and which Node.js run.',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: options.version, node: process.version }, 1);

  const duration = new client.Histogram({
    name: 'roster_request_duration_seconds',
    help: 'Time from a request’s arrival to its answer, by procedure (or route) and HTTP status.',
    labelNames: ['procedure', 'status'],
    buckets: durationBuckets,
    registers: [registry],
  });
  const inflight = new client.Gauge({
    name: 'roster_requests_in_flight',
    help: 'Requests being answered now.',
    registers: [registry],
  });
  new client.Gauge({
    name: 'roster_db_pool_connections',
    help: 'Database connections by state: total open, idle, and callers waiting for one.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const use = options.pool();
      this.set({ state: 'total' }, use.total);
      this.set({ state: 'idle' }, use.idle);
      this.set({ state: 'waiting' }, use.waiting);
    },
  });
  const timeouts = new client.Counter({
    name: 'roster_statement_timeouts_total',
    help: 'Statements the database cancelled at STATEMENT_TIMEOUT_MS.',
    registers: [registry],
  });
  const signIns = new client.Counter({
    name: 'roster_sign_ins_total',
    help: 'Sign-ins by outcome: success, or the reason of the refusal.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new client.Gauge({
    name: 'roster_password_hash_queue_length',
    help: 'Password hashes and checks waiting for a hashing thread.',
    registers: [registry],
    collect() {
      this.set(hashingQueueLength());
    },
  });
  const hashing = new client.Histogram({
    name: 'roster_password_hash_seconds',
    help: 'Password hashing jobs (check: sign-in; hash: a new password): time waiting for a thread, and running.',
    labelNames: ['lane', 'phase'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  observeHashing((lane, waitedMs, ranMs) => {
    hashing.observe({ lane, phase: 'wait' }, waitedMs / 1000);
    hashing.observe({ lane, phase: 'run' }, ranMs / 1000);
  });

  const sessionEvery = options.sessionCountEveryMs ?? 15_000;
  let sessions = { value: 0, at: Number.NEGATIVE_INFINITY };
  new client.Gauge({
    name: 'roster_sessions_live',
    help: 'Sessions not yet expired, all organizations (counted at most every 15 s).',
    registers: [registry],
    async collect() {
      if (performance.now() - sessions.at >= sessionEvery) {
        try {
          sessions = { value: await liveSessionCount(options.db), at: performance.now() };
        } catch {
          // The database is away: the last count stands (readyz says the rest).
        }
      }
      this.set(sessions.value);
    },
  });

  if (options.replica) registerReplicaMetrics(registry, options.replica);

  // One child per procedure and status, found by a map lookup: labelling each observation anew
  // (sorting and joining its labels) costs more than the observation.
  const durationOf = new Map<string, client.Histogram.Internal<'procedure' | 'status'>>();
  return {
    registry,
    request(procedure, status, seconds) {
      const key = `${procedure} ${status}`;
      let child = durationOf.get(key);
      if (!child) {
        child = duration.labels({ procedure, status: String(status) });
        durationOf.set(key, child);
      }
      child.observe(seconds);
    },
    inflight,
    signIn(outcome) {
      signIns.inc({ outcome });
    },
    statementTimeout() {
      timeouts.inc();
    },
    close() {
      observeHashing(null);
    },
  };
}

/** The read replica's metrics: read from its monitor when scraped, so a read only adds one to a number. */
function registerReplicaMetrics(registry: client.Registry, replica: ReadReplica) {
  new client.Gauge({
    name: 'roster_replica_up',
    help: 'Whether list reads may go to the read replica now (1), or all go to the primary (0: down, lagging or not yet checked).',
    registers: [registry],
    collect() {
      this.set(replica.state().status === 'ok' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'roster_replica_lag_seconds',
    help: 'How far the read replica was behind the primary at its last check (NaN when it did not answer).',
    registers: [registry],
    collect() {
      const { lagMs } = replica.state();
      this.set(lagMs === null ? Number.NaN : lagMs / 1000);
    },
  });
  new client.Counter({
    name: 'roster_replica_reads_total',
    help: 'List reads by route: replica; or the primary because the caller had just written (recent_write), the replica was down or lagging (unavailable), or the read failed on the replica and ran again on the primary (failed).',
    labelNames: ['route'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, count] of Object.entries(replica.reads()) as Array<[ReadRoute, number]>) {
        this.inc({ route }, count);
      }
    },
  });
  new client.Gauge({
    name: 'roster_replica_pool_connections',
    help: 'Read replica connections by state: total open, idle, and callers waiting for one.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const use = replica.pool();
      this.set({ state: 'total' }, use.total);
      this.set({ state: 'idle' }, use.idle);
      this.set({ state: 'waiting' }, use.waiting);
    },
  });
}

/** Whether `authorization` is `Bearer <token>` for this token, compared in constant time. */
export function hasMetricsToken(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `/metrics` on a port of its own (METRICS_PORT), nothing else; started and stopped by main.ts. */
export function serveMetrics(metrics: Metrics, host: string, port: number): Promise<Server> {
  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' || (request.url ?? '/').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics here.\n');
      return;
    }
    try {
      const body = await metrics.registry.metrics();
      response.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
      response.end(body);
    } catch {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics failed.\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
