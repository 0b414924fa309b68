import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../core/tokens.js';
import {
  callerAs,
  callerWithToken,
  createTestOrg,
  failure,
  recordCookies,
  testDb,
  testPassword,
  uniqueClientAddress,
} from '../test/index.js';

/** Signs in like a browser would, returning the token the cookie got. */
async function signIn(email: string, password = testPassword, previousToken: string | null = null) {
  const db = await testDb();
  const cookies = recordCookies();
  await callerWithToken(db, previousToken, { cookies }).auth.login({ email, password });
  if (!cookies.token) throw new Error('no session cookie');
  return cookies.token;
}

async function isLive(token: string) {
  const db = await testDb();
  return (await callerWithToken(db, token).auth.me()) !== null;
}

/** Moves a session's clock: last seen / expiry relative to the database's now(). */
async function age(token: string, values: { lastSeenMinutesAgo?: number; expiresInMinutes?: number }) {
  const db = await testDb();
  await db
    .updateTable('sessions')
    .set({
      ...(values.lastSeenMinutesAgo !== undefined && {
        lastSeenAt: sql<Date>`now() - ${values.lastSeenMinutesAgo}::int * interval '1 minute'`,
      }),
      ...(values.expiresInMinutes !== undefined && {
        expiresAt: sql<Date>`now() + ${values.expiresInMinutes}::int * interval '1 minute'`,
      }),
    })
    .where('tokenHash', '=', hashSecret(token))
    .execute();
}

// Opening the worker's database (PGlite: create and migrate) is slow work for a hook, not a test: warm up.
beforeAll(async () => {
  await testDb();
});

describe('session lifetime', () => {
  it('gives a new token at every sign-in and ends the one the browser held', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const first = await signIn(user.email);
    const second = await signIn(user.email, testPassword, first);
    expect(second).not.toBe(first);
    expect(await isLive(first)).toBe(false);
    expect(await isLive(second)).toBe(true);
    // Signing in elsewhere (no previous token) leaves other sessions alone.
    const third = await signIn(user.email);
    expect(await isLive(second)).toBe(true);
    expect(await isLive(third)).toBe(true);
  });

  it('ends a session idle for longer than the idle timeout (30 minutes by default)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    await age(token, { lastSeenMinutesAgo: 29 });
    expect(await isLive(token)).toBe(true);
    await age(token, { lastSeenMinutesAgo: 31 });
    expect(await isLive(token)).toBe(false);
    // Ended for good, not just refused once.
    expect(await db.selectFrom('sessions').where('tokenHash', '=', hashSecret(token)).selectAll().execute()).toEqual(
      [],
    );
  });

  it('honours a configured idle timeout', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    await age(token, { lastSeenMinutesAgo: 45 });
    const patient = { idleTimeoutMs: 60 * 60_000, absoluteTimeoutMs: 12 * 3_600_000 };
    expect(await callerWithToken(db, token, { sessions: patient }).auth.me()).not.toBeNull();
    await age(token, { lastSeenMinutesAgo: 6 });
    const strict = { idleTimeoutMs: 5 * 60_000, absoluteTimeoutMs: 12 * 3_600_000 };
    expect(await callerWithToken(db, token, { sessions: strict }).auth.me()).toBeNull();
  });

  it('ends a busy session at its absolute lifetime (12 hours by default)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    const row = await db
      .selectFrom('sessions')
      .select(['createdAt', 'expiresAt'])
      .where('tokenHash', '=', hashSecret(token))
      .executeTakeFirstOrThrow();
    const hours = (row.expiresAt.getTime() - row.createdAt.getTime()) / 3_600_000;
    expect(hours).toBeCloseTo(12, 1);
    await age(token, { lastSeenMinutesAgo: 0, expiresInMinutes: -1 });
    expect(await isLive(token)).toBe(false);
  });

  it('ends on sign-out', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    const cookies = recordCookies();
    await callerWithToken(db, token, { cookies }).auth.logout();
    expect(cookies.cleared).toBe(true);
    expect(await isLive(token)).toBe(false);
  });

  it("ends the user's other sessions when they change their password, keeping the one they use", async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const here = await signIn(user.email);
    const elsewhere = await signIn(user.email);
    await callerWithToken(db, here).auth.changePassword({
      currentPassword: testPassword,
      newPassword: 'another long passphrase',
    });
    expect(await isLive(here)).toBe(true);
    expect(await isLive(elsewhere)).toBe(false);
  });

  it('ends every session of a user whose password an administrator sets', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const tokens = [await signIn(user.email), await signIn(user.email)];
    await org.admin.users.setPassword({ id: user.id, password: 'a brand new passphrase' });
    for (const token of tokens) expect(await isLive(token)).toBe(false);
  });

  it('ends every session on deactivation; reactivating does not bring them back', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    await org.admin.users.deactivate({ id: user.id });
    expect(await isLive(token)).toBe(false);
    await org.admin.users.reactivate({ id: user.id });
    expect(await isLive(token)).toBe(false);
  });

  it('ends every session on deletion', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    await org.admin.users.delete({ id: user.id });
    expect(await isLive(token)).toBe(false);
    expect(await db.selectFrom('sessions').where('userId', '=', user.id).selectAll().execute()).toEqual([]);
  });
});

describe('users.sessions and users.endSessions', () => {
  it('lists live sessions with when, where from and which browser; never a token', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const address = uniqueClientAddress();
    await callerWithToken(db, null, { cookies: recordCookies(), clientAddress: address }).auth.login({
      email: user.email,
      password: testPassword,
    });
    const idle = await signIn(user.email);
    const expired = await signIn(user.email);
    await age(idle, { lastSeenMinutesAgo: 40 });
    await age(expired, { expiresInMinutes: -5 });

    const sessions = await org.admin.users.sessions({ id: user.id });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toEqual({
      id: expect.any(String),
      createdAt: expect.any(Date),
      lastSeenAt: expect.any(Date),
      expiresAt: expect.any(Date),
      clientAddress: address,
      userAgent: 'vitest',
      current: false,
    });
    // The administrator's own view marks the session in use.
    const own = await org.admin.users.sessions({ id: org.adminId });
    expect(own.filter((s) => s.current)).toHaveLength(1);
  });

  it('ends all of them at once, audited, and keeps an administrator in when they end their own', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const tokens = [await signIn(user.email), await signIn(user.email), await signIn(user.email)];
    expect(await org.admin.users.endSessions({ id: user.id })).toEqual({ ended: 3, apiKeysRevoked: 0 });
    for (const token of tokens) expect(await isLive(token)).toBe(false);
    expect(await org.admin.users.sessions({ id: user.id })).toEqual([]);
    const audit = await org.admin.audit.list({ userId: user.id });
    expect(audit.items[0]).toMatchObject({
      action: 'user.sessions_ended',
      actorId: org.adminId,
      changes: { after: { ended: 3 } },
    });

    // The fixture's own session of the administrator is one more to end.
    const adminHere = await signIn(org.adminEmail);
    const adminElsewhere = await signIn(org.adminEmail);
    const admin = callerWithToken(db, adminHere);
    expect(await admin.users.endSessions({ id: org.adminId })).toEqual({ ended: 2, apiKeysRevoked: 0 });
    expect(await isLive(adminElsewhere)).toBe(false);
    expect(await isLive(adminHere)).toBe(true);
  });

  it('is for administrators of the same organization only', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db, 'Elsewhere');
    const user = await org.addUser({ password: testPassword });
    const token = await signIn(user.email);
    expect((await failure(other.admin.users.sessions({ id: user.id }))).code).toBe('NOT_FOUND');
    expect((await failure(other.admin.users.endSessions({ id: user.id }))).code).toBe('NOT_FOUND');
    const plain = await callerAs(db, user.id);
    expect((await failure(plain.users.sessions({ id: user.id }))).code).toBe('FORBIDDEN');
    expect((await failure(plain.users.endSessions({ id: org.adminId }))).code).toBe('FORBIDDEN');
    expect(await isLive(token)).toBe(true);
    expect(await org.admin.auth.me()).not.toBeNull();
  });
});
