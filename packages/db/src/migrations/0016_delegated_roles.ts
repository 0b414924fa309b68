import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Delegated administration: two roles beside 'admin' (the organization's
// administrators, default account only, as before) and 'user'.
// - 'account_admin' manages the plain users of their own account, in any account.
// - 'auditor' reads what an organization administrator reads and changes nothing,
//   in any account.
// The check constraint of 0001 is named by PostgreSQL (users_role_check); it is
// replaced by one naming all four. An import row's role (null: not given) may
// only ever be admin or user: imports never grant the new roles.
//
// A bulk operation started by an account administrator is limited to their
// account (scope_account_id): the worker applies it, long after the request,
// only to the plain users of that account, whatever happened meanwhile. No
// foreign key: a deleted account must never turn it into an unscoped one.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users drop constraint users_role_check`.execute(db);
  await sql`
    alter table users add constraint users_role_check
      check (role in ('admin', 'account_admin', 'auditor', 'user'))
  `.execute(db);
  await sql`alter table bulk_operations add column scope_account_id uuid`.execute(db);
}

/** Refuses (the old check fails) while anyone still holds one of the new roles: take them away first. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table bulk_operations drop column scope_account_id`.execute(db);
  await sql`alter table users drop constraint users_role_check`.execute(db);
  await sql`alter table users add constraint users_role_check check (role in ('admin', 'user'))`.execute(db);
}
