import type { Role } from '@roster/db';
// The core User resource (RFC 7643 §4.1) as Roster holds it: userName is the
// email, name the first and last names, one work email, and `active`.

export const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const listSchema = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const patchSchema = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A user row as SCIM reads it. */
export type ScimUserRow = {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  active: boolean;
  externalId: string | null;
  role: Role;
  version: number;
  createdAt: Date;
  updatedAt: Date;
};

export type ScimUser = {
  schemas: string[];
  id: string;
  externalId?: string;
  userName: string;
  name: { givenName: string; familyName: string; formatted: string };
  displayName: string;
  emails: { value: string; type: 'work'; primary: true }[];
  active: boolean;
  meta: { resourceType: 'User'; created: string; lastModified: string; location: string; version: string };
};

/** The weak ETag of a version: `W/"3"`. */
export const etagOf = (version: number) => `W/"${version}"`;

export function toScimUser(row: ScimUserRow, baseUrl: string): ScimUser {
  const formatted = `${row.firstName} ${row.lastName}`;
  return {
    schemas: [userSchema],
    id: row.id,
    ...(row.externalId === null ? {} : { externalId: row.externalId }),
    userName: row.email,
    name: { givenName: row.firstName, familyName: row.lastName, formatted },
    displayName: formatted,
    emails: [{ value: row.email, type: 'work', primary: true }],
    active: row.active,
    meta: {
      resourceType: 'User',
      created: row.createdAt.toISOString(),
      lastModified: row.updatedAt.toISOString(),
      location: `${baseUrl}/Users/${row.id}`,
      version: etagOf(row.version),
    },
  };
}

/** Attributes returned whatever `attributes` or `excludedAttributes` say (RFC 7643 §7 "returned: always"). */
const alwaysReturned = new Set(['id', 'schemas', 'meta']);

const stripUrn = (path: string) => path.replace(/^urn:ietf:params:scim:schemas:core:2\.0:user:/i, '');

function parseList(value: string | undefined): string[] | null {
  if (value === undefined || value.trim() === '') return null;
  return value
    .split(',')
    .map((s) => stripUrn(s.trim()).toLowerCase())
    .filter(Boolean);
}

/**
 * Applies `attributes` (only these, plus the always-returned ones) or
 * `excludedAttributes` (all but these), at the top level and one level into
 * complex attributes (`name.givenName`). Names are case-insensitive.
 */
export function project(
  user: ScimUser,
  query: { attributes?: string | undefined; excludedAttributes?: string | undefined },
): Record<string, unknown> {
  const only = parseList(query.attributes);
  const excluded = parseList(query.excludedAttributes);
  const source = user as unknown as Record<string, unknown>;
  if (only) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) {
      const lower = key.toLowerCase();
      if (alwaysReturned.has(key) || only.includes(lower)) {
        out[key] = value;
        continue;
      }
      const subs = only.filter((a) => a.startsWith(`${lower}.`)).map((a) => a.slice(lower.length + 1));
      if (subs.length === 0) continue;
      if (Array.isArray(value)) {
        out[key] = value.map((item: Record<string, unknown>) => pick(item, subs));
      } else if (value && typeof value === 'object') {
        out[key] = pick(value as Record<string, unknown>, subs);
      }
    }
    return out;
  }
  if (excluded) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) {
      const lower = key.toLowerCase();
      if (!alwaysReturned.has(key) && excluded.includes(lower)) continue;
      const subs = excluded.filter((a) => a.startsWith(`${lower}.`)).map((a) => a.slice(lower.length + 1));
      if (subs.length && value && typeof value === 'object' && !Array.isArray(value)) {
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, unknown>).filter(([k]) => !subs.includes(k.toLowerCase())),
        );
      } else {
        out[key] = value;
      }
    }
    return out;
  }
  return source;
}

function pick(item: Record<string, unknown>, subs: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k]) => subs.includes(k.toLowerCase())));
}
