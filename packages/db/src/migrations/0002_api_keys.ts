import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table api_keys (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      -- A deleted user's keys stay (ownerless, refused at every use) so that a script
      -- still using one shows up in the audit log.
      user_id uuid references users (id) on delete set null,
      name text not null check (char_length(name) between 1 and 100),
      -- Shown to people to tell keys apart; not part of the secret.
      prefix text not null check (prefix ~ '^rk_[a-z0-9]{8}$'),
      -- sha256 of the whole key: the key itself is never stored.
      secret_hash text not null,
      -- Millisecond precision, so a JavaScript Date in a page cursor is exact.
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      last_used_at timestamptz,
      -- When a refused use was last written to the audit log (throttles that log).
      last_refused_at timestamptz,
      expires_at timestamptz,
      revoked_at timestamptz
    )
  `.execute(db);
  await sql`create unique index api_keys_secret_hash on api_keys (secret_hash)`.execute(db);
  await sql`create index api_keys_user on api_keys (user_id, created_at desc, id desc)`.execute(db);
  await sql`create index api_keys_organization on api_keys (organization_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists api_keys`.execute(db);
}
