import type { Database } from '@roster/db';
import { TRPCError } from '@trpc/server';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../root.js';
import { defaultMailConfig, type MailConfig } from '../shared/config.js';
import {
  callerAs,
  callerWithToken,
  createTestOrg,
  type TestOrg,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';
import { foldSearchText } from '../users/fold.js';

// Property-based tests: every procedure, fed generated and hostile inputs,
// answers with a result that passes its output schema or a clean tRPC error
// (never INTERNAL_SERVER_ERROR), and a refused call changes nothing. Runs are
// kept modest for a 2-core machine; a failure prints the seed to replay it.
const runsPerProcedure = 60;

type Call = (input: unknown) => Promise<unknown>;
type CallerTree = { [key: string]: CallerTree & Call };

const procedures = Object.keys(appRouter._def.procedures as unknown as Record<string, unknown>).sort();

function procedureOf(caller: unknown, path: string): Call {
  let node = caller as CallerTree;
  for (const part of path.split('.')) node = node[part] as CallerTree & Call;
  return node as unknown as Call;
}

let db: Kysely<Database>;
let org: TestOrg;
let other: TestOrg;
const ids: string[] = [];
const emails: string[] = [];

/** Names with SQL and LIKE metacharacters, quotes and non-ASCII letters, to search for. */
const trickyNames = [
  ['50%', 'Off_Sale'],
  ['Under_score', 'Back\\slash'],
  ["O'Brien", 'Percent%Sign'],
  ['Zoë', 'Ünïcödé'],
  ['Robert', "'); DROP TABLE users;--"],
  ['Lowercase', 'under_score'],
] as const;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Fuzz Org');
  other = await createTestOrg(db, 'Fuzz Other Org');
  const account = await org.addAccount('Fuzz % _ \\ Account');
  for (const [i, [firstName, lastName]] of trickyNames.entries()) {
    const user = await org.addUser({
      firstName,
      lastName,
      accountId: i % 2 ? account.id : org.defaultAccountId,
      email: uniqueEmail(`t${i}`),
    });
    ids.push(user.id);
    emails.push(user.email);
  }
  const admin2 = await org.addUser({ role: 'admin' });
  const stranger = await other.addUser();
  ids.push(
    org.adminId,
    admin2.id,
    org.defaultAccountId,
    account.id,
    other.adminId,
    stranger.id,
    other.defaultAccountId,
  );
  emails.push(org.adminEmail, other.adminEmail, stranger.email);
}, 120_000);

const specials = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  'a\u0000b',
  '%',
  '_',
  '\\',
  '%_\\',
  '%%',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '"; select pg_sleep(10); --',
  '$1',
  '\u0430dmin@example.com', // Cyrillic a
  'ADMIN@EXAMPLE.COM',
  'admin@example.com ',
  'admin@exam\u200Bple.com',
  '\u202Egnp.exe',
  '\uFEFF',
  '\uD800',
  '\uDFFF\uD800',
  '😀'.repeat(50),
  'e\u0301',
  'ﬀ',
  'İ',
  'ß',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  'toString',
  '1e309',
  '-1',
  '0',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, as plain text.
  '${7*7}',
  'x'.repeat(101),
  'x'.repeat(257),
  'x'.repeat(1001),
  'x'.repeat(100_000),
  `${'a'.repeat(250)}@example.com`,
  'W1tdXQ',
  Buffer.from('["\\u0000"]').toString('base64url'),
  Buffer.from('["zzz","not-a-uuid"]').toString('base64url'),
  Buffer.from('["2020-01-01T00:00:00.000Z","00000000-0000-0000-0000-000000000000"]').toString('base64url'),
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...specials) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: fc.constant(null).chain(() => fc.constantFrom(...ids, ...emails)) },
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1, 2, 25, 100, 101, 2 ** 31, 2 ** 53, 1.5, -0, Number.NaN) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2 }) },
);

const absent = Symbol('absent');

/** Mostly a plausible value, sometimes a hostile one, sometimes no key at all. */
const field = (plausible: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 5, arbitrary: plausible },
    { weight: 3, arbitrary: hostileValue },
    { weight: 2, arbitrary: fc.constant(absent) },
  );

const knownId = fc.constant(null).chain(() => fc.constantFrom(...ids));
const freshEmail = fc.uuid().map((u) => `fuzz-${u.slice(0, 13)}@example.test`);
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.constantFrom(...specials),
  // A NUL or other control character inside otherwise fine text: PostgreSQL cannot store NUL.
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom('\u0000', '\u0007', '\u001b', '\u009b'))
    .map(([t, c]) => `${t}${c}${t}`),
);
const password = fc.oneof(fc.string({ minLength: 8, maxLength: 24 }), fc.constantFrom('a fine long passphrase'));

/** Drops the keys that drew `absent`, keeping the rest (and any prototype-looking key as plain data). */
function withoutAbsent(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== absent)
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const newUser = fc
  .record({
    email: field(freshEmail),
    firstName: field(text),
    lastName: field(text),
    password: field(password),
    role: field(fc.constantFrom('admin', 'user')),
  })
  .map(withoutAbsent);

const plausible: Record<string, fc.Arbitrary<unknown>> = {
  id: knownId,
  accountId: knownId,
  userId: knownId,
  email: fc.oneof(
    freshEmail,
    fc.constant(null).chain(() => fc.constantFrom(...emails)),
  ),
  firstName: text,
  lastName: text,
  password,
  currentPassword: fc.oneof(fc.constant(testPassword), password),
  newPassword: password,
  name: text,
  description: fc.string({ maxLength: 50 }),
  query: fc.string({ maxLength: 10 }),
  cursor: fc.constantFrom(...specials.slice(-4)),
  limit: fc.integer({ min: 1, max: 100 }),
  role: fc.constantFrom('admin', 'user'),
  active: fc.boolean(),
  locked: fc.boolean(),
  version: fc.integer({ min: 1, max: 3 }),
  users: fc.array(newUser, { maxLength: 4 }),
  __proto__: fc.constant({ role: 'admin' }),
  extra: hostileValue,
};

/** Objects shaped like our inputs: each key plausible, hostile or missing. */
const shapedInput = fc
  .record(Object.fromEntries(Object.entries(plausible).map(([key, arbitrary]) => [key, field(arbitrary)])))
  .map(withoutAbsent);

const anyInput = fc.oneof(
  { weight: 6, arbitrary: shapedInput },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withDate: true }) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, '', 0, [], {}) },
);

/**
 * A fingerprint of everything of the two organizations a call could change,
 * minus the bookkeeping a read does (sessions' last-seen time), in one query.
 * For sign-in procedures, whose failures are recorded by design, the failure
 * counters and lockouts are left out (and the audit rows of failed sign-ins and lockouts).
 */
async function snapshot(withSignInState: boolean): Promise<Record<string, string>> {
  const signInState = withSignInState ? sql`, u.failed_sign_ins, u.locked_until` : sql``;
  const { rows } = await sql<{ id: string; fingerprint: string }>`
    select o.id, md5(concat_ws('|',
      (select string_agg(row(u.id, u.account_id, u.email, u.first_name, u.last_name, u.role, u.active,
                             u.version, u.password_hash, u.updated_at ${signInState})::text, ',' order by u.id)
         from users u where u.organization_id = o.id),
      (select string_agg(row(a.id, a.name, a.description, a.user_count, a.updated_at)::text, ',' order by a.id)
         from accounts a where a.organization_id = o.id),
      (select count(*) from audit_log l where l.organization_id = o.id
         and l.action not in ('user.locked', 'auth.sign_in_failed')),
      (select string_agg(s.id::text, ',' order by s.id)
         from sessions s join users u on u.id = s.user_id where u.organization_id = o.id)
    )) as fingerprint
    from organizations o where o.id in (${org.organizationId}, ${other.organizationId})
  `.execute(db);
  return Object.fromEntries(rows.map((r) => [r.id, r.fingerprint]));
}

/**
 * A reset request answers no sooner than 400 ms on purpose (resets.test.ts checks it); here that
 * would only make its generated calls slow, so these callers' mail config has no such floor.
 */
const noAnswerFloor: MailConfig = { ...defaultMailConfig, resetAnswerMs: 0 };

const signInPaths = new Set(['auth.login', 'auth.changePassword']);
/** Public procedures acting for whoever owns the email they are given, in whichever organization. */
const anyOrganization = new Set(['auth.requestPasswordReset']);

describe('every procedure under generated and hostile input', () => {
  it('covers all procedures of the router, and the fingerprint sees a change', async () => {
    expect(procedures.length).toBeGreaterThan(20);
    const before = await snapshot(true);
    await db.updateTable('users').set({ failedSignIns: 1 }).where('id', '=', org.adminId).execute();
    const changed = await snapshot(true);
    expect(changed[org.organizationId]).not.toBe(before[org.organizationId]);
    expect(changed[other.organizationId]).toBe(before[other.organizationId]);
    await db.updateTable('users').set({ failedSignIns: 0 }).where('id', '=', org.adminId).execute();
    expect(await snapshot(true)).toEqual(before);
  });

  for (const path of procedures) {
    it(`${path}: a clean tRPC error or a valid result; refused calls change nothing`, async () => {
      // auth.logout ends the session it is called with: give it a session of its own each time.
      const admin = path === 'auth.logout' ? null : await callerAs(db, org.adminId, { mail: noAnswerFloor });
      const withSignIn = !signInPaths.has(path);
      await fc.assert(
        fc.asyncProperty(anyInput, async (input) => {
          const caller = admin ?? (await callerAs(db, org.adminId, { mail: noAnswerFloor }));
          const before = await snapshot(withSignIn);
          try {
            await procedureOf(caller, path)(input);
          } catch (error) {
            if (!(error instanceof TRPCError)) throw error;
            if (error.code === 'INTERNAL_SERVER_ERROR') {
              throw new Error(`INTERNAL_SERVER_ERROR: ${error.message} (cause: ${String(error.cause)})`);
            }
            // Refused: nothing changed, here or elsewhere.
            expect(await snapshot(withSignIn)).toEqual(before);
            return;
          }
          // Whatever happened, the other organization was not touched (but for a reset request for one of
          // its own people's emails: anyone may ask, and it mails them and audits it there; resets.test.ts).
          const after = (await snapshot(withSignIn))[other.organizationId];
          if (!anyOrganization.has(path)) expect(after).toBe(before[other.organizationId]);
        }),
        { numRuns: runsPerProcedure },
      );
    });
  }
});

describe('search treats SQL and LIKE metacharacters as plain text', () => {
  /**
   * What users.search promises, in plain JavaScript: text folded as the search folds it (case and
   * accents do not matter: "U" finds Ünïcödé), then anywhere in "first last email", or for one or two
   * letters the start of either name or the email.
   */
  function expected(query: string, users: { email: string; firstName: string; lastName: string }[]) {
    const text = foldSearchText(query.trim());
    if (!text) return users.map((u) => u.email);
    return users
      .filter((u) =>
        [...text].length >= 3
          ? foldSearchText(`${u.firstName} ${u.lastName} ${u.email}`).includes(text)
          : [u.email, u.firstName, u.lastName].some((v) => foldSearchText(v).startsWith(text)),
      )
      .map((u) => u.email);
  }

  it('users.search returns exactly the users whose name or email contains the text', async () => {
    const admin = await callerAs(db, org.adminId);
    const all = await db
      .selectFrom('users')
      .select(['email', 'firstName', 'lastName'])
      .where('organizationId', '=', org.organizationId)
      .execute();
    const fragments = trickyNames.flat().filter((s) => /^[\x20-\x7e]*$/.test(s));
    const query = fc.oneof(
      fc.constantFrom('%', '_', '\\', '%%', '_%', "'", "';", '%_\\', ' % ', 'ff%', 'r_s', 'u', 'Ü', 'unic', 'zoe'),
      fc
        .tuple(fc.constantFrom(...fragments), fc.nat(), fc.nat())
        .map(([s, a, b]) => s.slice(Math.min(a, b) % (s.length + 1), Math.max(a, b) % (s.length + 1))),
      fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const found = await admin.users.search({ query: q, limit: 100 });
        expect(found.items.map((u) => u.email).sort()).toEqual(expected(q, all).sort());
      }),
      { numRuns: 80 },
    );
  });

  it('accounts.list returns exactly the accounts whose name contains the text', async () => {
    const admin = await callerAs(db, org.adminId);
    const accounts = await db
      .selectFrom('accounts')
      .select('name')
      .where('organizationId', '=', org.organizationId)
      .execute();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('%', '_', '\\', '% _', ' \\ ', 'fuzz %', '%_%'),
          fc.string({ unit: 'grapheme-ascii', maxLength: 3 }),
        ),
        async (q) => {
          const found = await admin.accounts.list({ query: q, limit: 100 });
          const text = q.trim().toLowerCase();
          const want = accounts.filter((a) => !text || a.name.toLowerCase().includes(text)).map((a) => a.name);
          expect(found.items.map((a) => a.name).sort()).toEqual(want.sort());
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('control characters', () => {
  it('are refused in names, account names, descriptions, searches and key names, by field', async () => {
    const admin = await callerAs(db, org.adminId);
    const bad = 'Ada\u0000Lovelace';
    const cases: [() => Promise<unknown>, string][] = [
      [
        () =>
          admin.users.create({ accountId: org.defaultAccountId, email: uniqueEmail(), firstName: bad, lastName: 'L' }),
        'firstName',
      ],
      [() => admin.users.update({ id: ids[0] ?? '', lastName: 'Bell\u0007' }), 'lastName'],
      [() => admin.accounts.create({ name: `Nul ${bad}`, users: [] }), 'name'],
      [() => admin.accounts.update({ id: org.defaultAccountId, description: 'line\u0000' }), 'description'],
      [() => admin.users.search({ query: 'ab\u0000c' }), 'query'],
      [
        () =>
          admin.accounts.create({
            name: 'Fine name',
            users: [{ email: uniqueEmail(), firstName: bad, lastName: 'L' }],
          }),
        'users.0.firstName',
      ],
      [() => admin.apiKeys.create({ name: `Nul ${bad}` }), 'name'],
    ];
    for (const [call, field] of cases) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, field).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code, field).toBe('BAD_REQUEST');
      const issues = ((error as TRPCError).cause as unknown as { issues: { path: unknown[]; message: string }[] })
        .issues;
      expect(
        issues.map((i) => [i.path.join('.'), i.message.includes('control characters')]),
        field,
      ).toEqual([[field, true]]);
    }
    // Line breaks and tabs stay allowed in a description.
    const account = await admin.accounts.update({ id: org.defaultAccountId, description: 'first line\nsecond\tline' });
    expect(account.description).toBe('first line\nsecond\tline');
  });

  it('in a tampered cursor are a BAD_REQUEST about the cursor', async () => {
    const admin = await callerAs(db, org.adminId);
    const cursor = (values: unknown) => Buffer.from(JSON.stringify(values)).toString('base64url');
    for (const call of [
      () => admin.users.search({ cursor: cursor(['a\u0000']) }),
      () => admin.audit.list({ cursor: cursor(['not a date', '00000000-0000-0000-0000-000000000000']) }),
      () => admin.audit.list({ cursor: cursor(['2020-01-01T00:00:00.000Z', 'not-a-uuid']) }),
      () => admin.accounts.list({ cursor: cursor(['name', 'not-a-uuid']) }),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('cursor') });
    }
  });
});

describe('hostile input does not reach SQL as code', () => {
  it('leaves the schema and every table in place', async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.tables
      where table_schema = 'public' and table_name in ('users', 'accounts', 'sessions', 'audit_log', 'organizations')
    `.execute(db);
    expect(rows[0]?.n).toBe(5);
    // A signed-out caller gets nothing, whatever it sends.
    const anonymous = callerWithToken(db, null);
    await expect(anonymous.users.search({ query: "' OR '1'='1" })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
