import { appError } from '../errors.js';

/**
 * Opaque keyset cursors: the sort key of the last row of a page, base64url JSON.
 * Clients pass them back untouched; a tampered one is a BAD_REQUEST, not a 500.
 */
export function encodeCursor(values: readonly string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** What a value of a cursor must be: the database would fail on anything else (a 500, not a 400). */
export type CursorPart = 'text' | 'uuid' | 'timestamp' | 'microTimestamp' | 'microTimestampOrNone';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A timestamp to the microsecond, as Postgres keeps them: 2026-01-31T12:00:00.123456Z. */
const microPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const validMicro = (value: string) => {
  if (!microPattern.test(value)) return false;
  const date = new Date(`${value.slice(0, 23)}Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23);
};

const validPart: Record<CursorPart, (value: string) => boolean> = {
  // Postgres text cannot hold NUL.
  text: (value) => value.length <= 1000 && !value.includes('\u0000'),
  uuid: (value) => uuidPattern.test(value),
  // Cursors carry timestamps as toISOString() wrote them.
  timestamp: (value) => {
    const date = new Date(value);
    return !Number.isNaN(date.getTime()) && date.toISOString() === value;
  },
  microTimestamp: validMicro,
  // The empty string: no timestamp (a user who never signed in).
  microTimestampOrNone: (value) => value === '' || validMicro(value),
};

export function decodeCursor(cursor: string | undefined, parts: readonly CursorPart[]): string[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(values) &&
      values.length === parts.length &&
      values.every((v, i): v is string => typeof v === 'string' && validPart[parts[i] as CursorPart](v))
    ) {
      return values;
    }
  } catch {
    // fall through
  }
  throw appError('INVALID_CURSOR', 'The cursor is not valid; start from the first page.');
}

/** Splits `limit + 1` fetched rows into a page and the cursor of the next one. */
export function toPage<T>(
  rows: T[],
  limit: number,
  key: (row: T) => readonly string[],
): { items: T[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items.at(-1);
  return { items, nextCursor: hasMore && last ? encodeCursor(key(last)) : null };
}

/** Escapes LIKE metacharacters so a search for `50%_off` means exactly that. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
