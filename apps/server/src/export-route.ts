// GET /export/users.csv: the CSV of a users search, streamed. tRPC answers
// with one JSON value, so a file of a million rows has a route of its own. All
// it decides is in @roster/api (users/export.ts: who may, the filters, the
// rows, the audit row); this is the HTTP glue: the download guard, headers,
// refusals as JSON, and sending the stream, which Fastify pipes with
// backpressure and destroys when the client goes away.
import { type Context, reasonOf, startUserExport } from '@roster/api';
import { usersExportPath } from '@roster/api/schemas';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { getTRPCErrorFromUnknown } from '@trpc/server/unstable-core-do-not-import';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { downloadRefusal, type OriginPolicy, refuse } from './request-guards.js';

export type ExportRouteOptions = {
  origins: OriginPolicy;
  /** Whether the request carries a session cookie (the download guard is stricter then). */
  hasSessionCookie(request: FastifyRequest): boolean;
  createContext(request: FastifyRequest, reply: FastifyReply): Context;
};

const statusText: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function fieldErrorsOf(cause: unknown): Record<string, string[]> | null {
  if (!(cause instanceof ZodError)) return null;
  const fields: Record<string, string[]> = {};
  for (const issue of cause.issues) {
    const key = issue.path.map(String).join('.') || '_';
    fields[key] = [...(fields[key] ?? []), issue.message];
  }
  return fields;
}

export function registerExportRoute(app: FastifyInstance, options: ExportRouteOptions): void {
  async function guard(request: FastifyRequest, reply: FastifyReply) {
    // Personal data: no cache keeps it, the answer or a refusal.
    reply.header('cache-control', 'no-store');
    if (request.method !== 'GET') {
      return refuse(reply.header('allow', 'GET'), {
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `Download the export with GET, not ${request.method}.`,
      });
    }
    const refusal = downloadRefusal(request, options.origins, options.hasSessionCookie(request));
    if (refusal) return refuse(reply, refusal);
  }

  // HEAD too would run the export (and audit it): only GET does; every other method is 405 before any body is read.
  app.route({
    method: ['HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: usersExportPath,
    onRequest: guard,
    handler: async () => undefined,
  });
  app.route({
    method: 'GET',
    url: usersExportPath,
    exposeHeadRoute: false,
    onRequest: guard,
    handler: async (request, reply) => {
      const search = request.url.indexOf('?');
      const params = new URLSearchParams(search === -1 ? '' : request.url.slice(search + 1));
      let run: Awaited<ReturnType<typeof startUserExport>>;
      try {
        run = await startUserExport(options.createContext(request, reply), params);
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        const status = getHTTPStatusCodeFromError(error);
        const internal = status >= 500 && error.code === 'INTERNAL_SERVER_ERROR';
        if (internal) request.log.error({ err: error.cause ?? error }, 'users export failed');
        // Too many exports at once: a script is told when to come back, as every other 429 does.
        if (status === 429) reply.header('retry-after', '5');
        return refuse(reply, {
          statusCode: status,
          error: statusText[status] ?? 'Error',
          message: internal
            ? 'Something went wrong on our side. It has been logged; try again, and tell your administrator if it persists.'
            : error.message,
          ...{ code: error.code, reason: reasonOf(error), fieldErrors: fieldErrorsOf(error.cause) },
        });
      }
      run.stream.on('error', (error) => request.log.error({ err: error }, 'users export stopped'));
      run.finished.then(
        ({ rows, complete }) => request.log.info({ rows, complete }, 'users export ended'),
        (error: unknown) => request.log.error({ err: error }, 'users export: the audit row was not written'),
      );
      return reply
        .code(200)
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${run.filename}"`)
        .header('x-content-type-options', 'nosniff')
        .send(run.stream);
    },
  });
}
