import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);

  await sql`
    create function roster_set_updated_at() returns trigger language plpgsql as $$
    begin
      new.updated_at := now();
      return new;
    end $$
  `.execute(db);

  await sql`
    create table organizations (
      id uuid primary key default gen_random_uuid(),
      name text not null check (char_length(name) between 1 and 200),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )
  `.execute(db);

  await sql`
    create table accounts (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      name text not null check (char_length(name) between 1 and 100),
      description text not null default '' check (char_length(description) <= 1000),
      is_default boolean not null default false,
      user_count integer not null default 0 check (user_count >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (id, organization_id)
    )
  `.execute(db);
  // At most one default account per organization ...
  await sql`create unique index accounts_one_default on accounts (organization_id) where is_default`.execute(db);
  await sql`create unique index accounts_org_name on accounts (organization_id, lower(name))`.execute(db);
  await sql`create index accounts_org_order on accounts (organization_id, name, id)`.execute(db);

  // ... and at least one: checked when the transaction that creates the organization commits.
  await sql`
    create function roster_org_has_default_account() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from organizations where id = new.id)
         and not exists (select 1 from accounts where organization_id = new.id and is_default) then
        raise exception 'organization % has no default account', new.id
          using errcode = '23514', constraint = 'organizations_default_account';
      end if;
      return null;
    end $$
  `.execute(db);
  await sql`
    create constraint trigger organizations_default_account
      after insert on organizations deferrable initially deferred
      for each row execute function roster_org_has_default_account()
  `.execute(db);

  // The default account is for life: it cannot lose its flag, and only goes with its organization.
  await sql`
    create function roster_protect_default_account() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' then
        if new.is_default is distinct from old.is_default then
          raise exception 'the default account flag cannot change'
            using errcode = '23514', constraint = 'accounts_default_immutable';
        end if;
        return new;
      end if;
      if old.is_default and exists (select 1 from organizations where id = old.organization_id) then
        raise exception 'the default account cannot be deleted'
          using errcode = '23514', constraint = 'accounts_default_undeletable';
      end if;
      return old;
    end $$
  `.execute(db);
  await sql`
    create trigger accounts_protect_default before update or delete on accounts
      for each row execute function roster_protect_default_account()
  `.execute(db);
  await sql`
    create trigger accounts_updated_at before update on accounts
      for each row execute function roster_set_updated_at()
  `.execute(db);
  await sql`
    create trigger organizations_updated_at before update on organizations
      for each row execute function roster_set_updated_at()
  `.execute(db);

  await sql`
    create table users (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      account_id uuid not null,
      email text collate "C" not null
        check (email = lower(btrim(email)) and char_length(email) between 3 and 254 and position('@' in email) > 1),
      first_name text not null check (char_length(first_name) between 1 and 100),
      last_name text not null check (char_length(last_name) between 1 and 100),
      role text not null default 'user' check (role in ('admin', 'user')),
      active boolean not null default true,
      password_hash text,
      version integer not null default 1 check (version >= 1),
      last_login_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      -- The account must belong to the same organization as the user.
      foreign key (account_id, organization_id) references accounts (id, organization_id) on delete cascade
    )
  `.execute(db);
  // Unique across the whole installation, whatever the case.
  await sql`create unique index users_email_unique on users (lower(email))`.execute(db);
  await sql`create index users_account_email on users (account_id, email, id)`.execute(db);
  await sql`create index users_org_email on users (organization_id, email, id)`.execute(db);
  await sql`create index users_org_admins on users (organization_id) where role = 'admin' and active`.execute(db);
  await sql`
    create index users_search_trgm on users
      using gin ((lower(first_name || ' ' || last_name || ' ' || email)) gin_trgm_ops)
  `.execute(db);
  await sql`create index users_first_name_prefix on users (lower(first_name) text_pattern_ops)`.execute(db);
  await sql`create index users_last_name_prefix on users (lower(last_name) text_pattern_ops)`.execute(db);

  await sql`
    create function roster_admin_in_default_account() returns trigger language plpgsql as $$
    begin
      if new.role = 'admin' and not exists (
        select 1 from accounts where id = new.account_id and is_default
      ) then
        raise exception 'administrators belong to the default account'
          using errcode = '23514', constraint = 'users_admin_in_default_account';
      end if;
      return new;
    end $$
  `.execute(db);
  await sql`
    create trigger users_admin_in_default_account before insert or update of role, account_id on users
      for each row execute function roster_admin_in_default_account()
  `.execute(db);
  // Signing in (last_login_at) or changing the password is not an edit of the user's record.
  await sql`
    create trigger users_updated_at
      before update of email, first_name, last_name, role, active, account_id on users
      for each row execute function roster_set_updated_at()
  `.execute(db);

  // accounts.user_count, so listing accounts never counts a whole table.
  await sql`
    create function roster_count_account_users() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'UPDATE') then
        update accounts set user_count = user_count - 1 where id = old.account_id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        update accounts set user_count = user_count + 1 where id = new.account_id;
      end if;
      return null;
    end $$
  `.execute(db);
  await sql`
    create trigger users_count_insert_delete after insert or delete on users
      for each row execute function roster_count_account_users()
  `.execute(db);
  await sql`
    create trigger users_count_move after update of account_id on users
      for each row when (old.account_id is distinct from new.account_id)
      execute function roster_count_account_users()
  `.execute(db);

  await sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      token_hash text not null unique,
      user_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null,
      client_address text,
      user_agent text
    )
  `.execute(db);
  await sql`create index sessions_user on sessions (user_id)`.execute(db);

  await sql`
    create table audit_log (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      actor_id uuid references users (id) on delete set null,
      actor_email text,
      action text not null,
      target_type text not null,
      target_id uuid,
      target_label text,
      changes jsonb not null default '{}',
      -- Millisecond precision, so a JavaScript Date in a page cursor is exact.
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp())
    )
  `.execute(db);
  await sql`create index audit_log_org_time on audit_log (organization_id, created_at desc, id desc)`.execute(db);
  await sql`create index audit_log_target on audit_log (target_id, created_at desc, id desc)`.execute(db);
  await sql`create index audit_log_actor on audit_log (actor_id, created_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_log', 'sessions', 'users', 'accounts', 'organizations']) {
    await sql`drop table if exists ${sql.table(table)} cascade`.execute(db);
  }
  for (const fn of [
    'roster_count_account_users',
    'roster_admin_in_default_account',
    'roster_protect_default_account',
    'roster_org_has_default_account',
    'roster_set_updated_at',
  ]) {
    await sql`drop function if exists ${sql.raw(fn)}()`.execute(db);
  }
}
