/** One column of a table: its heading and how a row shows in it. */
export type Column<T> = { header: string; value: (row: T) => string };

/** Left-aligned columns separated by two spaces; the last one is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => width(line[i]))));
  const render = (line: string[]) =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...cells.map(render)].join('\n');
}

/** `label: value` lines, labels aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const labelWidth = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(labelWidth + 2)}${oneLine(value)}`).join('\n');
}

/** A timestamp people read: UTC, to the minute. */
export function when(date: Date | null | undefined, never = '-'): string {
  if (!date) return never;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

export const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** Newlines and tabs in data would break the table's lines. */
const oneLine = (text: string | undefined) => (text ?? '').replace(/[\r\n\t]+/g, ' ');

const width = (text: string | undefined) => [...(text ?? '')].length;

/** Dates become ISO strings, as every JSON consumer expects. */
export const toJson = (data: unknown) => JSON.stringify(data, null, 2);
