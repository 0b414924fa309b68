import { randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Db } from '@roster/db';
import { TRPCError } from '@trpc/server';
import { type Kysely, sql } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { appError } from '../errors.js';
import { verifyPassword } from './passwords.js';

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
 * makes it a failure (`recordAttemptFailure`), a right one gives it back
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

/** A wrong password: the attempt's reservation becomes a failure of its address. */
export async function recordAttemptFailure(db: Db, attempt: Attempt | null): Promise<void> {
  if (!attempt) return;
  const settled = await db
    .updateTable('signInAttempts')
    .set({ pendingUntil: null })
    .where('id', '=', attempt.id)
    .returning('id')
    .executeTakeFirst();
  // A check slower than `pendingMs` finds its reservation cleaned up as abandoned: the failure still counts.
  if (!settled) await db.insertInto('signInAttempts').values({ clientKey: attempt.clientKey }).execute();
}

/** A successful attempt is not a failure: it no longer counts against the address. */
export async function releaseAttempt(db: Db, attempt: Attempt | null): Promise<void> {
  if (attempt) await db.deleteFrom('signInAttempts').where('id', '=', attempt.id).execute();
}

/**
 * Runs the check of a reserved attempt. When it throws before settling the
 * attempt (a database error, the server going down; not a wrong password, which
 * settles it first), the attempt was no failed guess: it is given back, as far
 * as the database still lets us, and the original error goes on.
 */
async function settling<T>(
  db: Kysely<Database>,
  attempt: Attempt | null,
  check: (settle: (outcome: 'failed' | 'succeeded') => Promise<void>) => Promise<T>,
): Promise<T> {
  let settled = false;
  try {
    return await check(async (outcome) => {
      // Decided from here on: if settling itself fails, the reservation expires as abandoned.
      settled = true;
      if (outcome === 'failed') await recordAttemptFailure(db, attempt);
      else await releaseAttempt(db, attempt);
    });
  } catch (error) {
    if (!settled) await releaseAttempt(db, attempt).catch(() => {});
    throw error;
  }
}

/**
 * What a correct password leads to (the session, for a sign-in). It must give
 * the attempt back (delete its row) in what it writes, so a sign-in commits
 * once; should it fail, `settling` gives the attempt back for it.
 */
export type OnSignedIn<T> = (user: { id: string; organizationId: string }, attempt: Attempt | null) => Promise<T>;

/**
 * Counts a failed password of a user; the failure that reaches the limit locks
 * the user out and writes `user.locked` to the audit log, in one transaction.
 * Failures while locked change nothing (they cannot extend the lock).
 */
export async function recordUserFailure(
  db: Kysely<Database>,
  user: { id: string; organizationId: string; email: string },
  clientAddress: string | null,
): Promise<void> {
  const max = signInPolicy.maxConsecutiveFailures;
  await db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('users')
      .set({
        failedSignIns: sql<number>`case when failed_sign_ins + 1 >= ${max}::int then 0 else failed_sign_ins + 1 end`,
        lockedUntil: sql<Date | null>`case when failed_sign_ins + 1 >= ${max}::int
          then now() + ${signInPolicy.lockoutMs}::int * interval '1 millisecond' else locked_until end`,
      })
      .where('id', '=', user.id)
      .where((eb) => eb.or([eb('lockedUntil', 'is', null), eb('lockedUntil', '<=', sql<Date>`now()`)]))
      .returning(['lockedUntil', 'failedSignIns'])
      .executeTakeFirst();
    // Before the update the user was not locked, so a reset count means this failure locked them.
    if (!row?.lockedUntil || row.failedSignIns !== 0) return;
    await recordAudit(tx, {
      actor: { id: null, email: 'system', organizationId: user.organizationId },
      action: 'user.locked',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      after: { lockedUntil: row.lockedUntil.toISOString(), failedSignIns: max, clientAddress },
    });
  });
}

/** A correct password ends the run of failures. */
export async function resetUserFailures(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ failedSignIns: 0 })
    .where('id', '=', userId)
    .where('failedSignIns', '>', 0)
    .execute();
}

export type SignInInput = { email: string; password: string };

type SignInContext = { db: Kysely<Database>; clientAddress: string | null };

/**
 * Checks an email and password. Every refusal looks and takes the same: the
 * same UNAUTHORIZED message, and one password verification, against a dummy
 * hash when the email is unknown, the user is deactivated, has no password or
 * is locked out. Throws TOO_MANY_REQUESTS when the client address is over its limit.
 * A correct password goes on to `onSignedIn`, which also ends the user's run of failures.
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
  return settling(ctx.db, attempt, async (settle) => {
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
      await settle('failed');
      if (user && !user.locked) await recordUserFailure(ctx.db, user, ctx.clientAddress);
      throw signInFailed();
    }
    // Settled by onSignedIn, in the statement that starts the session; if that fails, given back above.
    return onSignedIn({ id: user.id, organizationId: user.organizationId }, attempt);
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
  return settling(ctx.db, attempt, async (settle) => {
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
    if (!ok) {
      await settle('failed');
      await recordUserFailure(ctx.db, user, ctx.clientAddress);
      return false;
    }
    await settle('succeeded');
    await resetUserFailures(ctx.db, user.id);
    return true;
  });
}
