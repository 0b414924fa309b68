import type { Database } from '@roster/db';
import type { Kysely, Transaction } from 'kysely';
import type { UserOutput } from '../shared/outputs.js';
import { clientKey } from './limit-keys.js';
import { verifyPassword } from './passwords.js';
import { admitSignIn, findPasswordState, findSignInUser, resetUserFailures } from './queries.js';
import { type Attempt, countEmailSignIn, recordFailure, releaseAttempt, reserveAttempt } from './rate-limits.js';
import { signInFailed, signInFailureOf, tooManyAttempts } from './sign-in-policy.js';

// Checking a password, with the limits on guessing around it: the rules are in
// sign-in-policy.ts, the keys limits count under in limit-keys.ts, the limits
// themselves in rate-limits.ts, and their SQL in queries.ts.

/**
 * The password check, behind an object so a test can count the calls and prove
 * that every failure path (unknown email, locked, deactivated) pays for one.
 */
export const passwordCheck = { verify: verifyPassword };

/**
 * Reserves an attempt of the client's address (rate-limits.ts `reserveAttempt`;
 * `what` names the limit in its refusal), then runs the check of it. The check
 * calls `decided()` once the outcome is known and it settles the attempt
 * itself (a failure recorded, or the attempt given back with the session).
 * When it throws before deciding (a database error, the server going down, a
 * per-email refusal; not a wrong password), the attempt was no failed guess:
 * it is given back, as far as the database still lets us, and the original
 * error goes on. If settling itself fails, the reservation expires as abandoned.
 */
async function withAttempt<T>(
  ctx: SignInContext,
  what: string,
  check: (attempt: Attempt | null, decided: () => void) => Promise<T>,
): Promise<T> {
  const attempt = await reserveAttempt(ctx.db, clientKey(ctx.clientAddress), what);
  let settled = false;
  try {
    return await check(attempt, () => {
      settled = true;
    });
  } catch (error) {
    if (!settled) await releaseAttempt(ctx.db, attempt).catch(() => {});
    throw error;
  }
}

/**
 * What a correct password leads to (the session, for a sign-in). It runs in
 * the transaction that admitted the sign-in, holding the user's row lock: the
 * user was not locked out, was active and had this password at that moment,
 * and no failure can be counted until it commits. The attempt is already given
 * back in that transaction.
 */
export type OnSignedIn<T> = (tx: Transaction<Database>, user: UserOutput, organizationId: string) => Promise<T>;

export type SignInInput = { email: string; password: string };

type SignInContext = {
  db: Kysely<Database>;
  clientAddress: string | null;
  sessions?: { maxSignInsPerEmail?: number | undefined };
};

/**
 * Checks an email and password. Every refusal looks and takes the same: the
 * same UNAUTHORIZED message, one password verification (against a dummy hash
 * when the email is unknown, the user is deactivated, has no password or is
 * locked out), and the same failure bookkeeping (`recordFailure`).
 * Throws TOO_MANY_REQUESTS when the client address or the email is over its limit.
 *
 * A correct password is admitted in a transaction that first takes the user's
 * row lock with a conditional update (not locked out, still active, still this
 * password), so a lockout committed by parallel wrong guesses is seen here:
 * failures and sign-ins are decided one after the other. Admitted, it ends the
 * run of failures, notes the time, gives the attempt back and goes on to
 * `onSignedIn` in that transaction.
 */
export async function checkCredentials<T>(
  ctx: SignInContext,
  input: SignInInput,
  onSignedIn: OnSignedIn<T>,
): Promise<T> {
  return withAttempt(ctx, 'Too many failed sign-ins from your network.', async (attempt, decided) => {
    await countEmailSignIn(ctx.db, input.email, ctx.sessions?.maxSignInsPerEmail);
    const user = await findSignInUser(ctx.db, input.email);
    const usable = user?.active && !user.locked && user.passwordHash ? user.passwordHash : null;
    const ok = await passwordCheck.verify(usable, input.password);
    if (!user || !usable || !ok) {
      decided();
      const reason = signInFailureOf(user);
      await recordFailure(ctx.db, { attempt, userId: user?.id ?? null, reason, clientAddress: ctx.clientAddress });
      throw signInFailed();
    }
    const admitted = await ctx.db.transaction().execute(async (tx) => {
      const signedIn = await admitSignIn(tx, { ...user, passwordHash: usable });
      if (!signedIn) return { refused: true as const };
      await releaseAttempt(tx, attempt);
      return { refused: false as const, value: await onSignedIn(tx, signedIn, user.organizationId) };
    });
    decided();
    if (admitted.refused) {
      // Locked out (or deactivated, or a new password) while the password was checked.
      await recordFailure(ctx.db, { attempt, userId: user.id, reason: 'locked', clientAddress: ctx.clientAddress });
      throw signInFailed();
    }
    return admitted.value;
  });
}

/**
 * Re-checks a signed-in user's current password (before they change it). Wrong
 * guesses count like failed sign-ins, so a stolen session cannot be used to
 * guess the password without limit; a locked user is told to wait.
 */
export async function checkCurrentPassword(
  ctx: SignInContext,
  user: { id: string; organizationId: string; email: string },
  password: string,
): Promise<boolean> {
  return withAttempt(ctx, 'Too many wrong passwords from your network.', async (attempt, decided) => {
    const row = await findPasswordState(ctx.db, user.id);
    if (row.lockedForSeconds !== null && row.lockedForSeconds > 0) {
      // No password was checked, so no guess was made: the reservation is given back.
      throw tooManyAttempts(row.lockedForSeconds, 'Too many wrong passwords: your sign-in is locked for now.');
    }
    const ok = await passwordCheck.verify(row.passwordHash, password);
    decided();
    if (!ok) {
      await recordFailure(ctx.db, { attempt, userId: user.id, reason: null, clientAddress: ctx.clientAddress });
      return false;
    }
    await releaseAttempt(ctx.db, attempt);
    await resetUserFailures(ctx.db, user.id);
    return true;
  });
}
