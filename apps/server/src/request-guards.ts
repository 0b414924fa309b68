import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type HostPolicy = {
  /**
   * Host names (no port) the server answers to besides the localhost names,
   * lower case: PUBLIC_URL's and ALLOWED_HOSTS'. Empty: localhost only.
   */
  names: ReadonlySet<string>;
};

export type RequestGuardOptions = {
  /** Longest request target (path and query) accepted; longer is 414. */
  maxUrlLength: number;
  hosts: HostPolicy;
};

/** HSTS for a year, sent only on responses that went out over HTTPS (browsers ignore it on http). */
const hstsValue = 'max-age=31536000; includeSubDomains';

/** Names a browser only sends for pages it loaded from this machine: never a rebinding attacker's. */
export const localHostNames: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Routes a load balancer or orchestrator probes by whatever address it knows the server by. */
const hostExemptRoutes = new Set(['/healthz', '/readyz']);

export type Refusal = { statusCode: number; error: string; message: string };

/** Answers with a refusal, which no cache keeps. */
export function refuse(reply: FastifyReply, refusal: Refusal) {
  return reply
    .code(refusal.statusCode)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(refusal);
}

/** `name` or `name:port`, where name is a DNS name or an IPv4 or bracketed IPv6 address; lower case. */
const hostPattern = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::\d{1,5})?$/;

/** The host name of a Host value without its port, or null when it is not a plain host[:port]. */
export function hostNameOf(host: string): string | null {
  return hostPattern.exec(host.toLowerCase())?.[1] ?? null;
}

/**
 * The authority of an absolute-form request target (`POST http://host/path`),
 * which a server must use instead of the Host header; undefined for the usual
 * origin-form (`/path`), null when unparsable.
 */
function absoluteTargetHost(url: string): string | null | undefined {
  if (url.startsWith('/') || url === '*') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function hostAllowed(host: string | null | undefined, policy: HostPolicy): boolean {
  const name = host ? hostNameOf(host) : null;
  return name !== null && (localHostNames.has(name) || policy.names.has(name));
}

/**
 * Why this Host is refused, or null. A DNS-rebinding page (evil.example
 * resolving to this server) sends `Host: evil.example` and its own origin, which
 * would otherwise pass for "this server's own". Behind a trusted proxy the host
 * is the one the proxy forwards (X-Forwarded-Host), which is what the browser asked for.
 */
function hostRefusal(request: FastifyRequest, policy: HostPolicy): Refusal | null {
  const target = absoluteTargetHost(request.url);
  if (hostAllowed(request.host, policy) && (target === undefined || hostAllowed(target, policy))) return null;
  return {
    statusCode: 421,
    error: 'Misdirected Request',
    message:
      policy.names.size > 0
        ? 'This server does not answer to that host name. Use the address in its PUBLIC_URL.'
        : 'This server answers to localhost only. Set PUBLIC_URL (or ALLOWED_HOSTS) to serve it under another name.',
  };
}

/** This server's origin as the browser names it: scheme, host and port (behind a trusted proxy, the proxy's). */
function ownOrigin(request: FastifyRequest): string | null {
  try {
    return new URL(`${request.protocol}://${request.host}`).origin;
  } catch {
    return null;
  }
}

export type OriginPolicy = {
  /** PUBLIC_URL's origin: under its host name, the only origin that is the server's own. */
  publicOrigin: string | null;
  /** Origins trusted besides the server's own, e.g. the Vite dev server that proxies /trpc. */
  trusted: readonly string[];
};

function trustedOrigin(origin: string, request: FastifyRequest, policy: OriginPolicy): boolean {
  try {
    const normalized = new URL(origin).origin;
    if (normalized === policy.publicOrigin || policy.trusted.includes(normalized)) return true;
    // Under PUBLIC_URL's name the scheme is PUBLIC_URL's: behind TLS termination the server sees
    // plain http, which must not make http://<public name> (a downgraded page) pass for its own.
    const publicName = policy.publicOrigin ? new URL(policy.publicOrigin).hostname : null;
    return request.hostname.toLowerCase() !== publicName && normalized === ownOrigin(request);
  } catch {
    // "null" (sandboxed frames, file: pages) and anything unparsable is not us.
    return false;
  }
}

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Why a state-changing call is refused, or null when it may go on.
 *
 * Only `application/json`: a cross-site HTML form can send text/plain,
 * urlencoded or multipart bodies without a preflight, never JSON. And the
 * Origin, when a browser sends one, must be this server's own (PUBLIC_URL's, or
 * its scheme, host and port as requested) or trusted;
 * a request without Origin comes from a non-browser client (curl, the CLI, API
 * keys), which holds no administrator's cookie by accident. Sec-Fetch-Site
 * covers the odd browser request that omits Origin.
 */
export function browserCallRefusal(
  request: FastifyRequest,
  origins: OriginPolicy,
  // Another media type only where a form cannot send it either: text/csv, like JSON, needs a preflight.
  mediaType: 'application/json' | 'text/csv' = 'application/json',
): Refusal | null {
  if (mediaTypeOf(request.headers['content-type']) !== mediaType) {
    return {
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: mediaType === 'text/csv' ? 'Send the file as text/csv.' : 'Send API calls as application/json.',
    };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !trustedOrigin(origin, request, origins)) {
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
 * The checks every request passes before anything else: URL length, and the
 * Host (except on the health probes). Also stamps HSTS over HTTPS. The checks
 * of API calls (media type, origin, method, sizes, caching) are on the tRPC
 * route itself (trpc-route.ts), so they hold whatever spelling of the path
 * reached it.
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
    // The route that runs, not the spelling of the URL, decides the exemption.
    if (!hostExemptRoutes.has(request.routeOptions.url ?? '')) {
      const refusal = hostRefusal(request, options.hosts);
      if (refusal) return refuse(reply, refusal);
    }
  });
}

/**
 * Why a download (GET of a file of personal data, such as the users CSV) is
 * refused, or null. GETs of /trpc need no such check because another site
 * cannot read their answers; a download needs none to be read, only to be
 * started, with the administrator's cookie, and that must not be up to another
 * site (a link, an <img>, a prefetch): it writes an audit row in their name and
 * puts a file of everyone's data in their downloads. So:
 * - an `Origin`, when sent, is this server's own or trusted;
 * - with a session cookie (and no API key, which a browser never sends across
 *   sites), the browser must say the request is its own (`Sec-Fetch-Site:
 *   same-origin`, from the console's link) or the person's (`none`: an address
 *   typed or bookmarked). `cross-site` and `same-site` are refused, and so is a
 *   cookie without the header (every browser since 2023 sends it; scripts use an
 *   API key, or send the header themselves).
 */
export function downloadRefusal(
  request: FastifyRequest,
  origins: OriginPolicy,
  hasSessionCookie: boolean,
): Refusal | null {
  const origin = request.headers.origin;
  if (origin !== undefined && !trustedOrigin(origin, request, origins)) {
    return {
      statusCode: 403,
      error: 'Forbidden',
      message: 'Cross-site requests are refused: download from this server’s own pages.',
    };
  }
  if (hasSessionCookie && request.headers.authorization === undefined) {
    const site = request.headers['sec-fetch-site'];
    if (site !== 'same-origin' && site !== 'none') {
      return {
        statusCode: 403,
        error: 'Forbidden',
        message:
          site === undefined
            ? 'Downloads with a session cookie must come from the console (the browser sends Sec-Fetch-Site); scripts use an API key (Authorization: Bearer).'
            : 'Cross-site requests are refused: download from this server’s own pages.',
      };
    }
  }
  return null;
}
