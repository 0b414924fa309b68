import type { ErrorReason } from '@roster/api/error-reasons';
import { TRPCClientError } from '@trpc/client';
import type { FieldPath, FieldValues, UseFormSetError } from 'react-hook-form';

/** What the server puts in `error.data` (see the API's error formatter). */
type ErrorData = {
  code?: string;
  /** The catalog's stable name for the refusal: what the console switches on, never the message. */
  reason?: ErrorReason;
  httpStatus?: number;
  path?: string;
  fieldErrors?: Record<string, string[]> | null;
};

function dataOf(error: unknown): ErrorData | undefined {
  if (error instanceof TRPCClientError) return (error.data ?? undefined) as ErrorData | undefined;
  return undefined;
}

/** The tRPC error code (`UNAUTHORIZED`, `CONFLICT`, ...) or undefined for a network failure. */
export function errorCode(error: unknown): string | undefined {
  return dataOf(error)?.code;
}

/** Why the server refused (`EMAIL_TAKEN`, `STALE_VERSION`, ...), or undefined for a network failure. */
export function errorReason(error: unknown): ErrorReason | undefined {
  return dataOf(error)?.reason;
}

export function errorPath(error: unknown): string | undefined {
  return dataOf(error)?.path;
}

export const isUnauthorized = (error: unknown) => errorCode(error) === 'UNAUTHORIZED';

/** A stale `version`: someone else changed the user since the form was filled. */
export const isStaleVersion = (error: unknown) => errorReason(error) === 'STALE_VERSION';

export const isDuplicateEmail = (error: unknown) => errorReason(error) === 'EMAIL_TAKEN';

/** A sentence a person can act on, whatever went wrong. */
export function errorMessage(error: unknown): string {
  const code = errorCode(error);
  if (error instanceof TRPCClientError) {
    if (!code) return 'The server could not be reached. Check your connection and try again.';
    if (code === 'INTERNAL_SERVER_ERROR') return 'Something went wrong on the server. Try again in a moment.';
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong. Try again.';
}

/** Field messages keyed by dotted path, e.g. `{ "users.0.email": ["..."] }`. */
export function fieldErrorsOf(error: unknown): Record<string, string[]> {
  return dataOf(error)?.fieldErrors ?? {};
}

/**
 * Puts the server's field errors next to the form's fields. Returns true when
 * at least one landed on a field, so the caller knows whether to show a general message.
 */
export function applyFieldErrors<T extends FieldValues>(
  error: unknown,
  setError: UseFormSetError<T>,
  fields: readonly string[],
): boolean {
  let placed = false;
  for (const [path, messages] of Object.entries(fieldErrorsOf(error))) {
    const known = fields.some((field) => path === field || path.startsWith(`${field}.`));
    if (known && messages[0]) {
      setError(path as FieldPath<T>, { type: 'server', message: messages[0] }, { shouldFocus: !placed });
      placed = true;
    }
  }
  return placed;
}
