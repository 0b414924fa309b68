import { describe, expect, it } from 'vitest';
import {
  auditRowsOf,
  callerWithToken,
  createTestOrg,
  errorDataOf,
  failure,
  mailedResetTokenOf,
  mailedTokenOf,
  testDb,
  uniqueEmail,
} from '../test/index.js';

// An administrator's email change applies at once; the old address is told,
// the new one too, and links mailed to the old address stop working.

async function mailsTo(address: string) {
  const db = await testDb();
  return db
    .selectFrom('mailOutbox')
    .select(['kind', 'params', 'link'])
    .where('toAddress', '=', address)
    .orderBy('createdAt')
    .execute();
}

describe('changing a user’s email', () => {
  it('tells the old and the new address, and ends a reset link mailed to the old one; audited', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'Mailing Org');
    const user = await org.addUser({ canSignIn: true });
    const reset = await mailedResetTokenOf(db, user);
    const next = uniqueEmail('moved');
    const updated = await org.admin.users.update({ id: user.id, email: next });
    expect(updated.email).toBe(next);

    const old = await mailsTo(user.email);
    expect(old.map((m) => m.kind)).toEqual(['password_reset', 'email_changed_old']);
    expect(old[1]?.params).toMatchObject({ from: user.email, to: next, organization: 'Mailing Org' });
    expect((await mailsTo(next)).map((m) => m.kind)).toEqual(['email_changed_new']);

    const refused = await failure(
      callerWithToken(db, null).auth.resetPassword({ token: reset, password: 'stolen reset' }),
    );
    expect(errorDataOf(refused).reason).toBe('LINK_INVALID');

    const rows = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'user.email_change_notified');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.changes?.after).toMatchObject({ from: user.email, to: next, reinvited: false });
  });

  it('sends an invited user’s invitation again, to the new address; the old link stops working', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ invite: true });
    const first = await mailedTokenOf(db, user.id);
    const next = uniqueEmail('reinvited');
    const updated = await org.admin.users.update({ id: user.id, email: next });
    expect(updated).toMatchObject({ email: next, invited: true });
    expect((await mailsTo(user.email)).map((m) => m.kind)).toEqual(['invitation', 'email_changed_old']);
    expect((await mailsTo(next)).map((m) => m.kind)).toEqual(['invitation']);
    const guest = callerWithToken(db, null);
    expect(errorDataOf(await failure(guest.auth.invitation({ token: first }))).reason).toBe('LINK_INVALID');
    expect(await guest.auth.invitation({ token: await mailedTokenOf(db, user.id) })).toMatchObject({ email: next });
  });

  it('a change of names only mails nobody', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ canSignIn: true });
    await org.admin.users.update({ id: user.id, firstName: 'Renamed' });
    expect(await mailsTo(user.email)).toEqual([]);
  });
});
