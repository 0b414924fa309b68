import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { CsvError, type InfoRecord, parse } from 'csv-parse';
import { appError } from '../errors.js';
import { restoreFormulaCell } from '../users/csv-columns.js';

// Reading an uploaded CSV file of users: bytes in, the known columns and the
// rows out, or a clear refusal (which line, what is wrong). No database here.

/** The largest file accepted: 20 MiB. */
export const importMaxBytes = 20 * 1024 * 1024;
/** The most rows a file may have (a 20 MiB file of short rows has ~400,000). */
export const importMaxRows = 500_000;
/** The most fields a row may have. */
export const importMaxColumns = 100;
/** The longest row, in characters. */
export const importMaxRowChars = 64 * 1024;

/** The columns the importer reads. */
export type ImportField = 'email' | 'firstName' | 'lastName' | 'active' | 'role';
/** Columns an export writes that an import does not change: read-only, ignored. */
const readOnlyColumns = new Set([
  'id',
  'account',
  'accountid',
  'created',
  'createdat',
  'lastsignin',
  'lastloginat',
  'lastlogin',
  'updated',
  'updatedat',
]);
const passwordColumns = new Set(['password', 'passwordhash', 'pass', 'pwd']);

const fieldByName: Record<string, ImportField> = {
  email: 'email',
  emailaddress: 'email',
  firstname: 'firstName',
  givenname: 'firstName',
  lastname: 'lastName',
  familyname: 'lastName',
  surname: 'lastName',
  active: 'active',
  role: 'role',
};

/** `First Name`, `first_name`, `firstName`, `FIRST-NAME` all read as `firstname`. */
export const normalizeHeader = (name: string) => name.toLowerCase().replace(/[\s_\-.]+/g, '');

export type ParsedFile = {
  /** Where each known field is, by column index. */
  columns: Partial<Record<ImportField, number>>;
  /** The header as written, for known columns. */
  recognized: string[];
  /** Read-only columns of an export (id, account, created, last sign-in): ignored. */
  ignored: string[];
  /** Columns the importer does not know: reported, not fatal. */
  unknown: string[];
  /** Notes for the person importing (a password column ignored, …). */
  notes: string[];
  headerLength: number;
  /** How many data rows the file has. */
  rowCount: number;
};

/** A data row: its fields, and the line it ends on (the header is line 1). */
export type FileRow = { line: number; fields: string[] };

const invalidFile = (message: string) => appError('IMPORT_FILE_INVALID', message);

/** The line (1-based) of the first bytes that are not UTF-8. */
function firstNonUtf8Line(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (!isUtf8(bytes.subarray(start, i))) return line;
      line++;
      start = i + 1;
    }
  }
  return line;
}

function describeCsvError(error: CsvError): string {
  const line = (error as CsvError & { lines?: number }).lines;
  const at = line ? ` (line ${line})` : '';
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `A quoted field is never closed${at}: the file ends inside quotes. Check for a stray double quote (") in that line or the one before.`;
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `A field has characters after its closing quote${at}. Inside a quoted field, write a double quote as two ("").`;
    case 'CSV_MAX_RECORD_SIZE':
      return `A row is longer than ${importMaxRowChars.toLocaleString('en')} characters${at}.`;
    default:
      return `The file is not valid CSV${at}: ${error.message}`;
  }
}

class TooManyColumns extends Error {
  constructor(
    readonly line: number,
    readonly count: number,
  ) {
    super('too many columns');
  }
}

class TooManyRows extends Error {}

/**
 * Checks what can be seen of the file at once: its size, that it is not empty,
 * not UTF-16, not binary and UTF-8 (with or without BOM). Returns its bytes
 * without the BOM; refuses with IMPORT_FILE_INVALID (or IMPORT_TOO_LARGE).
 */
export function checkImportFile(bytes: Uint8Array): Buffer {
  if (bytes.length > importMaxBytes) {
    throw appError(
      'IMPORT_TOO_LARGE',
      `The file is larger than ${importMaxBytes / 1024 / 1024} MB, the most an import takes. Split it into smaller files.`,
    );
  }
  let body = bytes;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (body.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d)) {
    throw invalidFile('The file is empty: it needs a header row (with an email column) and a row per user.');
  }
  if ((body[0] === 0xff && body[1] === 0xfe) || (body[0] === 0xfe && body[1] === 0xff)) {
    throw invalidFile('The file is UTF-16 text. Save it as "CSV UTF-8" and upload it again.');
  }
  if (body.includes(0)) {
    throw invalidFile('This is not a CSV file: it contains binary data. Upload a comma-separated text file (.csv).');
  }
  if (!isUtf8(body)) {
    throw invalidFile(
      `The file is not UTF-8 text: line ${firstNonUtf8Line(body)} has bytes that are not UTF-8 (perhaps Latin-1 or Windows-1252). Save it as "CSV UTF-8" and upload it again.`,
    );
  }
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

type ParsedRecord = { info: InfoRecord; record: string[] };

/** Bytes handed to the parser at a time: it yields to other requests in between. */
const parseChunkBytes = 64 * 1024;

/**
 * Reads a file checked by checkImportFile: comma-separated, a header row naming
 * the columns (email required), then the rows, handed to `onBatch` `batchRows`
 * at a time and awaited, so only a batch of rows is held at once. Refuses what
 * it cannot read with IMPORT_FILE_INVALID and a message naming the line (rows
 * before it have been handed on by then: the caller's transaction undoes them).
 */
export async function readImportFile(
  body: Buffer,
  batchRows: number,
  onBatch: (rows: FileRow[], header: ParsedFile) => Promise<void>,
): Promise<ParsedFile> {
  let header: ParsedFile | undefined;
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: importMaxRowChars,
    // Each record comes with where it ends: { info: { lines, … }, record }.
    info: true,
  });
  const chunks = Readable.from(
    (function* () {
      for (let at = 0; at < body.length; at += parseChunkBytes) yield body.subarray(at, at + parseChunkBytes);
    })(),
    { objectMode: false },
  );
  let batch: FileRow[] = [];
  try {
    for await (const { info, record } of chunks.pipe(parser) as AsyncIterable<ParsedRecord>) {
      if (record.length > importMaxColumns) throw new TooManyColumns(info.lines, record.length);
      if (!header) {
        header = readHeader(record);
        continue;
      }
      if (header.rowCount >= importMaxRows) throw new TooManyRows();
      header.rowCount++;
      // Cells Roster's export neutralised for spreadsheets ('=…, '+…) read back as they were.
      batch.push({ line: info.lines, fields: record.map(restoreFormulaCell) });
      if (batch.length >= batchRows) {
        await onBatch(batch, header);
        batch = [];
      }
    }
  } catch (error) {
    parser.destroy();
    if (error instanceof TooManyColumns) {
      throw invalidFile(
        `Line ${error.line} has ${error.count.toLocaleString('en')} fields; a row has at most ${importMaxColumns}.`,
      );
    }
    if (error instanceof TooManyRows) {
      throw invalidFile(
        `The file has more than ${importMaxRows.toLocaleString('en')} rows; split it into smaller files.`,
      );
    }
    if (error instanceof CsvError) throw invalidFile(describeCsvError(error));
    throw error;
  }
  if (!header) {
    throw invalidFile('The file is empty: it needs a header row (with an email column) and a row per user.');
  }
  if (batch.length) await onBatch(batch, header);
  if (header.rowCount === 0) throw invalidFile('The file has a header but no rows of users.');
  return header;
}

/** The columns the header row names; refuses a header without email, or naming a column twice. */
function readHeader(fields: string[]): ParsedFile {
  const columns: ParsedFile['columns'] = {};
  const recognized: string[] = [];
  const ignored: string[] = [];
  const unknown: string[] = [];
  const notes: string[] = [];
  fields.forEach((raw, index) => {
    const name = raw.trim();
    const key = normalizeHeader(name);
    const field = fieldByName[key];
    if (field) {
      if (columns[field] !== undefined) throw invalidFile(`The header names the column "${name}" twice.`);
      columns[field] = index;
      recognized.push(name);
    } else if (readOnlyColumns.has(key)) {
      ignored.push(name);
    } else if (passwordColumns.has(key)) {
      ignored.push(name);
      notes.push(
        `The "${name}" column is ignored: passwords are never imported. Users set theirs once an administrator sends them one (Set password).`,
      );
    } else if (name !== '') {
      unknown.push(name);
    }
  });
  if (columns.email === undefined) {
    const semicolons = fields.length === 1 && (fields[0] ?? '').includes(';');
    throw invalidFile(
      semicolons
        ? 'The header has no "email" column: the file seems to separate its fields with semicolons. Save it with commas (CSV UTF-8) and upload it again.'
        : `The header has no "email" column (it has: ${
            fields
              .slice(0, 10)
              .map((f) => `"${f}"`)
              .join(', ') || 'nothing'
          }). The first row names the columns: email, first name, last name, active, role.`,
    );
  }
  return { columns, recognized, ignored, unknown, notes, headerLength: fields.length, rowCount: 0 };
}
