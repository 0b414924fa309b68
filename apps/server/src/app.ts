import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import {
  type ApiKeyConfig,
  appRouter,
  createContext,
  createInflightTracker,
  type MailConfig,
  reasonOf,
  retryAfterOf,
  type SessionConfig,
} from '@roster/api';
import type { Database, ReadReplica } from '@roster/db';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type Kysely, sql } from 'kysely';
import pinoPretty from 'pino-pretty';
import { registerExportRoute } from './export-route.js';
import { registerImportRoute } from './import-route.js';
import { createMetrics, hasMetricsToken, type Metrics } from './metrics.js';
import { registerRequestGuards } from './request-guards.js';
import { noteActor, procedureOf, registerRequestLog, requestIdOf } from './request-log.js';
import { registerScimRoute } from './scim-route.js';
import { helmetOptions, securityHeadersOf } from './security-headers.js';
import type { Tracing } from './tracing.js';
import { registerTrpcRoute } from './trpc-route.js';

export const sessionCookieName = 'roster_session';

export type AppOptions = {
  db: Kysely<Database>;
  /**
   * The read replica (DATABASE_READ_URL): list reads go to it when it may serve
   * the caller; /readyz says `degraded` while it cannot. None: everything on `db`.
   */
  replica?: ReadReplica;
  /** Folder of the built SPA; when missing, `/` explains how to build it. */
  webRoot: string;
  sessions: SessionConfig;
  /** API keys' longest lifetime (API_KEY_MAX_DAYS); the default when not given. */
  apiKeys?: ApiKeyConfig;
  /** Links in mails (PUBLIC_URL) and how long invitations work (INVITATION_TTL_HOURS). */
  mail?: MailConfig;
  cookieSecure: 'auto' | 'true' | 'false';
  /**
   * Which proxies' X-Forwarded-* headers to believe: a number of hops (1 behind
   * one proxy) or the proxies' addresses and CIDR ranges. The client address is
   * then the right-most one not trusted. False: no proxy, the socket's address.
   */
  trustProxy?: false | number | readonly string[];
  /**
   * The address people open, e.g. https://roster.example.com: its host name is
   * answered to and its origin is trusted for API calls. Unset: localhost only.
   */
  publicUrl?: string;
  /** Host names answered to besides PUBLIC_URL's and the localhost names (which always are). */
  allowedHosts?: readonly string[];
  logLevel?: string;
  /** Calls in one batched request, at most. */
  maxBatchSize?: number;
  bodyLimitBytes?: number;
  /**
   * Body limit (bytes) of a call that needs no session (sign-in and the other
   * public procedures) or that carries neither a session cookie nor a key (default 16 KiB).
   */
  publicBodyLimitBytes?: number;
  /** Deepest nesting of arrays and objects in an API call's input (default 64). */
  maxJsonDepth?: number;
  /** Longest request URL, path and query (default 8 KiB); longer is 414. */
  maxUrlLength?: number;
  /** Time a client has to send a whole request (default 30 s). */
  requestTimeoutMs?: number;
  /** Browser origins trusted for state-changing calls besides the server's own. */
  allowedOrigins?: readonly string[];
  /**
   * How /trpc is served: `lean` (trpc-route.ts) or `stock`, tRPC's own Fastify
   * adapter for every request. Tests compare the two; production uses lean.
   */
  trpcHandler?: 'lean' | 'stock';
  /** Requests a second one SCIM connection may send (SCIM_RATE_LIMIT; 0: unlimited; default 100). */
  scimRequestsPerSecond?: number;
  /** The metrics this app reports to (main.ts also serves them on METRICS_PORT); by default its own. */
  metrics?: Metrics;
  /** METRICS_TOKEN: `/metrics` on this port for `Authorization: Bearer <token>`; unset, no `/metrics` here. */
  metricsToken?: string;
  /** `pretty`: readable lines for a terminal (pnpm start in one); `json` (default): a JSON object a line. */
  logFormat?: 'json' | 'pretty';
  /**
   * Set `draining` when shutting down: /readyz then answers 503 so a load balancer
   * sends new requests elsewhere, while the ones already here are still answered.
   */
  lifecycle?: { draining: boolean };
  /** OpenTelemetry request spans (OTEL_EXPORTER_OTLP_ENDPOINT); none by default. */
  tracing?: Tracing;
  /** Where log lines go (tests read them); standard output by default. */
  logStream?: NodeJS.WritableStream;
};

const localHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The procedures anyone may call without a session: those whose declared access
 * rule (their meta, packages/api/src/core/access.ts) is `public`. A call naming
 * one of them, or any path that is not a procedure, gets the small body limit.
 * The test `public procedures are the ones that answer without a session`
 * checks the rule against what really answers.
 */
export const publicProcedurePaths: ReadonlySet<string> = new Set(
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { access?: unknown } } }>)
    .filter(([, procedure]) => procedure._def.meta?.access === 'public')
    .map(([path]) => path),
);

const requiresSession = (path: string) =>
  Object.hasOwn(appRouter._def.procedures, path) && !publicProcedurePaths.has(path);

/** Secure cookies everywhere but plain-http localhost, unless configured otherwise. */
function secureCookieFor(request: FastifyRequest, setting: AppOptions['cookieSecure']): boolean {
  if (setting !== 'auto') return setting === 'true';
  return request.protocol === 'https' || !localHosts.has(request.hostname);
}

/** Fastify's form of AppOptions.trustProxy: hops as a function (as Fastify does for a number), addresses as a list. */
function trustProxyOf(
  setting: false | number | readonly string[],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (setting === false || setting === 0) return false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return setting.length ? [...setting] : false;
}

/** Builds the HTTP host: tRPC at /trpc, the SPA at /, health probes. Listening is the caller's choice. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
  const publicBodyLimit = Math.min(options.publicBodyLimitBytes ?? 16 * 1024, bodyLimit);
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : null;
  const hostNames = [...(options.allowedHosts ?? []), ...(publicOrigin ? [new URL(publicOrigin).hostname] : [])];
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      ...(options.logFormat === 'pretty'
        ? {
            stream: pinoPretty({
              translateTime: 'SYS:HH:MM:ss.l',
              ignore: 'pid,hostname',
              singleLine: true,
              destination: options.logStream ?? 1,
            }),
          }
        : options.logStream
          ? { stream: options.logStream }
          : {}),
    },
    // One line per finished request is written by request-log.ts, not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    trustProxy: trustProxyOf(options.trustProxy ?? false),
    bodyLimit: bodyLimit,
    routerOptions: { maxParamLength: 2000 },
    // A slow or stuck client cannot hold a socket forever.
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: 60_000,
  });

  await app.register(fastifyCookie);
  // Security headers on every response, worked out once (helmet builds them per request otherwise).
  const securityHeaders = securityHeadersOf(helmetOptions);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });

  // Metrics are counted only when someone can read them (METRICS_TOKEN here, or METRICS_PORT in main.ts):
  // otherwise counting costs every request for nothing.
  const metrics =
    options.metrics ??
    (options.metricsToken
      ? createMetrics({ db: options.db, pool: () => ({ total: 0, idle: 0, waiting: 0 }), version: 'dev' })
      : null);
  if (metrics && !options.metrics) app.addHook('onClose', async () => metrics.close());
  const procedures: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures));
  options.tracing?.register(app, (request) => procedureOf(request.url.split('?')[0] ?? '', procedures));
  registerRequestLog(app, metrics, procedures);

  registerRequestGuards(app, {
    maxUrlLength: options.maxUrlLength ?? 8192,
    hosts: { names: new Set(hostNames.map((name) => name.toLowerCase())) },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  const metricsToken = options.metricsToken;
  if (metricsToken && metrics) {
    app.get('/metrics', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      if (!hasMetricsToken(request.headers.authorization, metricsToken)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: 'Unauthorized', message: 'Send Authorization: Bearer <METRICS_TOKEN>.' });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  app.get('/readyz', async (_request, reply) => {
    if (options.lifecycle?.draining) {
      return reply.code(503).send({ status: 'draining', message: 'Shutting down: send new requests elsewhere.' });
    }
    try {
      await Promise.race([
        sql`select 1`.execute(options.db),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
      ]);
      // Reads fall back to the primary while the replica cannot serve them: still ready (200), so a load
      // balancer keeps the process, but degraded, with the reason.
      const replica = options.replica?.state();
      if (replica && replica.status !== 'ok') return { status: 'degraded', reason: replica.reason };
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', message: 'The database does not answer.' });
    }
  });

  // close() returns once no client is connected, but a procedure whose client has
  // gone may still be running: the app is closed when those have ended too, so
  // the database is not destroyed under them (main.ts bounds the wait).
  const inflight = createInflightTracker();
  app.addHook('onClose', () => inflight.idle());

  /** The API's context of a request: its session cookie or API key, client address, and cookie setter. */
  const contextOf = (req: FastifyRequest, res: FastifyReply) =>
    createContext({
      db: options.db,
      replica: options.replica ?? null,
      sessionToken: req.cookies[sessionCookieName] ?? null,
      // `Bearer <API key>` for scripts; the logger already redacts this header.
      authorization: req.headers.authorization ?? null,
      clientAddress: req.ip,
      userAgent: req.headers['user-agent'] ?? null,
      sessions: options.sessions,
      apiKeys: options.apiKeys,
      ...(options.mail ? { mail: options.mail } : {}),
      inflight,
      onActor: (actor) => noteActor(req, actor),
      cookies: {
        set(token, expiresAt) {
          res.setCookie(sessionCookieName, token, {
            path: '/',
            httpOnly: true,
            sameSite: 'lax',
            secure: secureCookieFor(req, options.cookieSecure),
            expires: expiresAt,
          });
        },
        clear() {
          res.clearCookie(sessionCookieName, {
            path: '/',
            httpOnly: true,
            sameSite: 'lax',
            secure: secureCookieFor(req, options.cookieSecure),
          });
        },
      },
    });

  const origins = { publicOrigin, trusted: options.allowedOrigins ?? [] };
  registerTrpcRoute(app, '/trpc', {
    router: appRouter,
    maxBatchSize: options.maxBatchSize ?? 20,
    handler: options.trpcHandler ?? 'lean',
    guards: {
      origins,
      maxJsonDepth: options.maxJsonDepth ?? 64,
      // Before a session is checked, a request may cost little: the full limit only for calls that
      // need a session and carry a cookie or key (checked when the procedure runs, before its input is read).
      bodyLimitFor: (request, paths) =>
        (request.cookies[sessionCookieName] !== undefined || request.headers.authorization !== undefined) &&
        paths.length > 0 &&
        paths.every(requiresSession)
          ? bodyLimit
          : publicBodyLimit,
    },
    createContext: contextOf,
    headersFor(errors): Record<string, string> {
      // A rate-limited call says when to come back, in seconds.
      const waits = errors.map(retryAfterOf).filter((s): s is number => s !== undefined);
      return waits.length ? { 'retry-after': String(Math.max(...waits)) } : {};
    },
    onError(error, path, req) {
      const reason = reasonOf(error);
      if (reason === 'TIMEOUT') metrics?.statementTimeout();
      if (path === 'auth.login') metrics?.signIn(reason);
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        req.log.error({ err: error.cause ?? error, path }, 'procedure failed');
      }
    },
  });

  registerScimRoute(app, {
    db: options.db,
    ...(options.mail ? { mail: options.mail } : {}),
    inflight,
    ...(options.scimRequestsPerSecond === undefined ? {} : { requestsPerSecond: options.scimRequestsPerSecond }),
  });
  registerExportRoute(app, {
    origins,
    hasSessionCookie: (request) => request.cookies[sessionCookieName] !== undefined,
    createContext: contextOf,
  });
  registerImportRoute(app, {
    db: options.db,
    origins,
    createContext: contextOf,
    inflight,
  });

  const hasWeb = existsSync(join(options.webRoot, 'index.html'));
  if (hasWeb) {
    await app.register(fastifyStatic, {
      root: options.webRoot,
      wildcard: false,
      index: false,
      setHeaders(reply, path) {
        // Vite fingerprints assets: they never change under one name.
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const wantsPage =
      request.method === 'GET' &&
      !request.url.startsWith('/trpc') &&
      !request.url.startsWith('/assets/') &&
      (request.headers.accept ?? '').includes('text/html');
    if (wantsPage && hasWeb) {
      // Client-side routes: every page URL is the SPA.
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    if (wantsPage) {
      return reply
        .type('text/plain')
        .send('The console is not built yet: run `pnpm start` (or `pnpm build`) from the repository root.');
    }
    return reply.code(404).send({ error: 'Not Found', message: `No route for ${request.method} ${request.url}` });
  });

  return app;
}
