import { describe, expect, it } from 'vitest';
import { hashSecret } from '../core/tokens.js';
import { formatExpiry, type MailParams, renderMail } from '../mail/templates.js';
import {
  auditRowsOf,
  callerWithToken,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  failure,
  mailedTokenOf,
  recordCookies,
  signIn,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';

// Users created without a password are invited by email: a single-use link,
// stored as its hash, that sets their first password and signs them in.

const anonymous = async () => callerWithToken(await testDb(), null);

async function outboxOf(userId: string) {
  const db = await testDb();
  return db
    .selectFrom('mailOutbox')
    .selectAll()
    .where('userId', '=', userId)
    .orderBy('createdAt')
    .orderBy('id')
    .execute();
}

describe('invitations', () => {
  it('creating a user without a password invites them: link stored hashed, mail queued, audited, shown as invited', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'Invite <Org> & Co');
    const before = Date.now();
    const user = await org.addUser({ firstName: 'Ivy', lastName: 'Invitee', invite: true });
    expect(user).toMatchObject({ hasPassword: false, invited: true });
    const expires = user.invitationExpiresAt?.getTime() ?? 0;
    // INVITATION_TTL_HOURS' default: a week.
    expect(expires).toBeGreaterThanOrEqual(before + 168 * 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 168 * 3_600_000 + 1000);

    const token = await mailedTokenOf(db, user.id);
    const links = await db.selectFrom('userLinks').selectAll().where('userId', '=', user.id).execute();
    expect(links).toHaveLength(1);
    expect(links[0]?.tokenHash).toBe(hashSecret(token));
    expect(JSON.stringify(links)).not.toContain(token);

    const [mail] = await outboxOf(user.id);
    expect(mail).toMatchObject({ kind: 'invitation', toAddress: user.email, status: 'pending' });
    const content = renderMail(mail?.params as MailParams, mail?.link ?? null);
    expect(content.subject).toBe('You are invited to Invite <Org> & Co on Roster');
    expect(content.text).toContain('Invite <Org> & Co');
    expect(content.html).toContain('Invite &lt;Org&gt; &amp; Co');
    expect(content.html).not.toContain('<Org>');
    expect(content.text).toContain('Hello Ivy Invitee,');
    expect(content.text).toContain(`invited you to Invite <Org> & Co on Roster, as ${user.email}`);
    expect(content.text).toContain(org.adminEmail);
    expect(content.text).toContain(`/invitation#${token}`);
    expect(content.text).toContain(`until ${formatExpiry(user.invitationExpiresAt ?? new Date(0))}`);
    // No tracking: one link (the invitation's), no images.
    expect(content.html.match(/href=/g)).toHaveLength(1);
    expect(content.html).not.toMatch(/<img/i);

    const rows = await auditRowsOf(db, org.organizationId);
    const invited = rows.filter((r) => r.action === 'user.invited' && r.targetId === user.id);
    expect(invited).toHaveLength(1);
    expect(invited[0]?.actorId).toBe(org.adminId);
    expect(invited[0]?.changes?.after).toMatchObject({ email: user.email, mailId: mail?.id });
    expect(JSON.stringify(rows)).not.toContain(token);

    expect(await org.admin.users.get({ id: user.id })).toMatchObject({ invited: true });
  });

  it('a user created with a password is not invited, and nothing is mailed', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: 'a fine password', invite: true });
    expect(user).toMatchObject({ hasPassword: true, invited: false, invitationExpiresAt: null });
    expect(await outboxOf(user.id)).toEqual([]);
    // sendInvitation: false creates a user without a password and without an invitation; one can be sent later.
    const quiet = await org.addUser({ invite: false });
    expect(quiet).toMatchObject({ hasPassword: false, invited: false });
    expect(await outboxOf(quiet.id)).toEqual([]);
    expect(await org.admin.users.resendInvitation({ id: quiet.id })).toMatchObject({ invited: true });
    expect(await outboxOf(quiet.id)).toHaveLength(1);
  });

  it('Add account invites each of its users without a password, in the same transaction', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const emails = [uniqueEmail('a'), uniqueEmail('b')];
    const account = await org.admin.accounts.create({
      name: `Invited ${emails[0]}`,
      users: [
        { email: emails[0] ?? '', firstName: 'A', lastName: 'One' },
        { email: emails[1] ?? '', firstName: 'B', lastName: 'Two', password: 'b has a password' },
      ],
    });
    const users = await org.admin.users.list({ accountId: account.id });
    const byEmail = new Map(users.items.map((u) => [u.email, u]));
    expect(byEmail.get(emails[0] ?? '')).toMatchObject({ invited: true });
    expect(byEmail.get(emails[1] ?? '')).toMatchObject({ invited: false });
    // A taken email rolls back the whole account: no invitation or mail of it survives.
    const lonely = uniqueEmail('lonely');
    await failure(
      org.admin.accounts.create({
        name: `Rolled back ${lonely}`,
        users: [
          { email: lonely, firstName: 'L', lastName: 'One' },
          { email: emails[0] ?? '', firstName: 'Dup', lastName: 'Two' },
        ],
      }),
    );
    const mails = await db.selectFrom('mailOutbox').select('id').where('toAddress', '=', lonely).execute();
    expect(mails).toEqual([]);
  });

  it('a CSV import invites the active users it creates, not the deactivated ones', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const [active, inactive] = [uniqueEmail('csv-active'), uniqueEmail('csv-inactive')];
    const preview = await org.previewImport(
      `email,first name,last name,active\n${active},Csv,Active,true\n${inactive},Csv,Inactive,false\n`,
    );
    await org.admin.imports.commit({ id: preview.id });
    const found = await org.admin.users.search({ query: 'csv' });
    const byEmail = new Map(found.items.map((u) => [u.email, u]));
    expect(byEmail.get(active)).toMatchObject({ invited: true });
    expect(byEmail.get(inactive)).toMatchObject({ invited: false, active: false });
    const mails = await db
      .selectFrom('mailOutbox')
      .select('toAddress')
      .where('toAddress', 'in', [active, inactive])
      .execute();
    expect(mails.map((m) => m.toAddress)).toEqual([active]);
    const audit = await auditRowsOf(db, org.organizationId);
    expect(audit.filter((r) => r.action === 'user.invited').map((r) => r.targetEmail)).toEqual([active]);
  });

  it('the link shows the organization and email, then sets the password once and signs in', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'Accepting Org');
    const user = await org.addUser({ invite: true });
    const token = await mailedTokenOf(db, user.id);
    const guest = await anonymous();
    expect(await guest.auth.invitation({ token })).toMatchObject({ organization: 'Accepting Org', email: user.email });

    // Invited users cannot sign in before accepting.
    await expectTRPCError(
      callerWithToken(db, null).auth.login({ email: user.email, password: 'whatever password' }),
      'UNAUTHORIZED',
    );

    const cookies = recordCookies();
    const accepted = await callerWithToken(db, null, { cookies }).auth.acceptInvitation({
      token,
      password: 'my own good password',
    });
    expect(accepted.user).toMatchObject({ id: user.id, hasPassword: true, invited: false });
    expect(cookies.token).toBeTruthy();
    expect(await callerWithToken(db, cookies.token).auth.me()).toMatchObject({ id: user.id });
    await signIn(db, user.email, { password: 'my own good password' });

    // Used: it says so, and offers nothing else.
    const used = await failure(guest.auth.invitation({ token }));
    expect(errorDataOf(used).reason).toBe('LINK_USED');
    const again = await failure(guest.auth.acceptInvitation({ token, password: 'a takeover password' }));
    expect(errorDataOf(again).reason).toBe('LINK_USED');
    await expectTRPCError(
      callerWithToken(db, null).auth.login({ email: user.email, password: 'a takeover password' }),
      'UNAUTHORIZED',
    );

    const rows = await auditRowsOf(db, org.organizationId);
    const acceptedRows = rows.filter((r) => r.action === 'user.invitation_accepted');
    expect(acceptedRows).toHaveLength(1);
    expect(acceptedRows[0]?.actorId).toBe(user.id);
    const refused = rows.filter((r) => r.action === 'auth.link_refused' && r.targetId === user.id);
    expect(refused.map((r) => r.changes?.after)).toEqual([
      { purpose: 'invitation', attempt: 'look up', reason: 'used' },
      { purpose: 'invitation', attempt: 'accept', reason: 'used' },
    ]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('two accepts of one link at once: exactly one sets the password', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const token = await mailedTokenOf(db, user.id);
    const results = await Promise.allSettled(
      ['first racing password', 'second racing password'].map((password) =>
        callerWithToken(db, null).auth.acceptInvitation({ token, password }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(errorDataOf(rejected?.reason).reason).toBe('LINK_USED');
  });

  it('refuses an expired link, an unknown token, a near miss, and a deactivated user', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const guest = await anonymous();
    const user = await org.addUser({ invite: true });
    const token = await mailedTokenOf(db, user.id);
    // A near miss (one character changed) is no link at all.
    const near = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(errorDataOf(await failure(guest.auth.invitation({ token: near }))).reason).toBe('LINK_INVALID');
    expect(errorDataOf(await failure(guest.auth.invitation({ token: ` ${token.toUpperCase()} ` }))).reason).toBe(
      'LINK_INVALID',
    );
    await expectTRPCError(guest.auth.invitation({ token: 'short' }), 'BAD_REQUEST');

    await db
      .updateTable('userLinks')
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where('userId', '=', user.id)
      .execute();
    const expired = await failure(guest.auth.acceptInvitation({ token, password: 'too late password' }));
    expect(expired.code).toBe('PRECONDITION_FAILED');
    expect(errorDataOf(expired).reason).toBe('LINK_EXPIRED');
    expect(expired.message).toMatch(/expired/);
    // Still invited (an expired invitation is resent, not forgotten).
    expect(await org.admin.users.get({ id: user.id })).toMatchObject({ invited: true, hasPassword: false });

    const other = await org.addUser({ invite: true });
    const otherToken = await mailedTokenOf(db, other.id);
    await org.admin.users.deactivate({ id: other.id });
    const inactive = await failure(
      guest.auth.acceptInvitation({ token: otherToken, password: 'deactivated password' }),
    );
    expect(errorDataOf(inactive).reason).toBe('LINK_INVALID');
    expect(await org.admin.users.get({ id: other.id })).toMatchObject({ hasPassword: false });
  });

  it('accepting applies the password rules of everywhere', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const token = await mailedTokenOf(db, user.id);
    const guest = await anonymous();
    await expectTRPCError(guest.auth.acceptInvitation({ token, password: 'short' }), 'BAD_REQUEST');
    const common = await failure(guest.auth.acceptInvitation({ token, password: 'password1' }));
    expect(errorDataOf(common).reason).toBe('COMMON_PASSWORD');
    // The refusals did not use the link up.
    expect(await guest.auth.invitation({ token })).toMatchObject({ email: user.email });
  });

  it('resend mails a new link and the previous one stops working; cancel ends it; both audited', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const first = await mailedTokenOf(db, user.id);
    const resent = await org.admin.users.resendInvitation({ id: user.id });
    expect(resent).toMatchObject({ invited: true });
    const second = await mailedTokenOf(db, user.id);
    expect(second).not.toBe(first);
    expect(await outboxOf(user.id)).toHaveLength(2);
    const guest = await anonymous();
    expect(errorDataOf(await failure(guest.auth.invitation({ token: first }))).reason).toBe('LINK_INVALID');
    expect(await guest.auth.invitation({ token: second })).toMatchObject({ email: user.email });

    const cancelled = await org.admin.users.cancelInvitation({ id: user.id });
    expect(cancelled).toMatchObject({ invited: false, invitationExpiresAt: null, hasPassword: false });
    expect(errorDataOf(await failure(guest.auth.invitation({ token: second }))).reason).toBe('LINK_INVALID');
    expect(errorDataOf(await failure(org.admin.users.cancelInvitation({ id: user.id }))).reason).toBe('NOT_INVITED');

    const actions = (await auditRowsOf(db, org.organizationId))
      .filter((r) => r.targetId === user.id)
      .map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining(['user.invited', 'user.invitation_resent', 'user.invitation_cancelled']),
    );

    // A user with a password has nothing to resend; a deactivated one is reactivated first.
    const withPassword = await org.addUser({ canSignIn: true });
    expect(errorDataOf(await failure(org.admin.users.resendInvitation({ id: withPassword.id }))).reason).toBe(
      'NOT_INVITED',
    );
    const deactivated = await org.addUser({ invite: true });
    await org.admin.users.deactivate({ id: deactivated.id });
    expect(errorDataOf(await failure(org.admin.users.resendInvitation({ id: deactivated.id }))).reason).toBe(
      'USER_INACTIVE',
    );
  });

  it("setting a user's password ends their invitation", async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const token = await mailedTokenOf(db, user.id);
    expect(await org.admin.users.setPassword({ id: user.id, password: 'set by the admin' })).toMatchObject({
      invited: false,
    });
    expect(errorDataOf(await failure((await anonymous()).auth.invitation({ token }))).reason).toBe('LINK_INVALID');
  });

  it("another organization's administrator cannot resend or cancel this organization's invitations", async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    await expectTRPCError(other.admin.users.resendInvitation({ id: user.id }), 'NOT_FOUND');
    await expectTRPCError(other.admin.users.cancelInvitation({ id: user.id }), 'NOT_FOUND');
    expect(await outboxOf(user.id)).toHaveLength(1);
  });

  it('the accepted password signs in like any other', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    await (await anonymous()).auth.acceptInvitation({
      token: await mailedTokenOf(db, user.id),
      password: testPassword,
    });
    const { user: signedIn } = await signIn(db, user.email);
    expect(signedIn.id).toBe(user.id);
  });
});
