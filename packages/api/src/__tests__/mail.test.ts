import { createServer, type Server, type Socket } from 'node:net';
import { createDb, type Database } from '@roster/db';
import { freshMigratedDb } from '@roster/db/fresh-db';
import type { Kysely } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimMail } from '../mail/queries.js';
import { queueMail, runMailWork } from '../mail/service.js';
import { createSmtpTransport } from '../mail/transport.js';
import { defaultMailConfig } from '../shared/config.js';
import { auditRowsOf, createTestOrg, uniqueEmail } from '../test/index.js';

// The outbox on a database of its own: a sender takes every due mail, so other
// files' mails must not be in the way of what these tests count.
let db: Kysely<Database>;
/** A second server's connection pool on the same database (PostgreSQL); on PGlite, the one database. */
let secondServer: Kysely<Database>;
let destroy: () => Promise<void>;

beforeAll(async () => {
  const fresh = await freshMigratedDb();
  db = fresh.db;
  secondServer = fresh.url ? createDb({ url: fresh.url }).db : db;
  destroy = async () => {
    if (secondServer !== db) await secondServer.destroy();
    await fresh.db.destroy();
  };
});
afterAll(() => destroy());

type Received = { from: string; to: string[]; raw: string };

/** A real SMTP server on a free port; `refuse` answers every message with that error. */
async function startSmtp(options: { refuse?: { code: number; message: string } } = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (options.refuse) {
          const error = Object.assign(new Error(options.refuse.message), { responseCode: options.refuse.code });
          callback(error);
          return;
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as { port: number };
  const transport = createSmtpTransport({
    url: `smtp://127.0.0.1:${port}`,
    from: 'Roster <roster@example.test>',
    timeoutMs: 2_000,
  });
  return {
    received,
    transport,
    async close() {
      transport.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that greets, then hangs up on the client's first command: a connection lost mid-session. */
async function startHangingUp() {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.write('220 test ESMTP\r\n');
    socket.once('data', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const transport = createSmtpTransport({
    url: `smtp://127.0.0.1:${port}`,
    from: 'roster@example.test',
    timeoutMs: 2_000,
  });
  return {
    transport,
    async close() {
      transport.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function queueInvitation(organizationId: string, to = uniqueEmail('invitee'), organization = 'Acme') {
  const link = `http://localhost:3000/invitation#token-${to}`;
  return db.transaction().execute((tx) =>
    queueMail(tx, defaultMailConfig, {
      organizationId,
      userId: null,
      to,
      params: {
        kind: 'invitation',
        organization,
        inviter: 'Ada Admin',
        invitee: 'Bo Invitee',
        email: to,
        expiresAt: '2030-01-01T12:00:00.000Z',
      },
      link: { url: link, expiresAt: new Date('2030-01-01T12:00:00Z') },
    }),
  );
}

const mailRow = (id: string) => db.selectFrom('mailOutbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('the mail outbox', () => {
  it('delivers a queued mail through SMTP with both parts and its Message-ID, then forgets its link', async () => {
    const org = await createTestOrg(db);
    const smtp = await startSmtp();
    try {
      const to = uniqueEmail('invitee');
      const id = await queueInvitation(org.organizationId, to, 'Acme <script>alert(1)</script> & Co');
      expect(await runMailWork(db, smtp.transport)).toBe(1);
      expect(smtp.received).toHaveLength(1);
      const [mail] = smtp.received;
      expect(mail?.to).toEqual([to]);
      expect(mail?.from).toBe('roster@example.test');
      const row = await mailRow(id);
      expect(mail?.raw).toContain(`Message-ID: ${row.messageId}`);
      expect(mail?.raw).toContain('Content-Type: text/plain');
      expect(mail?.raw).toContain('Content-Type: text/html');
      // The organization's name, escaped in the HTML part (quoted-printable may wrap lines: unfold first).
      const unfolded = mail?.raw.replace(/=\r\n/g, '').replace(/=3D/g, '=') ?? '';
      const html = unfolded.slice(unfolded.indexOf('Content-Type: text/html'));
      expect(html).toContain('Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
      expect(html).not.toContain('<script>');
      expect(html).toContain('2030-01-01 12:00 UTC');
      expect(unfolded.slice(0, unfolded.indexOf('Content-Type: text/html'))).toContain('Ada Admin invited you to');
      expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null, link: null, claim: null });
      expect(JSON.stringify(row)).not.toContain('#token-');
      expect(mail?.raw).toContain('#token-');
      const audit = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'mail.sent');
      expect(audit).toHaveLength(1);
      expect(audit[0]?.changes?.after).toMatchObject({ mailId: id, to, attempts: 1 });
      expect(JSON.stringify(audit[0])).not.toContain('#token-');
      // Sent is sent: another run sends nothing again.
      expect(await runMailWork(db, smtp.transport)).toBe(0);
      expect(smtp.received).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('retries a refused mail with exponential backoff, and gives up after the last attempt', async () => {
    const org = await createTestOrg(db);
    const smtp = await startSmtp({ refuse: { code: 550, message: 'Mailbox unavailable' } });
    try {
      const id = await queueInvitation(org.organizationId);
      const waits: number[] = [];
      const backoffMs = (attempt: number) => {
        waits.push(attempt);
        return 60_000 * 2 ** (attempt - 1);
      };
      expect(await runMailWork(db, smtp.transport, { backoffMs, maxAttempts: 3 })).toBe(1);
      let row = await mailRow(id);
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row.lastError).toContain('550');
      expect(row.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
      // Not due yet: a run leaves it alone.
      expect(await runMailWork(db, smtp.transport, { backoffMs, maxAttempts: 3 })).toBe(0);
      for (const attempts of [2, 3]) {
        await db
          .updateTable('mailOutbox')
          .set({ nextAttemptAt: new Date(Date.now() - 1000) })
          .where('id', '=', id)
          .execute();
        await runMailWork(db, smtp.transport, { backoffMs, maxAttempts: 3 });
        row = await mailRow(id);
        expect(row.attempts).toBe(attempts);
      }
      expect(waits).toEqual([1, 2]);
      expect(row).toMatchObject({ status: 'failed', attempts: 3 });
      expect(row.lastError).toContain('Mailbox unavailable');
      // The link stays readable for `roster mail list`: the mail never left.
      expect(row.link).not.toBeNull();
      const failed = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'mail.failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.changes?.after).toMatchObject({ mailId: id, attempts: 3 });
      // Given up is final.
      await db
        .updateTable('mailOutbox')
        .set({ nextAttemptAt: new Date(Date.now() - 1000) })
        .where('id', '=', id)
        .execute();
      expect(await runMailWork(db, smtp.transport)).toBe(0);
    } finally {
      await smtp.close();
    }
  });

  it('retries a mail whose server hung up mid-session, and sends it once the server is back', async () => {
    const org = await createTestOrg(db);
    const hangingUp = await startHangingUp();
    const id = await queueInvitation(org.organizationId);
    try {
      expect(await runMailWork(db, hangingUp.transport, { backoffMs: () => 60_000 })).toBe(1);
    } finally {
      await hangingUp.close();
    }
    const row = await mailRow(id);
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(1);
    expect(row.lastError).toBeTruthy();
    await db
      .updateTable('mailOutbox')
      .set({ nextAttemptAt: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute();
    const smtp = await startSmtp();
    try {
      await runMailWork(db, smtp.transport);
      expect(await mailRow(id)).toMatchObject({ status: 'sent' });
      const sent = await mailRow(id);
      expect(smtp.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('sends each mail exactly once when two senders work on one outbox at the same time', async () => {
    const org = await createTestOrg(db);
    const smtp = await startSmtp();
    try {
      const ids = await Promise.all(Array.from({ length: 24 }, () => queueInvitation(org.organizationId)));
      const [a, b] = await Promise.all([
        runMailWork(db, smtp.transport, { batchSize: 3 }),
        runMailWork(secondServer, smtp.transport, { batchSize: 3 }),
      ]);
      // Both took part (on PostgreSQL they claim side by side).
      if (secondServer !== db) expect(a > 0 && b > 0).toBe(true);
      expect(a + b).toBe(24);
      const rows = await db.selectFrom('mailOutbox').select(['messageId', 'status']).where('id', 'in', ids).execute();
      expect(rows.every((r) => r.status === 'sent')).toBe(true);
      for (const row of rows) {
        expect(smtp.received.filter((m) => m.raw.includes(`Message-ID: ${row.messageId}`))).toHaveLength(1);
      }
      expect(smtp.received).toHaveLength(24);
    } finally {
      await smtp.close();
    }
  });

  it("takes over a crashed sender's mail only once its lease has run out", async () => {
    const org = await createTestOrg(db);
    const smtp = await startSmtp();
    try {
      const id = await queueInvitation(org.organizationId);
      // A sender claims it, then dies before sending.
      const claimed = await claimMail(db, crypto.randomUUID(), 10, 120);
      expect(claimed.map((m) => m.id)).toContain(id);
      expect(await runMailWork(db, smtp.transport)).toBe(0);
      await db
        .updateTable('mailOutbox')
        .set({ claimedUntil: new Date(Date.now() - 1000) })
        .where('id', '=', id)
        .execute();
      expect(await runMailWork(db, smtp.transport)).toBe(1);
      expect(await mailRow(id)).toMatchObject({ status: 'sent', attempts: 2 });
      expect(smtp.received).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('without SMTP keeps each mail, its link told once and listed as logged', async () => {
    const org = await createTestOrg(db);
    const id = await queueInvitation(org.organizationId);
    const logged: string[] = [];
    expect(await runMailWork(db, null, { onLogged: (mail) => logged.push(mail.link ?? '') })).toBe(1);
    expect(await runMailWork(db, null, { onLogged: (mail) => logged.push(mail.link ?? '') })).toBe(0);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('/invitation#token-');
    const row = await mailRow(id);
    expect(row).toMatchObject({ status: 'logged', attempts: 1 });
    expect(row.link).toBe(logged[0]);
    expect((await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'mail.logged')).toHaveLength(1);
  });
});
