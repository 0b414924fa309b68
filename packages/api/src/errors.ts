import { TRPCError } from '@trpc/server';
import { ZodRealError } from 'zod';
import { type ErrorReason, errorReasons, genericReasons } from './shared/error-reasons.js';

export { type ErrorReason, errorReasons } from './shared/error-reasons.js';

/**
 * An error of the catalog: its reason names it for programs, its tRPC code
 * follows from the reason, and its message is for people.
 */
export class AppError extends TRPCError {
  readonly reason: ErrorReason;
  constructor(reason: ErrorReason, message: string, cause?: unknown) {
    super({ code: errorReasons[reason], message, ...(cause === undefined ? {} : { cause }) });
    this.reason = reason;
  }
}

/** Throw-site shorthand: `throw appError('LAST_ADMIN', 'You cannot …')`. */
export const appError = (reason: ErrorReason, message: string, cause?: unknown) => new AppError(reason, message, cause);

/** The reason an error is sent with: its own, or the generic reason of its code. */
export function reasonOf(error: TRPCError): ErrorReason {
  return error instanceof AppError ? error.reason : (genericReasons[error.code] ?? 'INTERNAL');
}

type PgError = { code?: unknown; constraint?: unknown; message?: unknown };

// Messages people understand, keyed by the constraint that fired.
const constraintMessages: Record<string, { reason: ErrorReason; message: string }> = {
  users_email_unique: { reason: 'EMAIL_TAKEN', message: 'A user with this email already exists.' },
  accounts_org_name: { reason: 'ACCOUNT_NAME_TAKEN', message: 'An account with this name already exists.' },
  users_admin_in_default_account: {
    reason: 'ADMIN_OUTSIDE_DEFAULT_ACCOUNT',
    message: 'Administrators belong to the default account.',
  },
  accounts_default_undeletable: {
    reason: 'DEFAULT_ACCOUNT',
    message: 'The default account cannot be deleted.',
  },
  accounts_default_immutable: {
    reason: 'DEFAULT_ACCOUNT',
    message: 'The default account stays the default account.',
  },
};

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
]);

function isPgError(error: unknown): error is PgError {
  return typeof error === 'object' && error !== null && 'code' in error;
}

/**
 * Turns a database error into a tRPC error with the right code, or returns
 * undefined when it is not one we recognise (it then stays a 500).
 */
export function mapDatabaseError(error: unknown): TRPCError | undefined {
  if (error instanceof TRPCError) return error;
  if (!isPgError(error)) {
    if (
      error instanceof Error &&
      // node-postgres' own wording when the server cannot be reached, goes away mid-query,
      // left a pooled client broken, or stops answering.
      /timeout exceeded when trying to connect|Connection terminated|not queryable|Query read timeout/i.test(
        error.message,
      )
    ) {
      return appError('DATABASE_UNAVAILABLE', 'The database is unavailable; try again in a moment.', error);
    }
    return undefined;
  }
  const code = String(error.code);
  const constraint = typeof error.constraint === 'string' ? error.constraint : undefined;
  if (constraint && constraintMessages[constraint]) {
    const known = constraintMessages[constraint];
    return appError(known.reason, known.message, error);
  }
  if (code === '23505') {
    return appError('VALUE_TAKEN', 'That value is already taken.', error);
  }
  if (code === '23503') {
    return appError('NOT_FOUND', 'A record this refers to no longer exists.', error);
  }
  // Class 22 is "data exception": a value the database cannot take (a NUL character,
  // a malformed date or id, a number out of range). It is the input's fault, never a 500.
  if (code === '23514' || code.startsWith('22')) {
    return appError('INVALID_INPUT', 'A value is not valid.', error);
  }
  if (code === '40001' || code === '40P01') {
    return appError('CONCURRENT_CHANGE', 'A concurrent change got in the way; try again.', error);
  }
  if (code === '57014') {
    return appError('TIMEOUT', 'The request took too long and was stopped.', error);
  }
  if (unavailableCodes.has(code)) {
    return appError('DATABASE_UNAVAILABLE', 'The database is unavailable; try again in a moment.', error);
  }
  return undefined;
}

/**
 * The error of one input field, in the shape of a validation failure: over HTTP,
 * `data.fieldErrors[path]` names it, so a form shows it beside that field.
 * ZodRealError, unlike ZodError, is an Error, so tRPC keeps it as the cause.
 */
export function fieldError(reason: ErrorReason, path: ReadonlyArray<string | number>, message: string): AppError {
  return appError(reason, message, new ZodRealError([{ code: 'custom', path: [...path], message, input: undefined }]));
}

/**
 * A taken email, as the error of the input field that gave it (`['email']`,
 * `['users', 2, 'email']`): still CONFLICT, with `data.fieldErrors` naming the
 * field, so a form can show it beside that field. Any other error is returned as it is.
 */
export function emailTakenAt(error: unknown, path: ReadonlyArray<string | number>): unknown {
  if (!isPgError(error) || error.constraint !== 'users_email_unique') return error;
  return fieldError('EMAIL_TAKEN', path, constraintMessages.users_email_unique?.message ?? 'That email is taken.');
}
