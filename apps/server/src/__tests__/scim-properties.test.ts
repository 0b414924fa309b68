import { randomUUID } from 'node:crypto';
import { createTestOrg, type TestOrg, testDb } from '@roster/api/test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { connectionTo, errorSchema, patchOp, type ScimClient, userSchema } from './scim-helpers.js';

// Generated filters and PATCH bodies against the real server: every answer is
// a correct result or a SCIM 400 (never a 500), and a refused PATCH changes nothing.

let app: Awaited<ReturnType<typeof buildTestApp>>;
let org: TestOrg;

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db, 'SCIM Properties Org');
  // Hundreds of generated requests on one connection, as fast as the machine goes: the per-connection
  // rate (scim-rate-limit.test.ts) is not what these properties are about.
  app = await buildTestApp(db, { scimRequestsPerSecond: 0 });
});

afterAll(async () => {
  await app.close();
});

type Person = {
  id: string;
  userName: string;
  givenName: string;
  familyName: string;
  externalId: string | null;
  active: boolean;
};

const people = [
  { given: 'Ada', family: 'Lovelace', externalId: 'E-1', active: true },
  { given: 'ada', family: 'Byron', externalId: 'e-1', active: false },
  { given: 'Grace', family: 'Hopper', externalId: null, active: true },
  { given: 'Émile', family: "O'Brien", externalId: 'E "2"', active: false },
];

async function seed(scim: ScimClient): Promise<Person[]> {
  const seeded: Person[] = [];
  for (const [i, p] of people.entries()) {
    const userName = `p${i}-${randomUUID().slice(0, 6)}@props.example`;
    const response = await scim('POST', '/Users', {
      schemas: [userSchema],
      userName,
      name: { givenName: p.given, familyName: p.family },
      ...(p.externalId ? { externalId: p.externalId } : {}),
      active: p.active,
    });
    expect(response.status, response.text).toBe(201);
    seeded.push({
      id: response.json.id as string,
      userName,
      givenName: p.given,
      familyName: p.family,
      externalId: p.externalId,
      active: p.active,
    });
  }
  return seeded;
}

// A small filter language and its meaning, to compare the server's answers with.
type Leaf = {
  attr: 'userName' | 'name.givenName' | 'name.familyName' | 'externalId' | 'active';
  op: string;
  value: string | boolean;
};
type Node = { leaf: Leaf } | { and: [Node, Node] } | { or: [Node, Node] } | { not: Node };

const textValue = fc.constantFrom(
  'ada',
  'ADA',
  'a',
  'e-1',
  'E-1',
  'E "2"',
  'lace',
  'émile',
  "o'brien",
  'p0',
  '@props.example',
  '',
  '%',
  '_',
  '\\',
);
const leaf: fc.Arbitrary<Leaf> = fc.oneof(
  fc.record({
    attr: fc.constantFrom(
      'userName' as const,
      'name.givenName' as const,
      'name.familyName' as const,
      'externalId' as const,
    ),
    op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'pr'),
    value: textValue,
  }),
  fc.record({ attr: fc.constant('active' as const), op: fc.constantFrom('eq', 'ne', 'pr'), value: fc.boolean() }),
);
const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf.map((l) => ({ leaf: l })),
    fc.tuple(tie('node'), tie('node')).map((pair) => ({ and: pair })),
    fc.tuple(tie('node'), tie('node')).map((pair) => ({ or: pair })),
    tie('node').map((n) => ({ not: n })),
  ),
})).node;

const quote = (value: string | boolean) => (typeof value === 'boolean' ? String(value) : JSON.stringify(value));

function render(n: Node): string {
  if ('leaf' in n)
    return n.leaf.op === 'pr' ? `${n.leaf.attr} pr` : `${n.leaf.attr} ${n.leaf.op} ${quote(n.leaf.value)}`;
  if ('and' in n) return `(${render(n.and[0])} and ${render(n.and[1])})`;
  if ('or' in n) return `(${render(n.or[0])} or ${render(n.or[1])})`;
  return `not (${render(n.not)})`;
}

function holds(n: Node, p: Person): boolean {
  if ('and' in n) return holds(n.and[0], p) && holds(n.and[1], p);
  if ('or' in n) return holds(n.or[0], p) || holds(n.or[1], p);
  if ('not' in n) return !holds(n.not, p);
  const { attr, op, value } = n.leaf;
  if (attr === 'active') return op === 'pr' ? true : op === 'eq' ? p.active === value : p.active !== value;
  const raw = {
    userName: p.userName,
    'name.givenName': p.givenName,
    'name.familyName': p.familyName,
    externalId: p.externalId,
  }[attr];
  if (op === 'pr') return raw !== null;
  if (raw === null) return op === 'ne';
  const exact = attr === 'externalId';
  const a = exact ? raw : raw.toLowerCase();
  const b = exact ? String(value) : String(value).toLowerCase();
  return { eq: a === b, ne: a !== b, co: a.includes(b), sw: a.startsWith(b), ew: a.endsWith(b) }[op] ?? false;
}

describe('SCIM properties', () => {
  it('answers a generated filter with exactly the users it matches', async () => {
    const { scim } = await connectionTo(app, org);
    const seeded = await seed(scim);
    await fc.assert(
      fc.asyncProperty(node, async (filter) => {
        const text = render(filter);
        const response = await scim('GET', `/Users?count=100&filter=${encodeURIComponent(text)}`);
        if (response.status === 400) {
          // Only what our limits refuse.
          expect(response.json.schemas, text).toEqual([errorSchema]);
          expect(['tooMany', 'invalidFilter'], text).toContain(response.json.scimType);
          return;
        }
        expect(response.status, `${text}: ${response.text}`).toBe(200);
        const got = (response.json.Resources ?? []).map((r) => r.id).sort();
        const want = seeded
          .filter((p) => holds(filter, p))
          .map((p) => p.id)
          .sort();
        expect(got, text).toEqual(want);
        expect(response.json.totalResults, text).toBe(want.length);
      }),
      { numRuns: 60 },
    );
  });

  it('answers any filter text, however broken, with 200 or a SCIM 400, never a 500', async () => {
    const { scim } = await connectionTo(app, org);
    await seed(scim);
    const token = fc.constantFrom(
      'userName',
      'emails[',
      ']',
      'type',
      'value',
      '.',
      'eq',
      'EQ',
      'co',
      'gt',
      'pr',
      'and',
      'or',
      'not',
      '(',
      ')',
      '"x"',
      '"',
      '1',
      '-1e999',
      'true',
      'null',
      'meta.created',
      '"2020-01-01T00:00:00Z"',
      'id',
      'externalId',
      'name.familyName',
      'urn:ietf:params:scim:schemas:core:2.0:User:userName',
      '\u0000',
      '\\',
      ' ',
    );
    const filterText = fc.oneof(
      fc.array(token, { maxLength: 14 }).map((t) => t.join(' ')),
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    await fc.assert(
      fc.asyncProperty(filterText, fc.option(fc.constantFrom('', 'abc', '!!')), async (text, cursor) => {
        const url = `/Users?filter=${encodeURIComponent(text)}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const response = await scim('GET', url);
        expect([200, 400], `${text}: ${response.text}`).toContain(response.status);
        if (response.status === 400) expect(response.json.schemas).toEqual([errorSchema]);
      }),
      { numRuns: 120 },
    );
  });

  it('applies a generated PATCH or refuses it with a SCIM 400 that changes nothing', async () => {
    const { scim } = await connectionTo(app, org);
    const [target] = await seed(scim);
    if (!target) throw new Error('no user');
    const path = fc.constantFrom(
      'active',
      'ACTIVE',
      'userName',
      'name.givenName',
      'name.familyName',
      'name',
      'externalId',
      'displayName',
      'title',
      'emails',
      'emails[type eq "work"].value',
      'emails[type eq "home"].value',
      'emails[type eq].value',
      'id',
      'meta.created',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
      'name..x',
      '[',
      '',
    );
    const value = fc.oneof(
      fc.constantFrom(
        true,
        false,
        'True',
        'False',
        'maybe',
        '',
        'Ann',
        'x'.repeat(101),
        'new-mail@props.example',
        null,
        42,
      ),
      fc.constantFrom(
        { givenName: 'Obj' },
        { 'name.givenName': 'Dot', active: 'False' },
        [{ value: 'list@props.example', primary: true }],
        {},
      ),
      fc.string({ maxLength: 8 }),
    );
    const operation = fc.record(
      { op: fc.constantFrom('add', 'replace', 'remove', 'Replace', 'ADD', 'move', ''), path, value },
      { requiredKeys: ['op'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 0, maxLength: 4 }), async (operations) => {
        const before = await scim('GET', `/Users/${target.id}`);
        const response = await scim('PATCH', `/Users/${target.id}`, { schemas: [patchOp], Operations: operations });
        const body = JSON.stringify(operations);
        expect([200, 400, 409], `${body}: ${response.text}`).toContain(response.status);
        const after = await scim('GET', `/Users/${target.id}`);
        if (response.status === 200) {
          expect(after.json, body).toEqual(response.json);
        } else {
          expect(response.json.schemas).toEqual([errorSchema]);
          if (response.status === 409) expect(response.json.scimType).toBe('uniqueness');
          expect(after.json, `refused ${body} changed the user`).toEqual(before.json);
        }
      }),
      { numRuns: 80 },
    );
  });
});
