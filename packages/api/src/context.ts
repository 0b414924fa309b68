import type { Database, Role } from '@roster/db';
import type { Kysely } from 'kysely';
import type { InflightTracker } from './inflight.js';

export type SessionConfig = {
  /** A session unused for this long ends. */
  idleTimeoutMs: number;
  /** A session ends this long after sign-in, however busy. */
  absoluteTimeoutMs: number;
  /** Sign-ins one email may make a minute, successful ones too (default `signInPolicy.maxSignInsPerEmail`). */
  maxSignInsPerEmail?: number;
};

export const defaultSessionConfig: SessionConfig = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 60 * 60_000,
};

export type ApiKeyConfig = {
  /** The longest an API key may work: its expiry is at most this far from its creation. */
  maxLifetimeMs: number;
};

export const defaultApiKeyConfig: ApiKeyConfig = { maxLifetimeMs: 365 * 86_400_000 };

/** How the host hands session cookies to the client; tests pass a recorder. */
export type SessionCookies = {
  set(token: string, expiresAt: Date): void;
  clear(): void;
};

export type CreateContextOptions = {
  db: Kysely<Database>;
  /** The raw session token from the cookie, if any. */
  sessionToken?: string | null;
  /**
   * The request's `Authorization` header, if any. `Bearer <API key>` authenticates
   * the request as the key's user (and then the cookie is not looked at).
   */
  authorization?: string | null;
  cookies?: SessionCookies;
  clientAddress?: string | null;
  userAgent?: string | null;
  sessions?: SessionConfig;
  apiKeys?: ApiKeyConfig;
  /** The host's count of running procedures, so it can wait for them before closing the database. */
  inflight?: InflightTracker;
  /** Told who the caller turned out to be, once authenticated (the host's request log). */
  onActor?: (actor: Actor) => void;
};

export type Context = {
  db: Kysely<Database>;
  sessionToken: string | null;
  /** The credential of an `Authorization` header; when present, the only one considered. */
  bearerToken: string | null;
  cookies: SessionCookies;
  clientAddress: string | null;
  userAgent: string | null;
  sessions: SessionConfig;
  apiKeys: ApiKeyConfig;
  inflight: InflightTracker | null;
  onActor: ((actor: Actor) => void) | null;
};

/** The signed-in user as procedures see it after authentication, and how they proved it. */
export type Actor = {
  id: string;
  organizationId: string;
  accountId: string;
  email: string;
  role: Role;
} & (
  | { via: 'session'; sessionId: string }
  /** A script's request with `Authorization: Bearer <key>`: never a session. */
  | { via: 'apiKey'; apiKeyId: string }
  /**
   * An identity provider's SCIM request: `id` is the connection's (never a user's),
   * `email` its label for the audit log, which records no user as the actor.
   */
  | { via: 'scim'; connectionId: string }
);

const noCookies: SessionCookies = { set() {}, clear() {} };

/**
 * The credential of an Authorization header: what follows `Bearer `, or the
 * whole value for any other scheme (which then matches no key and is refused,
 * rather than silently falling back to the cookie).
 */
function bearerTokenOf(header: string | null | undefined): string | null {
  if (header === undefined || header === null) return null;
  const match = /^Bearer\s+(.*)$/i.exec(header.trim());
  return match ? (match[1] ?? '').trim() : header;
}

/** Plain values in, plain values out: tests build it without HTTP. */
export function createContext(options: CreateContextOptions): Context {
  return {
    db: options.db,
    sessionToken: options.sessionToken ?? null,
    bearerToken: bearerTokenOf(options.authorization),
    cookies: options.cookies ?? noCookies,
    clientAddress: options.clientAddress ?? null,
    userAgent: options.userAgent?.slice(0, 512) ?? null,
    sessions: options.sessions ?? defaultSessionConfig,
    apiKeys: options.apiKeys ?? defaultApiKeyConfig,
    inflight: options.inflight ?? null,
    onActor: options.onActor ?? null,
  };
}
