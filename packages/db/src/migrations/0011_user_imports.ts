import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// CSV imports of users: a preview is stored with a verdict for every row, and
// applied later (once) if nothing it looked at has changed since.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table user_imports (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      account_id uuid not null,
      -- Who previewed it; the import stays when that administrator is deleted.
      created_by uuid references users (id) on delete set null,
      file_name text check (char_length(file_name) <= 255),
      status text not null default 'previewed' check (status in ('previewed', 'applied')),
      -- { total, create, update, unchanged, error } and the columns read, ignored and unknown.
      summary jsonb not null,
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      expires_at timestamptz not null,
      applied_at timestamptz,
      applied_by uuid references users (id) on delete set null,
      -- { created, updated, deactivated, reactivated, roleChanged, skipped, sessionsEnded, apiKeysRevoked }
      result jsonb,
      foreign key (account_id, organization_id) references accounts (id, organization_id) on delete cascade
    )
  `.execute(db);
  await sql`create index user_imports_org on user_imports (organization_id, created_at desc)`.execute(db);
  await sql`create index user_imports_expires on user_imports (expires_at)`.execute(db);

  await sql`
    create table user_import_rows (
      import_id uuid not null references user_imports (id) on delete cascade,
      -- The row's line in the file (the header is line 1).
      line integer not null,
      verdict text not null check (verdict in ('create', 'update', 'unchanged', 'error')),
      -- Lower-cased and trimmed as matched; as written when it is not a valid address.
      email text not null,
      -- The matched user and the version it was previewed at.
      user_id uuid,
      user_version integer,
      -- What the row sets: null where the file gives nothing (or the same value, for an update).
      first_name text,
      last_name text,
      role text,
      active boolean,
      -- For an update: { before, after } of the fields that change.
      changes jsonb,
      error text,
      primary key (import_id, line)
    )
  `.execute(db);
  // The preview's pages: by verdict (errors first), in file order.
  await sql`create index user_import_rows_verdict on user_import_rows (import_id, verdict, line)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists user_import_rows`.execute(db);
  await sql`drop table if exists user_imports`.execute(db);
}
