// The catalog of error reasons: one stable, machine-readable name for every
// refusal the API gives, sent in `error.data.reason` beside the tRPC code and
// the human message. Clients (the console, the CLI, SCIM) switch on the reason,
// never on the message, which is for people and may be reworded.
//
// This module has no dependencies, so the console and the CLI can import it.

/** Every reason, with the tRPC code it travels with. */
export const errorReasons = {
  // Generic reasons, one per code, for errors no more specific reason describes.
  INVALID_INPUT: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  NOT_ALLOWED: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RULE: 'PRECONDITION_FAILED',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  TIMEOUT: 'TIMEOUT',
  DATABASE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',

  // Input.
  INVALID_CURSOR: 'BAD_REQUEST',
  SEARCH_TOO_BROAD: 'BAD_REQUEST',
  COMMON_PASSWORD: 'BAD_REQUEST',
  WRONG_CURRENT_PASSWORD: 'BAD_REQUEST',
  // Who is calling.
  SIGN_IN_FAILED: 'UNAUTHORIZED',
  API_KEY_INVALID: 'UNAUTHORIZED',
  API_KEY_REVOKED: 'UNAUTHORIZED',
  API_KEY_EXPIRED: 'UNAUTHORIZED',
  USER_DEACTIVATED: 'UNAUTHORIZED',
  USER_DELETED: 'UNAUTHORIZED',
  NOT_ADMIN: 'FORBIDDEN',
  NOT_WITH_API_KEY: 'FORBIDDEN',
  // The caller's role or account changed while their request ran (it was authorized under the old one).
  ACCESS_CHANGED: 'FORBIDDEN',
  // An auditor asked to change something: auditors read, they change nothing.
  READ_ONLY: 'FORBIDDEN',
  // An account administrator asked to act beyond their delegation (on another
  // administrator or an auditor, on roles, accounts or provisioning).
  OUTSIDE_DELEGATION: 'FORBIDDEN',
  // Conflicts.
  EMAIL_TAKEN: 'CONFLICT',
  ACCOUNT_NAME_TAKEN: 'CONFLICT',
  VALUE_TAKEN: 'CONFLICT',
  STALE_VERSION: 'CONFLICT',
  CONCURRENT_CHANGE: 'CONFLICT',
  // A bulk action's selection no longer matches what its preview showed: preview again.
  BULK_SELECTION_CHANGED: 'CONFLICT',
  // Rules.
  LAST_ADMIN: 'PRECONDITION_FAILED',
  SELF_ACTION: 'PRECONDITION_FAILED',
  DEFAULT_ACCOUNT: 'PRECONDITION_FAILED',
  ADMIN_OUTSIDE_DEFAULT_ACCOUNT: 'PRECONDITION_FAILED',
  API_KEY_LIMIT: 'PRECONDITION_FAILED',
  // A bulk action that would change nobody.
  BULK_NOTHING_TO_DO: 'PRECONDITION_FAILED',
  // Limits.
  TOO_MANY_SIGN_INS: 'TOO_MANY_REQUESTS',
  // CSV imports.
  IMPORT_FILE_INVALID: 'BAD_REQUEST',
  IMPORT_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  IMPORT_STALE: 'CONFLICT',
  IMPORT_APPLIED: 'CONFLICT',
  IMPORT_EXPIRED: 'PRECONDITION_FAILED',
  IMPORT_HAS_ERRORS: 'PRECONDITION_FAILED',
  // Mailed links (invitations, password resets).
  LINK_INVALID: 'NOT_FOUND',
  LINK_EXPIRED: 'PRECONDITION_FAILED',
  LINK_USED: 'PRECONDITION_FAILED',
  NOT_INVITED: 'PRECONDITION_FAILED',
  USER_INACTIVE: 'PRECONDITION_FAILED',
} as const;

/** A stable machine name for why a call was refused. */
export type ErrorReason = keyof typeof errorReasons;

/** The tRPC codes an error can carry. */
export type ErrorCode = (typeof errorReasons)[ErrorReason];

/** The generic reason of each code, for an error that names none more specific. */
export const genericReasons: Record<string, ErrorReason> = {
  BAD_REQUEST: 'INVALID_INPUT',
  PARSE_ERROR: 'INVALID_INPUT',
  PAYLOAD_TOO_LARGE: 'INVALID_INPUT',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'NOT_ALLOWED',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'RULE',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  TIMEOUT: 'TIMEOUT',
  SERVICE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
};

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && Object.hasOwn(errorReasons, value);
}
