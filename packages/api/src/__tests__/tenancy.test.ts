import { describe, expect, it } from 'vitest';
import { createTestOrg, expectTRPCError, testDb } from '../test/index.js';

/**
 * Another organization's data is NOT_FOUND by id or email, and never turns up
 * in a list or search, whatever the query. (Every id-taking procedure is also
 * walked by authorization-matrix.test.ts.)
 */
describe('organizations are sealed from each other', () => {
  it('by email and by search', async () => {
    const db = await testDb();
    const ours = await createTestOrg(db);
    const theirs = await createTestOrg(db);
    const tag = `sealed${Date.now().toString(36)}`;
    const account = await theirs.addAccount(`Secret ${tag}`);
    const user = await theirs.addUser({ accountId: account.id, firstName: tag, lastName: tag });

    await expectTRPCError(ours.admin.users.get({ email: user.email }), 'NOT_FOUND');
    const notFound = await expectTRPCError(ours.admin.users.get({ id: user.id }), 'NOT_FOUND');
    // The same answer as for an id that does not exist at all: nothing tells them apart.
    const missing = await expectTRPCError(
      ours.admin.users.get({ id: '00000000-0000-4000-8000-000000000000' }),
      'NOT_FOUND',
    );
    expect(notFound.message).toBe(missing.message);

    expect((await ours.admin.users.search({ query: tag })).items).toEqual([]);
    expect((await ours.admin.users.search({ query: user.email })).items).toEqual([]);
    expect((await ours.admin.users.search({ accountId: account.id })).items).toEqual([]);
    expect((await ours.admin.accounts.list({ query: tag })).items).toEqual([]);
    expect((await ours.admin.audit.list({ userId: user.id })).items).toEqual([]);
    const everything = JSON.stringify([
      await ours.admin.users.search({ limit: 100 }),
      await ours.admin.accounts.list({ limit: 100 }),
      await ours.admin.audit.list({ limit: 100 }),
    ]);
    for (const secret of [user.id, user.email, account.id, theirs.organizationId, theirs.adminId, tag]) {
      expect(everything).not.toContain(secret);
    }
    // Their side still sees it all.
    expect((await theirs.admin.users.search({ query: tag })).items.map((u) => u.id)).toEqual([user.id]);
  });

  it('a user cannot be created into, moved to or promoted through another organization', async () => {
    const db = await testDb();
    const ours = await createTestOrg(db);
    const theirs = await createTestOrg(db);
    await expectTRPCError(
      ours.admin.users.create({
        accountId: theirs.defaultAccountId,
        email: `x-${Date.now()}@example.test`,
        firstName: 'X',
        lastName: 'Y',
        role: 'admin',
      }),
      'NOT_FOUND',
    );
    await expectTRPCError(ours.admin.users.setRole({ id: theirs.adminId, role: 'user' }), 'NOT_FOUND');
    await expectTRPCError(ours.admin.users.deactivate({ id: theirs.adminId }), 'NOT_FOUND');
    await expectTRPCError(ours.admin.accounts.delete({ id: theirs.defaultAccountId }), 'NOT_FOUND');
    expect(await theirs.admin.auth.me()).toMatchObject({ role: 'admin', active: true });
  });
});
