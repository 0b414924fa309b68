import { setTimeout as sleep } from 'node:timers/promises';
import { TRPCError } from '@trpc/server';
import { type RawBuilder, sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientKey } from '../auth/limit-keys.js';
import { checkCredentials, passwordCheck } from '../auth/sign-in.js';
import { retryAfterOf, signInPolicy } from '../auth/sign-in-policy.js';
import {
  callerAs,
  callerWithToken,
  createTestOrg,
  failure,
  sessionOf,
  signInFrom as signIn,
  testDb,
  testPassword,
  uniqueClientAddress,
  uniqueEmail,
} from '../test/index.js';

/** The code each call ended with: 'ok' or the tRPC error code. */
function outcomes(results: PromiseSettledResult<unknown>[]): string[] {
  return results.map((r) => (r.status === 'rejected' && r.reason instanceof TRPCError ? r.reason.code : 'ok'));
}

/** The rows kept for an address's limit (settled failures and reservations alike). */
async function attemptRows(address: string): Promise<number> {
  const db = await testDb();
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from sign_in_attempts where client_key = ${clientKey(address)}
  `.execute(db);
  return rows[0]?.n ?? 0;
}

/**
 * Writes attempts of an address straight into the table: `pendingUntil` is the
 * moment a reservation must settle by; without it, rows are settled failures
 * (as every row written before reservations could be pending).
 */
async function insertAttempts(address: string, count: number, pendingUntil?: RawBuilder<Date>) {
  const db = await testDb();
  const key = clientKey(address);
  if (pendingUntil) {
    await sql`
      insert into sign_in_attempts (client_key, pending_until)
      select ${key}, ${pendingUntil} from generate_series(1, ${count}::int)
    `.execute(db);
  } else {
    await sql`insert into sign_in_attempts (client_key) select ${key} from generate_series(1, ${count}::int)`.execute(
      db,
    );
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

// Opening the worker's database (PGlite: create and migrate) is slow work for a hook, not a test: warm up.
beforeAll(async () => {
  await testDb();
});

describe('lockout after consecutive failed sign-ins', () => {
  it('locks a user for 30 minutes after 5 failures, with the same generic answer as anyone else', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    for (let i = 0; i < 4; i++) {
      expect((await failure(signIn(user.email, 'wrong password'))).code).toBe('UNAUTHORIZED');
      expect((await org.admin.users.get({ id: user.id })).lockedUntil).toBeNull();
    }
    const fifth = await failure(signIn(user.email, 'wrong password'));
    const unknown = await failure(signIn(uniqueEmail('nobody'), 'wrong password'));
    // The right password no longer opens the door, and nothing tells the guesser why.
    const locked = await failure(signIn(user.email, testPassword));
    for (const error of [fifth, unknown, locked]) {
      expect(error.code).toBe('UNAUTHORIZED');
      expect(error.message).toBe('The email or password is incorrect.');
    }

    const seen = await org.admin.users.get({ id: user.id });
    expect(seen.lockedUntil).toBeInstanceOf(Date);
    const minutes = ((seen.lockedUntil?.getTime() ?? 0) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(29);
    expect(minutes).toBeLessThanOrEqual(30.1);
    // Administrators find who is locked.
    const lockedList = await org.admin.users.search({ locked: true });
    expect(lockedList.items.map((u) => u.id)).toEqual([user.id]);
    const unlockedList = await org.admin.users.search({ locked: false });
    expect(unlockedList.items.map((u) => u.id)).not.toContain(user.id);
    const audit = await org.admin.audit.list({ userId: user.id });
    const locks = audit.items.filter((a) => a.action === 'user.locked');
    expect(locks).toHaveLength(1);
    expect(locks[0]?.actorEmail).toBe('system');
  });

  it('does not extend a lock with failures made while locked', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    for (let i = 0; i < signInPolicy.maxConsecutiveFailures; i++) await failure(signIn(user.email, 'nope nope'));
    const first = (await org.admin.users.get({ id: user.id })).lockedUntil;
    await failure(signIn(user.email, 'nope nope'));
    expect((await org.admin.users.get({ id: user.id })).lockedUntil).toEqual(first);
  });

  it('lets the user in again once the lock has run out', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    for (let i = 0; i < 5; i++) await failure(signIn(user.email, 'nope nope'));
    await failure(signIn(user.email, testPassword));
    // Thirty minutes pass (in the database's clock).
    await db
      .updateTable('users')
      .set({ lockedUntil: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', user.id)
      .execute();
    expect((await org.admin.users.get({ id: user.id })).lockedUntil).toBeNull();
    expect((await signIn(user.email, testPassword)).user.id).toBe(user.id);
  });

  it('counts only consecutive failures: a success starts the count again', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    for (let i = 0; i < 4; i++) await failure(signIn(user.email, 'nope nope'));
    await signIn(user.email, testPassword);
    for (let i = 0; i < 4; i++) await failure(signIn(user.email, 'nope nope'));
    expect((await signIn(user.email, testPassword)).user.lockedUntil).toBeNull();
  });

  it('users.unlock lifts the lock, audited; only for administrators of the organization', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Other Org');
    const user = await org.addUser({ password: testPassword });
    for (let i = 0; i < 5; i++) await failure(signIn(user.email, 'nope nope'));

    expect((await failure(other.admin.users.unlock({ id: user.id }))).code).toBe('NOT_FOUND');
    const plain = await org.addUser({ password: testPassword });
    expect((await failure((await callerAs(db, plain.id)).users.unlock({ id: user.id }))).code).toBe('FORBIDDEN');
    expect((await failure(callerWithToken(db, null).users.unlock({ id: user.id }))).code).toBe('UNAUTHORIZED');
    expect((await org.admin.users.get({ id: user.id })).lockedUntil).not.toBeNull();

    const unlocked = await org.admin.users.unlock({ id: user.id });
    expect(unlocked.lockedUntil).toBeNull();
    expect((await signIn(user.email, testPassword)).user.id).toBe(user.id);
    const audit = await org.admin.audit.list({ userId: user.id });
    const entry = audit.items.find((a) => a.action === 'user.unlocked');
    expect(entry?.actorId).toBe(org.adminId);
    expect(entry?.changes.before?.lockedUntil).toEqual(expect.any(String));
    // Unlocking someone who is not locked changes nothing and writes nothing.
    await org.admin.users.unlock({ id: user.id });
    const again = await org.admin.audit.list({ userId: user.id });
    expect(again.items.filter((a) => a.action === 'user.unlocked')).toHaveLength(1);
  });

  it('counts a wrong current password in changePassword like a failed sign-in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const self = await callerAs(db, user.id);
    for (let i = 0; i < 5; i++) {
      const error = await failure(
        self.auth.changePassword({ currentPassword: `guess ${i}`, newPassword: 'a new and long secret' }),
      );
      expect(error.code).toBe('BAD_REQUEST');
    }
    const locked = await failure(
      self.auth.changePassword({ currentPassword: testPassword, newPassword: 'a new and long secret' }),
    );
    expect(locked.code).toBe('TOO_MANY_REQUESTS');
    expect(retryAfterOf(locked)).toBeGreaterThan(29 * 60);
    await failure(signIn(user.email, testPassword));
  });
});

describe('failures that reveal nothing', () => {
  it('verifies a password (against a dummy hash) for unknown, locked, deactivated and password-less users', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const known = await org.addUser({ password: testPassword });
    const deactivated = await org.addUser({ password: testPassword });
    await org.admin.users.deactivate({ id: deactivated.id });
    const noPassword = await org.addUser();
    const locked = await org.addUser({ password: testPassword });
    for (let i = 0; i < 5; i++) await failure(signIn(locked.email, 'nope nope'));

    const verify = vi.spyOn(passwordCheck, 'verify');
    const cases = {
      'wrong password': () => signIn(known.email, 'wrong password'),
      'unknown email': () => signIn(uniqueEmail('ghost'), testPassword),
      deactivated: () => signIn(deactivated.email, testPassword),
      'no password': () => signIn(noPassword.email, testPassword),
      locked: () => signIn(locked.email, testPassword),
    };
    const figures: Record<string, string> = {};
    for (const [name, attempt] of Object.entries(cases)) {
      verify.mockClear();
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const error = await failure(attempt());
        times.push(performance.now() - started);
        expect(error.message).toBe('The email or password is incorrect.');
      }
      // One real argon2 verification per attempt, whatever the reason for failing.
      expect(verify, name).toHaveBeenCalledTimes(3);
      for (const call of verify.mock.calls) expect(call[1]).toBeTypeOf('string');
      await expect(verify.mock.results[0]?.value).resolves.toBe(false);
      times.sort((a, b) => a - b);
      figures[name] = `${times[1]?.toFixed(1)} ms`;
    }
    // Figures, not assertions: the median time of a failure by its cause.
    console.log('sign-in failure, median of 3:', figures);
    // And the known user did not get locked by the unknown-email attempts.
    expect((await org.admin.users.get({ id: known.id })).lockedUntil).toBeNull();
  });
});

describe('per client address limit', () => {
  it('refuses the 21st failure in 15 minutes with TOO_MANY_REQUESTS and a retry-after', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const address = uniqueClientAddress();
    // Spread over unknown emails, so no user lockout is involved.
    for (let i = 0; i < signInPolicy.maxFailuresPerAddress; i++) {
      expect((await failure(signIn(uniqueEmail('spray'), 'guess guess', address))).code).toBe('UNAUTHORIZED');
    }
    const verify = vi.spyOn(passwordCheck, 'verify');
    const refused = await failure(signIn(user.email, testPassword, address));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toMatch(/^Too many failed sign-ins from your network\. Try again in \d+ minutes\.$/);
    const wait = retryAfterOf(refused) ?? 0;
    expect(wait).toBeGreaterThan(14 * 60);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    // Refused before any password work: a blocked address costs the server nothing.
    expect(verify).not.toHaveBeenCalled();

    // Another address is not affected.
    expect((await signIn(user.email, testPassword)).user.id).toBe(user.id);

    // When the oldest failure leaves the window, one more attempt is allowed.
    const key = clientKey(address) ?? '';
    const oldest = await db
      .selectFrom('signInAttempts')
      .select('id')
      .where('clientKey', '=', key)
      .orderBy('attemptedAt')
      .limit(1)
      .executeTakeFirstOrThrow();
    await db
      .updateTable('signInAttempts')
      .set({ attemptedAt: sql<Date>`now() - interval '15 minutes 1 second'` })
      .where('id', '=', oldest.id)
      .execute();
    expect((await signIn(user.email, testPassword, address)).user.id).toBe(user.id);
    // A success is not a failure: it did not take the freed place.
    expect((await failure(signIn(uniqueEmail('spray'), 'guess', address))).code).toBe('UNAUTHORIZED');
    expect((await failure(signIn(user.email, testPassword, address))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('holds under parallel guesses: exactly 20 are checked, the rest refused', async () => {
    const address = uniqueClientAddress();
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => signIn(uniqueEmail('burst'), 'guess guess', address)),
    );
    const codes = outcomes(results);
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(20);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(10);
  });

  it('lets 30 concurrent correct sign-ins from one address in (an office behind one NAT), and counts none of them', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const emails: string[] = [];
    for (let i = 0; i < 5; i++) emails.push((await org.addUser({ canSignIn: true })).email);
    const address = uniqueClientAddress();
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => signIn(emails[i % emails.length] ?? '', testPassword, address)),
    );
    expect(outcomes(results)).toEqual(Array(30).fill('ok'));
    expect(await attemptRows(address)).toBe(0);
    // And the address still has its whole allowance of failures.
    for (let i = 0; i < signInPolicy.maxFailuresPerAddress; i++) {
      expect((await failure(signIn(uniqueEmail('spray'), 'guess guess', address))).code).toBe('UNAUTHORIZED');
    }
    expect((await failure(signIn(org.adminEmail, testPassword, address))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('counts an abandoned reservation (its time to settle has passed: a crash, a shutdown) as nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const address = uniqueClientAddress();
    await insertAttempts(address, signInPolicy.maxFailuresPerAddress, sql<Date>`now() - interval '1 second'`);
    expect((await signIn(org.adminEmail, testPassword, address)).user.id).toBe(org.adminId);
    expect((await failure(signIn(uniqueEmail('spray'), 'guess guess', address))).code).toBe('UNAUTHORIZED');
    // Cleaned up like rows that left the window: only the one real failure is left.
    expect(await attemptRows(address)).toBe(1);

    // Settled failures (and rows from before reservations could be pending) still count.
    await insertAttempts(address, signInPolicy.maxFailuresPerAddress - 1);
    const refused = await failure(signIn(org.adminEmail, testPassword, address));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toMatch(/^Too many failed sign-ins from your network\. Try again in 15 minutes\.$/);
  });

  it('makes a sign-in wait while sign-ins in flight fill the limit, and lets it in once one of them succeeds', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const address = uniqueClientAddress();
    await insertAttempts(address, signInPolicy.maxFailuresPerAddress, sql<Date>`now() + interval '1 minute'`);
    const started = performance.now();
    const waiting = signIn(org.adminEmail, testPassword, address);
    await sleep(300);
    // One of the sign-ins in flight succeeds: its reservation is given back.
    await sql`
      delete from sign_in_attempts where id = (select id from sign_in_attempts where client_key = ${clientKey(address)} limit 1)
    `.execute(db);
    expect((await waiting).user.id).toBe(org.adminId);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(await attemptRows(address)).toBe(signInPolicy.maxFailuresPerAddress - 1);
  });

  it('refuses a waiting sign-in with the window wait when the sign-ins in flight turn out to be failures', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const address = uniqueClientAddress();
    await insertAttempts(address, signInPolicy.maxFailuresPerAddress, sql<Date>`now() + interval '1 minute'`);
    const waiting = failure(signIn(org.adminEmail, testPassword, address));
    await sleep(300);
    await sql`update sign_in_attempts set pending_until = null where client_key = ${clientKey(address)}`.execute(db);
    const refused = await waiting;
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toMatch(/^Too many failed sign-ins from your network\./);
    expect(retryAfterOf(refused)).toBeGreaterThan(14 * 60);
  });

  it('refuses, after waiting about 5 s, when the sign-ins in flight do not settle', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const address = uniqueClientAddress();
    await insertAttempts(address, signInPolicy.maxFailuresPerAddress, sql<Date>`now() + interval '1 minute'`);
    const verify = vi.spyOn(passwordCheck, 'verify');
    const started = performance.now();
    const refused = await failure(signIn(org.adminEmail, testPassword, address));
    const waited = performance.now() - started;
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toBe('Too many sign-ins at once from your network. Try again in a moment.');
    expect(retryAfterOf(refused)).toBe(1);
    expect(verify).not.toHaveBeenCalled();
    expect(waited).toBeGreaterThan(signInPolicy.pendingWaitMs - 200);
    expect(waited).toBeLessThan(signInPolicy.pendingWaitMs + 3_000);
    expect(await attemptRows(address)).toBe(signInPolicy.maxFailuresPerAddress);
  });

  it('gives the reservation back when something unexpected fails after it (it was no failed guess)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const address = uniqueClientAddress();
    vi.spyOn(passwordCheck, 'verify').mockRejectedValueOnce(new Error('connection lost'));
    const error = await failure(signIn(org.adminEmail, testPassword, address));
    expect(error.code).toBe('INTERNAL_SERVER_ERROR');
    expect((error.cause as Error).message).toBe('connection lost');
    expect(await attemptRows(address)).toBe(0);

    // The same for the current password of changePassword.
    const { token } = await sessionOf(db, org.adminId);
    const self = callerWithToken(db, token, { clientAddress: address });
    vi.spyOn(passwordCheck, 'verify').mockRejectedValueOnce(new Error('connection lost'));
    const changing = await failure(
      self.auth.changePassword({ currentPassword: testPassword, newPassword: 'a new and long secret' }),
    );
    expect(changing.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await attemptRows(address)).toBe(0);
    // A wrong guess still counts.
    await failure(self.auth.changePassword({ currentPassword: 'a wrong guess', newPassword: 'a new and long secret' }));
    expect(await attemptRows(address)).toBe(1);
  });

  it('keys IPv6 clients by their /64 and IPv4-mapped ones by the IPv4 address', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(clientKey('[2001:DB8::1]')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(clientKey(null)).toBeNull();
    expect(clientKey('')).toBeNull();
  });
});

describe('a correct password', () => {
  it('signs in in one transaction: the session, the attempt given back, the failures ended', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const person = await org.addUser({ canSignIn: true });
    const address = uniqueClientAddress();
    for (let i = 0; i < 3; i++) await failure(signIn(person.email, 'wrong password', address));
    expect(await attemptRows(address)).toBe(3);
    const { user } = await signIn(person.email, testPassword, address);
    expect(user.lastLoginAt).toBeInstanceOf(Date);
    const row = await db
      .selectFrom('users')
      .select(['failedSignIns', 'lastLoginAt'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.failedSignIns).toBe(0);
    expect(row.lastLoginAt?.getTime()).toBe(user.lastLoginAt?.getTime());
    // The three failures still count; the successful attempt does not.
    expect(await attemptRows(address)).toBe(3);
  });

  it('gives the attempt back when starting the session fails', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const person = await org.addUser({ canSignIn: true });
    const address = uniqueClientAddress();
    const refused = new Error('the session could not start');
    await expect(
      checkCredentials(
        { db, clientAddress: address },
        { email: person.email, password: testPassword },
        async (tx, user) => {
          // In the sign-in's transaction the attempt is already given back, and the user admitted.
          const attempts = await tx
            .selectFrom('signInAttempts')
            .select('id')
            .where('clientKey', '=', clientKey(address) ?? '')
            .execute();
          expect(attempts).toHaveLength(0);
          expect(user.lastLoginAt).toBeInstanceOf(Date);
          throw refused;
        },
      ),
    ).rejects.toBe(refused);
    // Rolled back: no sign-in noted, and the attempt given back after all.
    expect(await attemptRows(address)).toBe(0);
    const row = await db
      .selectFrom('users')
      .select('lastLoginAt')
      .where('id', '=', person.id)
      .executeTakeFirstOrThrow();
    expect(row.lastLoginAt).toBeNull();
  });
});
