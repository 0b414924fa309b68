import { randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import { freshMigratedDb } from '@roster/db/fresh-db';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../shared/cursor.js';
import type { UserSort, UserSortField } from '../shared/schemas.js';
import { createTestOrg, loadUsersInBulk, type TestOrg } from '../test/index.js';
import {
  searchUsers,
  shortMatchOf,
  sortedCandidatesQuery,
  sortedUsersStatements,
  type UserFilter,
} from '../users/queries.js';

// The sorted pages' plans, with 50,000 users in one organization: every order,
// both ways, first page and a page 40,000 rows deep (4,000 in an account), is
// read from its btree (migration 0013, or the email btrees) in order, the
// cursor an index condition, never sorted and never more than a page read.

const seeded = 50_000;
let db: Kysely<Database>;
let org: TestOrg;
let smallAccountId: string;
const domain = `sortplan-${randomUUID().slice(0, 8)}.test`;

const indexOf: Record<UserSortField, { org: string; account: string }> = {
  name: { org: 'users_org_name', account: 'users_account_name' },
  email: { org: 'users_org_email_search', account: 'users_account_email' },
  lastSignIn: { org: 'users_org_last_login', account: 'users_account_last_login' },
  created: { org: 'users_org_created', account: 'users_account_created' },
};

const orders: UserSort[] = (['name', 'email', 'lastSignIn', 'created'] as const).flatMap((by) =>
  (['asc', 'desc'] as const).map((direction) => ({ by, direction })),
);

async function analyzedPlansOf(filter: Omit<UserFilter, 'limit'>, sort: UserSort) {
  const plans: string[] = [];
  for (const query of sortedUsersStatements(db, org.organizationId, { ...filter, limit: 25 }, sort)) {
    const rows = await query.explain(undefined, sql`analyze`);
    plans.push(rows.map((row) => String(Object.values(row)[0])).join('\n'));
  }
  return plans;
}

/** The cursor of the row `offset` rows into the order (as the API would have given on reaching it). */
async function cursorAt(sort: UserSort, offset: number, accountId?: string): Promise<string> {
  const d = sql.raw(sort.direction);
  const scope = accountId ? sql`account_id = ${accountId}` : sql`organization_id = ${org.organizationId}`;
  const time = (column: string) =>
    sql.raw(`coalesce(to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '')`);
  const { rows } = await sql<{ a: string; b: string; c: string }>`
    select ${
      sort.by === 'name'
        ? sql`roster_search_fold(last_name) as a, roster_search_fold(first_name) as b, id::text as c`
        : sort.by === 'email'
          ? sql`email as a, '' as b, '' as c`
          : sql`${time(sort.by === 'created' ? 'created_at' : 'last_login_at')} as a, id::text as b, '' as c`
    }
    from users where ${scope}
    order by ${
      sort.by === 'name'
        ? sql`roster_search_fold(last_name) collate "C" ${d}, roster_search_fold(first_name) collate "C" ${d}, id ${d}`
        : sort.by === 'email'
          ? sql`email ${d}`
          : sort.by === 'created'
            ? sql`created_at ${d}, id ${d}`
            : sql`last_login_at ${d} nulls last, id ${d}`
    }
    offset ${offset} limit 1
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error('no row that deep');
  const tag = `${sort.by}:${sort.direction}`;
  if (sort.by === 'email') return sort.direction === 'asc' ? encodeCursor([row.a]) : encodeCursor([tag, row.a]);
  if (sort.by === 'name') return encodeCursor([tag, row.a, row.b, row.c]);
  return encodeCursor([tag, row.a, row.b]);
}

beforeAll(async () => {
  // A database of its own: the plans are about these 50,000 users, not about whatever the worker's
  // other files left in the shared one (search-plan.test.ts seeds 50,000 more, which tips the short search).
  db = (await freshMigratedDb()).db;
  org = await createTestOrg(db, 'Sort Plan Org');
  const big = await org.addAccount(`Big ${randomUUID().slice(0, 8)}`);
  const small = await org.addAccount(`Small ${randomUUID().slice(0, 8)}`);
  smallAccountId = small.id;
  // 90% in one account; 15% never signed in, the rest within 120 days; created over four years.
  // Loaded as the benchmark loads its seed: the indexes built once, after the rows.
  await loadUsersInBulk(db, async () => {
    for (let from = 1; from <= seeded; from += 10_000) {
      await sql`
        insert into users (organization_id, account_id, email, first_name, last_name, active, created_at, last_login_at)
        select ${org.organizationId}::uuid,
               case when i % 10 = 0 then ${small.id}::uuid else ${big.id}::uuid end,
               'p' || i || '@' || ${domain},
               (array['Ada', 'Bruno', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro'])[1 + i % 8],
               (array['Smith', 'Garcia', 'Müller', 'Nguyen', 'Okafor', 'Rossi', 'Kowalski', 'Tanaka',
                      'Silva', 'Johansson', 'Haddad', 'Novak', 'Åberg'])[1 + (i / 8) % 13],
               i % 13 <> 0,
               now() - ((i::bigint * 7919) % 1461) * interval '1 day' - (i % 1000) * interval '1 second',
               case when i % 20 < 3 then null else now() - ((i::bigint * 104729) % 120) * interval '1 day' - i * interval '1 ms' end
        from generate_series(${from}::int, ${Math.min(seeded, from + 9_999)}::int) as g(i)
      `.execute(db);
    }
  });
  await sql`vacuum (analyze) users`.execute(db);
}, 300_000);

afterAll(async () => {
  await db.destroy();
});

describe(`sorted pages' plans with ${seeded.toLocaleString('en')} users`, () => {
  it.each(orders.map((sort) => [`${sort.by} ${sort.direction}`, sort] as const))(
    '%s: first and deep pages, organization and account, each read from its index, a page at a time',
    async (_label, sort) => {
      const scopes = [
        { filter: {}, index: indexOf[sort.by].org, deep: 40_000, never: 48_000 },
        // A tenth of the organization: its own index (in an account of nine tenths, the organization's serves).
        { filter: { accountId: smallAccountId }, index: indexOf[sort.by].account, deep: 4_000, never: 4_900 },
      ];
      for (const { filter, index, deep, never } of scopes) {
        // Last sign-in: deep among those who never signed in too (the last 15%).
        const offsets = sort.by === 'lastSignIn' ? [deep, never] : [deep];
        const deepCursors = await Promise.all(offsets.map((offset) => cursorAt(sort, offset, filter.accountId)));
        for (const cursor of [undefined, ...deepCursors]) {
          const where = `${sort.by} ${sort.direction} ${index} ${cursor ? 'deep' : 'first'}`;
          const plans = await analyzedPlansOf({ ...filter, cursor }, sort);
          for (const plan of plans) {
            if (process.env.SHOW_PLANS) console.log(where, '\n', plan);
            expect(plan, where).toMatch(new RegExp(`Index (Only )?Scan (Backward )?using ${index} on users`));
            expect(plan, where).not.toMatch(/Seq Scan|Bitmap|Sort Key|Sort Method/);
            // A page and one more, read from the index: the cursor is a condition of the scan, not a filter after it.
            const read = [
              ...plan.matchAll(/Index (?:Only )?Scan (?:Backward )?using \S+ on users .*actual time=\S+ rows=(\d+)/g),
            ];
            expect(read.length, where).toBeGreaterThan(0);
            for (const [, rows] of read) expect(Number(rows), where).toBeLessThanOrEqual(26);
          }
          // And the page is right: the cursor's row is not on it, the next rows are.
          const page = await searchUsers(db, org.organizationId, { ...filter, cursor, sort, limit: 25 });
          expect(page.items.length, where).toBe(25);
          if (cursor !== undefined && cursor === deepCursors[1])
            expect(
              page.items.every((u) => u.lastLoginAt === null),
              where,
            ).toBe(true);
        }
      }
    },
    60_000,
  );

  it('serves the dormant filter from the last sign-in index: never, and not since a date', async () => {
    for (const direction of ['asc', 'desc'] as const) {
      const sort: UserSort = { by: 'lastSignIn', direction };
      for (const lastSignIn of [{ never: true as const }, { before: new Date(Date.now() - 90 * 86_400_000) }]) {
        for (const filter of [{ lastSignIn }, { lastSignIn, accountId: smallAccountId }]) {
          const index = filter.accountId ? 'users_account_last_login' : 'users_org_last_login';
          const plans = await analyzedPlansOf(filter, sort);
          if (process.env.SHOW_PLANS) console.log(plans.join('\n'));
          expect(plans).toHaveLength(1);
          expect(plans[0]).toMatch(new RegExp(`Index Scan (Backward )?using ${index} on users`));
          expect(plans[0]).not.toMatch(/Seq Scan|Sort Key/);
          const page = await searchUsers(db, org.organizationId, { ...filter, sort, limit: 25 });
          expect(page.items.length).toBe(25);
          for (const user of page.items) {
            if ('never' in lastSignIn) expect(user.lastLoginAt).toBeNull();
            else expect(user.lastLoginAt?.getTime()).toBeLessThan(lastSignIn.before.getTime());
          }
        }
      }
    }
  });

  it('finds dormant users in the other orders without reading the whole organization', async () => {
    for (const by of ['email', 'name', 'created'] as const) {
      const sort: UserSort = { by, direction: 'asc' };
      const [plan] = await analyzedPlansOf({ lastSignIn: { never: true } }, sort);
      expect(plan, by).not.toMatch(/Seq Scan/);
      // 15% never signed in: a page of them is found in a few hundred rows of the order's index.
      const read = [
        ...(plan ?? '').matchAll(/Index Scan (?:Backward )?using \S+ on users .*actual time=\S+ rows=(\d+)/g),
      ];
      expect(read.length, by).toBeGreaterThan(0);
      const removed = Number(/Rows Removed by Filter: (\d+)/.exec(plan ?? '')?.[1] ?? 0);
      expect(removed, by).toBeLessThan(2_000);
    }
  });

  it('finds a search’s matches through its indexes before sorting them in another order', async () => {
    const sort: UserSort = { by: 'name', direction: 'desc' };
    // A surname of one user in thirteen (3,846): fewer than the cap, found through the trigram index.
    const substring = sortedCandidatesQuery(db, org.organizationId, { query: 'aberg', limit: 25 }, sort, (eb) =>
      eb(sql<string>`users.search_text`, 'like', '%aberg%'),
    );
    const plan = (await substring.explain()).map((row) => String(Object.values(row)[0])).join('\n');
    expect(plan).toContain('users_search_text_trgm');
    expect(plan).not.toMatch(/Seq Scan on users/);
    // One or two letters: the btree prefix indexes of the folded names and the email.
    const short = sortedCandidatesQuery(
      db,
      org.organizationId,
      { query: 'no', limit: 25 },
      { by: 'created', direction: 'asc' },
      shortMatchOf('no', 'indexed'),
    );
    const shortPlan = (await short.explain()).map((row) => String(Object.values(row)[0])).join('\n');
    expect(shortPlan).toMatch(/users_(first|last)_name_prefix/);
    expect(shortPlan).not.toMatch(/Seq Scan on users/);
    const page = await searchUsers(db, org.organizationId, { query: 'aberg', sort, limit: 25 });
    expect(page.items).toHaveLength(25);
    expect(page.items.every((u) => u.lastName === 'Åberg')).toBe(true);
  });
});
