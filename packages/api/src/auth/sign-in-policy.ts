import { TRPCError } from '@trpc/server';
import { appError } from '../errors.js';

// The rules of signing in: the limits on guessing, and how a refusal reads.

/** The limits on guessing. Fixed by policy; tests move the clock in the database instead. */
export const signInPolicy = {
  /** Consecutive failures that lock a user out ... */
  maxConsecutiveFailures: 5,
  /** ... for this long. */
  lockoutMs: 30 * 60_000,
  /** Failed sign-ins one client address may make ... */
  maxFailuresPerAddress: 20,
  /** ... in this sliding window. */
  addressWindowMs: 15 * 60_000,
  /**
   * A sign-in reserves its place under that limit while its password is checked;
   * a reservation not settled within this long was abandoned (a crash, a
   * shutdown mid-request) and counts as nothing.
   */
  pendingMs: 30_000,
  /** When sign-ins in flight are what fill the limit, another waits this long at most for them to settle ... */
  pendingWaitMs: 5_000,
  /** ... looking again after a pause of this many milliseconds, jittered between the two. */
  pendingPauseMs: [25, 75],
  /** Sign-ins, successful ones too, with one email address (known or not) ... */
  maxSignInsPerEmail: 10,
  /** ... in each window of this long. */
  emailWindowMs: 60_000,
} as const;

/** One message for every failed sign-in, whatever the reason. */
export const signInFailed = () => appError('SIGN_IN_FAILED', 'The email or password is incorrect.');

/** Why a sign-in failed: for the audit log only, never for the caller. */
export type SignInFailure = 'wrong_password' | 'locked' | 'deactivated' | 'no_password' | 'unknown_email';

/** The reason a sign-in of this user (undefined: no such email) failed, in the order the checks are made. */
export function signInFailureOf(
  user: { active: boolean; locked: boolean; passwordHash: string | null } | undefined,
): SignInFailure {
  if (!user) return 'unknown_email';
  if (!user.active) return 'deactivated';
  if (user.locked) return 'locked';
  if (!user.passwordHash) return 'no_password';
  return 'wrong_password';
}

/** The cause of a TOO_MANY_REQUESTS: how long to wait, for the `Retry-After` header. */
export class RetryLater extends Error {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`Retry after ${retryAfterSeconds} s`);
    this.name = 'RetryLater';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Seconds to wait when the error is a rate limit, else undefined. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof TRPCError && error.cause instanceof RetryLater ? error.cause.retryAfterSeconds : undefined;
}

function inWords(seconds: number): string {
  if (seconds < 90) return 'a minute';
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** A limit reached: `what` says which, and the message how long to wait. */
export function tooManyAttempts(seconds: number, what: string): TRPCError {
  return appError('TOO_MANY_SIGN_INS', `${what} Try again in ${inWords(seconds)}.`, new RetryLater(seconds));
}

/** The address's limit is full of sign-ins in flight that did not settle in time. */
export function tooManyAtOnce(): TRPCError {
  return appError(
    'TOO_MANY_SIGN_INS',
    'Too many sign-ins at once from your network. Try again in a moment.',
    new RetryLater(1),
  );
}
