import { TRPCError } from '@trpc/server';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clientKey, emailKey } from '../auth/limit-keys.js';
import { maxSessionsPerUser } from '../auth/sessions.js';
import { passwordCheck } from '../auth/sign-in.js';
import { retryAfterOf, signInPolicy } from '../auth/sign-in-policy.js';
import { startSweeper, sweepSignInData } from '../auth/sweep.js';
import { defaultSessionConfig } from '../shared/config.js';
import {
  auditRowsOf,
  callerWithToken,
  createTestOrg,
  failure,
  isolatedTestDb,
  signInFrom as signIn,
  signIn as signInWithCookie,
  testDb,
  testPassword,
  testServerUrl,
  uniqueClientAddress,
  uniqueEmail,
} from '../test/index.js';

/**
 * Sign-in as an attacker tries it: many requests at once. On Postgres the calls
 * of a Promise.all really run at once, each on its own connection; on PGlite
 * they are serialized, and the rules must hold as well.
 */

function outcome(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'ok';
  if (result.reason instanceof TRPCError) return result.reason.code;
  throw result.reason;
}

/** Raises the per-email limit for a test that is about something else (the lockout). */
function withoutEmailLimit() {
  const policy = signInPolicy as { maxSignInsPerEmail: number };
  const saved = policy.maxSignInsPerEmail;
  policy.maxSignInsPerEmail = 1_000;
  return () => {
    policy.maxSignInsPerEmail = saved;
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the lockout against parallel guesses (finding 2)', () => {
  const rounds = testServerUrl ? 10 : 3;
  it(`never starts a session once 5 failures were recorded before it: 30 wrong + 1 right at once, ${rounds} times`, async () => {
    const restore = withoutEmailLimit();
    try {
      const db = await testDb();
      const org = await createTestOrg(db);
      const figures: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const user = await org.addUser({ canSignIn: true });
        // The right password among the wrong ones, with enough wrong ones before it to lock.
        const guesses = Array.from({ length: 31 }, (_, i) => (i === 15 ? testPassword : `wrong guess ${i}`));
        // Each from an address of its own: the per-address limit is not what this is about.
        const results = await Promise.allSettled(guesses.map((password) => signIn(user.email, password)));
        const right = outcome(results[15] as PromiseSettledResult<unknown>);
        const wrong = results.filter((_, i) => i !== 15).map(outcome);
        expect(wrong.every((code) => code === 'UNAUTHORIZED')).toBe(true);

        // When the lock was written (under the user's row lock), and when each session started.
        const locked = await db
          .selectFrom('users')
          .select(sql<Date | null>`locked_until - ${signInPolicy.lockoutMs}::int * interval '1 millisecond'`.as('at'))
          .where('id', '=', user.id)
          .executeTakeFirstOrThrow();
        const sessions = await db.selectFrom('sessions').select('createdAt').where('userId', '=', user.id).execute();
        // With 30 wrong guesses the user ends locked, whatever the order.
        expect(locked.at).toBeInstanceOf(Date);
        const lockedAt = locked.at as Date;
        expect(sessions.length).toBe(right === 'ok' ? 1 : 0);
        for (const session of sessions) {
          // A session, if any, started before the lock: never after 5 recorded failures.
          expect(session.createdAt.getTime(), `round ${round}`).toBeLessThan(lockedAt.getTime());
        }
        if (right !== 'ok') expect(right).toBe('UNAUTHORIZED');
        figures.push(right === 'ok' ? 'in before the lock' : 'refused');
      }
      console.log('30 wrong + 1 right at once:', figures.join(', '));
    } finally {
      restore();
    }
  }, 180_000);
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Times failed sign-ins of a known email (a wrong password) and an unknown one,
 * in alternating pairs, and returns how far apart they are. A statistical
 * measure on a shared machine, so built to tell a real difference from noise:
 * a warm-up first; which goes first alternates, so drift in the load falls on
 * both alike; and the gap is the median of the differences within pairs (each
 * pair measured under the same load), over the median time of the unknown
 * email: a few stalls move neither. Both medians are printed too. When a batch
 * of 60 pairs ends outside `within`, another is added (up to 3) and all pairs are
 * looked at again: noise shrinks as pairs are added, a real difference stays.
 */
async function failureMedians(label: string, within: number) {
  const db = await testDb();
  const org = await createTestOrg(db);
  const user = await org.addUser({ canSignIn: true });
  // One unknown email throughout, as an attacker would probe one; the known one likewise.
  const nobody = `nobody-${user.id}@example.test`;
  const timed = async (email: string) => {
    const started = performance.now();
    const [result] = await Promise.allSettled([signIn(email, 'a wrong password')]);
    const took = performance.now() - started;
    expect(outcome(result as PromiseSettledResult<unknown>)).toBe('UNAUTHORIZED');
    // Untimed: the known user starts each attempt with no failures, so none is a locking one.
    await db.updateTable('users').set({ failedSignIns: 0 }).where('id', '=', user.id).execute();
    return took;
  };
  const known: number[] = [];
  const unknown: number[] = [];
  const pair = async (i: number) => {
    if (i % 2) {
      known.push(await timed(user.email));
      unknown.push(await timed(nobody));
    } else {
      unknown.push(await timed(nobody));
      known.push(await timed(user.email));
    }
  };
  for (let i = 0; i < 10; i++) await pair(i);
  known.length = 0;
  unknown.length = 0;
  let gap = Number.POSITIVE_INFINITY;
  for (let batch = 1; batch <= 3 && gap > within; batch++) {
    for (let i = 0; i < 60; i++) await pair(i);
    const k = median(known);
    const u = median(unknown);
    const paired = median(known.map((took, i) => took - (unknown[i] as number)));
    gap = Math.abs(paired) / u;
    console.log(
      `${label}, ${known.length} pairs: medians known email ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms; ` +
        `median difference within pairs ${paired.toFixed(2)} ms (${((paired / u) * 100).toFixed(1)}%)`,
    );
  }
  return gap;
}

describe('what the time of a failed sign-in tells (finding 6)', () => {
  it.runIf(testServerUrl)(
    'does the same database work for an unknown email as for a wrong password of a known one (password check at a fixed cost; within 25%)',
    async () => {
      const restore = withoutEmailLimit();
      try {
        // The password check is the same for both (tested elsewhere: one argon2 verification each);
        // at a fixed cost here, what is measured is the bookkeeping around it, where a difference would come from.
        vi.spyOn(passwordCheck, 'verify').mockResolvedValue(false);
        // Without argon2 a failure takes only a few milliseconds, so the one row a known user's
        // failure writes (its count, its audit row) is ~10% of it, and CI's load moves it further.
        // Before the fix this gap was +66%; the issue's 10% is held end to end, below.
        expect(await failureMedians('failed sign-in without argon2', 0.25)).toBeLessThanOrEqual(0.25);
      } finally {
        restore();
      }
    },
    300_000,
  );

  it.runIf(testServerUrl)(
    'takes as long, end to end, for an unknown email as for a wrong password of a known one (within 10%)',
    async () => {
      const restore = withoutEmailLimit();
      try {
        expect(await failureMedians('failed sign-in', 0.1)).toBeLessThanOrEqual(0.1);
      } finally {
        restore();
      }
    },
    300_000,
  );
});

describe('password hashing that one caller cannot monopolise (finding 7)', () => {
  it("keeps a sign-in and another administrator's new user from waiting behind an account created with 30 passwords", async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const person = await org.addUser({ canSignIn: true });
    const { caller: otherAdmin } = await org.addSignedInUser({ role: 'admin' });
    const started = performance.now();
    const since = () => performance.now() - started;
    const bulk = org.admin.accounts
      .create({
        name: `Bulk ${person.id.slice(0, 8)}`,
        users: Array.from({ length: 30 }, (_, i) => ({
          email: `bulk-${i}-${person.id.slice(0, 8)}@example.test`,
          firstName: 'Bulk',
          lastName: `User ${i}`,
          password: `a long bulk password number ${i}`,
        })),
      })
      .then(since);
    // Both start once the batch is queued.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const signingIn = signIn(person.email, testPassword).then(since);
    const creating = otherAdmin.users
      .create({
        accountId: org.defaultAccountId,
        email: `single-${person.id.slice(0, 8)}@example.test`,
        firstName: 'Single',
        lastName: 'User',
        password: 'a long single password',
      })
      .then(since);
    const [bulkMs, signInMs, createMs] = await Promise.all([bulk, signingIn, creating]);
    console.log(
      `hashing turns: account with 30 passwords ${bulkMs.toFixed(0)} ms; meanwhile a sign-in ${signInMs.toFixed(0)} ms, another admin's user ${createMs.toFixed(0)} ms`,
    );
    // Before the fix both finished after the batch; now each waits for about one hash, not thirty.
    expect(signInMs).toBeLessThan(bulkMs / 2);
    expect(createMs).toBeLessThan(bulkMs / 2);
  }, 120_000);
});

/** Moves an email's sign-in window a minute into the past (as a minute passing would). */
async function endEmailWindow(email: string) {
  const db = await testDb();
  await db
    .updateTable('signInEmailWindows')
    .set({ windowStartedAt: sql<Date>`now() - interval '61 seconds'` })
    .where('emailKey', '=', emailKey(email))
    .execute();
}

describe('sign-ins per email, successful ones too (finding 7)', () => {
  it('lets 10 sign-ins a minute in, then answers TOO_MANY_REQUESTS with a retry-after, before any password work', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    for (let i = 0; i < signInPolicy.maxSignInsPerEmail; i++) {
      expect((await signIn(user.email, testPassword)).user.id).toBe(user.id);
    }
    const verify = vi.spyOn(passwordCheck, 'verify');
    const address = uniqueClientAddress();
    const refused = await failure(signIn(user.email.toUpperCase(), testPassword, address));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toBe('Too many sign-ins with this email. Try again in a minute.');
    expect(retryAfterOf(refused)).toBeGreaterThan(0);
    expect(retryAfterOf(refused)).toBeLessThanOrEqual(60);
    expect(verify).not.toHaveBeenCalled();
    // No guess was made: the address's place is given back.
    const key = clientKey(address) ?? '';
    expect(await db.selectFrom('signInAttempts').select('id').where('clientKey', '=', key).execute()).toHaveLength(0);

    // A minute later, in again.
    await endEmailWindow(user.email);
    expect((await signIn(user.email, testPassword)).user.id).toBe(user.id);
  });

  it('takes its per-email limit from the configuration (SIGN_IN_EMAIL_LIMIT)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const sessions = { ...defaultSessionConfig, maxSignInsPerEmail: 2 };
    const login = () =>
      callerWithToken(db, null, { sessions }).auth.login({ email: user.email, password: testPassword });
    await login();
    await login();
    expect((await failure(login())).code).toBe('TOO_MANY_REQUESTS');
  });

  it('answers an unknown email exactly the same way, so the limit tells nothing about who exists', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const known = await org.addUser({ canSignIn: true });
    const unknown = uniqueEmail('nobody');
    const answers = async (email: string, password: string) => {
      const codes: string[] = [];
      for (let i = 0; i <= signInPolicy.maxSignInsPerEmail; i++) {
        codes.push(outcome((await Promise.allSettled([signIn(email, password)]))[0] as PromiseSettledResult<unknown>));
      }
      const last = await failure(signIn(email, password));
      return { codes, message: last.message, code: last.code };
    };
    // Wrong passwords for the known user would lock them after 5: the limit is what this is about, so the right one.
    const forKnown = await answers(known.email, testPassword);
    const forUnknown = await answers(unknown, testPassword);
    expect(forKnown.codes.slice(-1)).toEqual(['TOO_MANY_REQUESTS']);
    expect(forUnknown.codes).toEqual([...Array(10).fill('UNAUTHORIZED'), 'TOO_MANY_REQUESTS']);
    expect(forUnknown.message).toBe(forKnown.message);
    expect(forUnknown.code).toBe(forKnown.code);
  });

  it('holds under parallel sign-ins: of 20 correct ones at once, exactly 10 get in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => signIn(user.email, testPassword)));
    const codes = results.map(outcome);
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(10);
  });
});

describe('live sessions per user (finding 7)', () => {
  it(`keeps at most ${maxSessionsPerUser} live sessions, ending the oldest first`, async () => {
    const restore = withoutEmailLimit();
    try {
      const db = await testDb();
      const org = await createTestOrg(db);
      const user = await org.addUser({ canSignIn: true });
      const tokens: string[] = [];
      for (let i = 0; i < maxSessionsPerUser + 5; i++) tokens.push((await signInWithCookie(db, user.email)).token);
      const rows = await db.selectFrom('sessions').select('tokenHash').where('userId', '=', user.id).execute();
      expect(rows).toHaveLength(maxSessionsPerUser);
      for (const [i, token] of tokens.entries()) {
        const me = await callerWithToken(db, token).auth.me();
        expect(me?.id ?? null, `session ${i}`).toBe(i < 5 ? null : user.id);
      }
      // The sign-in that ended one says so in the audit log.
      const audit = await auditRowsOf(db, org.organizationId);
      const signedIn = audit.filter((row) => row.action === 'auth.signed_in' && row.targetId === user.id);
      expect(signedIn.map((row) => row.changes.after?.endedSessions)).toEqual([
        ...Array(maxSessionsPerUser).fill(0),
        ...Array(5).fill(1),
      ]);
    } finally {
      restore();
    }
  });

  it('holds the cap under 30 parallel sign-ins of one user', async () => {
    const restore = withoutEmailLimit();
    try {
      const db = await testDb();
      const org = await createTestOrg(db);
      const user = await org.addUser({ canSignIn: true });
      const results = await Promise.allSettled(Array.from({ length: 30 }, () => signIn(user.email, testPassword)));
      expect(results.map(outcome)).toEqual(Array(30).fill('ok'));
      const rows = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
      expect(rows).toHaveLength(maxSessionsPerUser);
    } finally {
      restore();
    }
  });
});

describe('the sweep of expired sign-in data (finding 7)', () => {
  it('deletes expired and idle sessions, spent attempts and ended email windows, in bounded batches, and nothing live', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const idleTimeoutMs = 30 * 60_000;
    // A current email window (a sign-in, which also ends the user's expired sessions: so it comes first).
    await signIn(user.email, testPassword);
    // Sessions: 3 past their absolute expiry, 2 idle too long, 2 live.
    const session = (expires: string, lastSeen: string) =>
      sql`insert into sessions (token_hash, user_id, expires_at, last_seen_at)
          values (${`sweep-${Math.random()}`}, ${user.id}, now() + ${expires}::interval, now() + ${lastSeen}::interval)`.execute(
        db,
      );
    for (let i = 0; i < 3; i++) await session('-1 second', '-2 hours');
    for (let i = 0; i < 2; i++) await session('1 hour', '-31 minutes');
    for (let i = 0; i < 2; i++) await session('1 hour', '-1 minute');
    // Attempts: 2 out of the window, 1 abandoned in flight, 1 in flight, 1 failure that still counts.
    const key = clientKey(uniqueClientAddress());
    await sql`insert into sign_in_attempts (client_key, attempted_at) values
      (${key}, now() - interval '16 minutes'), (${key}, now() - interval '20 minutes')`.execute(db);
    await sql`insert into sign_in_attempts (client_key, pending_until) values
      (${key}, now() - interval '1 second'), (${key}, now() + interval '20 seconds')`.execute(db);
    await sql`insert into sign_in_attempts (client_key) values (${key})`.execute(db);
    // And an ended email window.
    const endedEmail = uniqueEmail('ended-window');
    await failure(signIn(endedEmail, 'a wrong password'));
    await endEmailWindow(endedEmail);

    // Two processes at once, in batches of 2: together they delete each row once.
    // (The database is shared with other tests, whose leftovers they may take too.)
    const [first, second] = await Promise.all([
      sweepSignInData(db, { idleTimeoutMs, batchSize: 2 }),
      sweepSignInData(db, { idleTimeoutMs, batchSize: 2 }),
    ]);
    expect((first?.sessions ?? 0) + (second?.sessions ?? 0)).toBeGreaterThanOrEqual(5);
    const sessions = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
    // The two live ones, and the one the sign-in above started.
    expect(sessions).toHaveLength(3);
    const attempts = await db
      .selectFrom('signInAttempts')
      .select('pendingUntil')
      .where('clientKey', '=', key)
      .execute();
    expect(attempts).toHaveLength(2);
    const windows = await db
      .selectFrom('signInEmailWindows')
      .select('emailKey')
      .where('emailKey', 'in', [emailKey(user.email), emailKey(endedEmail)])
      .execute();
    expect(windows.map((w) => w.emailKey)).toEqual([emailKey(user.email)]);
    // Nothing left to do.
    expect(await sweepSignInData(db, { idleTimeoutMs })).toEqual({ sessions: 0, signInAttempts: 0, emailWindows: 0 });
  });

  it('stops after maxBatches per run and leaves the rest to the next run', async () => {
    // A database of its own: the sweep counts every expired row, and the shared one's other files
    // leave sessions behind that may expire between two sweeps (it once counted 4 where 3 were left).
    const db = await isolatedTestDb();
    try {
      const org = await createTestOrg(db);
      const user = await org.addUser();
      await sql`insert into sessions (token_hash, user_id, expires_at)
        select 'old-' || g || '-' || ${user.id}, ${user.id}, now() - interval '1 minute' from generate_series(1, 7) g`.execute(
        db,
      );
      expect((await sweepSignInData(db, { idleTimeoutMs: 60_000, batchSize: 2, maxBatches: 2 })).sessions).toBe(4);
      expect((await sweepSignInData(db, { idleTimeoutMs: 60_000, batchSize: 2, maxBatches: 2 })).sessions).toBe(3);
      expect((await sweepSignInData(db, { idleTimeoutMs: 60_000, batchSize: 2, maxBatches: 2 })).sessions).toBe(0);
    } finally {
      await db.destroy();
    }
  });

  it('runs on its interval until stopped, reporting a failed run and going on', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const errors: unknown[] = [];
    const sweeper = startSweeper(db, { idleTimeoutMs: 60_000, intervalMs: 50, onError: (e) => errors.push(e) });
    try {
      await sql`insert into sessions (token_hash, user_id, expires_at)
        values (${`interval-${user.id}`}, ${user.id}, now() - interval '1 second')`.execute(db);
      await vi.waitFor(
        async () => {
          const left = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
          expect(left).toHaveLength(0);
        },
        { timeout: 5_000, interval: 50 },
      );
      expect(errors).toEqual([]);
    } finally {
      await sweeper.stop();
    }
  });
});

describe('sign-in events in the audit log (finding 8)', () => {
  it('records sign-in, failed sign-in (reason for administrators only), lockout and sign-out, by user', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const address = uniqueClientAddress();

    const { token } = await signInWithCookie(db, user.email);
    const wrong = await failure(signIn(user.email, 'a wrong password', address));
    // The caller learns nothing of the reason.
    expect(wrong.message).toBe('The email or password is incorrect.');
    expect(wrong.cause).toBeUndefined();
    for (let i = 0; i < 4; i++) await failure(signIn(user.email, 'a wrong password', address));
    await failure(signIn(user.email, testPassword, address));
    await callerWithToken(db, token).auth.logout();

    const { items } = await org.admin.audit.list({ userId: user.id, limit: 50 });
    const oldestFirst = [...items].reverse().filter((row) => row.action !== 'user.created');
    const actions = oldestFirst.map((row) => row.action);
    expect(actions[0]).toBe('auth.signed_in');
    // The fifth failure and the lock are written by one statement, in the same millisecond: either order.
    expect(actions.slice(1, 7).sort()).toEqual([...Array(5).fill('auth.sign_in_failed'), 'user.locked']);
    expect(actions.slice(7)).toEqual(['auth.sign_in_failed', 'auth.signed_out']);
    const failed = oldestFirst.filter((row) => row.action === 'auth.sign_in_failed');
    expect(failed.map((row) => row.changes.after?.reason)).toEqual([...Array(5).fill('wrong_password'), 'locked']);
    expect(failed[0]?.changes.after?.clientAddress).toBe(address);
    expect(failed[0]?.actorId).toBeNull();
    expect(oldestFirst[0]).toMatchObject({ actorId: user.id, actorEmail: user.email, targetId: user.id });
    expect(oldestFirst.at(-1)).toMatchObject({ actorId: user.id, targetId: user.id });

    // Administrators only.
    const plain = await org.addSignedInUser();
    expect((await failure(plain.caller.audit.list({ userId: user.id, limit: 5 }))).code).toBe('FORBIDDEN');
  });

  it('records a deactivated user and one without a password with their reasons, an unknown email nowhere', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const deactivated = await org.addUser({ canSignIn: true });
    await org.admin.users.deactivate({ id: deactivated.id });
    const noPassword = await org.addUser();
    const nobody = uniqueEmail('nobody');
    for (const email of [deactivated.email, noPassword.email, nobody]) await failure(signIn(email, testPassword));
    const rows = await auditRowsOf(db, org.organizationId);
    const failed = rows.filter((row) => row.action === 'auth.sign_in_failed');
    expect(failed.map((row) => [row.targetId, row.changes.after?.reason])).toEqual([
      [deactivated.id, 'deactivated'],
      [noPassword.id, 'no_password'],
    ]);
    const anywhere = await db.selectFrom('auditLog').select('id').where('targetLabel', '=', nobody).execute();
    expect(anywhere).toHaveLength(0);
  });
});
