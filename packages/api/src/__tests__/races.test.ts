import { TRPCError } from '@trpc/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { activeAdminsOf, callerAs, createTestOrg, testDb, testServerUrl, uniqueEmail } from '../test/index.js';

// Real concurrency on PostgreSQL (a pool of connections, every call in flight at
// once); on PGlite the same calls run one transaction at a time and must hold too.
console.log(`races run on ${testServerUrl ? 'PostgreSQL, concurrently' : 'PGlite, serialized'}`);

function outcome(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'ok';
  return result.reason instanceof TRPCError ? result.reason.code : `thrown: ${String(result.reason)}`;
}

// Opening the worker's database (PGlite: create and migrate) is slow work for a hook, not a test: warm up.
beforeAll(async () => {
  await testDb();
});

describe('races', () => {
  it('20 simultaneous creates of one email: exactly one succeeds, the rest are CONFLICT', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const email = uniqueEmail('race');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        org.admin.users.create({
          accountId: org.defaultAccountId,
          // The same address, in several spellings of case.
          email: i % 2 ? email.toUpperCase() : email,
          firstName: `Racer ${i}`,
          lastName: 'Same',
        }),
      ),
    );
    const outcomes = results.map(outcome);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'CONFLICT')).toHaveLength(19);
    const rows = await db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(rows).toHaveLength(1);
    const audit = await db
      .selectFrom('auditLog')
      .select('id')
      .where('action', '=', 'user.created')
      .where('targetLabel', '=', email)
      .execute();
    expect(audit).toHaveLength(1);
    const account = await org.admin.accounts.get({ id: org.defaultAccountId });
    expect(account.userCount).toBe(2);
  });

  for (const action of ['deactivate', 'delete', 'setRole'] as const) {
    it(`two administrators who ${action} each other as the last two: one administrator remains`, async () => {
      const db = await testDb();
      for (let round = 0; round < 3; round++) {
        const org = await createTestOrg(db);
        const second = await org.addUser({ role: 'admin' });
        const b = await callerAs(db, second.id);
        const act = (caller: typeof org.admin, id: string) =>
          action === 'setRole' ? caller.users.setRole({ id, role: 'user' }) : caller.users[action]({ id });
        const results = await Promise.allSettled([act(org.admin, second.id), act(b, org.adminId)]);
        const outcomes = results.map(outcome);
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
        // The loser is refused by the rule, or its call came in after the winner's change: then it is no
        // longer an administrator (setRole: FORBIDDEN) or no longer signed in (deactivate, delete: UNAUTHORIZED).
        const late = action === 'setRole' ? 'FORBIDDEN' : 'UNAUTHORIZED';
        for (const o of outcomes.filter((x) => x !== 'ok')) expect(['PRECONDITION_FAILED', late]).toContain(o);
        const admins = await activeAdminsOf(db, org.organizationId);
        expect(admins).toHaveLength(1);
      }
    });
  }

  it('two edits with the same version: one wins, the other is CONFLICT, nothing is lost', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ firstName: 'Before', lastName: 'Edit' });
    const second = await org.addUser({ role: 'admin' });
    const other = await callerAs(db, second.id);
    const results = await Promise.allSettled([
      org.admin.users.update({ id: user.id, firstName: 'Alice', version: user.version }),
      other.users.update({ id: user.id, lastName: 'Bobson', version: user.version }),
    ]);
    const outcomes = results.map(outcome);
    expect(outcomes.sort()).toEqual(['CONFLICT', 'ok']);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    const after = await org.admin.users.get({ id: user.id });
    expect(after.version).toBe(user.version + 1);
    // Exactly the winner's change, and the loser's did not slip in.
    expect([after.firstName, after.lastName]).toEqual(winner === 0 ? ['Alice', 'Edit'] : ['Before', 'Bobson']);
    const audit = await org.admin.audit.list({ userId: user.id });
    expect(audit.items.filter((a) => a.action === 'user.updated')).toHaveLength(1);
    // The loser, reloading, can apply its change on the new version.
    const retried = await (winner === 0 ? other : org.admin).users.update({
      id: user.id,
      ...(winner === 0 ? { lastName: 'Bobson' } : { firstName: 'Alice' }),
      version: after.version,
    });
    expect([retried.firstName, retried.lastName, retried.version]).toEqual(['Alice', 'Bobson', user.version + 2]);
  });

  it('account creation failing on its last user leaves nothing of it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const taken = await org.addUser();
    const name = `Doomed ${Date.now()}`;
    const emails = [uniqueEmail('a'), uniqueEmail('b')];
    await expect(
      org.admin.accounts.create({
        name,
        users: [
          { email: emails[0] ?? '', firstName: 'First', lastName: 'User', password: 'a fine long passphrase' },
          { email: emails[1] ?? '', firstName: 'Second', lastName: 'User' },
          { email: taken.email, firstName: 'Last', lastName: 'User' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await org.admin.accounts.list({ query: name })).items).toEqual([]);
    const left = await db.selectFrom('users').select('id').where('email', 'in', emails).execute();
    expect(left).toEqual([]);
    const audit = await db
      .selectFrom('auditLog')
      .select('action')
      .where('organizationId', '=', org.organizationId)
      .where((eb) => eb.or([eb('targetLabel', '=', name), eb('targetLabel', 'in', emails)]))
      .execute();
    expect(audit).toEqual([]);
  });

  it('two account creations racing for the same last email: one complete account, nothing of the other', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const shared = uniqueEmail('shared');
    const forms = ['Left', 'Right'].map((side) => ({
      name: `${side} ${Date.now()}`,
      users: [
        { email: uniqueEmail(side.toLowerCase()), firstName: side, lastName: 'One' },
        { email: uniqueEmail(side.toLowerCase()), firstName: side, lastName: 'Two' },
        { email: shared, firstName: side, lastName: 'Last' },
      ],
    }));
    const results = await Promise.allSettled(forms.map((form) => org.admin.accounts.create(form)));
    expect(results.map(outcome).sort()).toEqual(['CONFLICT', 'ok']);
    for (const [index, form] of forms.entries()) {
      const won = results[index]?.status === 'fulfilled';
      const accounts = (await org.admin.accounts.list({ query: form.name })).items;
      const own = form.users.map((u) => u.email).filter((email) => email !== shared);
      const users = await db.selectFrom('users').select('email').where('email', 'in', own).execute();
      if (won) {
        expect(accounts.map((a) => a.userCount)).toEqual([3]);
        expect(users).toHaveLength(2);
        const holder = await org.admin.users.get({ email: shared });
        expect(holder.accountId).toBe(accounts[0]?.id);
      } else {
        expect(accounts).toEqual([]);
        expect(users).toEqual([]);
      }
    }
  });
});
