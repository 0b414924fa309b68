import { TRPCError } from '@trpc/server';

/**
 * Opaque keyset cursors: the sort key of the last row of a page, base64url JSON.
 * Clients pass them back untouched; a tampered one is a BAD_REQUEST, not a 500.
 */
export function encodeCursor(values: readonly string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks for the usual parts of a cursor, so a tampered one is refused before it reaches SQL. */
export const cursorPart = {
  uuid: (value: string) => uuidPattern.test(value),
  timestamp: (value: string) => /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value) && !Number.isNaN(Date.parse(value)),
};

export function decodeCursor(
  cursor: string | undefined,
  length: number,
  isValid: (values: string[]) => boolean = () => true,
): string[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(values) &&
      values.length === length &&
      values.every((v): v is string => typeof v === 'string' && v.length <= 1000 && !v.includes('\u0000')) &&
      isValid(values)
    ) {
      return values;
    }
  } catch {
    // fall through
  }
  throw new TRPCError({ code: 'BAD_REQUEST', message: 'The cursor is not valid; start from the first page.' });
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
