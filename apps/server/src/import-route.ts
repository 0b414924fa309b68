import {
  type Actor,
  AppError,
  assertAccess,
  authenticate,
  type Context,
  type InflightTracker,
  importMaxBytes,
  mapDatabaseError,
  previewUserImport,
  reasonOf,
} from '@roster/api';
import type { Database } from '@roster/db';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { readBoundedBody } from './bounded-body.js';
import { browserCallRefusal, type OriginPolicy, refuse } from './request-guards.js';

// POST /import/users?accountId=<id>&fileName=<name>: a CSV file (text/csv, at
// most 20 MB) previewed into an account. The file is the body as it is, not
// JSON: no 20 MB string inside a JSON document, no escaping. The same guards as
// /trpc's state-changing calls (own Origin only, one media type a cross-site form
// cannot send, no caching) and the same session-or-API-key authentication,
// administrators only, all checked before a byte of the body is read. The
// answer is JSON: { import: { id, accountId, summary, expiresAt } }, or
// { error: { code, reason, message } } with the HTTP status of the code.

export const importRoute = '/import/users';

export type ImportRouteOptions = {
  db: Kysely<Database>;
  origins: OriginPolicy;
  /** The request's context, as /trpc builds it (session cookie or Authorization header). */
  createContext(request: FastifyRequest, reply: FastifyReply): Context;
  inflight?: InflightTracker;
  /** Largest file accepted (default 20 MB, importMaxBytes); more is 413. */
  maxBytes?: number;
};

const actors = new WeakMap<FastifyRequest, Actor>();

function sendError(reply: FastifyReply, error: TRPCError) {
  const status = getHTTPStatusCodeFromError(error);
  const message =
    error.code === 'INTERNAL_SERVER_ERROR'
      ? 'Something went wrong on our side. It has been logged; try again, and tell your administrator if it persists.'
      : error.message;
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: { code: error.code, reason: reasonOf(error), message } }));
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerImportRoute(app: FastifyInstance, options: ImportRouteOptions): void {
  const limit = options.maxBytes ?? importMaxBytes;
  const tooLarge = () =>
    new AppError(
      'IMPORT_TOO_LARGE',
      `The file is larger than ${limit / 1024 / 1024} MB (${limit.toLocaleString('en')} bytes), the most an import takes. Split it into smaller files.`,
    );

  /** Reads the body as bytes, refusing at once from Content-Length, else as soon as it passes the limit. */
  function readCsv(
    request: FastifyRequest,
    payload: NodeJS.ReadableStream,
    done: (error: Error | null, body?: Buffer) => void,
  ) {
    readBoundedBody(
      request,
      payload,
      {
        limit,
        tooLarge,
        wrongLength: () => new AppError('INVALID_INPUT', 'The body is not as long as its Content-Length.'),
      },
      done,
    );
  }

  /** Before the body: no caching, the browser checks, then who is calling (an active administrator). */
  async function guard(request: FastifyRequest, reply: FastifyReply) {
    reply.header('cache-control', 'no-store');
    if (request.method !== 'POST') {
      return refuse(reply.header('allow', 'POST'), {
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `Upload the file with POST, not ${request.method}.`,
      });
    }
    const refusal = browserCallRefusal(request, options.origins, 'text/csv');
    if (refusal) return refuse(reply, refusal);
    const actor = await authenticate(options.createContext(request, reply));
    if (!actor) return sendError(reply, new AppError('UNAUTHENTICATED', 'Sign in to continue.'));
    // users.create's rule: administrators, and account administrators into their own account
    // (previewUserImport refuses another account as NOT_FOUND, and role changes row by row).
    try {
      assertAccess(actor, 'accountManage');
    } catch (error) {
      return sendError(reply, error as AppError);
    }
    actors.set(request, actor);
  }

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('text/csv', readCsv);
    scope.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      if (error instanceof TRPCError) return sendError(reply, error);
      if (error.statusCode === 413) return sendError(reply, tooLarge());
      if (error.statusCode !== undefined && error.statusCode < 500) {
        return sendError(reply, new AppError('INVALID_INPUT', error.message));
      }
      request.log.error({ err: error }, 'import failed');
      return sendError(reply, new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'failed' }));
    });

    scope.all(importRoute, { onRequest: guard, bodyLimit: limit + 1 }, async (request, reply) => {
      const actor = actors.get(request);
      if (!actor) throw new Error('the import route ran without its guard');
      const query = request.query as Record<string, unknown>;
      const accountId = typeof query.accountId === 'string' ? query.accountId : '';
      if (!uuid.test(accountId)) {
        return sendError(reply, new AppError('INVALID_INPUT', 'Give the account as ?accountId=<id>.'));
      }
      const fileName = typeof query.fileName === 'string' ? query.fileName : null;
      const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const run = previewUserImport(options.db, actor, { accountId, fileName, bytes });
      try {
        const preview = await (options.inflight ? options.inflight.track(run) : run);
        return reply.type('application/json; charset=utf-8').send(JSON.stringify({ import: preview }));
      } catch (error) {
        const mapped = mapDatabaseError(error);
        if (mapped) return sendError(reply, mapped);
        throw error;
      }
    });
  });
}
