import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Bulk actions on users: an administrator's request (the operation), applied in
// batches in the background, and what became of each selected user. The users
// are pinned when the operation is created (one results row each, 'pending'),
// so the set a preview showed is the set that is worked on.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table bulk_operations (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      -- Who asked; kept (with the email) after that administrator is deleted.
      actor_id uuid,
      actor_email text,
      action text not null
        check (action in ('deactivate', 'reactivate', 'delete', 'move', 'end_sessions', 'unlock')),
      -- { ids: [...] } or { search: { query, accountId, active, role, locked } }, as given.
      selection jsonb not null,
      -- The account users are moved to (move only).
      to_account_id uuid,
      status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
      total integer not null check (total >= 0),
      done integer not null default 0,
      skipped integer not null default 0,
      -- The fingerprint of the previewed set the operation was created from.
      preview_token text not null,
      error text,
      -- A server working on it holds it until then; past it, another server takes it over.
      claimed_until timestamptz,
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      started_at timestamptz,
      finished_at timestamptz,
      check ((action = 'move') = (to_account_id is not null))
    )
  `.execute(db);
  await sql`create index bulk_operations_org on bulk_operations (organization_id, created_at desc, id desc)`.execute(
    db,
  );
  // The worker's queue: only unfinished operations are in it.
  await sql`create index bulk_operations_unfinished on bulk_operations (created_at) where status in ('queued', 'running')`.execute(
    db,
  );

  await sql`
    create table bulk_operation_results (
      operation_id uuid not null references bulk_operations (id) on delete cascade,
      -- No reference: a deleted user keeps their result, and an id of nobody is answered "not found".
      user_id uuid not null,
      -- The user's version when the set was pinned (the preview's fingerprint covers it).
      version integer,
      outcome text not null default 'pending' check (outcome in ('pending', 'done', 'skipped')),
      reason text,
      -- The user's email when processed (null for an id that matched nobody).
      label text,
      processed_at timestamptz,
      primary key (operation_id, user_id)
    )
  `.execute(db);
  // Results by outcome, in user id order: what is left to do ('pending'), and the pages of bulkStatus.
  await sql`create index bulk_operation_results_outcome on bulk_operation_results (operation_id, outcome, user_id)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists bulk_operation_results`.execute(db);
  await sql`drop table if exists bulk_operations`.execute(db);
}
