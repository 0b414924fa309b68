import { TRPCError } from '@trpc/server';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signInPolicy } from '../auth/sign-in.js';
import {
  callerWithToken,
  createTestOrg,
  testDb,
  testPassword,
  testServerUrl,
  uniqueClientAddress,
} from '../test/index.js';

/**
 * Sign-in as an attacker tries it: many requests at once. On Postgres the calls
 * of a Promise.all really run at once, each on its own connection; on PGlite
 * they are serialized, and the rules must hold as well.
 */

async function signIn(email: string, password: string, clientAddress = uniqueClientAddress()) {
  const db = await testDb();
  return callerWithToken(db, null, { clientAddress }).auth.login({ email, password });
}

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
  });
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

describe('what the time of a failed sign-in tells (finding 6)', () => {
  it.runIf(testServerUrl)('takes as long for an unknown email as for a wrong password of a known one (50+ alternating pairs)', async () => {
    const restore = withoutEmailLimit();
    try {
      const db = await testDb();
      const org = await createTestOrg(db);
      const user = await org.addUser({ canSignIn: true });
      const timed = async (email: string) => {
        const started = performance.now();
        const result = await Promise.allSettled([signIn(email, 'wrong password guess')]);
        const took = performance.now() - started;
        expect(outcome(result[0] as PromiseSettledResult<unknown>)).toBe('UNAUTHORIZED');
        // Untimed: the known user starts each pair with no failures, so no pair is a locking one.
        await db.updateTable('users').set({ failedSignIns: 0 }).where('id', '=', user.id).execute();
        return took;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      const pairs = 60;
      for (let i = 0; i < 10 + pairs; i++) {
        const email = `nobody-${i}-${Math.random().toString(36).slice(2)}@example.test`;
        // Alternate which goes first, so drift within a pair falls on both sides alike.
        const [a, b] = i % 2 ? [await timed(user.email), await timed(email)] : [0, 0];
        const [c, d] = i % 2 ? [0, 0] : [await timed(email), await timed(user.email)];
        if (i < 10) continue; // warm-up
        known.push(i % 2 ? a : d);
        unknown.push(i % 2 ? b : c);
      }
      const k = median(known);
      const u = median(unknown);
      console.log(`failed sign-in, median of ${pairs}: known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms (${(((k - u) / u) * 100).toFixed(1)}%)`);
      expect(Math.abs(k - u) / Math.min(k, u)).toBeLessThanOrEqual(0.1);
    } finally {
      restore();
    }
  });
});
