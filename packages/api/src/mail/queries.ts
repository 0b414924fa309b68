import type { Db, MailKind, MailStatus } from '@roster/db';
import { sql } from 'kysely';

export type QueuedMail = {
  organizationId: string;
  kind: MailKind;
  userId: string | null;
  toAddress: string;
  subject: string;
  /** JSON of the mail's MailParams. */
  params: string;
  link: string | null;
  linkExpiresAt: Date | null;
  messageId: string;
};

/** Queues mails; call it with the transaction of what caused them. */
export async function insertMails(db: Db, mails: (QueuedMail & { id: string })[]): Promise<void> {
  // Twelve values a row: well under the 65,535 a statement may carry.
  for (let start = 0; start < mails.length; start += 2_000) {
    await db
      .insertInto('mailOutbox')
      .values(mails.slice(start, start + 2_000))
      .execute();
  }
}

const claimedColumns = [
  'id',
  'organizationId',
  'kind',
  'userId',
  'toAddress',
  'subject',
  'params',
  'link',
  'messageId',
  'attempts',
] as const;

/**
 * Takes up to `limit` pending mails that are due and no live sender holds, under
 * a claim of this sender's for `leaseSeconds`, counting the attempt. Skip-locked,
 * so senders claiming at once never take the same mail; a sender that dies
 * leaves its mails to whoever claims once the lease has run out.
 */
export async function claimMail(db: Db, claim: string, limit: number, leaseSeconds: number) {
  const { rows } = await sql<{ id: string }>`
    update mail_outbox set claim = ${claim}, attempts = attempts + 1,
      claimed_until = now() + ${leaseSeconds} * interval '1 second'
    where id in (
      select id from mail_outbox
      where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
      order by next_attempt_at, id limit ${limit} for update skip locked
    )
    returning id
  `.execute(db);
  if (rows.length === 0) return [];
  return db
    .selectFrom('mailOutbox')
    .select(claimedColumns)
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .where('claim', '=', claim)
    .orderBy('createdAt')
    .execute();
}

export type ClaimedMail = Awaited<ReturnType<typeof claimMail>>[number];

/**
 * Marks a mail this sender still holds as sent, and forgets its link (a token). False when the claim was lost (the lease ran out and
 * another sender took it over).
 */
export async function markSent(db: Db, id: string, claim: string): Promise<boolean> {
  const result = await db
    .updateTable('mailOutbox')
    .set({
      status: 'sent',
      sentAt: sql<Date>`now()`,
      lastError: null,
      claim: null,
      claimedUntil: null,
      link: null,
    })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Without SMTP: the mail stays, its link printed to the log once. */
export async function markLogged(db: Db, id: string, claim: string): Promise<boolean> {
  const result = await db
    .updateTable('mailOutbox')
    .set({ status: 'logged', claim: null, claimedUntil: null })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A failed attempt: tried again after `retryInMs`, or given up (`failed`) when that was the last. */
export async function markAttemptFailed(
  db: Db,
  id: string,
  claim: string,
  error: string,
  retryInMs: number | null,
): Promise<boolean> {
  const result = await db
    .updateTable('mailOutbox')
    .set({
      status: retryInMs === null ? 'failed' : 'pending',
      lastError: error.slice(0, 1000),
      nextAttemptAt: sql<Date>`now() + ${retryInMs ?? 0} * interval '1 millisecond'`,
      claim: null,
      claimedUntil: null,
    })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The outbox, newest first, for `roster mail list` (an operator's command: every organization). */
export async function listMail(db: Db, options: { status?: MailStatus | undefined; limit: number }) {
  let query = db
    .selectFrom('mailOutbox')
    .innerJoin('organizations', 'organizations.id', 'mailOutbox.organizationId')
    .select([
      'mailOutbox.id',
      'organizations.name as organization',
      'mailOutbox.kind',
      'mailOutbox.toAddress',
      'mailOutbox.subject',
      'mailOutbox.link',
      'mailOutbox.linkExpiresAt',
      'mailOutbox.status',
      'mailOutbox.attempts',
      'mailOutbox.lastError',
      'mailOutbox.createdAt',
      'mailOutbox.sentAt',
    ])
    .orderBy('mailOutbox.createdAt', 'desc')
    .orderBy('mailOutbox.id', 'desc')
    .limit(options.limit);
  if (options.status) query = query.where('mailOutbox.status', '=', options.status);
  return query.execute();
}
