import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// The audit log keeps who and what as they were at the time, so history
// survives deletions and can be searched:
// - actor_id no longer references users: deleting an administrator used to
//   blank it on every row they wrote, so their history could not be found by id;
// - actor_name, target_email, target_name: snapshots written with the row (the
//   actor's email and the target's label were already kept);
// - account_id: the account the row is about (an account, or the account its
//   user belonged to then), to filter by account after users move or go;
// - search_text: the lower-cased snapshots, for substring search by trigram;
// - indexes for each filter, each ending in the keyset order (created_at, id).
//
// Rows written before this are backfilled where the data still says it:
// a user's email was the label of every row about them; names and accounts come
// from the user while they exist, else from their user.deleted/user.created row;
// an actor already deleted is found again by the user.deleted row of the first
// user with that email deleted after the row was written.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_log drop constraint if exists audit_log_actor_id_fkey`.execute(db);
  await sql`
    alter table audit_log
      add column actor_name text,
      add column target_email text,
      add column target_name text,
      add column account_id uuid
  `.execute(db);

  // Deleted actors, found again by their deletion.
  await sql`
    update audit_log a set actor_id = (
      select d.target_id from audit_log d
      where d.organization_id = a.organization_id and d.action = 'user.deleted'
        and d.target_label = a.actor_email and d.created_at >= a.created_at
      order by d.created_at, d.id
      limit 1
    )
    where a.actor_id is null and a.actor_email is not null
  `.execute(db);

  await sql`update audit_log set target_email = target_label where target_type = 'user'`.execute(db);

  // From the users who still exist ...
  await sql`
    update audit_log a set actor_name = u.first_name || ' ' || u.last_name
    from users u where u.id = a.actor_id
  `.execute(db);
  await sql`
    update audit_log a set target_name = u.first_name || ' ' || u.last_name, account_id = u.account_id
    from users u where a.target_type = 'user' and u.id = a.target_id
  `.execute(db);
  await sql`update audit_log set account_id = target_id where target_type = 'account'`.execute(db);

  // ... and from the rows that recorded a user's creation or deletion, for the others.
  await sql`
    create temporary table audit_users_seen on commit drop as
    select distinct on (target_id)
      target_id as user_id,
      (v->>'firstName') || ' ' || (v->>'lastName') as name,
      (v->>'accountId')::uuid as account_id
    from audit_log, lateral (select coalesce(changes->'before', changes->'after') as v) recorded
    where action in ('user.deleted', 'user.created') and target_id is not null and v ? 'firstName'
    order by target_id, (action = 'user.deleted') desc, created_at desc
  `.execute(db);
  await sql`
    update audit_log a set actor_name = s.name
    from audit_users_seen s where a.actor_name is null and s.user_id = a.actor_id
  `.execute(db);
  await sql`
    update audit_log a set target_name = coalesce(a.target_name, s.name), account_id = coalesce(a.account_id, s.account_id)
    from audit_users_seen s
    where a.target_type = 'user' and s.user_id = a.target_id and (a.target_name is null or a.account_id is null)
  `.execute(db);
  await sql`drop table audit_users_seen`.execute(db);

  await sql`
    alter table audit_log add column search_text text not null generated always as (
      lower(
        coalesce(actor_email, '') || ' ' || coalesce(actor_name, '') || ' ' || coalesce(target_email, '') || ' '
          || coalesce(target_name, '') || ' ' || coalesce(target_label, '')
      )
    ) stored
  `.execute(db);

  await sql`create index audit_log_search_trgm on audit_log using gin (search_text gin_trgm_ops)`.execute(db);
  await sql`create index audit_log_org_actor_email on audit_log (organization_id, actor_email, created_at desc, id desc)`.execute(
    db,
  );
  await sql`create index audit_log_org_target_email on audit_log (organization_id, target_email, created_at desc, id desc)`.execute(
    db,
  );
  await sql`create index audit_log_org_action on audit_log (organization_id, action, created_at desc, id desc)`.execute(
    db,
  );
  await sql`create index audit_log_org_account on audit_log (organization_id, account_id, created_at desc, id desc)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'audit_log_search_trgm',
    'audit_log_org_actor_email',
    'audit_log_org_target_email',
    'audit_log_org_action',
    'audit_log_org_account',
  ]) {
    await sql`drop index if exists ${sql.raw(index)}`.execute(db);
  }
  await sql`
    alter table audit_log
      drop column search_text,
      drop column actor_name,
      drop column target_email,
      drop column target_name,
      drop column account_id
  `.execute(db);
  // The reference comes back as it was: rows of users deleted meanwhile lose the actor's id.
  await sql`update audit_log a set actor_id = null where not exists (select 1 from users u where u.id = a.actor_id)`.execute(
    db,
  );
  await sql`
    alter table audit_log add constraint audit_log_actor_id_fkey
      foreign key (actor_id) references users (id) on delete set null
  `.execute(db);
}
