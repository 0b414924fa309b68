import type { Role } from '@roster/db';

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
