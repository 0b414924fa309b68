import type { Database, ReadReplica } from '@roster/db';
import type { Kysely } from 'kysely';
import type { InflightTracker } from './inflight.js';
import type { Actor } from './shared/actor.js';
import {
  type ApiKeyConfig,
  defaultApiKeyConfig,
  defaultMailConfig,
  defaultSessionConfig,
  type MailConfig,
  type SessionConfig,
} from './shared/config.js';

/** How the host hands session cookies to the client; tests pass a recorder. */
export type SessionCookies = {
  set(token: string, expiresAt: Date): void;
  clear(): void;
};

export type CreateContextOptions = {
  db: Kysely<Database>;
  /** The read replica (DATABASE_READ_URL) for list reads, if any (core/read-replica.ts). */
  replica?: ReadReplica | null;
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
  /** Links in mails (PUBLIC_URL) and how long they work. */
  mail?: MailConfig;
  /** The host's count of running procedures, so it can wait for them before closing the database. */
  inflight?: InflightTracker;
  /** Told who the caller turned out to be, once authenticated (the host's request log). */
  onActor?: (actor: Actor) => void;
};

export type Context = {
  db: Kysely<Database>;
  replica: ReadReplica | null;
  sessionToken: string | null;
  /** The credential of an `Authorization` header; when present, the only one considered. */
  bearerToken: string | null;
  cookies: SessionCookies;
  clientAddress: string | null;
  userAgent: string | null;
  sessions: SessionConfig;
  apiKeys: ApiKeyConfig;
  mail: MailConfig;
  inflight: InflightTracker | null;
  onActor: ((actor: Actor) => void) | null;
};

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
    replica: options.replica ?? null,
    sessionToken: options.sessionToken ?? null,
    bearerToken: bearerTokenOf(options.authorization),
    cookies: options.cookies ?? noCookies,
    clientAddress: options.clientAddress ?? null,
    userAgent: options.userAgent?.slice(0, 512) ?? null,
    sessions: options.sessions ?? defaultSessionConfig,
    apiKeys: options.apiKeys ?? defaultApiKeyConfig,
    mail: options.mail ?? defaultMailConfig,
    inflight: options.inflight ?? null,
    onActor: options.onActor ?? null,
  };
}
