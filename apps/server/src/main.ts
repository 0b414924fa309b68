import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import {
  bootstrapInstallation,
  createSmtpTransport,
  defaultMailConfig,
  generatePassword,
  startBulkWorker,
  startMailWorker,
  startSweeper,
} from '@roster/api';
import { createDb, createReadReplica, migrateToLatest, type ReplicaState } from '@roster/db';
import { buildApp } from './app.js';
import { readEnv } from './env.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { startTracing } from './tracing.js';

const env = readEnv();
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
// Traces only when a collector is named: otherwise OpenTelemetry is not even loaded.
const tracing = env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? await startTracing({ endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME, version })
  : undefined;
const handle = createDb({
  ...(tracing ? { onQuery: tracing.onQuery } : {}),
  url: env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  poolSize: env.DB_POOL_SIZE,
  statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
  preparedStatements: env.DB_PREPARED_STATEMENTS,
});

const { db } = handle;
if (env.DATABASE_DIRECT_URL) {
  // Behind a pooler, schema changes go over a direct connection, as managed providers advise.
  const direct = createDb({ url: env.DATABASE_DIRECT_URL, poolSize: 1, statementTimeoutMs: 600_000 });
  try {
    await migrateToLatest(direct.db);
  } finally {
    await direct.db.destroy();
  }
} else {
  await migrateToLatest(db);
}

let logReplica = (_state: ReplicaState, _previous: ReplicaState) => {};
// List reads on a replica, when one is named: a pool of its own, checked in the background.
const replica = env.DATABASE_READ_URL
  ? createReadReplica({
      ...(tracing ? { onQuery: tracing.onQuery } : {}),
      primary: db,
      url: env.DATABASE_READ_URL,
      maxLagMs: env.REPLICA_MAX_LAG_MS,
      poolSize: env.DB_POOL_SIZE,
      statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
      preparedStatements: env.DB_PREPARED_STATEMENTS,
      onChange: (state, previous) => logReplica(state, previous),
    })
  : undefined;
if (replica) await replica.check();

const adminPassword = env.ROSTER_ADMIN_PASSWORD ?? generatePassword();
const created = await bootstrapInstallation(db, {
  name: env.ROSTER_ORG_NAME,
  adminEmail: env.ROSTER_ADMIN_EMAIL,
  adminPassword,
});
if (created) {
  // Printed once, on the start that created the installation; never logged again.
  const lines = [
    '',
    `  Created organization "${created.organization.name}" with its first administrator.`,
    `  Sign in as: ${created.admin.email}`,
    env.ROSTER_ADMIN_PASSWORD
      ? '  Password:   the one in ROSTER_ADMIN_PASSWORD'
      : `  Password:   ${adminPassword}   (generated; shown only now)`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const sessions = {
  idleTimeoutMs: env.SESSION_IDLE_MINUTES * 60_000,
  absoluteTimeoutMs: env.SESSION_ABSOLUTE_HOURS * 3_600_000,
  maxSignInsPerEmail: env.SIGN_IN_EMAIL_LIMIT,
};
// Links in mails open the console at PUBLIC_URL (or where this server listens, on this machine).
const mail = {
  linkBase: env.PUBLIC_URL ?? `http://${['0.0.0.0', '::'].includes(env.HOST) ? 'localhost' : env.HOST}:${env.PORT}`,
  invitationTtlMs: env.INVITATION_TTL_HOURS * 3_600_000,
  resetTtlMs: defaultMailConfig.resetTtlMs,
  resetAnswerMs: defaultMailConfig.resetAnswerMs,
};
// Counted only when they can be read: on METRICS_PORT, or on the main port with METRICS_TOKEN.
const metrics =
  env.METRICS_PORT || env.METRICS_TOKEN
    ? createMetrics({ db, pool: handle.pool, version, ...(replica ? { replica } : {}) })
    : undefined;
const lifecycle = { draining: false };
const app = await buildApp({
  db,
  ...(replica ? { replica } : {}),
  ...(metrics ? { metrics } : {}),
  lifecycle,
  ...(tracing ? { tracing } : {}),
  ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
  logFormat: env.LOG_FORMAT === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : env.LOG_FORMAT,
  webRoot: env.WEB_DIST,
  sessions,
  apiKeys: { maxLifetimeMs: env.API_KEY_MAX_DAYS * 86_400_000 },
  mail,
  cookieSecure: env.COOKIE_SECURE,
  trustProxy: env.TRUST_PROXY,
  ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
  allowedHosts: env.ALLOWED_HOSTS,
  allowedOrigins: env.ALLOWED_ORIGINS,
  scimRequestsPerSecond: env.SCIM_RATE_LIMIT,
  logLevel: env.LOG_LEVEL,
});

// The replica's changes of state, in the log: reads leaving it (and why), and coming back.
logReplica = (state, previous) => {
  if (state.status === 'ok') app.log.info({ previous: previous.status }, 'read replica serving reads');
  else
    app.log.warn({ status: state.status, reason: state.reason, error: state.detail }, 'list reads go to the primary');
};
const replicaAtStart = replica?.state();
if (replicaAtStart && replicaAtStart.status !== 'ok') logReplica(replicaAtStart, replicaAtStart);

// Expired sessions and spent sign-in limits, deleted every few minutes (safe with several servers on one database).
const sweeper = startSweeper(db, {
  idleTimeoutMs: sessions.idleTimeoutMs,
  onError: (error) => app.log.warn({ err: error }, 'sweeping expired sign-in data failed'),
});

// Bulk actions on users, applied in the background: queued ones, and those a stopped server left unfinished.
const bulkWorker = startBulkWorker(db, {
  onError: (error) => app.log.warn({ err: error }, 'a bulk action batch failed'),
});

// Mail, sent from the outbox in the background (with several servers, each mail by one of them). Without
// SMTP_URL it stays in the outbox and its link is logged once (`roster mail list` shows it again).
const mailWorker = startMailWorker(
  db,
  env.SMTP_URL ? createSmtpTransport({ url: env.SMTP_URL, from: env.MAIL_FROM }) : null,
  {
    onLogged: (queued) =>
      app.log.info(
        { mailId: queued.id, kind: queued.kind, to: queued.toAddress },
        `mail not sent (no SMTP_URL): ${queued.subject} to ${queued.toAddress}${queued.link ? `; link: ${queued.link}` : ''}`,
      ),
    onError: (error) => app.log.warn({ err: error }, 'sending mail failed'),
  },
);

let metricsServer: Server | null = null;
let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  // First /readyz says "draining" while everything is still answered, for SHUTDOWN_DELAY_MS, so a load
  // balancer's health checks take this process out of rotation before it stops listening.
  lifecycle.draining = true;
  app.log.info({ signal, delayMs: env.SHUTDOWN_DELAY_MS }, 'draining requests');
  if (env.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, env.SHUTDOWN_DELAY_MS));
  const force = setTimeout(() => {
    app.log.error('requests did not drain within 10 s; exiting');
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    // Resolves once procedures of clients that have gone have ended too (app.ts),
    // so the database is not destroyed under them; the timer above bounds the wait.
    await app.close();
    metricsServer?.close();
    await sweeper.stop();
    await bulkWorker.stop();
    await replica?.close();
    await mailWorker.stop();
    await db.destroy();
    await tracing?.shutdown();
  } finally {
    clearTimeout(force);
  }
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

// The address bound, not the one asked for: PORT=0 picks a free port.
const address = await app.listen({ host: env.HOST, port: env.PORT });
app.log.info(
  `Roster is serving on ${address} (database: ${handle.location}${replica ? `; list reads on the replica at ${new URL(env.DATABASE_READ_URL ?? '').host}` : ''})`,
);
// Metrics on a port of their own, loopback unless METRICS_HOST says otherwise; none without METRICS_PORT.
metricsServer = metrics && env.METRICS_PORT ? await serveMetrics(metrics, env.METRICS_HOST, env.METRICS_PORT) : null;
if (metricsServer) app.log.info(`Metrics at http://${env.METRICS_HOST}:${env.METRICS_PORT}/metrics`);
