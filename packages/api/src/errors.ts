import { TRPCError } from '@trpc/server';
import { ZodRealError } from 'zod';

type PgError = { code?: unknown; constraint?: unknown; message?: unknown };

// Messages people understand, keyed by the constraint that fired.
const constraintMessages: Record<string, { code: TRPCError['code']; message: string }> = {
  users_email_unique: { code: 'CONFLICT', message: 'A user with this email already exists.' },
  accounts_org_name: { code: 'CONFLICT', message: 'An account with this name already exists.' },
  users_admin_in_default_account: {
    code: 'PRECONDITION_FAILED',
    message: 'Administrators belong to the default account.',
  },
  accounts_default_undeletable: {
    code: 'PRECONDITION_FAILED',
    message: 'The default account cannot be deleted.',
  },
  accounts_default_immutable: {
    code: 'PRECONDITION_FAILED',
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
      return new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: 'The database is unavailable; try again in a moment.',
        cause: error,
      });
    }
    return undefined;
  }
  const code = String(error.code);
  const constraint = typeof error.constraint === 'string' ? error.constraint : undefined;
  if (constraint && constraintMessages[constraint]) {
    const known = constraintMessages[constraint];
    return new TRPCError({ code: known.code, message: known.message, cause: error });
  }
  if (code === '23505') {
    return new TRPCError({ code: 'CONFLICT', message: 'That value is already taken.', cause: error });
  }
  if (code === '23503') {
    return new TRPCError({ code: 'NOT_FOUND', message: 'A record this refers to no longer exists.', cause: error });
  }
  // Class 22 is "data exception": a value the database cannot take (a NUL character,
  // a malformed date or id, a number out of range). It is the input's fault, never a 500.
  if (code === '23514' || code.startsWith('22')) {
    return new TRPCError({ code: 'BAD_REQUEST', message: 'A value is not valid.', cause: error });
  }
  if (code === '40001' || code === '40P01') {
    return new TRPCError({ code: 'CONFLICT', message: 'A concurrent change got in the way; try again.', cause: error });
  }
  if (code === '57014') {
    return new TRPCError({ code: 'TIMEOUT', message: 'The request took too long and was stopped.', cause: error });
  }
  if (unavailableCodes.has(code)) {
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The database is unavailable; try again in a moment.',
      cause: error,
    });
  }
  return undefined;
}

/**
 * The error of one input field, in the shape of a validation failure: over HTTP,
 * `data.fieldErrors[path]` names it, so a form shows it beside that field.
 * ZodRealError, unlike ZodError, is an Error, so tRPC keeps it as the cause.
 */
export function fieldError(code: TRPCError['code'], path: ReadonlyArray<string | number>, message: string): TRPCError {
  return new TRPCError({
    code,
    message,
    cause: new ZodRealError([{ code: 'custom', path: [...path], message, input: undefined }]),
  });
}

/**
 * A taken email, as the error of the input field that gave it (`['email']`,
 * `['users', 2, 'email']`): still CONFLICT, with `data.fieldErrors` naming the
 * field, so a form can show it beside that field. Any other error is returned as it is.
 */
export function emailTakenAt(error: unknown, path: ReadonlyArray<string | number>): unknown {
  if (!isPgError(error) || error.constraint !== 'users_email_unique') return error;
  return fieldError('CONFLICT', path, constraintMessages.users_email_unique?.message ?? 'That email is taken.');
}
