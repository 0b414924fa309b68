import { filter as matcher, parse } from 'scim2-parse-filter';
import { emailSchema, firstNameSchema, lastNameSchema } from '../shared/schemas.js';
import { badRequest } from './scim-error.js';

// What a SCIM request may change of a user, and how PUT, POST and PATCH bodies
// (in the shapes Okta and Entra ID send) become that. Everything here is pure:
// a body is turned into the user's new state, or refused with a SCIM 400,
// before anything is written.

/** A user's writable state as SCIM sees it. */
export type UserState = {
  email: string;
  firstName: string;
  lastName: string;
  externalId: string | null;
  active: boolean;
};

/** Most operations one PATCH may carry. */
export const maxPatchOperations = 100;

const coreUrn = /^urn:ietf:params:scim:schemas:core:2\.0:user:/i;
const extensionUrn = /^urn:/i;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Entra ID sends booleans as the strings "True" and "False". */
function booleanOf(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw badRequest('invalidValue', `"${path}" must be true or false.`);
}

function stringOf(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  throw badRequest('invalidValue', `"${path}" must be a string.`);
}

/** The email in an `emails` value: the primary one, else the work one, else the first. */
function emailOfList(value: unknown): string | undefined {
  const items = Array.isArray(value) ? value : [value];
  const emails = items.filter(isObject);
  const chosen =
    emails.find((e) => e.primary === true || e.primary === 'True' || e.primary === 'true') ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  if (chosen === undefined) {
    if (items.length === 0) return undefined;
    throw badRequest('invalidValue', '"emails" must be a list of { value, type, primary }.');
  }
  return chosen.value === undefined ? undefined : stringOf(chosen.value, 'emails.value');
}

const readOnly = new Set(['id', 'meta', 'schemas']);
const required = (what: string) => badRequest('invalidValue', `Roster requires ${what}; it cannot be removed.`);

/**
 * Sets one attribute (a lower-cased path without the core schema's URN) on
 * the state. Attributes Roster does not keep (nickName, title, phoneNumbers,
 * extension schemas, ...) are accepted and ignored.
 */
function assign(state: UserState, fullPath: string, value: unknown, op: 'add' | 'replace' | 'remove'): void {
  if (!coreUrn.test(fullPath) && extensionUrn.test(fullPath)) return;
  const rawPath = fullPath.replace(coreUrn, '');
  const path = rawPath.toLowerCase();
  const valuePath = /^([a-z0-9_$-]+)\[(.*)\](?:\.([a-z0-9_$-]+))?$/i.exec(rawPath);
  if (valuePath) {
    assignValuePath(state, valuePath, value, op);
    return;
  }
  if (!/^[a-z0-9_$-]+(\.[a-z0-9_$-]+)?$/i.test(rawPath)) {
    throw badRequest('invalidPath', `"${rawPath}" is not a valid attribute path.`);
  }
  const remove = op === 'remove';
  switch (path) {
    case 'username':
      if (remove) throw required('a userName');
      state.email = stringOf(value, 'userName');
      return;
    case 'name':
      if (remove) throw required('a name');
      if (!isObject(value)) throw badRequest('invalidValue', '"name" must be an object.');
      for (const [key, sub] of Object.entries(value)) assign(state, `name.${key}`, sub, op);
      return;
    case 'name.givenname':
      if (remove) throw required('name.givenName');
      state.firstName = stringOf(value, 'name.givenName');
      return;
    case 'name.familyname':
      if (remove) throw required('name.familyName');
      state.lastName = stringOf(value, 'name.familyName');
      return;
    case 'externalid':
      state.externalId = remove || value === null ? null : stringOf(value, 'externalId');
      return;
    case 'active':
      if (remove) return;
      state.active = booleanOf(value, 'active');
      return;
    case 'emails':
    case 'emails.value': {
      if (remove) throw required('an email');
      const email = path === 'emails' ? emailOfList(value) : stringOf(value, 'emails.value');
      if (email !== undefined) state.email = email;
      return;
    }
    default:
      if (readOnly.has(path.split('.')[0] ?? '')) {
        throw badRequest('mutability', `"${rawPath}" is read-only.`);
      }
  }
}

/** `emails[type eq "work"].value`: Roster's one email is `{ value, type: "work", primary: true }`. */
function assignValuePath(
  state: UserState,
  [, attribute = '', inner = '', sub]: RegExpExecArray,
  value: unknown,
  op: 'add' | 'replace' | 'remove',
): void {
  if (attribute.toLowerCase() !== 'emails') return; // phoneNumbers[...], addresses[...]: not kept
  let matches: boolean;
  try {
    matches = matcher(parse(inner))({ value: state.email, type: 'work', primary: true });
  } catch {
    throw badRequest('invalidPath', `"${inner}" is not a valid value filter.`);
  }
  if (!matches) return; // another kind of email (home, other): not kept
  const subPath = sub?.toLowerCase();
  if (op === 'remove') {
    if (subPath === undefined || subPath === 'value') throw required('an email');
    return;
  }
  if (subPath === 'value') state.email = stringOf(value, 'emails.value');
  else if (subPath === undefined) {
    const email = emailOfList(value);
    if (email !== undefined) state.email = email;
  }
}

/** Applies a PatchOp body (RFC 7644 §3.5.2) to a copy of the state. */
export function applyPatch(current: UserState, body: unknown): UserState {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The body must be a PatchOp JSON object.');
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw badRequest('invalidSyntax', 'A PATCH needs "Operations": a non-empty list of { op, path, value }.');
  }
  if (operations.length > maxPatchOperations) {
    throw badRequest('tooMany', `A PATCH has at most ${maxPatchOperations} operations.`);
  }
  const state = { ...current };
  for (const operation of operations) {
    if (!isObject(operation)) throw badRequest('invalidSyntax', 'Each operation is an object { op, path, value }.');
    const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw badRequest('invalidSyntax', 'An operation\'s "op" is "add", "replace" or "remove".');
    }
    const path = operation.path;
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) {
      throw badRequest('invalidPath', '"path" must be a non-empty string.');
    }
    if (path === undefined) {
      if (op === 'remove') throw badRequest('noTarget', 'A "remove" operation needs a "path".');
      const value = operation.value;
      if (!isObject(value)) throw badRequest('invalidValue', 'Without a "path", "value" must be an object.');
      for (const [key, sub] of Object.entries(value)) {
        // Pathless values may name attributes with dots ("name.givenName", as Entra ID does).
        if (key.toLowerCase() === 'id' || key.toLowerCase() === 'schemas' || key.toLowerCase() === 'meta') continue;
        assign(state, key, sub, op);
      }
      continue;
    }
    if (op !== 'remove' && !('value' in operation)) {
      throw badRequest('invalidValue', `"${op}" needs a "value".`);
    }
    assign(state, path.trim(), operation.value, op);
  }
  return validated(state);
}

/** The state a POST or PUT body asks for; `current` fills what it leaves out (and `active` defaults to true). */
export function stateFromResource(body: unknown, current: UserState | null): UserState {
  if (!isObject(body)) throw badRequest('invalidSyntax', 'The body must be a User JSON object.');
  const userName = body.userName ?? Object.entries(body).find(([k]) => k.toLowerCase() === 'username')?.[1];
  if (typeof userName !== 'string' || userName.trim() === '') {
    throw badRequest('invalidValue', '"userName" is required: the user\'s email address.');
  }
  const state: UserState = current
    ? { ...current }
    : { email: '', firstName: '', lastName: '', externalId: null, active: true };
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'id' || lower === 'meta' || lower === 'schemas' || lower === 'password' || value === null) continue;
    if (lower === 'emails') continue; // userName is the email; a different primary email is not kept
    assign(state, key, value, 'replace');
  }
  state.email = userName;
  // Roster needs first and last names; identity providers may leave them out.
  if (!state.firstName.trim() || !state.lastName.trim()) {
    const display = typeof body.displayName === 'string' ? body.displayName.trim().split(/\s+/) : [];
    const local = userName.split('@')[0] ?? userName;
    if (!state.firstName.trim()) state.firstName = display[0] || local;
    if (!state.lastName.trim()) state.lastName = display.slice(1).join(' ') || state.firstName;
  }
  return validated(state);
}

/** The state, trimmed and checked with the console's own rules; a SCIM 400 invalidValue names what is wrong. */
function validated(state: UserState): UserState {
  const email = emailSchema.safeParse(state.email);
  if (!email.success) throw badRequest('invalidValue', `userName: ${email.error.issues[0]?.message}.`);
  const first = firstNameSchema.safeParse(state.firstName);
  if (!first.success) throw badRequest('invalidValue', `name.givenName: ${first.error.issues[0]?.message}.`);
  const last = lastNameSchema.safeParse(state.lastName);
  if (!last.success) throw badRequest('invalidValue', `name.familyName: ${last.error.issues[0]?.message}.`);
  const externalId = state.externalId;
  if (externalId !== null && (externalId.length === 0 || externalId.length > 1000 || externalId.includes('\u0000'))) {
    throw badRequest('invalidValue', 'externalId: 1 to 1000 characters, without NUL.');
  }
  return { ...state, email: email.data, firstName: first.data, lastName: last.data };
}
