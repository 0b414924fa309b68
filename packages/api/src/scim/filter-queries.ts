import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { type Filter, parse } from 'scim2-parse-filter';
import { escapeLike } from '../shared/cursor.js';
import { badRequest } from './scim-error.js';

// SCIM filters (RFC 7644 §3.4.2.2) to SQL. scim2-parse-filter parses the text
// into a tree; here each node becomes a condition on the users table, so a
// filter is answered by Postgres (and its indexes), never by reading the
// account into memory. Attribute names are case-insensitive; strings compare
// case-insensitively except externalId and id (caseExact in RFC 7643).

/** Longest filter text and most comparisons accepted: a filter is a lookup, not a program. */
export const maxFilterLength = 2_000;
export const maxFilterTerms = 50;

const userUrn = 'urn:ietf:params:scim:schemas:core:2.0:user:';

type Condition = RawBuilder<SqlBool>;
type Value = boolean | null | number | string;
type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';

type Attribute =
  | { kind: 'text'; column: RawBuilder<string>; lower: boolean; nullable: boolean }
  | { kind: 'id' }
  | { kind: 'boolean'; column: RawBuilder<boolean> }
  | { kind: 'date'; column: RawBuilder<Date> }
  | { kind: 'constant'; value: string | boolean };

const email: Attribute = { kind: 'text', column: sql`users.email`, lower: true, nullable: false };
const fullName = sql<string>`(users.first_name || ' ' || users.last_name)`;

/** What each filterable attribute is in the users table. Keys are lower-cased attribute paths. */
const attributes: Record<string, Attribute> = {
  id: { kind: 'id' },
  username: email,
  externalid: { kind: 'text', column: sql`users.external_id`, lower: false, nullable: true },
  'emails.value': email,
  emails: email,
  'emails.type': { kind: 'constant', value: 'work' },
  'emails.primary': { kind: 'constant', value: true },
  'name.givenname': { kind: 'text', column: sql`users.first_name`, lower: true, nullable: false },
  'name.familyname': { kind: 'text', column: sql`users.last_name`, lower: true, nullable: false },
  'name.formatted': { kind: 'text', column: fullName, lower: true, nullable: false },
  displayname: { kind: 'text', column: fullName, lower: true, nullable: false },
  active: { kind: 'boolean', column: sql`users.active` },
  'meta.created': { kind: 'date', column: sql`users.created_at` },
  'meta.lastmodified': { kind: 'date', column: sql`users.updated_at` },
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRUE = sql<SqlBool>`true`;
const FALSE = sql<SqlBool>`false`;

function attributeOf(path: string): Attribute {
  let key = path.toLowerCase();
  if (key.startsWith(userUrn)) key = key.slice(userUrn.length);
  const attribute = attributes[key];
  if (!attribute) {
    throw badRequest('invalidFilter', `Filtering on "${path}" is not supported. Filterable: ${filterableList}.`);
  }
  return attribute;
}

const filterableList =
  'id, userName, externalId, emails.value, emails.type, name.givenName, name.familyName, name.formatted, displayName, active, meta.created, meta.lastModified';

const sqlOps: Record<'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le', string> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  lt: '<',
  ge: '>=',
  le: '<=',
};

function compareValues(op: CompareOp, left: RawBuilder<unknown>, right: unknown): Condition {
  switch (op) {
    case 'co':
      return sql<SqlBool>`${left} like ${`%${escapeLike(String(right))}%`}`;
    case 'sw':
      return sql<SqlBool>`${left} like ${`${escapeLike(String(right))}%`}`;
    case 'ew':
      return sql<SqlBool>`${left} like ${`%${escapeLike(String(right))}`}`;
    case 'ne':
      // SCIM: "not equal" also matches a resource without the attribute.
      return sql<SqlBool>`${left} is distinct from ${right}`;
    default:
      return sql<SqlBool>`${left} ${sql.raw(sqlOps[op])} ${right}`;
  }
}

/** Compares plain JavaScript values, for attributes Roster holds as constants. */
function compareConstant(op: CompareOp, left: string | boolean, right: Value): boolean {
  if (typeof left === 'boolean') {
    if (typeof right !== 'boolean')
      throw badRequest('invalidFilter', 'Compare a boolean attribute with true or false.');
    if (op === 'eq') return left === right;
    if (op === 'ne') return left !== right;
    throw badRequest('invalidFilter', `"${op}" does not apply to a boolean attribute.`);
  }
  if (typeof right !== 'string') throw badRequest('invalidFilter', 'Compare a text attribute with a quoted string.');
  const a = left.toLowerCase();
  const b = right.toLowerCase();
  const results: Record<CompareOp, boolean> = {
    eq: a === b,
    ne: a !== b,
    co: a.includes(b),
    sw: a.startsWith(b),
    ew: a.endsWith(b),
    gt: a > b,
    lt: a < b,
    ge: a >= b,
    le: a <= b,
  };
  return results[op];
}

function comparison(op: CompareOp, path: string, value: Value): Condition {
  const attribute = attributeOf(path);
  if (value === null) {
    // "eq null" asks for an absent attribute, "ne null" for a present one (RFC 7644 §3.4.2.2).
    if (op === 'eq') return negate(presence(attribute));
    if (op === 'ne') return presence(attribute);
    throw badRequest('invalidFilter', `"${op} null" is not a valid comparison.`);
  }
  switch (attribute.kind) {
    case 'constant':
      return compareConstant(op, attribute.value, value) ? TRUE : FALSE;
    case 'boolean': {
      const bool = typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
      if (typeof bool !== 'boolean') throw badRequest('invalidFilter', `Compare "${path}" with true or false.`);
      if (op !== 'eq' && op !== 'ne') throw badRequest('invalidFilter', `"${op}" does not apply to "${path}".`);
      return compareValues(op, attribute.column, bool);
    }
    case 'date': {
      const date = typeof value === 'string' ? new Date(value) : null;
      if (!date || Number.isNaN(date.getTime())) {
        throw badRequest('invalidFilter', `Compare "${path}" with a date and time, like "2026-01-31T12:00:00Z".`);
      }
      if (op === 'co' || op === 'sw' || op === 'ew') {
        throw badRequest('invalidFilter', `"${op}" does not apply to "${path}".`);
      }
      return compareValues(op, attribute.column, date.toISOString());
    }
    case 'id': {
      if (typeof value !== 'string') throw badRequest('invalidFilter', 'Compare "id" with a quoted string.');
      if (op === 'eq') return uuidPattern.test(value) ? sql<SqlBool>`users.id = ${value}::uuid` : FALSE;
      if (op === 'ne') return uuidPattern.test(value) ? sql<SqlBool>`users.id <> ${value}::uuid` : TRUE;
      // Other comparisons on the text form of the id.
      return compareValues(op, sql`users.id::text`, value.toLowerCase());
    }
    case 'text': {
      if (typeof value !== 'string') throw badRequest('invalidFilter', `Compare "${path}" with a quoted string.`);
      if (value.includes('\u0000')) throw badRequest('invalidFilter', 'A filter value cannot contain a NUL character.');
      if (attribute.lower) {
        // email is stored lower-cased: comparing the column itself keeps its index usable.
        const column = attribute === email ? attribute.column : sql`lower(${attribute.column})`;
        return compareValues(op, column, value.toLowerCase());
      }
      const compared = compareValues(op, attribute.column, value);
      // A comparison with an absent (null) attribute is false, never SQL's unknown: else
      // `not (externalId eq "x")` would leave out the users without one. `ne` is never unknown.
      return attribute.nullable && op !== 'ne'
        ? sql<SqlBool>`(${attribute.column} is not null and ${compared})`
        : compared;
    }
  }
}

function presence(attribute: Attribute): Condition {
  switch (attribute.kind) {
    case 'text':
      return attribute.nullable ? sql<SqlBool>`${attribute.column} is not null` : TRUE;
    default:
      return TRUE;
  }
}

const negate = (condition: Condition): Condition => sql<SqlBool>`not (${condition})`;

/** A value path `emails[type eq "work"]`: its inner filter on the sub-attributes of `emails`. */
function withinValuePath(path: string, inner: Filter, count: () => void): Condition {
  const prefix = path.toLowerCase().replace(userUrn, '');
  if (prefix !== 'emails') {
    throw badRequest('invalidFilter', `Value filters are supported on "emails" only, not "${path}".`);
  }
  return toCondition(inner, count, `${path}.`);
}

function toCondition(filter: Filter, count: () => void, prefix = ''): Condition {
  count();
  switch (filter.op) {
    case 'and':
    case 'or': {
      const parts = filter.filters.map((f) => toCondition(f, count, prefix));
      return sql<SqlBool>`(${sql.join(parts, sql.raw(` ${filter.op} `))})`;
    }
    case 'not':
      return negate(toCondition(filter.filter, count, prefix));
    case '[]':
      if (prefix) throw badRequest('invalidFilter', 'Value filters cannot be nested.');
      return withinValuePath(filter.attrPath, filter.valFilter, count);
    case 'pr':
      return presence(attributeOf(`${prefix}${filter.attrPath}`));
    default:
      return comparison(filter.op, `${prefix}${filter.attrPath}`, filter.compValue);
  }
}

/** The parsed filter, or a SCIM 400 invalidFilter for anything the grammar or our limits refuse. */
export function parseFilter(text: string): Filter {
  if (text.length > maxFilterLength) {
    throw badRequest('invalidFilter', `A filter has at most ${maxFilterLength} characters.`);
  }
  if (text.includes('\u0000')) throw badRequest('invalidFilter', 'A filter cannot contain a NUL character.');
  try {
    // The library takes operators in lower case only; RFC 7644 says they are case-insensitive.
    return parse(lowerCaseOperators(text));
  } catch (error) {
    const reason = error instanceof RangeError ? 'it is nested too deeply' : (error as Error).message;
    throw badRequest('invalidFilter', `The filter is not valid: ${reason}.`);
  }
}

/** Lower-cases the operators and keywords outside quoted strings (`userName EQ "A"` → `userName eq "A"`). */
function lowerCaseOperators(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|[A-Za-z]+/g, (token) =>
    token.startsWith('"') || !/^(eq|ne|co|sw|ew|gt|lt|ge|le|pr|and|or|not|true|false|null)$/i.test(token)
      ? token
      : token.toLowerCase(),
  );
}

/** A SCIM filter as an SQL condition on `users`; a 400 invalidFilter when it cannot be one. */
export function filterToSql(text: string): Condition {
  const filter = parseFilter(text);
  let terms = 0;
  return toCondition(filter, () => {
    terms += 1;
    if (terms > maxFilterTerms) {
      throw badRequest('tooMany', `A filter has at most ${maxFilterTerms} terms.`);
    }
  });
}
