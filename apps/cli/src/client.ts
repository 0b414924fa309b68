import type { AppRouter } from '@roster/api';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { UsageError } from './errors.js';

/** The whole API, typed from the server's router: `client.users.search.query(...)`. */
export type RosterClient = TRPCClient<AppRouter>;

/** A call that gets no answer in this long fails instead of hanging a script. */
export const requestTimeoutMs = 60_000;

/** The server's base address: an address without a scheme (`127.0.0.1:3000`) means http. */
function serverBase(serverUrl: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(serverUrl) ? serverUrl : `http://${serverUrl}`);
  } catch {
    throw new UsageError(`Not a URL: ${serverUrl}. Give the server's address, like http://127.0.0.1:3000.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Not an http(s) URL: ${serverUrl}.`);
  }
  return url;
}

/**
 * Where tRPC answers: the server's address plus `/trpc`, unless it is already
 * there. An address without a scheme (`127.0.0.1:3000`) means http.
 */
export function trpcUrl(serverUrl: string): string {
  const url = serverBase(serverUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/trpc') ? path : `${path}/trpc`;
  return url.toString();
}

/**
 * A plain HTTP route of the server (`/export/users.csv?…`), beside /trpc: under
 * the same base path, without the `/trpc` someone may have put in ROSTER_URL.
 */
export function serverRouteUrl(serverUrl: string, pathAndQuery: string): string {
  const url = serverBase(serverUrl);
  const base = url.pathname.replace(/\/+$/, '').replace(/\/trpc$/, '');
  return `${url.origin}${base}${pathAndQuery}`;
}

/**
 * Keeps the cookies a server sets, and sends them back: only for signing in with
 * a password to create a first key, the way the console does.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export type ClientOptions = {
  url: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string | undefined;
  /** Instead of a key: a session cookie from signing in. */
  cookies?: CookieJar | undefined;
};

export function createClient(options: ClientOptions): RosterClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: trpcUrl(options.url),
        transformer: superjson,
        headers: () => {
          const headers: Record<string, string> = { 'user-agent': 'roster-cli' };
          if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
          const cookie = options.cookies?.header();
          if (cookie) headers.cookie = cookie;
          return headers;
        },
        fetch: async (input, init) => {
          const response = await fetch(input, {
            ...init,
            signal: init?.signal ?? AbortSignal.timeout(requestTimeoutMs),
          });
          options.cookies?.store(response.headers.getSetCookie());
          return response;
        },
      }),
    ],
  });
}

// What the API returns, as the router declares it.
export type User = Awaited<ReturnType<RosterClient['users']['get']['query']>>;
export type Account = Awaited<ReturnType<RosterClient['accounts']['get']['query']>>;
export type ApiKey = Awaited<ReturnType<RosterClient['apiKeys']['revoke']['mutate']>>;
export type CreatedApiKey = Awaited<ReturnType<RosterClient['apiKeys']['create']['mutate']>>;
export type AuditEntry = Awaited<ReturnType<RosterClient['audit']['list']['query']>>['items'][number];
