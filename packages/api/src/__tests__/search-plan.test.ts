import { randomUUID } from 'node:crypto';
import { type Database, statementNameOf } from '@roster/db';
import { freshMigratedDb } from '@roster/db/fresh-db';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../shared/cursor.js';
import { createTestOrg, loadUsersInBulk, type TestOrg } from '../test/index.js';
import { foldSearchText } from '../users/fold.js';
import {
  candidateCap,
  candidateUsersQuery,
  emailPrefixMatchOf,
  findUserByEmail,
  orderedUsersQuery,
  plainOrderedUsers,
  plainOrderedUsersQuery,
  type SubstringRoute,
  searchUsers,
  shortMatchOf,
  substringPlanOf,
  substringUsers,
  substringUsersQuery,
  type UserFilter,
} from '../users/queries.js';
import { estimateText, forgetTextSample } from '../users/search-stats-queries.js';

// These tests hold the query plans, not the clock: with 50,000 users in one
// organization, each search and list query must be served by its index. Dropping
// or changing one of those indexes (or a query so that it no longer fits its
// index) fails here, on PGlite and on Postgres alike.

const seeded = 50_000;
/** One user in 500 has this surname, so a piece of it is a selective search. */
const rareSurname = 'Quillfeather';

let db: Kysely<Database>;
let org: TestOrg;
let bigAccountId: string;
const domain = `plan-${randomUUID().slice(0, 8)}.test`;

/** The plan Postgres (or PGlite) chooses, as text. */
async function planOf(query: { explain(): Promise<Record<string, unknown>[]> }): Promise<string> {
  const rows = await query.explain();
  return rows.map((row) => String(Object.values(row)[0])).join('\n');
}

type Filter = Omit<UserFilter, 'limit'>;

/** The query that finds a one- or two-letter search's candidates through the btree prefix indexes. */
const shortCandidates = (query: string) =>
  candidateUsersQuery(db, org.organizationId, { query, limit: 25 }, shortMatchOf(query, 'indexed'));

/** The query that reads users in email order (lists, email prefixes). */
const ordered = (filter: Filter, match: ReturnType<typeof emailPrefixMatchOf> | null = null) =>
  orderedUsersQuery(db, org.organizationId, { ...filter, limit: 25 }, match);

/** The substring search's one statement, its values in place. */
const substring = (query: string, route: SubstringRoute, filter: Filter = {}) =>
  substringUsersQuery(db, org.organizationId, { ...filter, limit: 25 }, query, { route, headRows: 10_000 });

/** The plan as run: steps a one-time filter skipped show as "never executed". */
async function analyzedPlanOf(query: {
  explain(format?: unknown, options?: unknown): Promise<Record<string, unknown>[]>;
}) {
  const rows = await query.explain(undefined, sql`analyze`);
  return rows.map((row) => String(Object.values(row)[0])).join('\n');
}

beforeAll(async () => {
  // A database of its own, as sort-plan.test.ts has: the plans are about these 50,000 users.
  db = (await freshMigratedDb()).db;
  org = await createTestOrg(db, 'Plan Org');
  const big = await org.addAccount(`Big ${randomUUID().slice(0, 8)}`);
  const small = await org.addAccount(`Small ${randomUUID().slice(0, 8)}`);
  bigAccountId = big.id;

  // Loaded as the benchmark loads its seed: the indexes built once, after the rows.
  await loadUsersInBulk(db, async () => {
    // Set-based, in statements of 10,000 rows (each well inside the statement timeout on a busy machine):
    // 90% in one account, names from short lists.
    for (let from = 1; from <= seeded; from += 10_000) {
      await sql`
      insert into users (organization_id, account_id, email, first_name, last_name, active)
      select ${org.organizationId}::uuid,
             case when i % 10 = 0 then ${small.id}::uuid else ${big.id}::uuid end,
             lower(f.name) || '.' || lower(l.name) || i || '@' || ${domain},
             f.name, l.name, i % 13 <> 0
      from generate_series(${from}::int, ${Math.min(seeded, from + 9_999)}::int) as g(i)
      cross join lateral (select (array['Ada', 'Bruno', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro',
                                        'Ines', 'Jonas', 'Kwame', 'Lena', 'Mateo', 'Noor', 'Olga', 'Priya'])[1 + i % 16]
                          as name) f
      cross join lateral (select case when i % 500 = 7 then ${rareSurname}
                                      else (array['Smith', 'Garcia', 'Müller', 'Nguyen', 'Okafor', 'Rossi', 'Kowalski',
                                                  'Tanaka', 'Silva', 'Johansson', 'Haddad', 'Novak'])[1 + (i / 16) % 12]
                                 end as name) l
    `.execute(db);
    }
  });
  // Vacuumed as autovacuum would, so index-only scans need not visit the table.
  await sql`vacuum (analyze) users`.execute(db);
}, 300_000);

afterAll(async () => {
  await db.destroy();
});

describe(`query plans with ${seeded.toLocaleString('en')} users`, () => {
  it('finds a selective substring through the trigram index on search_text, and nothing else', async () => {
    const plan = await planOf(substring('llfeat', 'rare'));
    expect(plan).toContain('users_search_text_trgm');
    expect(plan).not.toMatch(/Seq Scan on users|Hash/);
    // Run: the ordered scan behind the one-time filter never starts.
    const run = await analyzedPlanOf(substring('llfeat', 'rare'));
    expect(run).toMatch(/Bitmap Heap Scan on users .*actual time/);
    expect(run).toMatch(/Index Only Scan using users_org_email_search .*never executed/);
    const page = await searchUsers(db, org.organizationId, { query: 'LLFEAT', limit: 25 });
    expect(page.items.length).toBe(25);
    expect(page.items.every((u) => u.lastName === rareSurname)).toBe(true);
    expect(page.items.map((u) => u.email)).toEqual(page.items.map((u) => u.email).sort());
  });

  it('reads a common substring in email order from the covering email btree alone, never the whole table', async () => {
    // Run: the head finds the page from the index alone; nothing else starts (Postgres, knowing that the text
    // is in every row, would read candidates from the table in any order, but never needs to).
    const run = await analyzedPlanOf(substring(domain, 'common'));
    expect(run).toMatch(/Index Only Scan using users_org_email_search .*actual time/);
    expect(run).not.toMatch(/(Seq Scan|Bitmap Heap Scan) on users .*actual time/);
    expect(run).not.toMatch(/Hash/);
    // Common text routed as rare: more candidates than the cap, so the ordered scan (index-only) answers.
    const rare = await analyzedPlanOf(substring(domain, 'rare'));
    expect(rare).toMatch(/Index Only Scan using users_org_email_search .*actual time/);
    expect(rare).toMatch(/Heap Fetches: 0/);
    // More candidates than the cap: the search takes this path, and pages on.
    const first = await searchUsers(db, org.organizationId, { query: `@${domain}`, limit: 25 });
    expect(seeded).toBeGreaterThan(candidateCap);
    expect(first.items.length).toBe(25);
    const second = await searchUsers(db, org.organizationId, {
      query: `@${domain}`,
      limit: 25,
      cursor: first.nextCursor ?? '',
    });
    expect((second.items[0]?.email ?? '') > (first.items.at(-1)?.email ?? '')).toBe(true);
    expect(await searchUsers(db, org.organizationId, { query: domain, limit: 25 })).toEqual(first);
    for (const route of ['common', 'rare'] as const) {
      const rows = await substringUsers(db, org.organizationId, { limit: 25 }, domain, { route, headRows: 10_000 });
      expect(rows.slice(0, 25)).toEqual(first.items);
    }
  });

  it('reads text in more users than the cap from the head of the email order, as at ten million users', async () => {
    // At ten million users, text in 0.1% of them has 10,000 matches: reading 5,001 candidates through the trigram
    // index only to find there are too many took 8.5 ms of a 13.7 ms search, and the head finds its page in 20,000
    // users (3.7 ms). Such text takes the common route, with a head big enough for its page.
    // (The worker's other files may have read the sample before these users were added.)
    forgetTextSample(db);
    const estimate = await estimateText(db, foldSearchText(rareSurname));
    expect(estimate?.rows).toBeGreaterThanOrEqual(seeded * 0.9);
    // The sample is read too: this file's users, most of the table, all have its domain in their email.
    expect((await estimateText(db, domain))?.share).toBeGreaterThan(0.5);
    const plan = substringPlanOf({ share: 0.001, rows: 10_000_000 }, 25);
    expect(plan).toEqual({ route: 'common', headRows: 60_000 });
    // Here: a head bigger than the table finds the page of a text in 0.2% of users from the btree alone.
    const run = await analyzedPlanOf(
      substringUsersQuery(db, org.organizationId, { limit: 25 }, 'llfeat', { route: 'common', headRows: 60_000 }),
    );
    expect(run).toMatch(/Index Only Scan using users_org_email_search .*actual time/);
    expect(run).toMatch(/Bitmap Heap Scan on users .*never executed/);
    expect(run).not.toMatch(/Seq Scan on users .*actual time/);
    const rows = await substringUsers(db, org.organizationId, { limit: 25 }, 'llfeat', plan);
    const page = await searchUsers(db, org.organizationId, { query: 'llfeat', limit: 25 });
    expect(rows.slice(0, 25)).toEqual(page.items);
  });

  it('plans the substring search for its values: it is not a prepared statement on the server', async () => {
    // A plan for any value guesses the organization's size from how many there are: in a database of many
    // small organizations it would read a big one's users one by one instead of using the trigram index.
    await substringUsers(db, org.organizationId, { limit: 25 }, 'llfeat', { route: 'rare', headRows: 10_000 });
    const { sql: text } = substring('llfeat', 'rare').compile();
    expect(statementNameOf(text)).toBeUndefined();
  });

  it('finds the start of an email address as a range of the email btree', async () => {
    const plan = await planOf(ordered({ query: 'grace.rossi1' }, emailPrefixMatchOf('grace.rossi1')));
    expect(plan).toMatch(/Index (Only )?Scan using users_org_email/);
    expect(plan).toMatch(/Index Cond: .*email >= 'grace\.rossi1'/);
    expect(plan).not.toMatch(/Seq Scan on users|Sort/);
    const page = await searchUsers(db, org.organizationId, { query: 'Grace.Rossi1', limit: 25 });
    expect(page.items.length).toBe(25);
    expect(page.items.every((u) => u.email.startsWith('grace.rossi1'))).toBe(true);
  });

  it('serves plain lists and email prefixes from the email btrees, planned for their values', async () => {
    const cases: Array<[string, Filter, string | null, RegExp]> = [
      ['the organization', {}, null, /Index (Only )?Scan using users_org_email/],
      ['an account', { accountId: bigAccountId }, null, /Index (Only )?Scan using users_(account|org)_email/],
      [
        'an account, deep',
        { accountId: bigAccountId, cursor: encodeCursor(['m']) },
        null,
        /Index (Only )?Scan using users_(account|org)_email/,
      ],
      ['an email prefix', { query: 'grace.rossi1' }, 'grace.rossi1', /Index (Only )?Scan using users_org_email/],
      [
        'an email prefix in an account',
        { accountId: bigAccountId, query: 'grace.rossi1' },
        'grace.rossi1',
        /Index (Only )?Scan using users_(account|org)_email/,
      ],
    ];
    for (const [what, filter, prefix, index] of cases) {
      const query = plainOrderedUsersQuery(db, org.organizationId, { ...filter, limit: 25 }, prefix);
      if (!query) throw new Error(`${what}: not a plain list`);
      const plan = await planOf(query);
      expect(plan, `${what}:\n${plan}`).toMatch(index);
      expect(plan, `${what}:\n${plan}`).not.toMatch(/Seq Scan on users|Sort|Bitmap/);
      if (prefix) expect(plan, `${what}:\n${plan}`).toMatch(/Index Cond: .*email >= 'grace\.rossi1'/);
      // Not a prepared statement on the server: planned for any value, in a database of many small accounts,
      // Postgres read a big account's 200,000 users through a bitmap and sorted them (98 ms instead of 0.2).
      await plainOrderedUsers(db, org.organizationId, { ...filter, limit: 25 }, prefix);
      expect(statementNameOf(query.compile().sql), what).toBeUndefined();
    }
    // Other filters are built for each request, as before.
    expect(plainOrderedUsersQuery(db, org.organizationId, { active: true, limit: 25 }, null)).toBeNull();
  });

  it('finds the same page through a plain list as through the general query, from any cursor, for any page size', async () => {
    // LIKE's own characters (_ and %) are matched as themselves.
    for (const prefix of [null, 'grace.rossi1', 'grace.rossi100', 'grace.', 'zz.', 'ada.smith1@', 'grace_r', 'a%']) {
      for (const limit of [1, 25, 60]) {
        for (const cursor of [undefined, encodeCursor([`${prefix ?? 'm'}5`])]) {
          const filter = { query: prefix ?? undefined, limit, cursor };
          const plain = await plainOrderedUsers(db, org.organizationId, filter, prefix);
          const match = prefix === null ? null : emailPrefixMatchOf(prefix);
          const general = await ordered(filter, match)
            .limit(limit + 1)
            .execute();
          expect(plain?.slice(0, limit + 1), `${prefix} ${limit} ${cursor}`).toEqual(general);
        }
      }
    }
  });

  it('matches one or two characters by prefix through btree indexes', async () => {
    for (const query of ['q', 'ok', 'zz']) {
      const plan = await planOf(shortCandidates(query));
      expect(plan).toMatch(/users_org_email|users_first_name_prefix|users_last_name_prefix/);
      expect(plan).not.toMatch(/Seq Scan on users/);
    }
    const page = await searchUsers(db, org.organizationId, { query: 'Q', limit: 25 });
    expect(page.items.length).toBe(25);
    expect(page.items.every((u) => u.lastName === rareSurname)).toBe(true);
    const common = await searchUsers(db, org.organizationId, { query: 'gr', limit: 25 });
    expect(common.items.every((u) => u.firstName === 'Grace' || u.lastName === 'Garcia')).toBe(true);
  });

  it('starts a deep page at its cursor in an email btree, as cheaply as the first', async () => {
    const { email: deep } = await db
      .selectFrom('users')
      .select('email')
      .where('accountId', '=', bigAccountId)
      .orderBy('email')
      .offset(40_000)
      .limit(1)
      .executeTakeFirstOrThrow();
    for (const filter of [
      { accountId: bigAccountId, cursor: encodeCursor([deep]) },
      { accountId: bigAccountId, active: true, cursor: encodeCursor([deep]) },
      { cursor: encodeCursor([deep]) },
    ]) {
      const plan = await planOf(ordered(filter));
      expect(plan).toMatch(/Index (Only )?Scan using users_(account|org)_email/);
      // The cursor bounds the scan (an Index Cond), rather than filtering rows read from the start.
      expect(plan).toMatch(/Index Cond: .*email > /);
      expect(plan).not.toMatch(/Seq Scan on users|Sort/);
    }
    const page = await searchUsers(db, org.organizationId, {
      accountId: bigAccountId,
      cursor: encodeCursor([deep]),
      limit: 25,
    });
    expect((page.items[0]?.email ?? '') > deep).toBe(true);
  });

  it('gets a user by email through the unique index', async () => {
    const { email } = await db
      .selectFrom('users')
      .select('email')
      .where('organizationId', '=', org.organizationId)
      .where('lastName', '=', rareSurname)
      .limit(1)
      .executeTakeFirstOrThrow();
    const plan = await planOf(
      db
        .selectFrom('users')
        .select('id')
        .where('organizationId', '=', org.organizationId)
        .where(sql<string>`lower(email)`, '=', email),
    );
    expect(plan).toContain('users_email_unique');
    expect((await findUserByEmail(db, org.organizationId, email.toUpperCase()))?.email).toBe(email);
  });

  it('keeps the account count in one update per statement', async () => {
    const account = await db
      .selectFrom('accounts')
      .select('userCount')
      .where('id', '=', bigAccountId)
      .executeTakeFirstOrThrow();
    expect(account.userCount).toBe(seeded - seeded / 10);
  });
});
