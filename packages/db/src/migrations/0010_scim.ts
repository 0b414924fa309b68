import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// SCIM provisioning: an identity provider (Okta, Entra ID, ...) holds a
// connection to one account and creates, changes and deletes its users.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table scim_connections (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      account_id uuid not null,
      name text not null check (char_length(name) between 1 and 100),
      -- Shown to people to tell tokens apart; not part of the secret.
      prefix text not null check (prefix ~ '^rsc_[a-z0-9]{8}$'),
      -- sha256 of the whole token: the token itself is never stored.
      token_hash text not null,
      -- Who created it; the connection stays when that administrator is deleted.
      created_by uuid references users (id) on delete set null,
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      last_used_at timestamptz,
      revoked_at timestamptz,
      foreign key (account_id, organization_id) references accounts (id, organization_id) on delete cascade
    )
  `.execute(db);
  await sql`create unique index scim_connections_token_hash on scim_connections (token_hash)`.execute(db);
  await sql`create index scim_connections_org on scim_connections (organization_id, created_at desc, id desc)`.execute(
    db,
  );

  // The identity provider's own id for a user: unique within an account, case-exact (RFC 7643 §3.1).
  await sql`alter table users add column external_id text check (char_length(external_id) between 1 and 1000)`.execute(
    db,
  );
  await sql`create unique index users_account_external_id on users (account_id, external_id) where external_id is not null`.execute(
    db,
  );
  // The connection that last created or changed the user, shown in the console.
  await sql`alter table users add column scim_connection_id uuid references scim_connections (id) on delete set null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table users drop column if exists scim_connection_id`.execute(db);
  await sql`drop index if exists users_account_external_id`.execute(db);
  await sql`alter table users drop column if exists external_id`.execute(db);
  await sql`drop table if exists scim_connections`.execute(db);
}
