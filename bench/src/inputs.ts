import type pg from 'pg';
import { withClient } from './database.js';
import { lastNames } from './names.js';
import { adminEmail } from './seed.js';

export type Inputs = {
  /** The account with the large share, for the list and filter scenarios. */
  bigAccountId: string;
  bigAccountUsers: number;
  /** A selective 4-letter substring of a last name, and how many users it matches. */
  substring: string;
  substringMatches: number;
  /** A 4-letter piece of the commonest surname (not its start), matching many users, and how many. */
  commonSubstring: string;
  commonSubstringMatches: number;
  /** A typo of a common surname (two letters swapped) that no user matches. */
  noneSubstring: string;
  /** The start of an email address, and how many addresses start so. */
  emailPrefix: string;
  emailPrefixMatches: number;
  /** An existing user's email, for users.get. */
  email: string;
  /** The email that ends the page `deepRows` rows into the big account (the deep cursor's key). */
  deepAfterEmail: string;
  deepRows: number;
  /** The sort keys of the row `sortedDeepRows` rows into the organization by name, and by last sign-in (desc). */
  deepAfterName: { last: string; first: string; id: string };
  deepAfterSignIn: { at: string; id: string };
  sortedDeepRows: number;
  /**
   * Active seeded users with the shared password, for the sign-in scenario: 2,000 of them, since
   * one email may sign in 10 times a minute, and with 200 a fast machine (118 sign-ins/s at 10M)
   * ran into that limit and counted its 429s as errors.
   */
  signInEmails: string[];
};

/** Picks the scenarios' inputs from the seeded data, so they are real and their selectivity known. */
export async function chooseInputs(url: string, users: number): Promise<Inputs> {
  return withClient(url, async (client) => {
    const one = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => {
      const { rows } = await client.query<T>(text, values);
      const row = rows[0];
      if (!row) throw new Error(`No row for: ${text}`);
      return row;
    };
    const { organization_id: organizationId } = await one<{ organization_id: string }>(
      'select organization_id from users where email = $1',
      [adminEmail],
    );
    const big = await one<{ id: string; user_count: number }>(
      'select id, user_count from accounts where organization_id = $1 and not is_default order by user_count desc limit 1',
      [organizationId],
    );

    // A substring of a rarer surname that matches about 0.05-0.3% of the organization:
    // selective, as a search for a person is, but never a handful of rows by luck.
    const matches = async (pattern: string) =>
      Number(
        (
          await one<{ n: string }>(
            `select count(*) as n from users
             where organization_id = $1 and lower(first_name || ' ' || last_name || ' ' || email) like $2`,
            [organizationId, pattern],
          )
        ).n,
      );
    let substring = '';
    let substringMatches = 0;
    const rarer = lastNames.slice(Math.floor(lastNames.length * 0.4)).filter((name) => /^[A-Za-z]{6,}$/.test(name));
    search: for (const name of rarer) {
      for (let at = 1; at + 4 <= name.length; at += 2) {
        const candidate = name.slice(at, at + 4).toLowerCase();
        const count = await matches(`%${candidate}%`);
        if (count >= users * 0.0005 && count <= users * 0.003) {
          substring = candidate;
          substringMatches = count;
          break search;
        }
      }
    }
    if (!substring) throw new Error('Found no selective substring in the seeded data');

    // The commonest surname in the data, and a piece of it from its second letter: many users match it
    // (about 3% at a million), and it is not a prefix of anything that the name prefix indexes could serve.
    const { last_name: commonest } = await one<{ last_name: string }>(
      `select last_name from users where organization_id = $1 group by last_name order by count(*) desc limit 1`,
      [organizationId],
    );
    const commonSubstring = commonest.slice(1, 5).toLowerCase();
    const commonSubstringMatches = await matches(`%${commonSubstring}%`);

    // A search for someone who is not there: a common surname with two inner letters swapped, as typed in a hurry.
    let noneSubstring = '';
    typo: for (const name of lastNames.filter((n) => /^[A-Za-z]{6,}$/.test(n)).slice(0, 50)) {
      for (let at = 1; at + 2 < name.length; at++) {
        const lower = name.toLowerCase();
        const candidate = lower.slice(0, at) + lower[at + 1] + lower[at] + lower.slice(at + 2);
        if (candidate !== lower && (await matches(`%${candidate}%`)) === 0) {
          noneSubstring = candidate;
          break typo;
        }
      }
    }
    if (!noneSubstring) throw new Error('Found no typo that matches no one');

    // An address of the form first.last@domain, cut inside the last name.
    const { email: prefixSource } = await one<{ email: string }>(
      `select email from users where organization_id = $1 and email ~ '^[a-z]+\\.[a-z]{6,}@'
       order by email offset $2 limit 1`,
      [organizationId, Math.floor(users / 10)],
    );
    const local = prefixSource.slice(0, prefixSource.indexOf('@'));
    const emailPrefix = local.slice(0, local.length - 2);
    const { n: prefixCount } = await one<{ n: string }>(
      `select count(*) as n from users where organization_id = $1 and email like $2`,
      [organizationId, `${emailPrefix}%`],
    );

    const { email } = await one<{ email: string }>(
      'select email from users where organization_id = $1 and active order by id offset $2 limit 1',
      [organizationId, Math.floor(users / 2)],
    );

    const deepRows = Math.min(500_000, big.user_count - 100);
    const { email: deepAfterEmail } = await one<{ email: string }>(
      // Once, to find where the deep page starts; the benchmark then pages by cursor.
      'select email from users where account_id = $1 order by email offset $2 limit 1',
      [big.id, deepRows - 1],
    );

    // The organization's users in the API's orders (the same expressions as its indexes), that many rows in.
    const sortedDeepRows = Math.min(500_000, users - 100);
    const deepAfterName = await one<{ last: string; first: string; id: string }>(
      `select roster_search_fold(last_name) as last, roster_search_fold(first_name) as first, id::text as id
       from users where organization_id = $1
       order by roster_search_fold(last_name) collate "C", roster_search_fold(first_name) collate "C", id
       offset $2 limit 1`,
      [organizationId, sortedDeepRows - 1],
    );
    const deepAfterSignIn = await one<{ at: string; id: string }>(
      `select coalesce(to_char(last_login_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '') as at,
              id::text as id
       from users where organization_id = $1
       order by last_login_at desc nulls last, id desc
       offset $2 limit 1`,
      [organizationId, sortedDeepRows - 1],
    );

    const { rows: signIns } = await client.query<{ email: string }>(
      `select email from users
       where organization_id = $1 and active and role = 'user' and password_hash is not null
       order by id offset $2 limit 2000`,
      [organizationId, Math.floor(users / 4)],
    );

    return {
      bigAccountId: big.id,
      bigAccountUsers: big.user_count,
      substring,
      substringMatches,
      commonSubstring,
      commonSubstringMatches,
      noneSubstring,
      emailPrefix,
      emailPrefixMatches: Number(prefixCount),
      email,
      deepAfterEmail,
      deepRows,
      deepAfterName,
      deepAfterSignIn,
      sortedDeepRows,
      signInEmails: signIns.map((row) => row.email),
    };
  });
}
