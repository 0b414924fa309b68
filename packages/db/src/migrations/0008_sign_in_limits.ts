import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Sign-ins per email address, successful ones too, in fixed windows: one row per
// address typed, whether or not a user has it, so the limit says nothing about
// who exists. The address is kept only as a hash of its lower-case form. And an
// index for the periodic sweep of expired sessions.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table sign_in_email_windows (
      email_key text primary key check (char_length(email_key) <= 100),
      window_started_at timestamptz not null,
      sign_ins integer not null check (sign_ins >= 0)
    )
  `.execute(db);
  await sql`create index sign_in_email_windows_time on sign_in_email_windows (window_started_at)`.execute(db);
  await sql`create index sessions_expires on sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_expires`.execute(db);
  await sql`drop table if exists sign_in_email_windows`.execute(db);
}
