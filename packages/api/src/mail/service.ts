import { randomUUID } from 'node:crypto';
import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { startWorker, type Worker } from '../core/worker.js';
import type { MailConfig } from '../shared/config.js';
import { type ClaimedMail, claimMail, insertMails, markAttemptFailed, markLogged, markSent } from './queries.js';
import { type MailParams, renderMail } from './templates.js';
import type { MailTransport } from './transport.js';

/** The Message-ID of a queued mail: its id at the host people open, fixed when it is queued. */
const messageIdOf = (id: string, config: MailConfig) => `<${id}@${new URL(config.linkBase).hostname}>`;

/**
 * Queues a mail in the caller's transaction: it is sent only if what caused it
 * commits, and is never lost once it has. Returns its id (for the cause's audit row).
 */
export async function queueMail(tx: Transaction<Database>, config: MailConfig, mail: MailToQueue): Promise<string> {
  const [id] = await queueMails(tx, config, [mail]);
  if (!id) throw new Error('queueMail: nothing queued');
  return id;
}

export type MailToQueue = {
  organizationId: string;
  userId: string | null;
  to: string;
  params: MailParams;
  link?: { url: string; expiresAt: Date };
};

/** Queues many mails at once (an import's invitations), in the caller's transaction; returns their ids in order. */
export async function queueMails(tx: Transaction<Database>, config: MailConfig, mails: MailToQueue[]) {
  const rows = mails.map((mail) => {
    const id = randomUUID();
    return {
      id,
      organizationId: mail.organizationId,
      kind: mail.params.kind,
      userId: mail.userId,
      toAddress: mail.to,
      subject: renderMail(mail.params, null).subject,
      params: JSON.stringify(mail.params),
      link: mail.link?.url ?? null,
      linkExpiresAt: mail.link?.expiresAt ?? null,
      messageId: messageIdOf(id, config),
    };
  });
  await insertMails(tx, rows);
  return rows.map((row) => row.id);
}

export type MailWorkOptions = {
  /** Mails claimed at a time. */
  batchSize?: number;
  /** How long a sender holds what it claimed; past it, another sender may take a mail over. */
  leaseSeconds?: number;
  /** Attempts before a mail is given up (`failed`). */
  maxAttempts?: number;
  /** The wait before attempt `attempt + 1` (default 30 s doubling, at most an hour). */
  backoffMs?: (attempt: number) => number;
  /** Without a transport: told each mail once (the server logs its link). */
  onLogged?: (mail: ClaimedMail) => void;
  /** Asked before each batch: false stops (a server shutting down). */
  keepGoing?: () => boolean;
};

export const defaultBackoffMs = (attempt: number) => Math.min(30_000 * 2 ** (attempt - 1), 3_600_000);

const errorText = (error: unknown) => {
  if (error instanceof Error) {
    const code =
      (error as { responseCode?: unknown; code?: unknown }).responseCode ?? (error as { code?: unknown }).code;
    return code === undefined ? error.message : `${String(code)}: ${error.message}`;
  }
  return String(error);
};

/** The audit row of what became of a mail (no actor: the server did it), with the mail's outcome. */
async function auditMail(
  db: Db,
  mail: ClaimedMail,
  action: 'mail.sent' | 'mail.failed' | 'mail.logged',
  error?: string,
) {
  await db.transaction().execute((tx) =>
    recordAudit(tx, {
      actor: { organizationId: mail.organizationId, id: null, email: null },
      action,
      targetType: 'user',
      targetId: mail.userId,
      targetLabel: mail.toAddress,
      after: {
        mailId: mail.id,
        kind: mail.kind,
        to: mail.toAddress,
        messageId: mail.messageId,
        attempts: mail.attempts,
        ...(error ? { error } : {}),
      },
    }),
  );
}

/**
 * Sends what the outbox holds until nothing is due: claims a batch, sends each
 * mail (or, with no transport, hands it to `onLogged` and marks it `logged`),
 * marks it sent, or schedules the next attempt with exponential backoff, giving
 * up after `maxAttempts`. Several servers may run it at once on one database:
 * each mail is claimed by one of them. Returns the mails it dealt with.
 */
export async function runMailWork(
  db: Db,
  transport: MailTransport | null,
  options: MailWorkOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 10;
  const leaseSeconds = options.leaseSeconds ?? 120;
  const maxAttempts = options.maxAttempts ?? 8;
  const backoffMs = options.backoffMs ?? defaultBackoffMs;
  let handled = 0;
  while (options.keepGoing?.() ?? true) {
    const claim = randomUUID();
    const batch = await claimMail(db, claim, batchSize, leaseSeconds);
    if (batch.length === 0) break;
    for (const mail of batch) {
      if (!transport) {
        options.onLogged?.(mail);
        if (await markLogged(db, mail.id, claim)) await auditMail(db, mail, 'mail.logged');
        handled += 1;
        continue;
      }
      try {
        const content = renderMail(mail.params as MailParams, mail.link);
        await transport.send({
          to: mail.toAddress,
          subject: content.subject,
          text: content.text,
          html: content.html,
          messageId: mail.messageId,
        });
      } catch (error) {
        const text = errorText(error);
        const last = mail.attempts >= maxAttempts;
        if (await markAttemptFailed(db, mail.id, claim, text, last ? null : backoffMs(mail.attempts))) {
          if (last) await auditMail(db, mail, 'mail.failed', text);
        }
        handled += 1;
        continue;
      }
      if (await markSent(db, mail.id, claim)) await auditMail(db, mail, 'mail.sent');
      handled += 1;
    }
  }
  return handled;
}

export type MailWorker = Worker;

/** The mail workers of this process, woken when a mail is queued here. */
const wakers = new Set<() => void>();

/** Starts this process's senders on what was just queued, rather than at their next round. */
export function wakeMailWorkers() {
  for (const wake of wakers) queueMicrotask(wake);
}

/**
 * Runs `runMailWork` every `intervalMs` (one run at a time; the timer does not
 * keep the process alive); `stop` lets the mail in hand finish.
 */
export function startMailWorker(
  db: Db,
  transport: MailTransport | null,
  options: MailWorkOptions & { intervalMs?: number; onError?: (error: unknown) => void } = {},
): MailWorker {
  return startWorker({
    work: (keepGoing) => runMailWork(db, transport, { ...options, keepGoing }),
    intervalMs: options.intervalMs ?? 2_000,
    onError: options.onError,
    wakers,
    onStop: () => transport?.close(),
  });
}
