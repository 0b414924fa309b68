import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Sorting the users tables, and finding dormant users, at a million users.
// users.search pages in four orders (email, name, last sign-in, created), each
// both ways, by keyset: every order needs a btree that lists an organization's
// (and an account's) users in that order, ending in the id so that ties are
// broken the same way on every page. A descending page reads the same index
// backwards. Email already has its two (users_org_email_search, users_account_email).
//
// - Name is the last name, then the first name, folded as search_text is
//   (roster_search_fold: case and accents do not matter) and compared in the "C"
//   collation, so the order is the same on PostgreSQL and PGlite whatever the
//   database's locale.
// - Last sign-in: users who never signed in have a null last_login_at, last in
//   the index (NULLS LAST); the API reads them after the others in both
//   directions. The same index serves the dormant filter (never: IS NULL; not
//   since a date: a range), in last sign-in order or filtered in another.
// - Created: created_at, then id.
//
// Six indexes on the users table. Each is built in one pass over the table; the
// folded ones call roster_search_fold twice a row (ASCII names take its short path).

const indexes = {
  users_org_name: `(organization_id, (roster_search_fold(last_name) collate "C"), (roster_search_fold(first_name) collate "C"), id)`,
  users_account_name: `(account_id, (roster_search_fold(last_name) collate "C"), (roster_search_fold(first_name) collate "C"), id)`,
  users_org_last_login: '(organization_id, last_login_at, id)',
  users_account_last_login: '(account_id, last_login_at, id)',
  users_org_created: '(organization_id, created_at, id)',
  users_account_created: '(account_id, created_at, id)',
};

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, columns] of Object.entries(indexes)) {
    await sql.raw(`create index ${name} on users ${columns}`).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of Object.keys(indexes)) {
    await sql.raw(`drop index ${name}`).execute(db);
  }
}
