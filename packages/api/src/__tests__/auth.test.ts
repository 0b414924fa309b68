import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { hashSecret } from '../core/tokens.js';
import type { SessionConfig } from '../shared/config.js';
import {
  auditRowsOf,
  callerAs,
  callerWithToken,
  createTestOrg,
  expectTRPCError,
  recordCookies,
  sessionOf,
  signIn,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sessionRowsOf(userId: string) {
  const db = await testDb();
  return db.selectFrom('sessions').selectAll().where('userId', '=', userId).execute();
}

describe('sign-in', () => {
  it('fails the same way for an unknown email, a wrong password, a deactivated user and a user without password', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const deactivated = await org.addUser({ canSignIn: true });
    await org.admin.users.deactivate({ id: deactivated.id });
    const withoutPassword = await org.addUser();
    const login = (email: string, password: string) => callerWithToken(db, null).auth.login({ email, password });

    const failures = [
      await expectTRPCError(login(uniqueEmail('nobody'), testPassword), 'UNAUTHORIZED'),
      await expectTRPCError(login(org.adminEmail, 'not the password'), 'UNAUTHORIZED'),
      await expectTRPCError(login(deactivated.email, testPassword), 'UNAUTHORIZED'),
      await expectTRPCError(login(withoutPassword.email, testPassword), 'UNAUTHORIZED'),
      // A user without a password cannot be entered with an empty-ish guess either.
      await expectTRPCError(login(withoutPassword.email, 'x'), 'UNAUTHORIZED'),
    ];
    const messages = new Set(failures.map((error) => error.message));
    expect([...messages]).toEqual(['The email or password is incorrect.']);
    // No failed attempt left a session behind.
    expect(await sessionRowsOf(deactivated.id)).toEqual([]);
    expect(await sessionRowsOf(withoutPassword.id)).toEqual([]);
  });

  it('accepts the email in any case and with spaces, and records lastLoginAt without touching the record', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    expect(user.lastLoginAt).toBeNull();
    const before = Date.now();
    const { user: signedIn } = await signIn(db, `  ${user.email.toUpperCase()} `);
    expect(signedIn.id).toBe(user.id);
    expect(signedIn.lastLoginAt).toBeInstanceOf(Date);
    expect(signedIn.lastLoginAt?.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    // Signing in is not an edit: version and updatedAt stay.
    expect(signedIn.version).toBe(user.version);
    expect(signedIn.updatedAt).toEqual(user.updatedAt);
    const stored = await org.admin.users.get({ id: user.id });
    expect(stored.lastLoginAt).toEqual(signedIn.lastLoginAt);
  });

  it('issues a new 256-bit token at each sign-in and stores only its hash', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const first = await signIn(db, user.email);
    const second = await signIn(db, user.email);
    expect(first.token).not.toBe(second.token);
    for (const token of [first.token, second.token]) {
      // 32 random bytes in base64url.
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    const rows = await sessionRowsOf(user.id);
    expect(rows).toHaveLength(2);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(first.token);
    expect(stored).not.toContain(second.token);
    expect(rows.map((row) => row.tokenHash).sort()).toEqual([hashSecret(first.token), hashSecret(second.token)].sort());
    expect(await first.caller.auth.me()).toMatchObject({ id: user.id });
    expect(await second.caller.auth.me()).toMatchObject({ id: user.id });
  });

  it('ends the session the browser held before when it signs in again', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const old = await signIn(db, user.email);
    const cookies = recordCookies();
    await callerWithToken(db, old.token, { cookies }).auth.login({ email: user.email, password: testPassword });
    expect(cookies.token).not.toBe(old.token);
    expect(await old.caller.auth.me()).toBeNull();
    expect(await callerWithToken(db, cookies.token).auth.me()).toMatchObject({ id: user.id });
  });
});

describe('session expiry', () => {
  it('ends a session left unused for the idle time', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const sessions: SessionConfig = { idleTimeoutMs: 150, absoluteTimeoutMs: 3_600_000 };
    const { caller } = await signIn(db, user.email, { sessions });
    await sleep(300);
    expect(await caller.auth.me()).toBeNull();
    await expectTRPCError(
      caller.auth.changePassword({ currentPassword: testPassword, newPassword: 'whatever12' }),
      'UNAUTHORIZED',
    );
    // The dead session is removed, not just ignored.
    expect(await sessionRowsOf(user.id)).toEqual([]);
  });

  it('keeps a session in use alive past the idle time, even when the idle time is short', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    // One minute: the shortest SESSION_IDLE_MINUTES allows.
    const sessions: SessionConfig = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000 };
    const { caller } = await sessionOf(db, user.id, { sessions });
    const age = (seconds: number) =>
      db
        .updateTable('sessions')
        .set({ lastSeenAt: sql<Date>`last_seen_at - make_interval(secs => ${seconds})` })
        .where('userId', '=', user.id)
        .execute();
    // Used 40 s after the last request, then again 40 s later, and again:
    // never 60 s without a request, so it must live on.
    for (let round = 0; round < 3; round++) {
      await age(40);
      expect(await caller.auth.me(), `request ${round + 1}`).toMatchObject({ id: user.id });
    }
    // Then a minute and more without a request ends it.
    await age(61);
    expect(await caller.auth.me()).toBeNull();
  });

  it('ends a session at its absolute expiry, however busy', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const sessions: SessionConfig = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 250 };
    const before = Date.now();
    const { caller } = await signIn(db, user.email, { sessions });
    const [row] = await sessionRowsOf(user.id);
    expect(row?.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 250);
    expect(row?.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 250);
    await sleep(400);
    expect(await caller.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
  });

  it('ends a session whose absolute expiry passed even if it was used a moment ago', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const caller = await callerAs(db, user.id);
    expect(await caller.auth.me()).toMatchObject({ id: user.id });
    await db
      .updateTable('sessions')
      .set({ expiresAt: new Date(Date.now() - 1_000), lastSeenAt: sql<Date>`now()` })
      .where('userId', '=', user.id)
      .execute();
    expect(await caller.auth.me()).toBeNull();
  });

  it('sets the absolute expiry from the configuration at sign-in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const cookies = recordCookies();
    let cookieExpiry: Date | undefined;
    const before = Date.now();
    await callerWithToken(db, null, {
      cookies: {
        ...cookies,
        set: (_token, expiresAt) => {
          cookieExpiry = expiresAt;
        },
      },
      sessions: { idleTimeoutMs: 60_000, absoluteTimeoutMs: 2 * 3_600_000 },
    }).auth.login({ email: user.email, password: testPassword });
    const [row] = await sessionRowsOf(user.id);
    expect(row?.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 2 * 3_600_000);
    expect(row?.expiresAt.getTime()).toBeLessThan(before + 2 * 3_600_000 + 60_000);
    // The cookie lives exactly as long as the session.
    expect(cookieExpiry?.getTime()).toBe(row?.expiresAt.getTime());
  });
});

describe('sessions end', () => {
  it('on logout, which also clears the cookie', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const { token } = await signIn(db, user.email);
    const cookies = recordCookies();
    expect(await callerWithToken(db, token, { cookies }).auth.logout()).toEqual({ ok: true });
    expect(cookies.cleared).toBe(true);
    expect(await callerWithToken(db, token).auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
    // Logging out without a session is harmless.
    expect(await callerWithToken(db, null).auth.logout()).toEqual({ ok: true });
  });

  it('on changePassword for the other sessions only, and the new password is the one that works', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const here = await signIn(db, user.email);
    const elsewhere = await signIn(db, user.email);
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;

    // A wrong current password changes nothing and ends nothing.
    const wrong = await expectTRPCError(
      here.caller.auth.changePassword({ currentPassword: 'not my password', newPassword: 'brand new password' }),
      'BAD_REQUEST',
    );
    expect(wrong.message).toMatch(/current password/i);
    // Named as the field at fault, like any other bad input (data.fieldErrors over HTTP).
    expect(wrong.cause).toBeInstanceOf(ZodError);
    expect((wrong.cause as ZodError).issues).toMatchObject([
      { path: ['currentPassword'], message: 'The current password is incorrect.' },
    ]);
    expect(await elsewhere.caller.auth.me()).toMatchObject({ id: user.id });

    await here.caller.auth.changePassword({ currentPassword: testPassword, newPassword: 'brand new password' });
    expect(await here.caller.auth.me()).toMatchObject({ id: user.id });
    expect(await elsewhere.caller.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toHaveLength(1);

    await expectTRPCError(
      callerWithToken(db, null).auth.login({ email: user.email, password: testPassword }),
      'UNAUTHORIZED',
    );
    await signIn(db, user.email, { password: 'brand new password' });

    const audit = (await auditRowsOf(db, org.organizationId)).slice(auditBefore);
    expect(audit).toMatchObject([
      { action: 'user.password_changed', actorId: user.id, targetId: user.id },
      // The old password, refused; the new one, signed in.
      { action: 'auth.sign_in_failed', actorId: null, targetId: user.id },
      { action: 'auth.signed_in', actorId: user.id, targetId: user.id },
    ]);
    expect(JSON.stringify(audit)).not.toContain('brand new password');
  });

  it('on users.setPassword, for every session of the target', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const a = await signIn(db, user.email);
    const b = await callerAs(db, user.id);
    await org.admin.users.setPassword({ id: user.id, password: 'set by the admin' });
    expect(await a.caller.auth.me()).toBeNull();
    expect(await b.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
    await signIn(db, user.email, { password: 'set by the admin' });
    // The administrator's own session is untouched.
    expect(await org.admin.auth.me()).toMatchObject({ id: org.adminId });
  });

  it('on users.deactivate: the live session is UNAUTHORIZED on its very next call', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser({ role: 'admin' });
    expect(await caller.accounts.list({})).toMatchObject({ items: expect.any(Array) });
    await org.admin.users.deactivate({ id: user.id });
    await expectTRPCError(caller.accounts.list({}), 'UNAUTHORIZED');
    expect(await caller.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
  });

  it('when the user is inactive, even if a session row survived (a sign-in racing a deactivation)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser({ role: 'admin' });
    // Behind the API's back: the flag flips while the session row stays.
    await db.updateTable('users').set({ active: false }).where('id', '=', user.id).execute();
    await expectTRPCError(caller.users.search({}), 'UNAUTHORIZED');
    expect(await caller.auth.me()).toBeNull();
  });

  it('on users.delete', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser();
    await org.admin.users.delete({ id: user.id });
    expect(await caller.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
  });

  it('on accounts.delete, for every user of the account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const { user, caller } = await org.addSignedInUser({ accountId: account.id });
    await org.admin.accounts.delete({ id: account.id });
    expect(await caller.auth.me()).toBeNull();
    expect(await sessionRowsOf(user.id)).toEqual([]);
  });
});

describe('reactivation', () => {
  it('restores sign-in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    await org.admin.users.deactivate({ id: user.id });
    await expectTRPCError(
      callerWithToken(db, null).auth.login({ email: user.email, password: testPassword }),
      'UNAUTHORIZED',
    );
    const reactivated = await org.admin.users.reactivate({ id: user.id });
    expect(reactivated.active).toBe(true);
    const { caller } = await signIn(db, user.email);
    expect(await caller.auth.me()).toMatchObject({ id: user.id, active: true });
  });
});

describe('auth.me', () => {
  it('is null without a session, with an unknown token, or with an absurdly long one', async () => {
    const db = await testDb();
    expect(await callerWithToken(db, null).auth.me()).toBeNull();
    expect(await callerWithToken(db, 'x'.repeat(43)).auth.me()).toBeNull();
    expect(await callerWithToken(db, 'x'.repeat(10_000)).auth.me()).toBeNull();
  });
});
