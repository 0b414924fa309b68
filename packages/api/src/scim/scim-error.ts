import { TRPCError } from '@trpc/server';
import { mapDatabaseError, reasonOf } from '../errors.js';
import type { ErrorReason } from '../shared/error-reasons.js';

export const errorSchema = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12's scimType values we send (and RFC 9865's cursor ones). */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor';

/** A refusal in the SCIM error format: status, scimType and a detail a person can act on. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
    /** With a 429 or 503: the seconds after which the client may retry (the Retry-After header). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  toJSON() {
    return {
      schemas: [errorSchema],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimError(400, detail, scimType);

/** How each refusal of the users service reads to an identity provider: by its reason, never its message text. */
const byReason: Partial<Record<ErrorReason, { status: number; scimType?: ScimType }>> = {
  EMAIL_TAKEN: { status: 409, scimType: 'uniqueness' },
  VALUE_TAKEN: { status: 409, scimType: 'uniqueness' },
  ACCOUNT_NAME_TAKEN: { status: 409, scimType: 'uniqueness' },
  STALE_VERSION: { status: 412 },
  CONCURRENT_CHANGE: { status: 409 },
  NOT_FOUND: { status: 404 },
  INVALID_INPUT: { status: 400, scimType: 'invalidValue' },
  INVALID_CURSOR: { status: 400, scimType: 'invalidCursor' },
  COMMON_PASSWORD: { status: 400, scimType: 'invalidValue' },
  LAST_ADMIN: { status: 409, scimType: 'mutability' },
  SELF_ACTION: { status: 400, scimType: 'mutability' },
  DEFAULT_ACCOUNT: { status: 400, scimType: 'mutability' },
  ADMIN_OUTSIDE_DEFAULT_ACCOUNT: { status: 400, scimType: 'mutability' },
  RULE: { status: 400, scimType: 'mutability' },
  TIMEOUT: { status: 503 },
  DATABASE_UNAVAILABLE: { status: 503 },
  RATE_LIMITED: { status: 429 },
};

/**
 * Any error as a SCIM error, or null when it is not one we recognise (a bug:
 * the caller logs it and answers 500 without details).
 */
export function toScimError(error: unknown): ScimError | null {
  if (error instanceof ScimError) return error;
  const mapped = error instanceof TRPCError ? error : mapDatabaseError(error);
  if (!mapped) return null;
  const reason = reasonOf(mapped);
  const known = byReason[reason];
  if (!known) return null;
  const detail =
    reason === 'EMAIL_TAKEN'
      ? 'A user with this userName (email) already exists.'
      : reason === 'VALUE_TAKEN'
        ? 'A user with this externalId already exists in this account.'
        : mapped.message;
  return new ScimError(known.status, detail, known.scimType);
}
