import type { Database, Role } from '@roster/db';
import type { Kysely } from 'kysely';

export type SessionConfig = {
  /** A session unused for this long ends. */
  idleTimeoutMs: number;
  /** A session ends this long after sign-in, however busy. */
  absoluteTimeoutMs: number;
};

export const defaultSessionConfig: SessionConfig = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 60 * 60_000,
};

/** How the host hands session cookies to the client; tests pass a recorder. */
export type SessionCookies = {
  set(token: string, expiresAt: Date): void;
  clear(): void;
};

export type CreateContextOptions = {
  db: Kysely<Database>;
  /** The raw session token from the cookie, if any. */
  sessionToken?: string | null;
  cookies?: SessionCookies;
  clientAddress?: string | null;
  userAgent?: string | null;
  sessions?: SessionConfig;
};

export type Context = {
  db: Kysely<Database>;
  sessionToken: string | null;
  cookies: SessionCookies;
  clientAddress: string | null;
  userAgent: string | null;
  sessions: SessionConfig;
};

/** The signed-in user as procedures see it after authentication. */
export type Actor = {
  id: string;
  organizationId: string;
  accountId: string;
  email: string;
  role: Role;
  sessionId: string;
};

const noCookies: SessionCookies = { set() {}, clear() {} };

/** Plain values in, plain values out: tests build it without HTTP. */
export function createContext(options: CreateContextOptions): Context {
  return {
    db: options.db,
    sessionToken: options.sessionToken ?? null,
    cookies: options.cookies ?? noCookies,
    clientAddress: options.clientAddress ?? null,
    userAgent: options.userAgent?.slice(0, 512) ?? null,
    sessions: options.sessions ?? defaultSessionConfig,
  };
}
