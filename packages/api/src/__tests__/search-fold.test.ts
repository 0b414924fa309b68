import { randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import fc from 'fast-check';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../shared/cursor.js';
import { createTestOrg, type TestOrg, testDb } from '../test/index.js';
import { foldExpansions, foldFrom, foldSearchText } from '../users/fold.js';
import { searchLimits, searchPathOf, searchUsers, substringUsers, type UserFilter } from '../users/queries.js';

// Search finds what people type: case and accents do not matter, and whatever
// way a search takes (email prefix, one or two letters, the head of the email
// order, the trigram index, the ordered scan), its page is exactly what a plain
// sequential scan of the table finds. On PGlite and on Postgres alike.

let db: Kysely<Database>;
let org: TestOrg;
const domain = `fold-${randomUUID().slice(0, 8)}.test`;

/** What the database's roster_search_fold makes of each text. */
async function foldedByDatabase(texts: string[]): Promise<string[]> {
  const { rows } = await sql<{ folded: string }>`
    select roster_search_fold(t.text) as folded from unnest(${texts}::text[]) with ordinality as t(text, n) order by t.n
  `.execute(db);
  return rows.map((row) => row.folded);
}

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Fold Org');
});

describe('folding search text', () => {
  it('folds every letter as the database function does', async () => {
    const letters = [...foldFrom, ...Object.keys(foldExpansions)];
    for (let c = 32; c < 127; c++) letters.push(String.fromCharCode(c));
    const texts = [...letters, letters.join(''), 'Zoë Müller', 'STRAẞE Æsa Œuvre Þór', 'Ǆ Ǉ Ǌ', 'ΟΔΟΣ Σοφία', 'Ёлка Й'];
    expect(await foldedByDatabase(texts)).toEqual(texts.map(foldSearchText));
    expect(foldSearchText('Zoë MÜLLER Straße')).toBe('zoe muller strasse');
  });

  it('folds any text as the database function does', async () => {
    const anyText = fc.string({ unit: 'binary', maxLength: 40 }).map((text) => text.replaceAll('\u0000', ''));
    const accented = fc
      .array(fc.constantFrom(...foldFrom, ...Object.keys(foldExpansions), 'a', 'Z', ' ', '%', '_', '\\', '😀', 'ß'), {
        maxLength: 30,
      })
      .map((chars) => chars.join(''));
    const texts = fc.sample(fc.oneof(anyText, accented), { numRuns: 400, seed: 19 });
    expect(await foldedByDatabase(texts)).toEqual(texts.map(foldSearchText));
  });

  it('finds "Zoë" for "zoe" and "Müller" for "muller", and the other way round', async () => {
    const zoe = await org.addUser({ email: `zoe.mueller@${domain}`, firstName: 'Zoë', lastName: 'Müller' });
    const plain = await org.addUser({ email: `zoe.plain@${domain}`, firstName: 'ZOE', lastName: 'MULLER' });
    const find = async (query: string) =>
      (await searchUsers(db, org.organizationId, { query, limit: 25 })).items.map((user) => user.id).sort();
    const both = [zoe.id, plain.id].sort();
    for (const query of ['zoe', 'ZOË', 'muller', 'Müller', 'MÜLLER', 'zoë müller', 'oë mü']) {
      expect(await find(query)).toEqual(both);
    }
    // One and two letters: the start of a first name, last name or email, accents or not.
    expect(await find('Zö')).toEqual(both);
    expect(await find('mü')).toEqual(both);
  });
});

describe('a search finds exactly what a sequential scan finds', () => {
  const firstNames = ['Zoë', 'Zoe', 'Chloé', 'Jürgen', 'Søren', 'Ñico', 'Ayşe', 'Łukasz', 'Ann_Marie', 'Ada', 'Émile'];
  const lastNames = ['Müller', 'Muller', 'Straße', 'Ødegård', 'Đorđević', 'Nguyễn', 'Smith', '100%Real', 'Back\\slash'];
  const seeded = 800;
  /** The sequential scan's table: the organization's users with their folded texts (see scanned). */
  const oracle = `search_fold_oracle_${randomUUID().slice(0, 8)}`;
  let small: { id: string };
  let emails: string[] = [];

  beforeAll(async () => {
    // Small sizes, so that a few users reach every step: the head, the candidates and the ordered scan.
    searchLimits.candidateCap = 40;
    searchLimits.headRows = 100;
    searchLimits.headRowsMax = 100;
    small = await org.addAccount(`Small ${randomUUID().slice(0, 8)}`);
    const big = await org.addAccount(`Big ${randomUUID().slice(0, 8)}`);
    await sql`
      insert into users (organization_id, account_id, email, first_name, last_name, active)
      select ${org.organizationId}::uuid,
             case when i % 7 = 0 then ${small.id}::uuid else ${big.id}::uuid end,
             (array['zoe', 'smith', 'ada.m', 'muller_x', 'j%', 'back', 'nguyen'])[1 + i % 7] || '.' || i || '@' || ${domain},
             (${firstNames}::text[])[1 + i % ${firstNames.length}],
             (${lastNames}::text[])[1 + (i / 3) % ${lastNames.length}],
             i % 5 <> 0
      from generate_series(1, ${seeded}) as g(i)
    `.execute(db);
    emails = (
      await db
        .selectFrom('users')
        .select('email')
        .where('organizationId', '=', org.organizationId)
        .orderBy('email')
        .execute()
    ).map((row) => row.email);
    // Every user of the organization (the seeded ones and the administrator), folded once by the database.
    await sql`
      create table ${sql.table(oracle)} as
      select email, account_id, active,
             roster_search_fold(first_name || ' ' || last_name || ' ' || email) as whole,
             roster_search_fold(first_name) as first, roster_search_fold(last_name) as last
      from users where organization_id = ${org.organizationId}
    `.execute(db);
  });

  afterAll(async () => {
    await sql`drop table if exists ${sql.table(oracle)}`.execute(db);
    searchLimits.candidateCap = 5_000;
    searchLimits.headRows = 10_000;
    searchLimits.headRowsMax = 100_000;
  });

  /**
   * The page (limit + 1 emails) by a sequential scan that folds the columns and
   * the text in SQL: the columns folded by roster_search_fold once, into a plain
   * table without indexes (`oracle`, made in beforeAll), the text at each search.
   */
  async function scanned(typed: string, filter: UserFilter): Promise<string[]> {
    const lowered = typed.toLowerCase();
    const run = async (match: RawBuilder<unknown>) => {
      const { rows } = await sql<{ email: string }>`
        select email from ${sql.table(oracle)}
        where (${filter.accountId ?? null}::uuid is null or account_id = ${filter.accountId ?? null}::uuid)
          and (${filter.active ?? null}::boolean is null or active = ${filter.active ?? null}::boolean)
          and (${filter.cursor ? afterOf(filter.cursor) : null}::text is null or email > ${filter.cursor ? afterOf(filter.cursor) : null}::text)
          and ${match}
        order by email limit ${filter.limit + 1}`.execute(db);
      return rows.map((row) => row.email);
    };
    const substring = sql`strpos(whole, roster_search_fold(${typed})) > 0`;
    switch (searchPathOf(foldSearchText(typed))) {
      case 'none':
        return run(sql`true`);
      case 'short':
        return run(sql`(starts_with(email, ${lowered})
          or starts_with(first, roster_search_fold(${typed}))
          or starts_with(last, roster_search_fold(${typed})))`);
      case 'emailPrefix': {
        const prefixed = await run(sql`starts_with(email, ${lowered})`);
        return prefixed.length > 0 ? prefixed : run(substring);
      }
      case 'substring':
        return run(substring);
    }
  }

  const afterOf = (cursor: string) => (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as string[])[0];

  const text = (min: number, max: number) =>
    fc
      .array(
        fc.constantFrom(...'aeiouzmlrsthnd', 'é', 'ë', 'Ü', 'ø', 'ß', 'ss', 'E', ' ', '.', '_', '%', '\\', '@', '1'),
        {
          minLength: min,
          maxLength: max,
        },
      )
      .map((chars) => chars.join(''));
  /** A piece of a seeded user's "first last email", as someone might type it. */
  const pieceOfAUser = fc
    .record({
      user: fc.nat(),
      start: fc.nat(),
      length: fc.integer({ min: 1, max: 9 }),
      how: fc.constantFrom('as is', 'upper', 'no accents', 'lower'),
    })
    .map(({ user, start, length, how }) => {
      const i = 1 + (user % seeded);
      const whole = `${firstNames[i % firstNames.length]} ${lastNames[Math.floor(i / 3) % lastNames.length]} ${emails[user % emails.length]}`;
      const at = start % whole.length;
      const piece = whole.slice(at, at + length);
      if (how === 'upper') return piece.toUpperCase();
      if (how === 'lower') return piece.toLowerCase();
      if (how === 'no accents') return piece.normalize('NFD').replace(/\p{M}/gu, '');
      return piece;
    });
  const filters = fc.record({
    account: fc.constantFrom('none', 'small'),
    active: fc.constantFrom(undefined, true, false),
    cursor: fc.option(fc.nat(), { nil: undefined }),
    limit: fc.integer({ min: 1, max: 30 }),
  });

  it('on 1,000 random searches, by every route', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(pieceOfAUser, text(1, 2), text(3, 7)), filters, async (query, f) => {
        const filter: UserFilter = {
          query,
          limit: f.limit,
          ...(f.account === 'small' ? { accountId: small.id } : {}),
          ...(f.active === undefined ? {} : { active: f.active }),
          ...(f.cursor === undefined ? {} : { cursor: encodeCursor([emails[f.cursor % emails.length] ?? '']) }),
        };
        const expected = await scanned(query.trim(), filter);
        const page = await searchUsers(db, org.organizationId, filter);
        expect(page.items.map((user) => user.email)).toEqual(expected.slice(0, filter.limit));
        expect(page.nextCursor !== null).toBe(expected.length > filter.limit);
        const folded = foldSearchText(query.trim());
        if (searchPathOf(folded) === 'substring') {
          for (const route of ['common', 'rare'] as const) {
            const rows = await substringUsers(db, org.organizationId, filter, folded, {
              route,
              headRows: searchLimits.headRows,
            });
            expect(rows.map((user) => user.email)).toEqual(expected);
          }
        }
        checked++;
      }),
      { numRuns: 1_000, seed: 1919 },
    );
    expect(checked).toBe(1_000);
  }, 600_000);
});
