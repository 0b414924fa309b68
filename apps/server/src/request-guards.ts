import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type RequestGuardOptions = {
  /** Longest request target (path and query) accepted; longer is 414. */
  maxUrlLength: number;
  /** Origins trusted besides the server's own, e.g. the Vite dev server that proxies /trpc. */
  allowedOrigins: readonly string[];
};

/** HSTS for a year, sent only on responses that went out over HTTPS (browsers ignore it on http). */
const hstsValue = 'max-age=31536000; includeSubDomains';

const trpcPrefix = '/trpc';

function isTrpc(url: string): boolean {
  return url === trpcPrefix || url.startsWith(`${trpcPrefix}/`) || url.startsWith(`${trpcPrefix}?`);
}

type Refusal = { statusCode: number; error: string; message: string };

function refuse(reply: FastifyReply, refusal: Refusal) {
  return reply.code(refusal.statusCode).type('application/json; charset=utf-8').send(refusal);
}

/** This server's origin as the browser names it: scheme, host and port (behind a trusted proxy, the proxy's). */
function ownOrigin(request: FastifyRequest): string | null {
  try {
    return new URL(`${request.protocol}://${request.host}`).origin;
  } catch {
    return null;
  }
}

function trustedOrigin(origin: string, request: FastifyRequest, allowed: readonly string[]): boolean {
  const own = ownOrigin(request);
  try {
    const normalized = new URL(origin).origin;
    return normalized === own || allowed.includes(normalized);
  } catch {
    // "null" (sandboxed frames, file: pages) and anything unparsable is not us.
    return false;
  }
}

/**
 * Why a state-changing call is refused, or null when it may go on.
 *
 * Only `application/json`: a cross-site HTML form can send text/plain,
 * urlencoded or multipart bodies without a preflight, never JSON. And the
 * Origin, when a browser sends one, must be this server's own; a request
 * without Origin comes from a non-browser client (curl, the CLI, API keys),
 * which holds no administrator's cookie by accident. Sec-Fetch-Site covers the
 * odd browser request that omits Origin.
 */
function refusalOf(request: FastifyRequest, allowedOrigins: readonly string[]): Refusal | null {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return {
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'Send API calls as application/json.',
    };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !trustedOrigin(origin, request, allowedOrigins)) {
    return {
      statusCode: 403,
      error: 'Forbidden',
      message: 'Cross-site requests are refused: call the API from this server’s own pages or without an Origin.',
    };
  }
  const site = request.headers['sec-fetch-site'];
  if (origin === undefined && (site === 'cross-site' || site === 'same-site')) {
    return { statusCode: 403, error: 'Forbidden', message: 'Cross-site requests are refused.' };
  }
  return null;
}

/**
 * The checks every request passes before any body is read or any procedure
 * runs: URL length, and for state-changing tRPC calls (POST) the media type and
 * origin. Also stamps the response headers that depend on the request: HSTS
 * over HTTPS only, and no caching of API answers (they carry personal data).
 */
export function registerRequestGuards(app: FastifyInstance, options: RequestGuardOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.protocol === 'https') reply.header('strict-transport-security', hstsValue);
    if (request.url.length > options.maxUrlLength) {
      return refuse(reply, {
        statusCode: 414,
        error: 'URI Too Long',
        message: `The request address is longer than ${options.maxUrlLength} characters.`,
      });
    }
    if (!isTrpc(request.url)) return;
    reply.header('cache-control', 'no-store');
    if (request.method === 'POST') {
      const refusal = refusalOf(request, options.allowedOrigins);
      if (refusal) return refuse(reply, refusal);
    }
  });
}
