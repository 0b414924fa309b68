import nodemailer from 'nodemailer';

/** One mail as the outbox hands it to a transport. */
export type OutgoingMail = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@host>`: fixed when the mail was queued, the same on every attempt. */
  messageId: string;
};

/** Where the outbox sends: SMTP in a server, anything with `send` in a test. */
export type MailTransport = {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
};

export type SmtpOptions = {
  /** `smtp://user:pass@host:587` or `smtps://user:pass@host:465` (SMTP_URL). */
  url: string;
  /** The sender (MAIL_FROM), e.g. `Roster <roster@example.com>`. */
  from: string;
  /** How long to wait for the server to connect, greet, and answer; a sender's lease outlasts all three. */
  timeoutMs?: number;
};

/**
 * A nodemailer SMTP transport (one connection per mail, no pool: the sender
 * sends a few mails at a time, and a broken connection is not reused).
 */
export function createSmtpTransport(options: SmtpOptions): MailTransport {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const transporter = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(mail) {
      await transporter.sendMail({
        from: options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        // No tracking of any kind, and nothing to put a client on the mailing-list path.
        disableUrlAccess: true,
        disableFileAccess: true,
      });
    },
    close() {
      transporter.close();
    },
  };
}
