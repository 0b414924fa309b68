import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  auditRowsOf,
  callerAs,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  fieldErrorsOf,
  testDb,
} from '../test/index.js';

async function userCountOf(accountId: string) {
  const db = await testDb();
  const row = await db.selectFrom('accounts').select('userCount').where('id', '=', accountId).executeTakeFirstOrThrow();
  return row.userCount;
}

describe('users.move', () => {
  it('moves a user to another account: their account, version, both accounts’ counts and one audit row', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const from = await org.addAccount();
    const to = await org.addAccount();
    const user = await org.addUser({ accountId: from.id });
    await org.addUser({ accountId: from.id });
    expect([await userCountOf(from.id), await userCountOf(to.id)]).toEqual([2, 0]);

    const moved = await org.admin.users.move({ id: user.id, accountId: to.id, version: user.version });
    expect(moved).toMatchObject({ id: user.id, accountId: to.id, version: user.version + 1, email: user.email });
    expect(await org.admin.users.get({ id: user.id })).toMatchObject({ accountId: to.id });
    expect([await userCountOf(from.id), await userCountOf(to.id)]).toEqual([1, 1]);

    const rows = (await auditRowsOf(db, org.organizationId)).filter((r) => r.action === 'user.moved');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      targetId: user.id,
      targetEmail: user.email,
      actorId: org.adminId,
      accountId: to.id,
      changes: { before: { accountId: from.id }, after: { accountId: to.id } },
    });
    // The account's users list shows them there now.
    expect((await org.admin.users.list({ accountId: to.id })).items.map((u) => u.id)).toEqual([user.id]);
  });

  it('changes and audits nothing when the user is already in that account', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const same = await org.admin.users.move({ id: user.id, accountId: org.defaultAccountId, version: user.version });
    expect(same.version).toBe(user.version);
    expect((await auditRowsOf(db, org.organizationId)).some((r) => r.action === 'user.moved')).toBe(false);
  });

  it('keeps administrators in the default account, and lets a user move into it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await org.addAccount();
    const admin = await org.addUser({ role: 'admin' });
    const refused = await expectTRPCError(
      org.admin.users.move({ id: admin.id, accountId: other.id, version: admin.version }),
      'PRECONDITION_FAILED',
    );
    expect(errorDataOf(refused).reason).toBe('ADMIN_OUTSIDE_DEFAULT_ACCOUNT');
    expect(refused.message).toMatch(/make them a user first/);
    // Yourself included: you are an administrator.
    const me = await org.admin.users.get({ id: org.adminId });
    await expectTRPCError(
      org.admin.users.move({ id: me.id, accountId: other.id, version: me.version }),
      'PRECONDITION_FAILED',
    );
    expect((await org.admin.users.get({ id: admin.id })).accountId).toBe(org.defaultAccountId);

    // Made a user, they can go; and come back, and be made an administrator again there.
    const demoted = await org.admin.users.setRole({ id: admin.id, role: 'user' });
    const away = await org.admin.users.move({ id: admin.id, accountId: other.id, version: demoted.version });
    await expectTRPCError(org.admin.users.setRole({ id: admin.id, role: 'admin' }), 'PRECONDITION_FAILED');
    const back = await org.admin.users.move({ id: admin.id, accountId: org.defaultAccountId, version: away.version });
    expect(back.accountId).toBe(org.defaultAccountId);
    expect((await org.admin.users.setRole({ id: admin.id, role: 'admin' })).role).toBe('admin');
  });

  it('refuses a stale version with STALE_VERSION, and changes nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await org.addAccount();
    const user = await org.addUser();
    await org.admin.users.update({ id: user.id, firstName: 'Renamed' });
    const error = await expectTRPCError(
      org.admin.users.move({ id: user.id, accountId: other.id, version: user.version }),
      'CONFLICT',
    );
    expect(errorDataOf(error).reason).toBe('STALE_VERSION');
    expect((await org.admin.users.get({ id: user.id })).accountId).toBe(org.defaultAccountId);
    expect(await userCountOf(other.id)).toBe(0);
  });

  it('finds neither another organization’s account nor its users (NOT_FOUND)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const rival = await createTestOrg(db, 'Rival');
    const rivalAccount = await rival.addAccount();
    const rivalUser = await rival.addUser({ accountId: rivalAccount.id });
    const user = await org.addUser();
    const account = await org.addAccount();

    const foreignAccount = await expectTRPCError(
      org.admin.users.move({ id: user.id, accountId: rivalAccount.id, version: user.version }),
      'NOT_FOUND',
    );
    expect(foreignAccount.message).toMatch(/account/);
    await expectTRPCError(
      org.admin.users.move({ id: rivalUser.id, accountId: account.id, version: rivalUser.version }),
      'NOT_FOUND',
    );
    await expectTRPCError(
      org.admin.users.move({ id: rivalUser.id, accountId: rival.defaultAccountId, version: rivalUser.version }),
      'NOT_FOUND',
    );
    expect((await rival.admin.users.get({ id: rivalUser.id })).accountId).toBe(rivalAccount.id);
    expect(await userCountOf(rivalAccount.id)).toBe(1);
  });

  it('refuses bad input with field errors, and plain users with FORBIDDEN', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    const error = await expectTRPCError(
      org.admin.users.move({ id: user.id, accountId: 'nope', version: 0 }),
      'BAD_REQUEST',
    );
    expect(Object.keys(fieldErrorsOf(error) ?? {}).sort()).toEqual(['accountId', 'version']);
    const plain = await org.addSignedInUser();
    await expectTRPCError(
      plain.caller.users.move({ id: user.id, accountId: org.defaultAccountId, version: 1 }),
      'FORBIDDEN',
    );
  });
});

describe('users.deactivationPreview', () => {
  it('counts the live sessions and working API keys deactivating would end, and nothing once it has', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser();
    expect(await org.admin.users.deactivationPreview({ id: user.id })).toEqual({ sessions: 0, apiKeys: 0 });

    const first = await callerAs(db, user.id);
    await callerAs(db, user.id);
    const stale = await callerAs(db, user.id);
    await first.apiKeys.create({ name: 'one' });
    const revoked = await first.apiKeys.create({ name: 'two' });
    await first.apiKeys.create({ name: 'three' });
    await first.apiKeys.revoke({ id: revoked.apiKey.id });
    // One session past its lifetime and one key expired: deactivating ends neither (they ended already).
    await sql`update sessions set expires_at = now() - interval '1 minute'
              where id = (select id from sessions where user_id = ${user.id} order by created_at desc limit 1)`.execute(
      db,
    );
    await sql`update api_keys set expires_at = now() - interval '1 minute'
              where user_id = ${user.id} and name = 'three'`.execute(db);
    void stale;

    const preview = await org.admin.users.deactivationPreview({ id: user.id });
    expect(preview).toEqual({ sessions: 2, apiKeys: 1 });
    // What it said is what happens.
    const sessionsBefore = await org.admin.users.sessions({ id: user.id });
    expect(sessionsBefore).toHaveLength(preview.sessions);
    await org.admin.users.deactivate({ id: user.id });
    const revokedRows = (await auditRowsOf(db, org.organizationId)).filter(
      (r) =>
        r.action === 'api_key.revoked' &&
        (r.changes as { after?: { reason?: string } }).after?.reason === 'user_deactivated',
    );
    expect(revokedRows).toHaveLength(preview.apiKeys);
    expect(await org.admin.users.deactivationPreview({ id: user.id })).toEqual({ sessions: 0, apiKeys: 0 });
  });

  it('is NOT_FOUND for another organization’s user, and refuses a bad id', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const rival = await createTestOrg(db, 'Rival');
    const rivalUser = await rival.addUser();
    await expectTRPCError(org.admin.users.deactivationPreview({ id: rivalUser.id }), 'NOT_FOUND');
    const error = await expectTRPCError(org.admin.users.deactivationPreview({ id: 'x' }), 'BAD_REQUEST');
    expect(fieldErrorsOf(error)).toHaveProperty('id');
  });
});
