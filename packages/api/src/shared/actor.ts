import type { Role } from '@roster/db';

/** The signed-in user as procedures see it after authentication, and how they proved it. */
export type Actor = {
  id: string;
  organizationId: string;
  accountId: string;
  email: string;
  role: Role;
  /**
   * With a read replica: the primary's WAL position after this credential's
   * last write (its session's or API key's `write_lsn`), so its reads wait for
   * the replica to have replayed it (core/read-replica.ts). Null or absent: none.
   */
  writeLsn?: string | null;
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
