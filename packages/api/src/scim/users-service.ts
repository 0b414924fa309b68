import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import type { MailConfig } from '../shared/config.js';
import { decodeCursor, encodeCursor } from '../shared/cursor.js';
import { assertAccountInOrganization, createUserIn, deleteUser, setActive, updateUser } from '../users/service.js';
import type { ScimActor } from './connections-service.js';
import { filterToSql } from './filter-queries.js';
import { applyPatch, stateFromResource, type UserState } from './patch.js';
import { listSchema, type ScimUser, type ScimUserRow, toScimUser } from './resource.js';
import { badRequest, ScimError } from './scim-error.js';
import {
  countScimUsers,
  findScimUser,
  lockScimUser,
  lookUpScimUser,
  pageOfScimUsers,
  type Scope,
  setScimColumns,
} from './users-queries.js';

// SCIM's Users resource on top of the users service: creating, changing,
// deactivating and deleting go through the same functions as the console's
// single-user calls (same rules, same audit rows), inside one transaction per
// SCIM request, with the connection as the actor.

export const defaultPageSize = 100;
export const maxPageSize = 1_000;

const scopeOf = (actor: ScimActor): Scope => ({ organizationId: actor.organizationId, accountId: actor.accountId });

const notFound = () => new ScimError(404, 'No such user in this connection’s account.');
const adminRefused = () =>
  new ScimError(
    403,
    'This user has a role in the organization (administrator, account administrator or auditor). They are managed in the Roster console, not through SCIM.',
  );

/**
 * The service functions open their own transaction; inside a SCIM request's
 * transaction they join it instead, so a request's changes (and their audit
 * rows) commit or roll back together.
 */
function joined(tx: Transaction<Database>): Db {
  return new Proxy(tx, {
    get(target, property) {
      if (property === 'transaction') {
        return () => ({ execute: <T>(run: (t: Transaction<Database>) => Promise<T>) => run(target) });
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Db;
}

/** Whether an If-Match header allows changing a user at this version (`*`, `W/"3"` or `"3"`). */
export function ifMatchAllows(header: string | undefined, version: number): boolean {
  if (header === undefined || header.trim() === '') return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === `"${version}"`;
  });
}

const stateOf = (row: ScimUserRow): UserState => ({
  email: row.email,
  firstName: row.firstName,
  lastName: row.lastName,
  externalId: row.externalId,
  active: row.active,
});

export type ListQuery = {
  filter?: string | undefined;
  startIndex?: string | undefined;
  count?: string | undefined;
  cursor?: string | undefined;
};

function integerParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d{1,9}$/.test(value.trim())) throw badRequest('invalidValue', `"${name}" must be a whole number.`);
  return Number(value);
}

/** `userName eq "…"` or `externalId eq "…"` alone: the lookup, and its value. */
function simpleLookup(filter: string | undefined): { by: 'userName' | 'externalId'; value: string } | null {
  const match = /^\s*(userName|externalId)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i.exec(filter ?? '');
  if (!match?.[1] || !match[2]) return null;
  try {
    const value: unknown = JSON.parse(match[2]);
    if (typeof value !== 'string' || value.includes('\u0000')) return null;
    return { by: match[1].toLowerCase() === 'username' ? 'userName' : 'externalId', value };
  } catch {
    return null;
  }
}

/** GET /Users: filtered, paged by startIndex/count or by cursor (RFC 9865). */
export async function listUsers(db: Db, actor: ScimActor, query: ListQuery, baseUrl: string) {
  const scope = scopeOf(actor);
  const lookup = simpleLookup(query.filter);
  const firstPage = (query.startIndex ?? '1').trim() === '1' && query.cursor === undefined;
  if (lookup && firstPage && (integerParam(query.count, 'count') ?? 1) >= 1) {
    // The lookup every sync makes before a change: one prepared statement, at most one user.
    const rows = await lookUpScimUser(db, scope, lookup.by, lookup.value);
    return {
      schemas: [listSchema],
      totalResults: rows.length,
      startIndex: 1,
      itemsPerPage: rows.length,
      Resources: rows.map((row) => toScimUser(row, baseUrl)),
    };
  }
  const where = query.filter === undefined || query.filter.trim() === '' ? null : filterToSql(query.filter);
  const count = Math.min(Math.max(integerParam(query.count, 'count') ?? defaultPageSize, 0), maxPageSize);
  const startIndexParam = integerParam(query.startIndex, 'startIndex');
  if (query.cursor !== undefined) {
    if (startIndexParam !== undefined) {
      throw badRequest('invalidValue', 'Use either "cursor" or "startIndex", not both.');
    }
    let after: string | null = null;
    try {
      after = decodeCursor(query.cursor, ['text'])?.[0] ?? null;
    } catch {
      throw badRequest('invalidCursor', 'The cursor is not valid; start again with an empty "cursor".');
    }
    const rows =
      count === 0 ? [] : await pageOfScimUsers(db, scope, { where, offset: 0, afterEmail: after, limit: count + 1 });
    // A first page that holds every match is its own count: a lookup needs no second query.
    const total =
      after === null && count > 0 && rows.length <= count ? rows.length : await countScimUsers(db, scope, where);
    const page = rows.slice(0, count);
    const last = page.at(-1);
    return {
      schemas: [listSchema],
      totalResults: total,
      itemsPerPage: page.length,
      ...(rows.length > count && last ? { nextCursor: encodeCursor([last.email]) } : {}),
      Resources: page.map((row) => toScimUser(row, baseUrl)),
    };
  }
  const startIndex = Math.max(startIndexParam ?? 1, 1);
  const rows =
    count === 0
      ? []
      : await pageOfScimUsers(db, scope, { where, offset: startIndex - 1, afterEmail: null, limit: count });
  // A page that is not full ends the list, so it gives the count (a lookup by userName runs one query).
  const total =
    (rows.length > 0 && rows.length < count) || (startIndex === 1 && count > 0 && rows.length === 0)
      ? startIndex - 1 + rows.length
      : await countScimUsers(db, scope, where);
  return {
    schemas: [listSchema],
    totalResults: total,
    startIndex,
    itemsPerPage: rows.length,
    Resources: rows.map((row) => toScimUser(row, baseUrl)),
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getUser(db: Db, actor: ScimActor, id: string, baseUrl: string): Promise<ScimUser> {
  if (!uuidPattern.test(id)) throw notFound();
  const row = await findScimUser(db, scopeOf(actor), id);
  if (!row) throw notFound();
  return toScimUser(row, baseUrl);
}

/** POST /Users: a user of the connection's account, as users.create makes one (without a password). */
export async function createScimUser(
  db: Db,
  actor: ScimActor,
  body: unknown,
  baseUrl: string,
  mail: MailConfig,
): Promise<ScimUser> {
  const state = stateFromResource(body, null);
  const scope = scopeOf(actor);
  const row = await db.transaction().execute(async (tx) => {
    const account = await assertAccountInOrganization(tx, actor, actor.accountId);
    const user = await createUserIn(
      tx,
      actor,
      {
        accountId: actor.accountId,
        email: state.email,
        firstName: state.firstName,
        lastName: state.lastName,
        passwordHash: null,
      },
      account,
      mail,
      state.active,
    );
    await setScimColumns(
      tx,
      scope,
      user.id,
      { externalId: state.externalId, scimConnectionId: actor.connectionId },
      false,
    );
    if (!state.active) await setActive(joined(tx), actor, { id: user.id, active: false });
    return lockScimUser(tx, scope, user.id);
  });
  if (!row) throw notFound();
  return toScimUser(row, baseUrl);
}

/** Locks the user of the scope, at the version If-Match names (404 when there is none, 412 at another version). */
async function lockAtVersion(tx: Transaction<Database>, scope: Scope, id: string, ifMatch: string | undefined) {
  const row = await lockScimUser(tx, scope, id);
  if (!row) throw notFound();
  if (!ifMatchAllows(ifMatch, row.version)) {
    throw new ScimError(412, `The user changed meanwhile (now version ${row.version}); read it again.`);
  }
  return row;
}

/**
 * Changes a user to the state `next` computes from the current one, after the
 * checks every change makes: the user is of this account, not an
 * administrator, and at the version If-Match names. Nothing is written when
 * nothing changes.
 */
async function changeUser(
  db: Db,
  actor: ScimActor,
  id: string,
  ifMatch: string | undefined,
  next: (current: UserState) => UserState,
  mail: MailConfig,
): Promise<ScimUserRow> {
  if (!uuidPattern.test(id)) throw notFound();
  const scope = scopeOf(actor);
  return db.transaction().execute(async (tx) => {
    const row = await lockAtVersion(tx, scope, id, ifMatch);
    const before = stateOf(row);
    const after = next(before);
    if (row.role !== 'user') throw adminRefused();
    const inner = joined(tx);
    let changed = false;
    if (after.email !== before.email || after.firstName !== before.firstName || after.lastName !== before.lastName) {
      await updateUser(
        inner,
        actor,
        { id, email: after.email, firstName: after.firstName, lastName: after.lastName },
        mail,
      );
      changed = true;
    }
    if (after.externalId !== before.externalId) {
      await setScimColumns(tx, scope, id, { externalId: after.externalId, scimConnectionId: actor.connectionId }, true);
      await recordAudit(tx, {
        actor,
        action: 'user.updated',
        targetType: 'user',
        targetId: id,
        targetLabel: after.email,
        before: { externalId: before.externalId },
        after: { externalId: after.externalId },
      });
      changed = true;
    }
    if (after.active !== before.active) {
      await setActive(inner, actor, { id, active: after.active });
      changed = true;
    }
    if (!changed) return row;
    await setScimColumns(tx, scope, id, { scimConnectionId: actor.connectionId }, false);
    const updated = await lockScimUser(tx, scope, id);
    if (!updated) throw notFound();
    return updated;
  });
}

/**
 * PUT /Users/{id}: the resource as sent (attributes it leaves out keep their
 * values); PATCH /Users/{id}: RFC 7644 §3.5.2 operations, as Okta and Entra ID send them.
 */
export async function changeScimUser(
  db: Db,
  actor: ScimActor,
  method: 'PUT' | 'PATCH',
  id: string,
  body: unknown,
  ifMatch: string | undefined,
  baseUrl: string,
  mail: MailConfig,
): Promise<ScimUser> {
  const next = (current: UserState) =>
    method === 'PUT' ? stateFromResource(body, current) : applyPatch(current, body);
  const row = await changeUser(db, actor, id, ifMatch, next, mail);
  return toScimUser(row, baseUrl);
}

/** DELETE /Users/{id}: permanent, as users.delete. */
export async function deleteScimUser(db: Db, actor: ScimActor, id: string, ifMatch: string | undefined) {
  if (!uuidPattern.test(id)) throw notFound();
  const scope = scopeOf(actor);
  await db.transaction().execute(async (tx) => {
    const row = await lockAtVersion(tx, scope, id, ifMatch);
    if (row.role !== 'user') throw adminRefused();
    await deleteUser(joined(tx), actor, id);
  });
}
