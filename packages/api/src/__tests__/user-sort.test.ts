import { randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../shared/cursor.js';
import type { LastSignInFilter, UserSort } from '../shared/schemas.js';
import { createTestOrg, errorDataOf, expectTRPCError, fieldErrorsOf, type TestOrg, testDb } from '../test/index.js';
import { searchLimits } from '../users/queries.js';

// Sorting and the dormant filter: every order, both ways, walked page by page
// over a few hundred users with ties (names equal once folded, equal times) and
// nulls (never signed in), compared with a plain ORDER BY of the same rows.

let db: Kysely<Database>;
let org: TestOrg;
let accountId: string;
const seeded = 240;
const domain = `sort-${randomUUID().slice(0, 8)}.test`;
/** The sign-in times: few distinct ones (ties), a microsecond apart at places, and a third null. */
const base = '2026-03-01T10:00:00.000000Z';

const orders: UserSort[] = (['name', 'email', 'lastSignIn', 'created'] as const).flatMap((by) =>
  (['asc', 'desc'] as const).map((direction) => ({ by, direction })),
);

/** The order the API promises, as plain SQL over the given ids. */
function orderBy(sort: UserSort) {
  const d = sql.raw(sort.direction);
  switch (sort.by) {
    case 'name':
      return sql`roster_search_fold(last_name) collate "C" ${d}, roster_search_fold(first_name) collate "C" ${d}, id ${d}`;
    case 'email':
      return sql`email ${d}`;
    case 'lastSignIn':
      return sql`last_login_at ${d} nulls last, id ${d}`;
    case 'created':
      return sql`created_at ${d}, id ${d}`;
  }
}

async function expectedIds(sort: UserSort, where: ReturnType<typeof sql>) {
  const { rows } = await sql<{ id: string }>`
    select id from users where organization_id = ${org.organizationId} and ${where} order by ${orderBy(sort)}
  `.execute(db);
  return rows.map((r) => r.id);
}

type SearchInput = Parameters<TestOrg['admin']['users']['search']>[0] & {};

/** Every page of a search, one after the other, by cursor. */
async function walk(input: SearchInput, limit = 7) {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const page: { items: Array<{ id: string }>; nextCursor: string | null } = await org.admin.users.search({
      ...input,
      limit,
      cursor,
    });
    ids.push(...page.items.map((u) => u.id));
    if (!page.nextCursor) return ids;
    expect(page.items.length).toBe(limit);
    cursor = page.nextCursor;
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Sort Org');
  accountId = (await org.addAccount()).id;
  // Names that tie once folded (Müller, MULLER, muller), first names too; a third never signed in.
  await sql`
    insert into users (organization_id, account_id, email, first_name, last_name, created_at, last_login_at, active)
    select ${org.organizationId}::uuid,
           case when i % 3 = 0 then ${accountId}::uuid else ${org.defaultAccountId}::uuid end,
           'u' || lpad(((i * 37) % ${seeded})::text, 4, '0') || '@' || ${domain},
           (array['Zoë', 'zoe', 'Ada', 'ÁDA', 'Émile'])[1 + i % 5],
           (array['Müller', 'MULLER', 'muller', 'Ng', 'Åberg', 'aberg', 'Zed'])[1 + (i / 5) % 7],
           ${base}::timestamptz + ((i % 6) * interval '1 microsecond') + ((i % 4) * interval '1 day'),
           case when i % 3 = 1 then null
                else ${base}::timestamptz - ((i % 5) * interval '10 days') + ((i % 2) * interval '1 microsecond') end,
           i % 11 <> 0
    from generate_series(1, ${seeded}) as g(i)
  `.execute(db);
}, 180_000);

const everyone = () => sql`true`;

describe('users.search sorted', () => {
  it('walks every order, both ways, page by page, exactly as ORDER BY lists the users', async () => {
    for (const sort of orders) {
      const all = await walk({ sort });
      expect(all, `${sort.by} ${sort.direction}`).toEqual(await expectedIds(sort, everyone()));
    }
  });

  it('pages an account, and every filter, in every order', async () => {
    for (const sort of orders) {
      const label = `${sort.by} ${sort.direction}`;
      expect(await walk({ sort, accountId }), label).toEqual(await expectedIds(sort, sql`account_id = ${accountId}`));
      expect(await walk({ sort, active: false }, 4), label).toEqual(await expectedIds(sort, sql`not active`));
      expect(await walk({ sort, accountId, lastSignIn: { never: true } }, 5), label).toEqual(
        await expectedIds(sort, sql`account_id = ${accountId} and last_login_at is null`),
      );
    }
  });

  it('keeps today’s order and cursor when no sort is given: email ascending, [email]', async () => {
    const first = await org.admin.users.search({ query: domain, limit: 3 });
    const sorted = await org.admin.users.search({ query: domain, limit: 3, sort: { by: 'email', direction: 'asc' } });
    expect(sorted).toEqual(first);
    expect(first.nextCursor).toBe(encodeCursor([first.items.at(-1)?.email ?? '']));
    const direction = await org.admin.users.search({ query: domain, limit: 3, sort: { by: 'email' } });
    expect(direction).toEqual(first);
  });

  it('sorts search results in each order, through the indexes or (for common text) by reading in order', async () => {
    for (const query of ['mu', 'ZOE', 'uller', 'u00', `@${domain}`]) {
      // What the search finds, in its own (email) order; each order must list the same users, sorted.
      const found = await walk({ query }, 50);
      expect(found.length, query).toBeGreaterThan(0);
      for (const sort of orders) {
        const expected = await expectedIds(sort, sql`id in (${sql.join(found)})`);
        expect(await walk({ query, sort }, 13), `${query} ${sort.by} ${sort.direction}`).toEqual(expected);
        const saved = searchLimits.candidateCap;
        searchLimits.candidateCap = 5;
        try {
          // More matches than the cap: the users are read in the sort order and checked one by one.
          expect(await walk({ query, sort }, 13), `${query} ${sort.by} ${sort.direction} in order`).toEqual(expected);
        } finally {
          searchLimits.candidateCap = saved;
        }
      }
    }
  }, 180_000);

  it('pages a common search from the head of the order, and refuses one whose matches lie too far along it', async () => {
    const saved = { ...searchLimits };
    searchLimits.candidateCap = 5;
    searchLimits.headRows = 120;
    try {
      // Zoë is two first names in five (last among each last name's): any 120 users in name order hold a page of them.
      const found = await walk({ query: 'zoe' }, 50);
      for (const direction of ['asc', 'desc'] as const) {
        const sort: UserSort = { by: 'name', direction };
        expect(await walk({ query: 'zoe', sort }, 5)).toEqual(await expectedIds(sort, sql`id in (${sql.join(found)})`));
      }
      // Zed sorts last by name: the first 120 users hold none, so ascending is refused (descending finds them first).
      const refused = await expectTRPCError(
        org.admin.users.search({ query: 'zed', sort: { by: 'name', direction: 'asc' } }),
        'BAD_REQUEST',
      );
      expect(errorDataOf(refused).reason).toBe('SEARCH_TOO_BROAD');
      expect(refused.message).toMatch(/Too many users match “zed” to sort them in this order: sort by email/);
      const zeds = await org.admin.users.search({ query: 'zed', sort: { by: 'name', direction: 'desc' }, limit: 10 });
      expect(zeds.items).toHaveLength(10);
      expect(zeds.items.every((u) => u.lastName === 'Zed')).toBe(true);
      // By email, any search pages.
      expect((await org.admin.users.search({ query: 'zed', limit: 10 })).items).toHaveLength(10);
    } finally {
      Object.assign(searchLimits, saved);
    }
  });

  it('finds nobody for a search nobody matches, in any order', async () => {
    for (const sort of orders) {
      expect(await org.admin.users.search({ query: 'qqxqq', sort })).toEqual({ items: [], nextCursor: null });
    }
  });
});

describe('the dormant filter (lastSignIn)', () => {
  it('lists those who never signed in, or last signed in before a date, combined with the other filters', async () => {
    const before = new Date('2026-02-25T00:00:00.000Z');
    const cases: Array<[LastSignInFilter, ReturnType<typeof sql>]> = [
      [{ never: true }, sql`last_login_at is null`],
      [{ before }, sql`last_login_at < ${before}`],
    ];
    for (const [lastSignIn, where] of cases) {
      for (const sort of [undefined, ...orders]) {
        const expected = await expectedIds(sort ?? { by: 'email', direction: 'asc' }, where);
        expect(expected.length).toBeGreaterThan(10);
        expect(await walk({ lastSignIn, sort }, 9)).toEqual(expected);
      }
      const inDefault = org.defaultAccountId;
      const combined = await walk({ lastSignIn, accountId: inDefault, active: true, query: 'zoe', role: 'user' });
      expect(combined).toEqual(
        await expectedIds(
          { by: 'email', direction: 'asc' },
          sql`${where} and account_id = ${inDefault} and active and role = 'user' and search_text like '%zoe%'`,
        ),
      );
      expect(combined.length).toBeGreaterThan(0);
    }
  });

  it('does not count someone who never signed in as signed in before a date', async () => {
    const page = await org.admin.users.search({ lastSignIn: { before: new Date('2100-01-01') }, limit: 100 });
    expect(page.items.every((u) => u.lastLoginAt !== null)).toBe(true);
  });

  it('refuses a filter it cannot read, with a message', async () => {
    for (const lastSignIn of [{}, { never: false }, { before: 'yesterday' }, { before: new Date('nope') }]) {
      const error = await expectTRPCError(
        org.admin.users.search({ lastSignIn: lastSignIn as LastSignInFilter }),
        'BAD_REQUEST',
      );
      expect(Object.keys(fieldErrorsOf(error) ?? {}).join()).toMatch(/lastSignIn/);
    }
    const far = await expectTRPCError(
      org.admin.users.search({ lastSignIn: { before: new Date('+020000-01-01T00:00:00Z') } }),
      'BAD_REQUEST',
    );
    expect(far.message).toMatch(/between the years/);
  });
});

describe('sort cursors', () => {
  it('refuses a cursor of another order, and tampered ones, with INVALID_CURSOR', async () => {
    const byName = await org.admin.users.search({ sort: { by: 'name', direction: 'asc' }, limit: 2 });
    const byEmail = await org.admin.users.search({ limit: 2 });
    const misuses: Array<[UserSort | undefined, string | null]> = [
      [undefined, byName.nextCursor],
      [{ by: 'name', direction: 'desc' }, byName.nextCursor],
      [{ by: 'created', direction: 'asc' }, byName.nextCursor],
      [{ by: 'name', direction: 'asc' }, byEmail.nextCursor],
      [
        { by: 'lastSignIn', direction: 'asc' },
        encodeCursor(['lastSignIn:asc', '2026-13-01T00:00:00.000000Z', randomUUID()]),
      ],
      [{ by: 'created', direction: 'asc' }, encodeCursor(['created:asc', '2026-01-01T00:00:00Z', randomUUID()])],
      [{ by: 'created', direction: 'asc' }, encodeCursor(['created:asc', '', randomUUID()])],
      [{ by: 'name', direction: 'asc' }, encodeCursor(['name:asc', 'a', 'b', 'not-a-uuid'])],
      [{ by: 'name', direction: 'asc' }, 'garbage!'],
    ];
    for (const [sort, cursor] of misuses) {
      const error = await expectTRPCError(org.admin.users.search({ sort, cursor }), 'BAD_REQUEST');
      expect(errorDataOf(error).reason).toBe('INVALID_CURSOR');
    }
    const other = await expectTRPCError(
      org.admin.users.search({ sort: { by: 'email', direction: 'asc' }, cursor: byName.nextCursor }),
      'BAD_REQUEST',
    );
    expect(other.message).toMatch(/another order/);
  });

  it('refuses an order it does not know, naming the field', async () => {
    const error = await expectTRPCError(
      org.admin.users.search({ sort: { by: 'age' } as unknown as UserSort }),
      'BAD_REQUEST',
    );
    expect(Object.keys(fieldErrorsOf(error) ?? {}).join()).toMatch(/sort/);
    await expectTRPCError(
      org.admin.users.search({ sort: { by: 'name', direction: 'up' } as unknown as UserSort }),
      'BAD_REQUEST',
    );
  });

  it('users.list sorts an account the same way', async () => {
    const sort: UserSort = { by: 'lastSignIn', direction: 'desc' };
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = await org.admin.users.list({
        accountId,
        sort,
        limit: 6,
        cursor,
      });
      ids.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(await expectedIds(sort, sql`account_id = ${accountId}`));
  });
});
