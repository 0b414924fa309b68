import type { Database, Db, ImportVerdict, Role } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { accountScopeOf } from '../core/access.js';
import { appError } from '../errors.js';
import { inviteUsers } from '../links/invitations.js';
import type { Actor } from '../shared/actor.js';
import type { MailConfig } from '../shared/config.js';
import { emailSchema, firstNameSchema, lastNameSchema } from '../shared/schemas.js';
import { countActiveAdmins } from '../users/queries.js';
import { assertAccountInOrganization } from '../users/service.js';
import { checkImportFile, type FileRow, type ImportField, type ParsedFile, readImportFile } from './csv.js';
import {
  accountNames,
  applyUpdates,
  auditChanges,
  countRows,
  countStaleMatches,
  countTakenCreates,
  countVerdicts,
  endAccessOfDeactivated,
  findImport,
  type ImportRowValues,
  insertCreates,
  insertImport,
  insertImportRows,
  lockImport,
  lockOrganizationForImport,
  markApplied,
  markRowsAsErrors,
  maxLine,
  setImportSummary,
  updateKinds,
  usersByEmails,
} from './queries.js';

/** How long a preview can be applied. */
export const importLifetimeMs = 60 * 60_000;
/** Lines applied per batch of statements (and per step of progress). */
const applyBatchLines = 10_000;

export type ImportSummary = {
  total: number;
  create: number;
  update: number;
  unchanged: number;
  error: number;
  columns: string[];
  ignoredColumns: string[];
  unknownColumns: string[];
  notes: string[];
};

export type ImportResult = {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  deactivated: number;
  reactivated: number;
  roleChanged: number;
  sessionsEnded: number;
  apiKeysRevoked: number;
};

type Matched = Awaited<ReturnType<typeof usersByEmails>>[number];

const activeWords: Record<string, boolean> = {
  true: true,
  yes: true,
  y: true,
  '1': true,
  active: true,
  false: false,
  no: false,
  n: false,
  '0': false,
  inactive: false,
  deactivated: false,
};
const roleWords: Record<string, Role> = { admin: 'admin', administrator: 'admin', user: 'user' };

const firstIssue = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues[0]?.message ?? 'Not valid';

/**
 * A row of the file as it is read: its values (null where the cell is empty or
 * the column absent) or the first reason it cannot be used. The same object
 * then takes its verdict (verdictOf), so a row is one object from the file to
 * the stored preview.
 */
type Row = ImportRowValues;

/** Reads one row's cells into values, or the first reason it cannot be used. */
function rowOf(fileRow: FileRow, parsed: ParsedFile): Row {
  const headerLength = parsed.headerLength;
  const cell = (field: ImportField) => {
    const index = parsed.columns[field];
    return index === undefined ? '' : (fileRow.fields[index] ?? '').trim();
  };
  const rawEmail = cell('email');
  const row: Row = {
    line: fileRow.line,
    verdict: 'error',
    email: rawEmail.toLowerCase(),
    userId: null,
    userVersion: null,
    firstName: null,
    lastName: null,
    role: null,
    active: null,
    changes: null,
    error: null,
  };
  const fail = (message: string) => toError(row, message);
  if (fileRow.fields.length !== headerLength) {
    return fail(`This row has ${fileRow.fields.length} fields; the header has ${headerLength}.`);
  }
  if (rawEmail === '') return fail('The email is empty.');
  const email = emailSchema.safeParse(rawEmail);
  if (!email.success) return fail(`Bad email "${rawEmail.slice(0, 254)}": ${firstIssue(email)}.`);
  row.email = email.data;
  const first = cell('firstName');
  if (first) {
    const parsed = firstNameSchema.safeParse(first);
    if (!parsed.success) return fail(`${firstIssue(parsed)}.`);
    row.firstName = parsed.data;
  }
  const last = cell('lastName');
  if (last) {
    const parsed = lastNameSchema.safeParse(last);
    if (!parsed.success) return fail(`${firstIssue(parsed)}.`);
    row.lastName = parsed.data;
  }
  const active = cell('active');
  if (active) {
    const value = activeWords[active.toLowerCase()];
    if (value === undefined) return fail(`"active" is true or false, not "${active.slice(0, 40)}".`);
    row.active = value;
  }
  const role = cell('role');
  if (role) {
    const value = roleWords[role.toLowerCase()];
    if (value === undefined) return fail(`"role" is admin or user, not "${role.slice(0, 40)}".`);
    row.role = value;
  }
  return row;
}

/**
 * Rows read, looked up, judged and stored at a time: only a batch of rows (and
 * the users they name) is held at once, whatever the file's size.
 */
const previewBatchRows = 10_000;

const duplicateMessage = (others: number[]) =>
  `Duplicate in the file: this email is also on line${others.length > 1 ? 's' : ''} ${others.join(', ')}.`;

/**
 * Previews a CSV file of users for an account: parses it, gives every row a
 * verdict against the database as it is now, stores the preview (for an hour)
 * and returns its id and counts. Changes no user. The file is read and stored a
 * batch of rows at a time, in one transaction; what needs the whole file (an
 * email repeated on a later line, the last administrator) turns stored rows into
 * errors at the end. `batchRows` is for tests: any size gives the same preview.
 */
export async function previewUserImport(
  db: Db,
  actor: Actor,
  input: { accountId: string; fileName?: string | null; bytes: Uint8Array },
  { batchRows = previewBatchRows }: { batchRows?: number } = {},
): Promise<{ id: string; accountId: string; summary: ImportSummary; expiresAt: Date }> {
  const account = await assertAccountInOrganization(db, actor, input.accountId);
  const body = checkImportFile(input.bytes);
  const expiresAt = new Date(Date.now() + importLifetimeMs);
  const fileName = input.fileName ? input.fileName.slice(0, 255) : null;

  return db.transaction().execute(async (tx) => {
    const stored = await insertImport(tx, {
      organizationId: actor.organizationId,
      accountId: input.accountId,
      createdBy: actor.id,
      fileName,
      summary: {},
      expiresAt,
    });
    // The first line of every email so far, and every line of those repeated.
    const firstLine = new Map<string, number>();
    const repeated = new Map<string, number[]>();
    const context: VerdictContext = {
      actor,
      accountId: input.accountId,
      isDefault: account.isDefault,
      accountNames: new Map(),
      adminEffects: new Map(),
    };

    const parsed = await readImportFile(body, batchRows, async (fileRows, header) => {
      const rows = fileRows.map((fileRow) => rowOf(fileRow, header));
      // The same address twice in one file is ambiguous: every occurrence is an error.
      for (const row of rows) {
        if (row.error) continue;
        const seen = firstLine.get(row.email);
        if (seen === undefined) {
          firstLine.set(row.email, row.line);
          continue;
        }
        const lines = repeated.get(row.email) ?? [seen];
        lines.push(row.line);
        repeated.set(row.email, lines);
      }
      // (Each gets its message, naming the other lines, at the end; earlier batches' too.)
      for (const row of rows) if (!row.error && repeated.has(row.email)) toError(row, duplicateMessage([]));

      const users = new Map<string, Matched>();
      for (const user of await usersByEmails(
        tx,
        rows.filter((row) => !row.error).map((row) => row.email),
      )) {
        users.set(user.email.toLowerCase(), user);
      }
      const unnamed = new Set<string>();
      for (const user of users.values()) {
        const elsewhere = user.organizationId === actor.organizationId && user.accountId !== input.accountId;
        if (elsewhere && !context.accountNames.has(user.accountId)) unnamed.add(user.accountId);
      }
      if (unnamed.size) {
        for (const [id, name] of await accountNames(tx, actor.organizationId, [...unnamed])) {
          context.accountNames.set(id, name);
        }
      }
      for (const row of rows) verdictOf(row, users.get(row.email), context);
      await insertImportRows(tx, stored.id, rows);
    });
    firstLine.clear();

    const duplicateLines = new Set<number>();
    const errorLines: number[] = [];
    const errorMessages: string[] = [];
    for (const lines of repeated.values()) {
      for (const line of lines) {
        duplicateLines.add(line);
        errorLines.push(line);
        errorMessages.push(duplicateMessage(lines.filter((other) => other !== line).slice(0, 5)));
      }
    }
    repeated.clear();

    // The organization keeps an active administrator: if this import would leave
    // none, every row that takes one away is an error. (A repeated email's rows
    // are errors, and change nobody.)
    let adminDelta = 0;
    const removingAdmin: number[] = [];
    for (const [line, effect] of context.adminEffects) {
      if (duplicateLines.has(line)) continue;
      adminDelta += effect;
      if (effect < 0) removingAdmin.push(line);
    }
    if (removingAdmin.length && (await countActiveAdmins(tx, actor.organizationId)) + adminDelta <= 0) {
      for (const line of removingAdmin) {
        errorLines.push(line);
        errorMessages.push(
          'This would remove the last active administrator: make another user an administrator first.',
        );
      }
    }
    await markRowsAsErrors(tx, stored.id, errorLines, errorMessages);

    const counts = await countVerdicts(tx, stored.id);
    const summary: ImportSummary = {
      total: parsed.rowCount,
      ...counts,
      columns: parsed.recognized,
      ignoredColumns: parsed.ignored,
      unknownColumns: parsed.unknown,
      notes: [
        ...parsed.notes,
        ...(parsed.unknown.length
          ? [
              `Unknown column${parsed.unknown.length > 1 ? 's' : ''} ignored: ${parsed.unknown.map((c) => `"${c}"`).join(', ')}.`,
            ]
          : []),
      ],
    };
    await setImportSummary(tx, stored.id, summary);
    return { id: stored.id, accountId: input.accountId, summary, expiresAt };
  });
}

function toError(row: Row, message: string): Row {
  row.verdict = 'error';
  row.error = message;
  row.userId = null;
  row.userVersion = null;
  row.firstName = null;
  row.lastName = null;
  row.role = null;
  row.active = null;
  row.changes = null;
  return row;
}

type VerdictContext = {
  actor: Actor;
  accountId: string;
  isDefault: boolean;
  accountNames: Map<string, string>;
  /** By line, the rows so far that add an active administrator (1) or take one away (-1). */
  adminEffects: Map<number, 1 | -1>;
};

/**
 * Gives a row its verdict against `user` (the user with its email, if any):
 * create, update (only the fields that change remain set, with `changes`),
 * unchanged, or error.
 */
function verdictOf(row: Row, user: Matched | undefined, context: VerdictContext): void {
  if (row.error) return;
  const { actor, isDefault } = context;
  const delegated = accountScopeOf(actor) !== undefined;
  if (delegated && row.role !== null && row.role !== 'user') {
    return void toError(row, "Account administrators do not give roles: leave the role empty, or 'user'.");
  }
  if (!user) {
    if (!row.firstName) return void toError(row, 'A new user needs a first name.');
    if (!row.lastName) return void toError(row, 'A new user needs a last name.');
    if (row.role === 'admin' && !isDefault) {
      return void toError(
        row,
        'Administrators belong to the default account: this row would create one in another account.',
      );
    }
    row.verdict = 'create';
    if (row.role === 'admin' && row.active !== false) context.adminEffects.set(row.line, 1);
    return;
  }
  if (user.organizationId !== actor.organizationId) {
    return void toError(row, 'This email is taken: a user outside this organization has it.');
  }
  if (user.accountId !== context.accountId) {
    // An account administrator is not told other accounts' names.
    const name = accountScopeOf(actor) === undefined ? context.accountNames.get(user.accountId) : undefined;
    return void toError(
      row,
      `This email is taken in another account${name ? ` ("${name}")` : ''}: the import never moves users between accounts.`,
    );
  }
  if (delegated && user.role !== 'user') {
    return void toError(
      row,
      'This user is an administrator or an auditor: account administrators change plain users only.',
    );
  }
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const key of ['firstName', 'lastName', 'role', 'active'] as const) {
    const value = row[key];
    if (value === null || value === user[key]) {
      row[key] = null;
      continue;
    }
    before[key] = user[key];
    after[key] = value;
  }
  if (Object.keys(after).length === 0) {
    row.verdict = 'unchanged';
    row.userId = user.id;
    row.userVersion = user.version;
    return;
  }
  if (after.active === false && user.id === actor.id) {
    return void toError(row, 'You cannot deactivate yourself; ask another administrator.');
  }
  if (after.role === 'user' && user.id === actor.id) {
    return void toError(row, 'You cannot demote yourself; ask another administrator.');
  }
  if (after.role === 'admin' && !isDefault) {
    return void toError(row, 'Only users of the default account can be administrators.');
  }
  row.verdict = 'update';
  row.userId = user.id;
  row.userVersion = user.version;
  row.changes = JSON.stringify({ before, after });
  const wasAdmin = user.role === 'admin' && user.active;
  const isAdmin = (row.role ?? user.role) === 'admin' && (row.active ?? user.active);
  if (wasAdmin && !isAdmin) context.adminEffects.set(row.line, -1);
  else if (!wasAdmin && isAdmin) context.adminEffects.set(row.line, 1);
}

/** An import as its procedures return it; another organization's is NOT_FOUND. */
export async function getImport(db: Db, actor: Actor, id: string) {
  const found = await findImport(db, actor.organizationId, id, accountScopeOf(actor));
  if (!found) throw appError('NOT_FOUND', 'No such import.');
  return {
    id: found.id,
    accountId: found.accountId,
    fileName: found.fileName,
    status: found.status,
    summary: found.summary as ImportSummary,
    createdAt: found.createdAt,
    expiresAt: found.expiresAt,
    appliedAt: found.appliedAt,
    result: (found.result as ImportResult | null) ?? null,
    progress: progressOf(found.id),
  };
}

// Progress of running applies, in this process (polled by the console while
// its apply request runs). The apply itself is one transaction: its outcome is
// in the database; this only says how far it has got.
const running = new Map<string, { done: number; total: number }>();
const progressOf = (id: string) => running.get(id) ?? null;

/**
 * Applies a previewed import, all of it in one transaction, or nothing: it
 * refuses when it was applied already, has expired, has error rows (unless
 * skipErrors), or when anything it previewed has changed since (IMPORT_STALE).
 * `batchLines` is for tests: any size applies the same, in more or fewer steps of progress.
 */
export async function applyUserImport(
  db: Db,
  actor: Actor,
  input: { importId: string; skipErrors: boolean },
  mail: MailConfig,
  { batchLines = applyBatchLines }: { batchLines?: number } = {},
): Promise<ImportResult> {
  const progress = { done: 0, total: 0 };
  try {
    return await db.transaction().execute((tx) => applyIn(tx, actor, input, progress, mail, batchLines));
  } finally {
    // Only this apply's own entry: a second apply of the same import, refused, leaves the first's.
    if (running.get(input.importId) === progress) running.delete(input.importId);
  }
}

const stale = (what: string) =>
  appError('IMPORT_STALE', `${what} since the preview: nothing was imported. Preview the file again, then apply.`);

async function applyIn(
  tx: Transaction<Database>,
  actor: Actor,
  input: { importId: string; skipErrors: boolean },
  progress: { done: number; total: number },
  mail: MailConfig,
  batchLines: number,
) {
  // Changes that could leave the organization without an administrator wait for each other here.
  await lockOrganizationForImport(tx, actor.organizationId);
  const found = await lockImport(tx, actor.organizationId, input.importId, accountScopeOf(actor));
  if (!found) throw appError('NOT_FOUND', 'No such import.');
  // Its verdicts were decided by the rules of whoever previewed it: an account
  // administrator applies only what was previewed under theirs.
  if (accountScopeOf(actor) !== undefined && found.createdBy !== actor.id) {
    throw appError(
      'OUTSIDE_DELEGATION',
      'Not allowed: account administrators apply only imports they previewed; upload the file again.',
    );
  }
  if (found.status === 'applied') throw appError('IMPORT_APPLIED', 'This import was applied already.');
  if (found.expiresAt.getTime() <= Date.now()) {
    throw appError('IMPORT_EXPIRED', 'This preview has expired (after an hour): preview the file again.');
  }
  const summary = found.summary as ImportSummary;
  if (summary.error > 0 && !input.skipErrors) {
    throw appError(
      'IMPORT_HAS_ERRORS',
      `${summary.error.toLocaleString('en')} row${summary.error > 1 ? 's have' : ' has'} errors: fix them and upload the file again, or skip them.`,
    );
  }
  const { accountId, id } = found;
  const movedOrChanged = await countStaleMatches(tx, id, accountId);
  if (movedOrChanged > 0) {
    throw stale(
      `${movedOrChanged.toLocaleString('en')} of the users it changes or checked ${movedOrChanged > 1 ? 'have' : 'has'} been changed or deleted`,
    );
  }
  const taken = await countTakenCreates(tx, id);
  if (taken > 0)
    throw stale(`${taken.toLocaleString('en')} of the emails it creates ${taken > 1 ? 'have' : 'has'} been taken`);

  const last = await maxLine(tx, id);
  progress.total = summary.create + summary.update;
  running.set(id, progress);
  let sessionsEnded = 0;
  let apiKeysRevoked = 0;
  for (let from = 0; from <= last; from += batchLines) {
    const range = { from, to: from + batchLines };
    const access = await endAccessOfDeactivated(tx, actor, id, range);
    sessionsEnded += access.sessionsEnded;
    apiKeysRevoked += access.apiKeysRevoked;
    const expected = await countRows(tx, id, 'update', range);
    const updated = await applyUpdates(tx, id, accountId, range);
    if (updated !== expected) throw stale('A user it changes has been changed');
    const created = await insertCreates(tx, actor, id, accountId, range).catch((error: unknown) => {
      if ((error as { code?: string }).code === '23505') throw stale('An email it creates has been taken');
      throw error;
    });
    await auditChanges(tx, actor, id, range);
    // Created without a password, so invited (the active ones), in this transaction with their mails.
    await inviteUsers(tx, actor, mail, created);
    progress.done += updated + created.length;
  }
  if ((await countActiveAdmins(tx, actor.organizationId)) === 0) {
    throw appError(
      'LAST_ADMIN',
      'This import would leave the organization without an active administrator: nothing was imported.',
    );
  }
  const kinds = await updateKinds(tx, id);
  const result: ImportResult = {
    created: summary.create,
    updated: summary.update,
    unchanged: summary.unchanged,
    skipped: summary.error,
    deactivated: kinds.deactivated,
    reactivated: kinds.reactivated,
    roleChanged: kinds.roleChanged,
    sessionsEnded,
    apiKeysRevoked,
  };
  await markApplied(tx, id, actor, result);
  await recordAudit(tx, {
    actor,
    action: 'account.users_imported',
    targetType: 'account',
    targetId: accountId,
    targetLabel: found.accountName,
    after: { importId: id, fileName: found.fileName, ...result },
  });
  return result;
}

export type { ImportVerdict };
