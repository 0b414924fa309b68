import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// The links mailed to users: an invitation (choose a first password) and a
// password reset. Only the sha256 of a link's token is stored; a link works
// once, until it expires, and not after it was revoked (resent, cancelled, the
// email changed, another reset used).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table user_links (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      purpose text not null check (purpose in ('invitation', 'password_reset')),
      token_hash text not null unique,
      -- The address the link was mailed to.
      email text not null,
      expires_at timestamptz not null,
      used_at timestamptz,
      revoked_at timestamptz,
      created_by uuid,
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp())
    )
  `.execute(db);
  // At most one open invitation per user: resending revokes the previous one in the same transaction.
  await sql`
    create unique index user_links_open_invitation on user_links (user_id)
    where purpose = 'invitation' and used_at is null and revoked_at is null
  `.execute(db);
  await sql`create index user_links_user on user_links (user_id, purpose) where used_at is null and revoked_at is null`.execute(
    db,
  );

  // Password reset requests, counted per email and per client address for an hour.
  await sql`
    create table password_reset_requests (
      id bigint generated always as identity primary key,
      email_key text not null,
      address_key text not null,
      created_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index password_reset_requests_email on password_reset_requests (email_key, created_at)`.execute(db);
  await sql`create index password_reset_requests_address on password_reset_requests (address_key, created_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists password_reset_requests`.execute(db);
  await sql`drop table if exists user_links`.execute(db);
}
