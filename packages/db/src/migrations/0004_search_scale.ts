import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Substring search at a million users. The trigram index of 0001 is on the
// expression lower(first || ' ' || last || ' ' || email); a trigram match must
// be rechecked against the row, and recomputing lower() of that string for every
// candidate row cost more than everything else in a search. The lower-cased text
// is now stored once per row (Postgres keeps it current on every insert and
// update), and the trigram index is built on the stored column.
//
// Bulk inserts and deletes of users. accounts.user_count was kept by a trigger
// for each row: n users added to one account in one statement updated that
// account's row n times, each update walking the row's growing chain of versions
// (quadratic: 50,000 rows took minutes). Inserts and deletes now update each
// account once per statement, from the statement's transition table. Moves
// between accounts keep their row trigger.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table users add column search_text text not null
      generated always as (lower(first_name || ' ' || last_name || ' ' || email)) stored
  `.execute(db);
  await sql`create index users_search_text_trgm on users using gin (search_text gin_trgm_ops)`.execute(db);
  await sql`drop index users_search_trgm`.execute(db);

  await sql`
    create function roster_count_account_users_by_statement() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update accounts a set user_count = a.user_count + c.n
        from (select account_id, count(*)::int as n from added group by account_id) c
        where a.id = c.account_id;
      else
        update accounts a set user_count = a.user_count - c.n
        from (select account_id, count(*)::int as n from removed group by account_id) c
        where a.id = c.account_id;
      end if;
      return null;
    end $$
  `.execute(db);
  await sql`drop trigger users_count_insert_delete on users`.execute(db);
  await sql`
    create trigger users_count_insert after insert on users
      referencing new table as added
      for each statement execute function roster_count_account_users_by_statement()
  `.execute(db);
  await sql`
    create trigger users_count_delete after delete on users
      referencing old table as removed
      for each statement execute function roster_count_account_users_by_statement()
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger users_count_insert on users`.execute(db);
  await sql`drop trigger users_count_delete on users`.execute(db);
  await sql`drop function roster_count_account_users_by_statement()`.execute(db);
  await sql`
    create trigger users_count_insert_delete after insert or delete on users
      for each row execute function roster_count_account_users()
  `.execute(db);
  await sql`
    create index users_search_trgm on users
      using gin ((lower(first_name || ' ' || last_name || ' ' || email)) gin_trgm_ops)
  `.execute(db);
  await sql`drop index users_search_text_trgm`.execute(db);
  await sql`alter table users drop column search_text`.execute(db);
}
