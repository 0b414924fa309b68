import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Mail is queued here in the transaction of what caused it (an invitation, a
// reset, an email change), and sent by a server in the background. A sender
// claims rows (skip-locked, with a lease), so several servers never send one
// mail twice and a crashed sender's claim is taken over once its lease ends.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table mail_outbox (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations (id) on delete cascade,
      kind text not null
        check (kind in ('invitation', 'password_reset', 'email_changed_old', 'email_changed_new')),
      -- The user it is about; kept (null) when that user is deleted.
      user_id uuid references users (id) on delete set null,
      to_address text not null,
      subject text not null,
      -- What the mail says (names, dates), rendered into its text and HTML parts when sent: a few hundred
      -- bytes a mail rather than kilobytes, so an import that invites 100,000 people stays small.
      params jsonb not null,
      -- The link the mail carries while it is unsent (it holds a token); removed once sent.
      link text,
      link_expires_at timestamptz,
      -- The Message-ID header, fixed at queueing, so a retry after an ambiguous failure is the same mail.
      message_id text not null unique,
      -- pending: to send; sent; failed: gave up after the last attempt; logged: no SMTP, its link printed to the log.
      status text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'logged')),
      attempts integer not null default 0,
      last_error text,
      next_attempt_at timestamptz not null default now(),
      -- The sender working on it holds it until then, under its claim.
      claimed_until timestamptz,
      claim uuid,
      created_at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      sent_at timestamptz
    )
  `.execute(db);
  // The senders' queue: only pending mail is in it.
  await sql`create index mail_outbox_pending on mail_outbox (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index mail_outbox_org on mail_outbox (organization_id, created_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists mail_outbox`.execute(db);
}
