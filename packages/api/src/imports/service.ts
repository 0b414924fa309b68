import type { Database, Db, ImportVerdict, Role } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import type { Actor } from '../context.js';
import { appError } from '../errors.js';
import { emailSchema, firstNameSchema, lastNameSchema } from '../shared/schemas.js';
import { countActiveAdmins } from '../users/queries.js';
import { assertAccountInOrganization } from '../users/service.js';
import { type FileRow, type ImportField, type ParsedFile, parseImportFile } from './csv.js';
import {
  accountNames,
  applyUpdates,
  auditChanges,
  countRows,
  countStaleMatches,
  countTakenCreates,
  endAccessOfDeactivated,
  findImport,
  type ImportRowValues,
  insertCreates,
  insertImport,
  insertImportRows,
  lockImport,
  lockOrganizationForImport,
  markApplied,
  maxLine,
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

type Draft = {
  line: number;
  email: string;
  error: string | null;
  firstName?: string | undefined;
  lastName?: string | undefined;
  role?: Role | undefined;
  active?: boolean | undefined;
};

/** Reads one row's cells into values, or the first reason it cannot be used. */
function draftOf(row: FileRow, parsed: ParsedFile): Draft {
  const headerLength = parsed.headerLength;
  const cell = (field: ImportField) => {
    const index = parsed.columns[field];
    return index === undefined ? undefined : (row.fields[index] ?? '').trim();
  };
  const rawEmail = cell('email') ?? '';
  const draft: Draft = { line: row.line, email: rawEmail.toLowerCase(), error: null };
  const fail = (message: string) => ({ ...draft, error: message });
  if (row.fields.length !== headerLength) {
    return fail(`This row has ${row.fields.length} fields; the header has ${headerLength}.`);
  }
  if (rawEmail === '') return fail('The email is empty.');
  const email = emailSchema.safeParse(rawEmail);
  if (!email.success) return fail(`Bad email "${rawEmail.slice(0, 254)}": ${firstIssue(email)}.`);
  draft.email = email.data;
  const first = cell('firstName');
  if (first) {
    const parsed = firstNameSchema.safeParse(first);
    if (!parsed.success) return fail(`${firstIssue(parsed)}.`);
    draft.firstName = parsed.data;
  }
  const last = cell('lastName');
  if (last) {
    const parsed = lastNameSchema.safeParse(last);
    if (!parsed.success) return fail(`${firstIssue(parsed)}.`);
    draft.lastName = parsed.data;
  }
  const active = cell('active');
  if (active) {
    const value = activeWords[active.toLowerCase()];
    if (value === undefined) return fail(`"active" is true or false, not "${active.slice(0, 40)}".`);
    draft.active = value;
  }
  const role = cell('role');
  if (role) {
    const value = roleWords[role.toLowerCase()];
    if (value === undefined) return fail(`"role" is admin or user, not "${role.slice(0, 40)}".`);
    draft.role = value;
  }
  return draft;
}

type Verdicted = ImportRowValues;

/**
 * Previews a CSV file of users for an account: parses it, gives every row a
 * verdict against the database as it is now, stores the preview (for an hour)
 * and returns its id and counts. Changes no user.
 */
export async function previewUserImport(
  db: Db,
  actor: Actor,
  input: { accountId: string; fileName?: string | null; bytes: Uint8Array },
): Promise<{ id: string; accountId: string; summary: ImportSummary; expiresAt: Date }> {
  const account = await assertAccountInOrganization(db, actor, input.accountId);
  const drafts: Draft[] = [];
  const parsed = parseImportFile(input.bytes, (row, header) => drafts.push(draftOf(row, header)));

  // The same address twice in one file is ambiguous: every occurrence is an error.
  const linesByEmail = new Map<string, number[]>();
  for (const draft of drafts) {
    if (draft.error) continue;
    const lines = linesByEmail.get(draft.email);
    if (lines) lines.push(draft.line);
    else linesByEmail.set(draft.email, [draft.line]);
  }
  for (const draft of drafts) {
    const lines = draft.error ? undefined : linesByEmail.get(draft.email);
    if (lines && lines.length > 1) {
      const others = lines.filter((line) => line !== draft.line).slice(0, 5);
      draft.error = `Duplicate in the file: this email is also on line${others.length > 1 ? 's' : ''} ${others.join(', ')}.`;
    }
  }

  const valid = drafts.filter((draft) => !draft.error).map((draft) => draft.email);
  const existing = new Map<string, Matched>();
  for (let start = 0; start < valid.length; start += 50_000) {
    for (const user of await usersByEmails(db, valid.slice(start, start + 50_000))) {
      existing.set(user.email.toLowerCase(), user);
    }
  }

  const elsewhere = new Set<string>();
  for (const user of existing.values()) {
    if (user.organizationId === actor.organizationId && user.accountId !== input.accountId)
      elsewhere.add(user.accountId);
  }
  const names = await accountNames(db, actor.organizationId, [...elsewhere]);
  // Each draft is let go as its row is made, so the two lists are not both whole in memory.
  const rows: Verdicted[] = new Array(drafts.length);
  for (let i = 0; i < drafts.length; i++) {
    const draft = drafts[i] as Draft;
    rows[i] = verdictOf(draft, existing.get(draft.email), actor, input.accountId, account.isDefault, names);
    (drafts as (Draft | undefined)[])[i] = undefined;
  }
  drafts.length = 0;

  // The organization keeps an active administrator: if this import would leave
  // none, every row that takes one away is an error.
  const adminsNow = await countActiveAdmins(db, actor.organizationId);
  let delta = 0;
  const removing: Verdicted[] = [];
  for (const row of rows) {
    if (row.verdict === 'create' && (row.role ?? 'user') === 'admin' && row.active !== false) delta++;
    if (row.verdict !== 'update' || !row.userId) continue;
    const before = existing.get(row.email);
    if (!before) continue;
    const wasAdmin = before.role === 'admin' && before.active;
    const isAdmin = (row.role ?? before.role) === 'admin' && (row.active ?? before.active);
    if (wasAdmin && !isAdmin) {
      delta--;
      removing.push(row);
    } else if (!wasAdmin && isAdmin) delta++;
  }
  if (adminsNow + delta <= 0) {
    for (const row of removing)
      toError(row, 'This would remove the last active administrator: make another user an administrator first.');
  }

  const counts = { total: rows.length, create: 0, update: 0, unchanged: 0, error: 0 };
  for (const row of rows) counts[row.verdict]++;
  const summary: ImportSummary = {
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
  const expiresAt = new Date(Date.now() + importLifetimeMs);
  const fileName = input.fileName ? input.fileName.slice(0, 255) : null;
  const created = await db.transaction().execute(async (tx) => {
    const row = await insertImport(tx, {
      organizationId: actor.organizationId,
      accountId: input.accountId,
      createdBy: actor.id,
      fileName,
      summary,
      expiresAt,
    });
    await insertImportRows(tx, row.id, rows);
    return row;
  });
  return { id: created.id, accountId: input.accountId, summary, expiresAt };
}

function toError(row: Verdicted, message: string) {
  row.verdict = 'error';
  row.error = message;
  row.firstName = null;
  row.lastName = null;
  row.role = null;
  row.active = null;
  row.changes = null;
}

function verdictOf(
  draft: Draft,
  user: Matched | undefined,
  actor: Actor,
  accountId: string,
  isDefault: boolean,
  names: Map<string, string>,
): Verdicted {
  const row: Verdicted = {
    line: draft.line,
    verdict: 'error',
    email: draft.email,
    userId: null,
    userVersion: null,
    firstName: null,
    lastName: null,
    role: null,
    active: null,
    changes: null,
    error: draft.error,
  };
  if (draft.error) return row;
  const refuse = (message: string) => {
    row.error = message;
    return row;
  };
  if (!user) {
    if (!draft.firstName) return refuse('A new user needs a first name.');
    if (!draft.lastName) return refuse('A new user needs a last name.');
    if (draft.role === 'admin' && !isDefault) {
      return refuse('Administrators belong to the default account: this row would create one in another account.');
    }
    return Object.assign(row, {
      verdict: 'create' as const,
      firstName: draft.firstName,
      lastName: draft.lastName,
      role: draft.role ?? null,
      active: draft.active ?? null,
      error: null,
    });
  }
  if (user.organizationId !== actor.organizationId) {
    return refuse('This email is taken: a user outside this organization has it.');
  }
  if (user.accountId !== accountId) {
    return refuse(
      `This email is taken in another account ("${names.get(user.accountId) ?? '?'}"): the import never moves users between accounts.`,
    );
  }
  row.userId = user.id;
  row.userVersion = user.version;
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const change = <K extends 'firstName' | 'lastName' | 'role' | 'active'>(key: K, value: Draft[K]) => {
    if (value === undefined || (value as unknown) === user[key]) return;
    before[key] = user[key];
    after[key] = value;
    (row as Record<K, unknown>)[key] = value;
  };
  change('firstName', draft.firstName);
  change('lastName', draft.lastName);
  change('role', draft.role);
  change('active', draft.active);
  if (Object.keys(after).length === 0) {
    row.verdict = 'unchanged';
    row.error = null;
    return row;
  }
  if (after.active === false && user.id === actor.id)
    return refuse('You cannot deactivate yourself; ask another administrator.');
  if (after.role === 'user' && user.id === actor.id)
    return refuse('You cannot demote yourself; ask another administrator.');
  if (after.role === 'admin' && !isDefault) {
    return refuse('Only users of the default account can be administrators.');
  }
  row.verdict = 'update';
  row.error = null;
  row.changes = JSON.stringify({ before, after });
  return row;
}

/** An import as its procedures return it; another organization's is NOT_FOUND. */
export async function getImport(db: Db, actor: Actor, id: string) {
  const found = await findImport(db, actor.organizationId, id);
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
 */
export async function applyUserImport(
  db: Db,
  actor: Actor,
  input: { importId: string; skipErrors: boolean },
): Promise<ImportResult> {
  try {
    return await db.transaction().execute((tx) => applyIn(tx, actor, input));
  } finally {
    running.delete(input.importId);
  }
}

const stale = (what: string) =>
  appError('IMPORT_STALE', `${what} since the preview: nothing was imported. Preview the file again, then apply.`);

async function applyIn(tx: Transaction<Database>, actor: Actor, input: { importId: string; skipErrors: boolean }) {
  // Changes that could leave the organization without an administrator wait for each other here.
  await lockOrganizationForImport(tx, actor.organizationId);
  const found = await lockImport(tx, actor.organizationId, input.importId);
  if (!found) throw appError('NOT_FOUND', 'No such import.');
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
  const progress = { done: 0, total: summary.create + summary.update };
  running.set(id, progress);
  let sessionsEnded = 0;
  let apiKeysRevoked = 0;
  for (let from = 0; from <= last; from += applyBatchLines) {
    const range = { from, to: from + applyBatchLines };
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
    progress.done += updated + created;
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
