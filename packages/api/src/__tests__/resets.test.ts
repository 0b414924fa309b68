import { afterEach, describe, expect, it } from 'vitest';
import { observeHashing } from '../auth/passwords.js';
import { resetRequestAnswer, resetsPerAddressPerHour, resetsPerEmailPerHour } from '../links/resets.js';
import {
  auditRowsOf,
  callerWithToken,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  failure,
  mailedResetTokenOf,
  mailedTokenOf,
  recordCookies,
  sessionOf,
  signIn,
  testDb,
  uniqueClientAddress,
  uniqueEmail,
} from '../test/index.js';

// Forgot password: a mailed, single-use, 30-minute link; the request answers the
// same, in the same time, whether or not the email is anyone's.

async function resetMailsTo(email: string) {
  const db = await testDb();
  return db
    .selectFrom('mailOutbox')
    .select(['id', 'link'])
    .where('toAddress', '=', email)
    .where('kind', '=', 'password_reset')
    .execute();
}

describe('password reset requests', () => {
  it('answer the same, after at least the same time, for a user and for an unknown email', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const timed = async (email: string) => {
      const started = performance.now();
      const answer = await callerWithToken(db, null).auth.requestPasswordReset({ email });
      return { answer, ms: performance.now() - started };
    };
    const known = await timed(user.email.toUpperCase());
    const unknown = await timed(uniqueEmail('nobody'));
    expect(known.answer).toEqual(resetRequestAnswer);
    expect(unknown.answer).toEqual(known.answer);
    // Both take at least the floor (400 ms): the work of queueing a mail hides under it.
    expect(known.ms).toBeGreaterThanOrEqual(395);
    expect(unknown.ms).toBeGreaterThanOrEqual(395);
    expect(await resetMailsTo(user.email)).toHaveLength(1);
    const rows = (await auditRowsOf(db, org.organizationId)).filter(
      (r) => r.action === 'user.password_reset_requested',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ targetId: user.id, actorId: null });
  });

  it('send a deactivated user nothing, and their earlier link stops working', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const token = await mailedResetTokenOf(db, user);
    await org.admin.users.deactivate({ id: user.id });
    await mailedResetTokenOf(db, user);
    expect(await resetMailsTo(user.email)).toHaveLength(1);
    const refused = await failure(
      callerWithToken(db, null).auth.resetPassword({ token, password: 'while deactivated' }),
    );
    expect(errorDataOf(refused).reason).toBe('LINK_INVALID');
    await expectTRPCError(signIn(db, user.email, { password: 'while deactivated' }), 'UNAUTHORIZED');
  });

  it(`mail one email at most ${resetsPerEmailPerHour} times an hour, answering the same beyond`, async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    for (let i = 0; i < resetsPerEmailPerHour + 2; i++) {
      // From a new address each time: the email's own limit, not the address's.
      expect(await mailedResetTokenOf(db, user)).toBeTruthy();
    }
    expect(await resetMailsTo(user.email)).toHaveLength(resetsPerEmailPerHour);
  });

  it(`refuse a client address after ${resetsPerAddressPerHour} requests an hour, whatever the emails`, async () => {
    const db = await testDb();
    const address = uniqueClientAddress();
    const caller = callerWithToken(db, null, { clientAddress: address });
    for (let i = 0; i < resetsPerAddressPerHour; i++) {
      await caller.auth.requestPasswordReset({ email: uniqueEmail('spray') });
    }
    const limited = await failure(caller.auth.requestPasswordReset({ email: uniqueEmail('spray') }));
    expect(limited.code).toBe('TOO_MANY_REQUESTS');
    // Another address is not held back by it.
    await callerWithToken(db, null, { clientAddress: uniqueClientAddress() }).auth.requestPasswordReset({
      email: uniqueEmail('spray'),
    });
  });
});

describe('resetting a password', () => {
  it('sets the password, ends every session and other link, signs in, once; audited', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const first = await mailedResetTokenOf(db, user);
    const token = await mailedResetTokenOf(db, user);
    const { token: oldSession } = await sessionOf(db, user.id);
    await sessionOf(db, user.id);

    // Only the latest mail's link works.
    const older = await failure(callerWithToken(db, null).auth.resetPassword({ token: first, password: 'older link' }));
    expect(errorDataOf(older).reason).toBe('LINK_INVALID');

    const cookies = recordCookies();
    const { user: signedIn } = await callerWithToken(db, null, { cookies }).auth.resetPassword({
      token,
      password: 'a brand new password',
    });
    expect(signedIn.id).toBe(user.id);
    expect(await callerWithToken(db, cookies.token).auth.me()).toMatchObject({ id: user.id });
    expect(await callerWithToken(db, oldSession).auth.me()).toBeNull();
    const sessions = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
    expect(sessions).toHaveLength(1);
    await signIn(db, user.email, { password: 'a brand new password' });

    const again = await failure(callerWithToken(db, null).auth.resetPassword({ token, password: 'a second go' }));
    expect(errorDataOf(again).reason).toBe('LINK_USED');

    const rows = await auditRowsOf(db, org.organizationId);
    const reset = rows.filter((r) => r.action === 'user.password_reset');
    expect(reset).toHaveLength(1);
    expect(reset[0]?.changes?.after).toMatchObject({ endedSessions: 2 });
    expect(rows.filter((r) => r.action === 'auth.link_refused').map((r) => r.changes?.after?.reason)).toEqual([
      'revoked',
      'used',
    ]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses a link after its 30 minutes', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const token = await mailedResetTokenOf(db, user);
    const link = await db
      .selectFrom('userLinks')
      .select(['expiresAt', 'createdAt'])
      .where('userId', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(link.expiresAt.getTime() - link.createdAt.getTime()).toBeGreaterThan(29 * 60_000);
    expect(link.expiresAt.getTime() - link.createdAt.getTime()).toBeLessThanOrEqual(30 * 60_000 + 1000);
    await db
      .updateTable('userLinks')
      .set({ expiresAt: new Date(Date.now() - 1) })
      .where('userId', '=', user.id)
      .execute();
    const expired = await failure(callerWithToken(db, null).auth.resetPassword({ token, password: 'too late now' }));
    expect(errorDataOf(expired).reason).toBe('LINK_EXPIRED');
  });

  it('two resets with one link at once: exactly one succeeds', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    const token = await mailedResetTokenOf(db, user);
    const results = await Promise.allSettled(
      ['first racing reset', 'second racing reset'].map((password) =>
        callerWithToken(db, null).auth.resetPassword({ token, password }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('an invited user may reset instead of accepting: the invitation ends with it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const invitation = await mailedTokenOf(db, user.id);
    const token = await mailedResetTokenOf(db, user);
    await callerWithToken(db, null).auth.resetPassword({ token, password: 'chosen by reset' });
    expect(await org.admin.users.get({ id: user.id })).toMatchObject({ invited: false, hasPassword: true });
    const used = await failure(callerWithToken(db, null).auth.invitation({ token: invitation }));
    expect(errorDataOf(used).reason).toBe('LINK_INVALID');
  });

  describe('a link that does not work', () => {
    afterEach(() => observeHashing(null));

    it('is refused before its password is hashed: made up, used, expired or of the other kind, many at once', async () => {
      // argon2id takes 19 MiB and tens of milliseconds: a made-up token must not cost the server one.
      const db = await testDb();
      const org = await createTestOrg(db);
      const used = await org.addUser({ canSignIn: true });
      const usedToken = await mailedResetTokenOf(db, used);
      await callerWithToken(db, null).auth.resetPassword({ token: usedToken, password: 'used up already' });
      const expired = await org.addUser({ canSignIn: true });
      const expiredToken = await mailedResetTokenOf(db, expired);
      await db
        .updateTable('userLinks')
        .set({ expiresAt: new Date(Date.now() - 1) })
        .where('userId', '=', expired.id)
        .execute();
      const invited = await org.addUser({ invite: true });
      const invitation = await mailedTokenOf(db, invited.id);

      let hashes = 0;
      observeHashing(() => hashes++);
      const made = (i: number) => `made-up-${i}-${'x'.repeat(40)}`;
      const attempts = [
        ...Array.from({ length: 10 }, (_, i) => ({ kind: 'reset', token: made(i), reason: 'LINK_INVALID' })),
        ...Array.from({ length: 10 }, (_, i) => ({ kind: 'accept', token: made(i), reason: 'LINK_INVALID' })),
        { kind: 'reset', token: usedToken, reason: 'LINK_USED' },
        { kind: 'reset', token: expiredToken, reason: 'LINK_EXPIRED' },
        { kind: 'reset', token: invitation, reason: 'LINK_INVALID' },
      ];
      const results = await Promise.all(
        attempts.map(({ kind, token }) => {
          const caller = callerWithToken(db, null);
          const input = { token, password: 'never hashed at all' };
          return failure(kind === 'reset' ? caller.auth.resetPassword(input) : caller.auth.acceptInvitation(input));
        }),
      );
      expect(results.map((error) => errorDataOf(error).reason)).toEqual(attempts.map((a) => a.reason));
      expect(hashes).toBe(0);

      // A working link still sets the password (one hash).
      const working = await org.addUser({ canSignIn: true });
      await callerWithToken(db, null).auth.resetPassword({
        token: await mailedResetTokenOf(db, working),
        password: 'a working link',
      });
      expect(hashes).toBe(1);
    });
  });

  it('a reset link is not an invitation link, nor the other way round', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const invited = await org.addUser({ invite: true });
    const invitation = await mailedTokenOf(db, invited.id);
    const refused = await failure(
      callerWithToken(db, null).auth.resetPassword({ token: invitation, password: 'wrong kind of link' }),
    );
    expect(errorDataOf(refused).reason).toBe('LINK_INVALID');
    const user = await org.addUser({ canSignIn: true });
    const reset = await mailedResetTokenOf(db, user);
    const wrong = await failure(
      callerWithToken(db, null).auth.acceptInvitation({ token: reset, password: 'wrong kind of link' }),
    );
    expect(errorDataOf(wrong).reason).toBe('LINK_INVALID');
  });
});
