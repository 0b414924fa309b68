import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.

export async function up(db: Kysely<any>): Promise<void> {
  // Consecutive failed sign-ins of a user, and until when the user is locked out.
  // Neither is an edit of the user's record: the updated_at trigger does not watch them.
  await sql`
    alter table users
      add column failed_sign_ins integer not null default 0 check (failed_sign_ins >= 0),
      add column locked_until timestamptz
  `.execute(db);
  await sql`create index users_locked on users (organization_id, locked_until) where locked_until is not null`.execute(
    db,
  );

  // One row per failed (or in-flight) sign-in of a client address, kept for the
  // length of the window. In the database, so every server process sees the same count.
  await sql`
    create table sign_in_attempts (
      id uuid primary key default gen_random_uuid(),
      client_key text not null check (char_length(client_key) <= 100),
      attempted_at timestamptz not null default clock_timestamp()
    )
  `.execute(db);
  await sql`create index sign_in_attempts_key_time on sign_in_attempts (client_key, attempted_at)`.execute(db);
  await sql`create index sign_in_attempts_time on sign_in_attempts (attempted_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists sign_in_attempts`.execute(db);
  await sql`drop index if exists users_locked`.execute(db);
  await sql`alter table users drop column if exists locked_until, drop column if exists failed_sign_ins`.execute(db);
}
