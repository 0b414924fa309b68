// The users CSV: its columns, and how a cell is kept from running as a formula.
// Export writes it (users/export.ts) and import reads it, so an exported file
// re-imports as "all unchanged". This module has no dependencies: the console
// and the CLI may import it (through `@roster/api/schemas`).

/**
 * The header row, in order. `active` is `true` / `false`, `role` the API's role
 * (`admin` / `user`), `created` and `last sign-in` ISO 8601 in UTC
 * (`2026-01-31T09:05:00.000Z`), `last sign-in` empty for a user who never
 * signed in; `account` is the account's name (unique in an organization).
 */
export const userCsvColumns = [
  'id',
  'account',
  'email',
  'first name',
  'last name',
  'role',
  'active',
  'created',
  'last sign-in',
] as const;

export type UserCsvColumn = (typeof userCsvColumns)[number];

/** Where the server streams the CSV of a users search (GET, the filters of `users.search` as query parameters). */
export const usersExportPath = '/export/users.csv';

/**
 * The first characters that make a spreadsheet read a cell as a formula (OWASP,
 * "CSV Injection"): = + - @ tab and carriage return, and their full-width forms
 * (＝ ＋ － ＠), which some spreadsheets normalise to the ASCII ones.
 */
const formulaStart = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * A cell as written to the file: one that starts like a formula gets a leading
 * `'`, which spreadsheets show as text (the writer quotes such cells too). A
 * cell that already starts with `'` gets one more, so the rule can be undone
 * exactly (`restoreFormulaCell`): a name really starting with `'` survives the
 * round trip.
 */
export function neutralizeFormulaCell(value: string): string {
  return formulaStart.test(value) || value.startsWith("'") ? `'${value}` : value;
}

/**
 * The inverse of `neutralizeFormulaCell`, for reading a file it wrote: one
 * leading `'` is removed when what follows starts like a formula or with
 * another `'`; any other cell is left as it is.
 */
export function restoreFormulaCell(cell: string): string {
  if (!cell.startsWith("'")) return cell;
  const rest = cell.slice(1);
  return formulaStart.test(rest) || rest.startsWith("'") ? rest : cell;
}
