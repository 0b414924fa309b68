import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Actor } from '@roster/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics.js';

// One log line per finished request, and its metrics: request id, procedure,
// status, duration, and who asked. Never the query string (a GET's input),
// cookies, tokens or bodies: only what is named here is written.

/** An incoming X-Request-Id is kept when it is a plain token of up to 128 characters; otherwise one is made. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
}

/** Probes and scrapes: logged at debug, so they do not drown the log at info. */
const quietPaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * What a request was, for the metrics' label and the log: a procedure's name
 * (`users.search`), `batch` for several, or the route (`scim`, `page`, …). The
 * set is bounded: unknown procedure names are `unknown`.
 */
export function procedureOf(path: string, procedures: ReadonlySet<string>): string {
  if (path.startsWith('/trpc/')) {
    const names = path.slice('/trpc/'.length).split(',');
    if (names.length > 1) return names.every((name) => procedures.has(name)) ? 'batch' : 'unknown';
    return procedures.has(names[0] ?? '') ? (names[0] as string) : 'unknown';
  }
  if (path === '/scim/v2' || path.startsWith('/scim/v2/')) return 'scim';
  if (path === '/export/users.csv') return 'users.export';
  if (path === '/import/users') return 'users.import';
  if (quietPaths.has(path)) return path.slice(1);
  if (path.startsWith('/assets/')) return 'asset';
  return 'page';
}

type Caller = { actorId: string; organizationId: string; via: Actor['via'] };

/** Who each request turned out to be, once a procedure authenticated it. */
const callers = new WeakMap<FastifyRequest, Caller>();

export function noteActor(request: FastifyRequest, actor: Actor): void {
  callers.set(request, { actorId: actor.id, organizationId: actor.organizationId, via: actor.via });
}

const pathOf = (url: string) => {
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
};

/** pino's levels by name: a line is written when its level is at least the logger's. */
const levelValues: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * The request id header, and after each request its metrics (when counted) and its log line (when the
 * level writes it). With neither, nothing runs after the request: a benchmark at warn pays for none of it.
 */
export function registerRequestLog(
  app: FastifyInstance,
  metrics: Metrics | null,
  procedures: ReadonlySet<string>,
): void {
  const writes = (level: 'info' | 'debug') => (levelValues[level] ?? 0) >= (levelValues[app.log.level] ?? 30);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    metrics?.inflight.inc();
    done();
  });
  if (!metrics && !writes('debug') && !writes('info')) return;
  app.addHook('onResponse', (request, reply, done) => {
    metrics?.inflight.dec();
    const path = pathOf(request.url);
    const procedure = procedureOf(path, procedures);
    if (metrics) {
      metrics.request(procedure, reply.statusCode, reply.elapsedTime / 1000);
      if (procedure === 'auth.login' && reply.statusCode === 200) metrics.signIn('success');
    }
    // The line is only built when it will be written (a benchmark runs at warn).
    const level = quietPaths.has(path) ? 'debug' : 'info';
    if (writes(level)) {
      const caller = callers.get(request);
      const line = {
        method: request.method,
        path: path.length > 200 ? `${path.slice(0, 200)}…` : path,
        procedure,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        ...(caller ?? {}),
      };
      request.log[level](line, 'request');
    }
    done();
  });
}
