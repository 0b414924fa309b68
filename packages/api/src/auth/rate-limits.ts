import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Db } from '@roster/db';
import type { TRPCError } from '@trpc/server';
import type { Kysely } from 'kysely';
import { oneAtATime } from './key-queue.js';
import { emailKey } from './limit-keys.js';
import {
  countEmailSignIn as countEmailSignInRow,
  deleteAttempt,
  insertFailedAttempt,
  lockClientKey,
  recordFailureRows,
  reserveAddressPlace,
  secondsUntilAddressFrees,
} from './queries.js';
import { type SignInFailure, signInPolicy, tooManyAtOnce, tooManyAttempts } from './sign-in-policy.js';

// The limits on guessing as rules: per client address (reserved before the
// password is checked), per email, and a user's run of failures. The SQL is
// in queries.ts; the numbers in sign-in-policy.ts.

/** A sign-in attempt counted under its client address's limit. */
export type Attempt = { id: string; clientKey: string };

/** What one look at an address's attempts found: a place reserved, a refusal, or a limit full of sign-ins in flight. */
type Reservation = { attempt: Attempt } | { refusal: TRPCError } | { busy: true };

const addressLimits = {
  windowMs: signInPolicy.addressWindowMs,
  pendingMs: signInPolicy.pendingMs,
  maxFailures: signInPolicy.maxFailuresPerAddress,
};

async function tryReserve(db: Kysely<Database>, key: string, what: string): Promise<Reservation> {
  return db.transaction().execute(async (tx) => {
    await lockClientKey(tx, key);
    const found = await reserveAddressPlace(tx, key, addressLimits);
    if (found?.id) return { attempt: { id: found.id, clientKey: key } };
    if ((found?.failures ?? 0) < addressLimits.maxFailures) {
      // Sign-ins in flight may all turn out failures: none more until some settle.
      return { busy: true };
    }
    return { refusal: tooManyAttempts(await secondsUntilAddressFrees(tx, key, addressLimits), what) };
  });
}

/**
 * Reserves a place for a sign-in attempt of a client address under its limit
 * before the password is checked, so parallel guesses cannot overshoot it.
 * The reservation is in flight until the check settles it: a wrong password
 * makes it a failure (`recordFailure`), a right one gives it back
 * (`releaseAttempt`); one never settled (its process died) counts as nothing
 * once `signInPolicy.pendingMs` has passed. Null when the address is unknown.
 *
 * With failures up to the limit it throws TOO_MANY_REQUESTS with the wait. When
 * sign-ins in flight are what fill the limit, it waits for them to settle, for
 * `signInPolicy.pendingWaitMs` at most, then throws TOO_MANY_REQUESTS (retry in
 * a second). An advisory lock per address makes check-and-insert atomic across
 * every server process on the database; it is not held while waiting, and this
 * process's reservations of one address queue in memory (key-queue.ts).
 */
export async function reserveAttempt(db: Kysely<Database>, key: string | null, what: string): Promise<Attempt | null> {
  if (!key) return null;
  const started = performance.now();
  for (;;) {
    const reservation = await oneAtATime(key, () => tryReserve(db, key, what));
    if ('attempt' in reservation) return reservation.attempt;
    if ('refusal' in reservation) throw reservation.refusal;
    // Jittered, so sign-ins waiting together do not all come back at the same moment.
    const [least, most] = signInPolicy.pendingPauseMs;
    const pause = randomInt(least, most + 1);
    if (performance.now() - started + pause > signInPolicy.pendingWaitMs) throw tooManyAtOnce();
    await sleep(pause);
  }
}

/** A successful attempt is not a failure: it no longer counts against the address. */
export async function releaseAttempt(db: Db, attempt: Attempt | null): Promise<void> {
  if (attempt) await deleteAttempt(db, attempt.id);
}

/**
 * Records a wrong password, in one statement whatever the case, so that a
 * failure costs the same whether the email exists or not (no further round
 * trip, no transaction of its own for known users only):
 * - the attempt becomes a failure of its client address;
 * - the user's run of failures grows; the failure that reaches the limit locks
 *   the user out (dated by the clock while the row lock is held) and writes
 *   `user.locked`. Failures while locked change nothing: they cannot extend the
 *   lock. The update takes the user's row lock, the same one a sign-in takes
 *   before it starts a session (queries.ts `admitSignIn`), so counting and
 *   admitting are decided one after the other;
 * - with a `reason`, `auth.sign_in_failed` is written, the reason in its
 *   changes (administrators see it; the caller never does).
 * An unknown email (no user) runs the very same statement, which finds no user
 * row to update or to write about. (It has no organization whose log could
 * hold it; its address's and its email's limits count it.)
 */
export async function recordFailure(
  db: Db,
  input: { attempt: Attempt | null; userId: string | null; reason: SignInFailure | null; clientAddress: string | null },
): Promise<void> {
  const settled = await recordFailureRows(db, {
    attemptId: input.attempt?.id ?? null,
    userId: input.userId,
    reason: input.reason,
    clientAddress: input.clientAddress,
    maxFailures: signInPolicy.maxConsecutiveFailures,
    lockoutMs: signInPolicy.lockoutMs,
  });
  // A check slower than `pendingMs` finds its reservation cleaned up as abandoned: the failure still counts.
  if (input.attempt && !settled) await insertFailedAttempt(db, input.attempt.clientKey);
}

/**
 * Counts a sign-in of an email address, successful or not, and refuses it with
 * TOO_MANY_REQUESTS beyond `maxSignInsPerEmail` in the current window. The same
 * statement runs for every address typed, known or not, so the limit tells
 * nothing about who exists. One upsert: atomic under concurrency.
 */
export async function countEmailSignIn(
  db: Db,
  email: string,
  limit: number = signInPolicy.maxSignInsPerEmail,
): Promise<void> {
  const row = await countEmailSignInRow(db, emailKey(email), signInPolicy.emailWindowMs);
  if (row.signIns > limit) {
    throw tooManyAttempts(row.waitSeconds, 'Too many sign-ins with this email.');
  }
}
