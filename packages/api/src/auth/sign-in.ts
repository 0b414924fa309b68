import { createHash, randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Db } from '@roster/db';
import { TRPCError } from '@trpc/server';
import { type Kysely, sql, type Transaction } from 'kysely';
import { appError } from '../errors.js';
import type { UserOutput } from '../shared/outputs.js';
import { verifyPassword } from './passwords.js';
import { admitSignIn } from './queries.js';

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

/**
 * The password check, behind an object so a test can count the calls and prove
 * that every failure path (unknown email, locked, deactivated) pays for one.
 */
export const passwordCheck = { verify: verifyPassword };

/** One message for every failed sign-in, whatever the reason. */
export const signInFailed = () => appError('SIGN_IN_FAILED', 'The email or password is incorrect.');

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

function tooManyAttempts(seconds: number, what: string): TRPCError {
  return appError('TOO_MANY_SIGN_INS', `${what} Try again in ${inWords(seconds)}.`, new RetryLater(seconds));
}

/** The eight 16-bit groups of a valid IPv6 address. */
function ipv6Groups(address: string): number[] {
  // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups written another way.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((g) => g.toString(16)).join(':'),
  );
  const [head = '', tail = ''] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The key a client address is limited under: an IPv4 address as it is (also when
 * written IPv4-mapped), an IPv6 address by its /64 network, since one host
 * commonly holds a whole /64. Null when the address is unknown: then there is
 * no per-address limit (the per-user lockout still holds).
 */
export function clientKey(address: string | null | undefined): string | null {
  if (!address) return null;
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(plain)) return plain;
  if (isIPv6(plain)) {
    const groups = ipv6Groups(plain.toLowerCase());
    return `${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return plain.slice(0, 100);
}

const windowInterval = () => sql`(${signInPolicy.addressWindowMs}::int * interval '1 millisecond')`;

function tooManyAtOnce(): TRPCError {
  return appError(
    'TOO_MANY_SIGN_INS',
    'Too many sign-ins at once from your network. Try again in a moment.',
    new RetryLater(1),
  );
}

/** A sign-in attempt counted under its client address's limit. */
export type Attempt = { id: string; clientKey: string };

/** What one look at an address's attempts found: a place reserved, a refusal, or a limit full of sign-ins in flight. */
type Reservation = { attempt: Attempt } | { refusal: TRPCError } | { busy: true };

async function tryReserve(db: Kysely<Database>, key: string, what: string): Promise<Reservation> {
  const max = signInPolicy.maxFailuresPerAddress;
  return db.transaction().execute(async (tx) => {
    // Rate-limit bookkeeping: a crash may forget its last fraction of a second,
    // and in exchange this lock is not held through a disk flush.
    await sql`set local synchronous_commit = off`.execute(tx);
    await sql`select pg_advisory_xact_lock(hashtextextended(${`roster.sign_in.${key}`}, 0))`.execute(tx);
    // One statement, after the lock: forget what has left the window and reservations
    // abandoned in flight (this address's rows, and a bounded batch of anyone's old ones),
    // count what is left, and reserve a place when there is one. Its parts share one
    // snapshot, so the counts leave out by their conditions what the deletes remove.
    const { rows } = await sql<{ failures: number; inFlight: number; id: string | null }>`
      with forgotten as (
        delete from sign_in_attempts
        where client_key = ${key} and (attempted_at <= now() - ${windowInterval()} or pending_until <= now())
      ), swept as (
        delete from sign_in_attempts where id in (
          select id from sign_in_attempts where attempted_at <= now() - ${windowInterval()} limit 100
        )
      ), counts as (
        select
          count(*) filter (where pending_until is null)::int as failures,
          count(*) filter (where pending_until > now())::int as in_flight
        from sign_in_attempts
        where client_key = ${key} and attempted_at > now() - ${windowInterval()}
      ), reserved as (
        insert into sign_in_attempts (client_key, pending_until)
        select ${key}, now() + ${signInPolicy.pendingMs}::int * interval '1 millisecond'
        from counts where failures + in_flight < ${max}::int
        returning id
      )
      select failures, in_flight as "inFlight", (select id from reserved) as id from counts
    `.execute(tx);
    const found = rows[0];
    if (found?.id) return { attempt: { id: found.id, clientKey: key } };
    if ((found?.failures ?? 0) < max) {
      // Sign-ins in flight may all turn out failures: none more until some settle.
      return { busy: true };
    }
    // The oldest failure that keeps the address at its limit: once it leaves the window, one more may come.
    const blocking = await tx
      .selectFrom('signInAttempts')
      .select(
        sql<number>`greatest(1, ceil(extract(epoch from (attempted_at + ${windowInterval()} - now()))))::int`.as(
          'waitSeconds',
        ),
      )
      .where('clientKey', '=', key)
      .where('pendingUntil', 'is', null)
      .where(sql<boolean>`attempted_at > now() - ${windowInterval()}`)
      .orderBy('attemptedAt', 'desc')
      .offset(max - 1)
      .limit(1)
      .executeTakeFirstOrThrow();
    return { refusal: tooManyAttempts(blocking.waitSeconds, what) };
  });
}

/**
 * This process's reservations for one address, one after the other. The
 * advisory lock serializes them anyway; queued here, a burst of sign-ins from
 * one address (an office behind one NAT) waits in memory rather than in
 * database connections held on that lock, which every other request needs.
 */
const reserving = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (reserving.get(key) ?? Promise.resolve()).then(task, task);
  const tail = run.catch(() => {});
  reserving.set(key, tail);
  try {
    return await run;
  } finally {
    if (reserving.get(key) === tail) reserving.delete(key);
  }
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
 * every server process on the database; it is not held while waiting.
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
  if (attempt) await db.deleteFrom('signInAttempts').where('id', '=', attempt.id).execute();
}

/**
 * Runs the check of a reserved attempt. The check calls `decided()` once the
 * outcome is known and it settles the attempt itself (a failure recorded, or
 * the attempt given back with the session). When it throws before deciding (a
 * database error, the server going down, a per-email refusal; not a wrong
 * password), the attempt was no failed guess: it is given back, as far as the
 * database still lets us, and the original error goes on. If settling itself
 * fails, the reservation expires as abandoned.
 */
async function settling<T>(
  db: Kysely<Database>,
  attempt: Attempt | null,
  check: (decided: () => void) => Promise<T>,
): Promise<T> {
  let settled = false;
  try {
    return await check(() => {
      settled = true;
    });
  } catch (error) {
    if (!settled) await releaseAttempt(db, attempt).catch(() => {});
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

/** A correct password ends the run of failures. */
export async function resetUserFailures(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ failedSignIns: 0 })
    .where('id', '=', userId)
    .where('failedSignIns', '>', 0)
    .execute();
}

/** Why a sign-in failed: for the audit log only, never for the caller. */
export type SignInFailure = 'wrong_password' | 'locked' | 'deactivated' | 'no_password' | 'unknown_email';

/**
 * Records a wrong password, in one statement whatever the case, so that a
 * failure costs the same whether the email exists or not (no further round
 * trip, no transaction of its own for known users only):
 * - the attempt becomes a failure of its client address;
 * - the user's run of failures grows; the failure that reaches the limit locks
 *   the user out (dated by the clock while the row lock is held) and writes
 *   `user.locked`. Failures while locked change nothing: they cannot extend the
 *   lock. The update takes the user's row lock, the same one a sign-in takes
 *   before it starts a session (sessions.ts `admitSignIn`), so counting and
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
  const max = signInPolicy.maxConsecutiveFailures;
  const { rows } = await sql<{ settled: number }>`
    with settled as (
      update sign_in_attempts set pending_until = null where id = ${input.attempt?.id ?? null}::uuid returning id
    ), counted as (
      update users set
        failed_sign_ins = case when failed_sign_ins + 1 >= ${max}::int then 0 else failed_sign_ins + 1 end,
        locked_until = case when failed_sign_ins + 1 >= ${max}::int
          then clock_timestamp() + ${signInPolicy.lockoutMs}::int * interval '1 millisecond' else locked_until end
      where id = ${input.userId}::uuid and (locked_until is null or locked_until <= clock_timestamp())
      returning id, organization_id, email, first_name, last_name, account_id, failed_sign_ins, locked_until
    ), failed as (
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type, target_id, target_label,
        target_email, target_name, account_id, changes)
      select organization_id, null, null, 'auth.sign_in_failed', 'user', id, email,
        email, first_name || ' ' || last_name, account_id,
        jsonb_build_object('before', null, 'after',
          jsonb_build_object('reason', ${input.reason}::text, 'clientAddress', ${input.clientAddress}::text))
      from users where id = ${input.userId}::uuid and ${input.reason}::text is not null
    ), locked as (
      -- Before the update the user was not locked, so a reset count means this failure locked them.
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type, target_id, target_label,
        target_email, target_name, account_id, changes)
      select organization_id, null, 'system', 'user.locked', 'user', id, email,
        email, first_name || ' ' || last_name, account_id,
        jsonb_build_object('before', null, 'after', jsonb_build_object(
          'lockedUntil', to_char(locked_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'failedSignIns', ${max}::int, 'clientAddress', ${input.clientAddress}::text))
      from counted where failed_sign_ins = 0 and locked_until is not null
    )
    select (select count(*) from settled)::int as settled
  `.execute(db);
  // A check slower than `pendingMs` finds its reservation cleaned up as abandoned: the failure still counts.
  if (input.attempt && !rows[0]?.settled) {
    await db.insertInto('signInAttempts').values({ clientKey: input.attempt.clientKey }).execute();
  }
}

/** The key an email is limited under: a hash of its lower-case form, so the table holds no addresses. */
export function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
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
  const window = sql`(${signInPolicy.emailWindowMs}::int * interval '1 millisecond')`;
  const row = await db
    .insertInto('signInEmailWindows')
    .values({ emailKey: emailKey(email), windowStartedAt: sql<Date>`now()`, signIns: 1 })
    .onConflict((oc) =>
      oc.column('emailKey').doUpdateSet({
        windowStartedAt: sql<Date>`case when sign_in_email_windows.window_started_at <= now() - ${window}
          then now() else sign_in_email_windows.window_started_at end`,
        signIns: sql<number>`case when sign_in_email_windows.window_started_at <= now() - ${window}
          then 1 else sign_in_email_windows.sign_ins + 1 end`,
      }),
    )
    .returning([
      'signIns',
      sql<number>`greatest(1, ceil(extract(epoch from (window_started_at + ${window} - now()))))::int`.as(
        'waitSeconds',
      ),
    ])
    .executeTakeFirstOrThrow();
  if (row.signIns > limit) {
    throw tooManyAttempts(row.waitSeconds, 'Too many sign-ins with this email.');
  }
}

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
  const attempt = await reserveAttempt(
    ctx.db,
    clientKey(ctx.clientAddress),
    'Too many failed sign-ins from your network.',
  );
  return settling(ctx.db, attempt, async (decided) => {
    await countEmailSignIn(ctx.db, input.email, ctx.sessions?.maxSignInsPerEmail);
    const user = await ctx.db
      .selectFrom('users')
      .select([
        'id',
        'organizationId',
        'email',
        'active',
        'passwordHash',
        sql<boolean>`coalesce(locked_until > now(), false)`.as('locked'),
      ])
      .where(sql<string>`lower(email)`, '=', input.email.toLowerCase())
      .executeTakeFirst();
    const usable = user?.active && !user.locked && user.passwordHash ? user.passwordHash : null;
    const ok = await passwordCheck.verify(usable, input.password);
    if (!user || !usable || !ok) {
      decided();
      const reason: SignInFailure = !user
        ? 'unknown_email'
        : !user.active
          ? 'deactivated'
          : user.locked
            ? 'locked'
            : !user.passwordHash
              ? 'no_password'
              : 'wrong_password';
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
  const attempt = await reserveAttempt(
    ctx.db,
    clientKey(ctx.clientAddress),
    'Too many wrong passwords from your network.',
  );
  return settling(ctx.db, attempt, async (decided) => {
    const row = await ctx.db
      .selectFrom('users')
      .select([
        'passwordHash',
        sql<number | null>`ceil(extract(epoch from (locked_until - now())))::int`.as('lockedForSeconds'),
      ])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
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
