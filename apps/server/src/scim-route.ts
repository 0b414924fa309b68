import {
  ConnectionRateLimiter,
  handleScimRequest,
  type InflightTracker,
  type MailConfig,
  ScimError,
  type ScimResponse,
  scimErrorResponse,
} from '@roster/api';
import type { Database } from '@roster/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';

// The SCIM 2.0 endpoint (RFC 7644) at /scim/v2, for identity providers that
// provision users: Fastify glue around @roster/api's handler. Bodies are
// application/scim+json (application/json is accepted too); every answer,
// refusals of the HTTP layer included, is in SCIM's format, never a stack.

export const scimPrefix = '/scim/v2';

export type ScimRouteOptions = {
  db: Kysely<Database>;
  inflight?: InflightTracker;
  /** Largest request body (default 256 KiB: a user is well under 2 KiB). */
  bodyLimitBytes?: number;
  /** Requests a second one connection may send (SCIM_RATE_LIMIT), with bursts of twice that; 0: unlimited. */
  requestsPerSecond?: number;
  /** Links in invitation mails. */
  mail?: MailConfig;
};

/** The default for SCIM_RATE_LIMIT: well above what Okta or Entra ID send in a full sync, well below what a runaway loop does. */
export const defaultScimRequestsPerSecond = 100;

const scimType = 'application/scim+json; charset=utf-8';

function send(reply: FastifyReply, response: ScimResponse) {
  reply.code(response.status).headers(response.headers).header('cache-control', 'no-store');
  if (response.body === undefined) return reply.send();
  return reply.type(scimType).send(JSON.stringify(response.body));
}

const firstOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;

function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    query[key] = firstOf(value);
  }
  return query;
}

/** JSON bodies as text, parsed here: an empty body is no body, a malformed one a SCIM 400. */
function parseJson(_request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(null, JSON.parse(body));
  } catch {
    done(new ScimError(400, 'The body is not valid JSON.', 'invalidSyntax'));
  }
}

export function registerScimRoute(app: FastifyInstance, options: ScimRouteOptions): void {
  const perSecond = options.requestsPerSecond ?? defaultScimRequestsPerSecond;
  const scimOptions = {
    ...(perSecond > 0 ? { rateLimiter: new ConnectionRateLimiter({ perSecond, burst: 2 * perSecond }) } : {}),
    ...(options.mail ? { mail: options.mail } : {}),
  };
  app.register(async (scope) => {
    // Only JSON bodies: anything else (text/plain, forms) is 415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, parseJson);

    scope.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      if (error instanceof ScimError) return send(reply, scimErrorResponse(error));
      const status = error.statusCode ?? 500;
      if (status === 413) {
        return send(reply, scimErrorResponse(new ScimError(413, 'The request body is too large.')));
      }
      if (status === 415) {
        return send(
          reply,
          scimErrorResponse(new ScimError(415, 'Send SCIM bodies as application/scim+json (or application/json).')),
        );
      }
      if (status >= 400 && status < 500) {
        return send(reply, scimErrorResponse(new ScimError(status, 'The request is not valid.', 'invalidSyntax')));
      }
      request.log.error({ err: error }, 'SCIM request failed');
      return send(
        reply,
        scimErrorResponse(new ScimError(500, 'Something went wrong on our side. It has been logged.')),
      );
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.slice(scimPrefix.length).split('?')[0] ?? '';
      const work = handleScimRequest(
        options.db,
        {
          method: request.method,
          path,
          query: queryOf(request),
          authorization: request.headers.authorization,
          ifMatch: firstOf(request.headers['if-match']),
          body: request.body,
          baseUrl: `${request.protocol}://${request.host}${scimPrefix}`,
        },
        (error) => request.log.error({ err: error }, 'SCIM request failed'),
        scimOptions,
      );
      return send(reply, await (options.inflight ? options.inflight.track(work) : work));
    };
    const routeOptions = { bodyLimit: options.bodyLimitBytes ?? 256 * 1024 };
    scope.all(scimPrefix, routeOptions, handler);
    scope.all(`${scimPrefix}/*`, routeOptions, handler);
  });
}
