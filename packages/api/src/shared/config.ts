// The settings the host passes down (apps/server/src/env.ts reads them), as
// plain values every layer may take: the context carries them to procedures.

export type SessionConfig = {
  /** A session unused for this long ends. */
  idleTimeoutMs: number;
  /** A session ends this long after sign-in, however busy. */
  absoluteTimeoutMs: number;
  /** Sign-ins one email may make a minute, successful ones too (default `signInPolicy.maxSignInsPerEmail`). */
  maxSignInsPerEmail?: number;
};

export const defaultSessionConfig: SessionConfig = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 60 * 60_000,
};

export type ApiKeyConfig = {
  /** The longest an API key may work: its expiry is at most this far from its creation. */
  maxLifetimeMs: number;
};

export const defaultApiKeyConfig: ApiKeyConfig = { maxLifetimeMs: 365 * 86_400_000 };

export type MailConfig = {
  /** Where people open the console (PUBLIC_URL): the links in mails start with it. */
  linkBase: string;
  /** How long an invitation link works (INVITATION_TTL_HOURS, default a week). */
  invitationTtlMs: number;
  /** How long a password reset link works (30 minutes). */
  resetTtlMs: number;
  /**
   * The least time a password reset request takes to answer (400 ms), so that the time tells
   * nobody whether the email is anyone's: the work of queueing a mail hides under it.
   */
  resetAnswerMs: number;
};

export const defaultMailConfig: MailConfig = {
  linkBase: 'http://localhost:3000',
  invitationTtlMs: 168 * 3_600_000,
  resetTtlMs: 30 * 60_000,
  resetAnswerMs: 400,
};
