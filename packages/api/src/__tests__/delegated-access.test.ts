import { type Database, isPreparedPlaceholder } from '@roster/db';
import { parse } from 'csv-parse/sync';
import { type CompiledQuery, createQueryId, type Kysely, type RootOperationNode } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runBulkWork } from '../bulk/service.js';
import { createContext } from '../context.js';
import type { ProcedureMeta } from '../core/access.js';
import { previewUserImport } from '../imports/service.js';
import type { Actor } from '../shared/actor.js';
import {
  auditRowsOf,
  callerAs,
  callerWithKey,
  createCaller,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  sessionOf,
  type TestOrg,
  testDb,
  uniqueEmail,
} from '../test/index.js';
import { authedProcedure, createCallerFactory, publicProcedure, router } from '../trpc.js';
import { startUserExport } from '../users/export.js';

// Delegated administration as an attacker tries it: an account administrator
// reaching for other accounts (other spellings, other routes), for the users of
// their own account who have rights (administrators, auditors, account
// administrators), for roles, for themselves; an auditor trying to change
// anything. The matrix (authorization-matrix.test.ts) says who may call what;
// this file checks what they get when they may.

type Db = Kysely<Database>;

/** An organization with two accounts, an account administrator of the first, and people around them. */
async function delegatedOrg() {
  const db = await testDb();
  const org = await createTestOrg(db, 'Delegated Org');
  const mine = await org.addAccount('Mine');
  const theirs = await org.addAccount('Theirs');
  const accountAdmin = await org.addUser({ accountId: mine.id, role: 'account_admin' });
  const plain = await org.addUser({ accountId: mine.id, firstName: 'Ann', lastName: 'Plain' });
  const peerAdmin = await org.addUser({ accountId: mine.id, role: 'account_admin' });
  const auditor = await org.addUser({ accountId: mine.id, role: 'auditor' });
  const elsewhere = await org.addUser({ accountId: theirs.id, firstName: 'Ann', lastName: 'Elsewhere' });
  const { token } = await sessionOf(db, accountAdmin.id);
  return {
    db,
    org,
    mine,
    theirs,
    accountAdmin,
    plain,
    peerAdmin,
    auditor,
    elsewhere,
    token,
    caller: await callerAs(db, accountAdmin.id),
  };
}

const reasonOf = (error: Parameters<typeof errorDataOf>[0]) => errorDataOf(error).reason;

describe('an account administrator', () => {
  it('changes nobody with rights, even in their own account: FORBIDDEN, and nothing changes', async () => {
    const { db, org, caller, peerAdmin, auditor } = await delegatedOrg();
    // An account administrator of the default account, beside the organization's administrator.
    const defaultAccountAdmin = await org.addUser({ role: 'account_admin' });
    const inDefault = await callerAs(db, defaultAccountAdmin.id);
    const attempts = (c: typeof caller, id: string) => [
      () => c.users.update({ id, firstName: 'Hijacked' }),
      () => c.users.update({ id, email: uniqueEmail('takeover') }),
      () => c.users.setPassword({ id, password: 'a password I know' }),
      () => c.users.deactivate({ id }),
      () => c.users.reactivate({ id }),
      () => c.users.delete({ id }),
      () => c.users.unlock({ id }),
      () => c.users.endSessions({ id, revokeApiKeys: true }),
    ];
    for (const [who, id] of [
      [caller, peerAdmin.id],
      [caller, auditor.id],
      [inDefault, org.adminId],
    ] as const) {
      const before = await org.admin.users.get({ id });
      for (const attempt of attempts(who, id)) {
        const error = await expectTRPCError(attempt(), 'FORBIDDEN');
        expect(reasonOf(error)).toBe('OUTSIDE_DELEGATION');
      }
      expect(await org.admin.users.get({ id })).toEqual(before);
    }
    // Their keys too.
    const { apiKey } = await (await callerAs(db, auditor.id)).apiKeys.create({ name: 'Auditor script' });
    await expectTRPCError(caller.apiKeys.revoke({ id: apiKey.id }), 'FORBIDDEN');
  });

  it('reads and finds nothing of another account, however it asks', async () => {
    const { caller, elsewhere, theirs, mine, plain, org } = await delegatedOrg();
    await expectTRPCError(caller.users.get({ id: elsewhere.id }), 'NOT_FOUND');
    await expectTRPCError(caller.users.get({ email: elsewhere.email.toUpperCase() }), 'NOT_FOUND');
    await expectTRPCError(caller.users.get({ email: ` ${elsewhere.email} ` }), 'NOT_FOUND');
    await expectTRPCError(caller.users.sessions({ id: elsewhere.id }), 'NOT_FOUND');
    await expectTRPCError(caller.users.deactivationPreview({ id: elsewhere.id }), 'NOT_FOUND');
    await expectTRPCError(caller.apiKeys.list({ userId: elsewhere.id }), 'NOT_FOUND');
    await expectTRPCError(caller.users.list({ accountId: theirs.id }), 'NOT_FOUND');
    await expectTRPCError(caller.users.search({ accountId: theirs.id }), 'NOT_FOUND');
    await expectTRPCError(caller.accounts.get({ id: theirs.id }), 'NOT_FOUND');
    await expectTRPCError(caller.accounts.get({ id: org.defaultAccountId }), 'NOT_FOUND');
    // The same "Ann" in both accounts: the search finds only theirs.
    const found = await caller.users.search({ query: 'ann' });
    expect(found.items.map((u) => u.id)).toEqual([plain.id]);
    const everyone = await caller.users.search({ limit: 100 });
    expect(new Set(everyone.items.map((u) => u.accountId))).toEqual(new Set([mine.id]));
    const sorted = await caller.users.search({ sort: { by: 'name', direction: 'desc' }, limit: 100 });
    expect(new Set(sorted.items.map((u) => u.accountId))).toEqual(new Set([mine.id]));
    expect((await caller.accounts.list({ limit: 25 })).items.map((a) => a.id)).toEqual([mine.id]);
    expect((await caller.accounts.names({ ids: [mine.id, theirs.id, org.defaultAccountId] })).map((a) => a.id)).toEqual(
      [mine.id],
    );
  });

  it('changes nothing of another account: NOT_FOUND, and nothing changes', async () => {
    const { caller, elsewhere, theirs, org } = await delegatedOrg();
    const id = elsewhere.id;
    for (const attempt of [
      () => caller.users.update({ id, firstName: 'Hijacked' }),
      () => caller.users.setPassword({ id, password: 'a password I know' }),
      () => caller.users.deactivate({ id }),
      () => caller.users.delete({ id }),
      () => caller.users.unlock({ id }),
      () => caller.users.endSessions({ id }),
      () => caller.users.create({ accountId: theirs.id, email: uniqueEmail(), firstName: 'Planted', lastName: 'User' }),
    ]) {
      await expectTRPCError(attempt(), 'NOT_FOUND');
    }
    expect(await org.admin.users.get({ id })).toMatchObject({ firstName: 'Ann', active: true, version: 1 });
  });

  it('gives no roles, moves nobody, manages no provisioning, and cannot act on themselves beyond their profile', async () => {
    const { caller, accountAdmin, plain, mine, theirs } = await delegatedOrg();
    for (const role of ['admin', 'account_admin', 'auditor'] as const) {
      const error = await expectTRPCError(
        caller.users.create({ accountId: mine.id, email: uniqueEmail(), firstName: 'New', lastName: 'Boss', role }),
        'FORBIDDEN',
      );
      expect(reasonOf(error)).toBe('OUTSIDE_DELEGATION');
    }
    await expectTRPCError(caller.users.setRole({ id: plain.id, role: 'account_admin' }), 'FORBIDDEN');
    await expectTRPCError(caller.users.setRole({ id: accountAdmin.id, role: 'admin' }), 'FORBIDDEN');
    await expectTRPCError(caller.users.move({ id: plain.id, accountId: theirs.id, version: 1 }), 'FORBIDDEN');
    await expectTRPCError(caller.scim.connections.create({ accountId: mine.id, name: 'Mine' }), 'FORBIDDEN');
    await expectTRPCError(caller.scim.connections.list(), 'FORBIDDEN');
    await expectTRPCError(caller.accounts.update({ id: mine.id, name: 'Renamed' }), 'FORBIDDEN');
    await expectTRPCError(caller.audit.list({}), 'FORBIDDEN');
    // Themselves: their profile and their sessions, nothing else.
    await expectTRPCError(caller.users.deactivate({ id: accountAdmin.id }), 'PRECONDITION_FAILED');
    await expectTRPCError(caller.users.delete({ id: accountAdmin.id }), 'PRECONDITION_FAILED');
    await expectTRPCError(
      caller.users.setPassword({ id: accountAdmin.id, password: 'my new pass' }),
      'PRECONDITION_FAILED',
    );
    await expectTRPCError(caller.users.unlock({ id: accountAdmin.id }), 'FORBIDDEN');
    expect(await caller.users.update({ id: accountAdmin.id, lastName: 'Renamed' })).toMatchObject({
      lastName: 'Renamed',
      role: 'account_admin',
    });
    await caller.users.endSessions({ id: accountAdmin.id });
  });

  it('manages the plain users of their account, each change audited as theirs', async () => {
    const { db, org, caller, accountAdmin, plain, mine } = await delegatedOrg();
    const created = await caller.users.create({
      accountId: mine.id,
      email: uniqueEmail(),
      firstName: 'Nina',
      lastName: 'New',
      role: 'user',
    });
    expect(created).toMatchObject({ accountId: mine.id, role: 'user' });
    await caller.users.update({ id: plain.id, firstName: 'Annie' });
    await caller.users.setPassword({ id: plain.id, password: 'a brand new one' });
    await caller.users.deactivate({ id: plain.id });
    await caller.users.reactivate({ id: plain.id });
    await caller.users.delete({ id: created.id });
    const mineRows = (await auditRowsOf(db, org.organizationId)).filter((row) => row.actorId === accountAdmin.id);
    expect(mineRows.map((row) => row.action)).toEqual([
      'user.created',
      // Created without a password: invited by mail, as the account administrator.
      'user.invited',
      'user.updated',
      'user.password_set',
      'user.deactivated',
      'user.reactivated',
      'user.deleted',
    ]);
  });

  it('resends and cancels the invitations of plain users of their account only', async () => {
    const { org, mine, theirs, caller } = await delegatedOrg();
    const invitedPlain = await org.addUser({ accountId: mine.id, invite: true });
    const invitedPeer = await org.addUser({ accountId: mine.id, role: 'account_admin', invite: true });
    const invitedAuditor = await org.addUser({ accountId: mine.id, role: 'auditor', invite: true });
    const invitedElsewhere = await org.addUser({ accountId: theirs.id, invite: true });

    await expect(caller.users.resendInvitation({ id: invitedPlain.id })).resolves.toMatchObject({ invited: true });
    await expect(caller.users.cancelInvitation({ id: invitedPlain.id })).resolves.toMatchObject({ invited: false });
    // Someone with rights in their own account: FORBIDDEN (cancelling would lock them out), and nothing changes.
    for (const withRights of [invitedPeer, invitedAuditor]) {
      for (const attempt of [caller.users.resendInvitation, caller.users.cancelInvitation]) {
        const error = await expectTRPCError(attempt({ id: withRights.id }), 'FORBIDDEN');
        expect(reasonOf(error)).toBe('OUTSIDE_DELEGATION');
      }
    }
    // Another account's invited user is not there for them.
    await expectTRPCError(caller.users.resendInvitation({ id: invitedElsewhere.id }), 'NOT_FOUND');
    await expectTRPCError(caller.users.cancelInvitation({ id: invitedElsewhere.id }), 'NOT_FOUND');
    for (const untouched of [invitedPeer, invitedAuditor, invitedElsewhere]) {
      const now = await org.admin.users.get({ id: untouched.id });
      expect(now.invited).toBe(true);
      expect(now.invitationExpiresAt?.getTime()).toBe(untouched.invitationExpiresAt?.getTime());
    }
  });

  it('acts with the same rights through an API key of their own', async () => {
    const { db, caller, plain, peerAdmin, elsewhere } = await delegatedOrg();
    const { secret } = await caller.apiKeys.create({ name: 'Account script' });
    const script = callerWithKey(db, secret);
    expect(await script.users.update({ id: plain.id, firstName: 'Scripted' })).toMatchObject({ firstName: 'Scripted' });
    await expectTRPCError(script.users.update({ id: peerAdmin.id, firstName: 'Scripted' }), 'FORBIDDEN');
    await expectTRPCError(script.users.update({ id: elsewhere.id, firstName: 'Scripted' }), 'NOT_FOUND');
    await expectTRPCError(script.users.setRole({ id: plain.id, role: 'auditor' }), 'FORBIDDEN');
  });

  it('loses the rights at once when the role is taken away', async () => {
    const { org, caller, accountAdmin, plain } = await delegatedOrg();
    await caller.users.update({ id: plain.id, firstName: 'Before' });
    await org.admin.users.setRole({ id: accountAdmin.id, role: 'user' });
    await expectTRPCError(caller.users.update({ id: plain.id, firstName: 'After' }), 'FORBIDDEN');
    await expectTRPCError(caller.users.search({}), 'FORBIDDEN');
  });

  it('never acts on someone being given a role at the same moment: the row lock decides, then the role is checked', async () => {
    const { db, org, caller, mine, accountAdmin } = await delegatedOrg();
    for (let round = 0; round < 6; round++) {
      const target = await org.addUser({ accountId: mine.id });
      const [password] = await Promise.allSettled([
        caller.users.setPassword({ id: target.id, password: `racing password ${round}` }),
        org.admin.users.setRole({ id: target.id, role: 'account_admin' }),
      ]);
      const rows = (await auditRowsOf(db, org.organizationId)).filter((row) => row.targetId === target.id);
      const order = rows.map((row) => row.action).filter((a) => a === 'user.password_set' || a === 'user.role_changed');
      if (password.status === 'fulfilled') {
        // The password was set while they were a plain user: before the role changed.
        expect(order).toEqual(['user.password_set', 'user.role_changed']);
        expect(rows.find((row) => row.action === 'user.password_set')?.actorId).toBe(accountAdmin.id);
      } else {
        expect(order).toEqual(['user.role_changed']);
        expect(reasonOf(password.reason as Parameters<typeof errorDataOf>[0])).toBe('OUTSIDE_DELEGATION');
      }
    }
  });

  it('bulk-selects only the plain users of their account, and the worker checks again', async () => {
    const { db, caller, plain, peerAdmin, auditor, elsewhere, theirs, org, mine } = await delegatedOrg();
    const second = await org.addUser({ accountId: mine.id });
    const ids = [plain.id, second.id, peerAdmin.id, auditor.id, elsewhere.id];
    const { preview } = await caller.users.bulk({ selection: { ids }, action: 'deactivate', dryRun: true });
    expect(preview?.total).toBe(4);
    expect(preview?.affected).toBe(2);
    expect(Object.fromEntries((preview?.skipped ?? []).map((s) => [s.reason, s.count]))).toEqual({
      outside_delegation: 2,
      not_found: 1,
    });
    await expectTRPCError(
      caller.users.bulk({ selection: { search: { accountId: theirs.id } }, action: 'deactivate', dryRun: true }),
      'NOT_FOUND',
    );
    await expectTRPCError(
      caller.users.bulk({ selection: { ids: [plain.id] }, action: 'move', toAccountId: theirs.id, dryRun: true }),
      'FORBIDDEN',
    );
    // Started, then one of them is made an auditor before the worker gets to them: left alone.
    const { operation } = await caller.users.bulk({
      selection: { ids },
      action: 'deactivate',
      dryRun: false,
      previewToken: preview?.previewToken ?? '',
    });
    await org.admin.users.setRole({ id: second.id, role: 'auditor' });
    await runBulkWork(db);
    const status = await caller.users.bulkStatus({ id: operation?.id ?? '' });
    expect(status.operation.status).toBe('done');
    expect(await org.admin.users.get({ id: plain.id })).toMatchObject({ active: false });
    for (const id of [second.id, peerAdmin.id, auditor.id, elsewhere.id]) {
      expect(await org.admin.users.get({ id })).toMatchObject({ active: true });
    }
    // Their own operation is theirs to see; the administrator's is not.
    expect((await caller.users.bulkList({})).items.map((o) => o.id)).toEqual([operation?.id]);
  });

  it('imports into their account only, without roles and without touching users with rights', async () => {
    const { db, org, caller, accountAdmin, mine, theirs, auditor, elsewhere, plain } = await delegatedOrg();
    // As POST /import/users hands the file over, after authenticating the account administrator.
    const actor: Actor = {
      id: accountAdmin.id,
      organizationId: org.organizationId,
      accountId: mine.id,
      email: accountAdmin.email,
      role: 'account_admin',
      via: 'session',
      sessionId: '00000000-0000-4000-8000-000000000000',
    };
    const csv = (body: string) => Buffer.from(`email,first name,last name,role\n${body}`);
    await expectTRPCError(
      previewUserImport(db, actor, { accountId: theirs.id, bytes: csv(`${uniqueEmail()},A,B,\n`) }),
      'NOT_FOUND',
    );
    const fresh = uniqueEmail();
    const preview = await previewUserImport(db, actor, {
      accountId: mine.id,
      bytes: csv(
        [
          `${uniqueEmail()},Boss,Made,admin`,
          `${auditor.email},Aud,Itor,`,
          `${elsewhere.email},Else,Where,`,
          `${plain.email},Ann,Renamed,`,
          `${fresh},Fresh,User,user`,
        ].join('\n'),
      ),
    });
    expect(preview.summary).toMatchObject({ error: 3, update: 1, create: 1 });
    const rows = await caller.imports.rows({ id: preview.id, verdict: 'error' });
    const errors = rows.items.map((row) => row.error ?? '');
    expect(errors[0]).toMatch(/do not give roles/);
    expect(errors[1]).toMatch(/plain users only/);
    // Another account's name is not told.
    expect(errors[2]).toMatch(/another account:/);
    expect(errors.join(' ')).not.toContain('Theirs');
    const result = await caller.imports.commit({ id: preview.id, skipErrors: true });
    expect(result).toMatchObject({ created: 1, updated: 1 });
  });
});

describe('an auditor', () => {
  it('reads what an administrator reads, and every change is refused as READ_ONLY', async () => {
    const { db, org, mine, plain, theirs } = await delegatedOrg();
    const auditorUser = await org.addUser({ accountId: theirs.id, role: 'auditor' });
    const auditor = await callerAs(db, auditorUser.id);
    expect((await auditor.users.search({ limit: 100 })).items.length).toBeGreaterThanOrEqual(6);
    expect((await auditor.accounts.list({ limit: 25 })).items.length).toBe(3);
    expect((await auditor.audit.list({})).items.length).toBeGreaterThan(0);
    expect(await auditor.users.get({ id: plain.id })).toMatchObject({ id: plain.id });
    await auditor.users.sessions({ id: plain.id });
    await auditor.apiKeys.list({ userId: plain.id });
    await auditor.scim.connections.list();
    for (const attempt of [
      () => auditor.users.update({ id: plain.id, firstName: 'Audited' }),
      () => auditor.users.create({ accountId: mine.id, email: uniqueEmail(), firstName: 'A', lastName: 'B' }),
      () => auditor.users.deactivate({ id: plain.id }),
      () => auditor.users.setRole({ id: auditorUser.id, role: 'admin' }),
      () => auditor.accounts.create({ name: 'Audit', users: [] }),
      () => auditor.users.bulk({ selection: { ids: [plain.id] }, action: 'deactivate', dryRun: true }),
    ]) {
      const error = await expectTRPCError(attempt(), 'FORBIDDEN');
      expect(['READ_ONLY', 'NOT_ADMIN']).toContain(reasonOf(error));
    }
    expect(await org.admin.users.get({ id: plain.id })).toMatchObject({ firstName: 'Ann', active: true });
  });
});

describe('users.setRole', () => {
  it('gives and takes the roles, audited; administrators only in the default account; never one’s own', async () => {
    const { db, org, plain, mine } = await delegatedOrg();
    expect(await org.admin.users.setRole({ id: plain.id, role: 'account_admin' })).toMatchObject({
      role: 'account_admin',
    });
    expect(await org.admin.users.setRole({ id: plain.id, role: 'auditor' })).toMatchObject({ role: 'auditor' });
    const error = await expectTRPCError(
      org.admin.users.setRole({ id: plain.id, role: 'admin' }),
      'PRECONDITION_FAILED',
    );
    expect(reasonOf(error)).toBe('ADMIN_OUTSIDE_DEFAULT_ACCOUNT');
    const rows = (await auditRowsOf(db, org.organizationId)).filter(
      (row) => row.action === 'user.role_changed' && row.targetId === plain.id,
    );
    expect(rows.map((row) => row.changes)).toEqual([
      { before: { role: 'user' }, after: { role: 'account_admin' } },
      { before: { role: 'account_admin' }, after: { role: 'auditor' } },
    ]);
    for (const role of ['user', 'account_admin', 'auditor'] as const) {
      await expectTRPCError(org.admin.users.setRole({ id: org.adminId, role }), 'PRECONDITION_FAILED');
    }
    await expectTRPCError(
      org.admin.users.create({
        accountId: mine.id,
        email: uniqueEmail(),
        firstName: 'A',
        lastName: 'B',
        role: 'admin',
      }),
      'PRECONDITION_FAILED',
    );
  });

  it('keeps the last active administrator when two demote each other at once', async () => {
    const db = await testDb();
    const org: TestOrg = await createTestOrg(db, 'Two Admins');
    const second = await org.addUser({ role: 'admin' });
    const secondCaller = await callerAs(db, second.id);
    const results = await Promise.allSettled([
      org.admin.users.setRole({ id: second.id, role: 'auditor' }),
      secondCaller.users.setRole({ id: org.adminId, role: 'account_admin' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const admins = await db
      .selectFrom('users')
      .select('id')
      .where('organizationId', '=', org.organizationId)
      .where('role', '=', 'admin')
      .execute();
    expect(admins).toHaveLength(1);
  });
});

describe('access rules', () => {
  it('refuses a procedure whose meta declares no rule, to everyone', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'No Rule');
    const probe = router({
      open: publicProcedure.meta({ access: 'nobody' } as unknown as ProcedureMeta).query(() => 'open'),
      // (Meta merges: `.meta({})` keeps the builder's rule; only naming none removes it.)
      signedIn: authedProcedure.meta({ access: undefined } as unknown as ProcedureMeta).query(() => 'signed in'),
    });
    const { token } = await sessionOf(db, org.adminId);
    const caller = createCallerFactory(probe)(createContext({ db, sessionToken: token }));
    for (const call of [caller.open(), caller.signedIn()]) {
      const error = await expectTRPCError(call, 'FORBIDDEN');
      expect(reasonOf(error)).toBe('NOT_ALLOWED');
    }
  });
});

/**
 * Every statement the database runs while `run` does, compiled (the SQL and its
 * values): built queries through a plugin, and prepared ones (preparedQuery
 * sends them compiled, through `executeQuery`) by recording that too.
 */
async function statementsOf(db: Db, run: (logged: Db) => Promise<unknown>): Promise<CompiledQuery[]> {
  const nodes: RootOperationNode[] = [];
  const sent: CompiledQuery[] = [];
  const logged = db.withPlugin({
    transformQuery: (args) => {
      nodes.push(args.node);
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  const execute = logged.executeQuery.bind(logged);
  logged.executeQuery = ((query: CompiledQuery, options?: Parameters<typeof execute>[1]) => {
    if ('sql' in query) sent.push(query);
    return execute(query, options);
  }) as typeof logged.executeQuery;
  await run(logged);
  const built = nodes.map((node) => db.getExecutor().compileQuery(node, createQueryId()));
  // preparedQuery builds a query once with stand-ins for its values, and sends it (recorded above) with them.
  return [...built.filter((query) => !query.parameters.some(isPreparedPlaceholder)), ...sent];
}

/**
 * The statements that read or change users rows for a search or selection: not
 * authentication's, nor the confirmation of the caller's own row (FOR SHARE)
 * that every audited change makes in its transaction (audit/queries.ts).
 */
const userReads = (statements: CompiledQuery[]) =>
  statements.filter(
    (s) =>
      /from "users"|from users\b/i.test(s.sql) &&
      !/sessions|api_keys|"organizations"/i.test(s.sql) &&
      !/\bfor share$/i.test(s.sql.trim()),
  );

describe('the account predicate is in the SQL', () => {
  it('of every path of users.search, the CSV export and bulk selections by an account administrator', async () => {
    const { db, token, mine, org } = await delegatedOrg();
    // Enough users for the short search's candidate path to stay indexed.
    const searches = [
      {},
      { query: 'a' },
      { query: 'an' },
      { query: 'ann' },
      { query: 'plain' },
      { query: 'ann@' },
      { query: 'ann', sort: { by: 'name' as const, direction: 'asc' as const } },
      { sort: { by: 'lastSignIn' as const, direction: 'desc' as const } },
      { active: true, role: 'user' as const, lastSignIn: { never: true as const } },
    ];
    for (const filter of searches) {
      const statements = await statementsOf(db, (logged) =>
        createCaller(createContext({ db: logged, sessionToken: token })).users.search(filter),
      );
      const reads = userReads(statements);
      expect(reads.length, JSON.stringify(filter)).toBeGreaterThan(0);
      for (const read of reads) {
        expect(read.sql, JSON.stringify(filter)).toMatch(/account_id"? = \$\d+/);
        expect(read.parameters, JSON.stringify(filter)).toContain(mine.id);
      }
    }

    const exported = await statementsOf(db, async (logged) => {
      const run = await startUserExport(createContext({ db: logged, sessionToken: token }), new URLSearchParams());
      const chunks: Buffer[] = [];
      for await (const chunk of run.stream) chunks.push(Buffer.from(chunk));
      await run.finished;
      const records = parse(Buffer.concat(chunks).toString('utf8'), { bom: true }) as string[][];
      expect(records.length).toBe(5); // the header and their account's four
    });
    const exportReads = userReads(exported);
    expect(exportReads.length).toBeGreaterThan(0);
    for (const read of exportReads) expect(read.parameters).toContain(mine.id);

    for (const selection of [{ search: {} }, { search: { query: 'ann' } }, { ids: [org.adminId] }]) {
      const statements = await statementsOf(db, (logged) =>
        createCaller(createContext({ db: logged, sessionToken: token })).users.bulk({
          selection,
          action: 'end_sessions',
          dryRun: true,
        }),
      );
      const reads = statements.filter((s) => /with selected as materialized/.test(s.sql));
      expect(reads).toHaveLength(1);
      expect(reads[0]?.sql).toMatch(/"users"\."account_id" = \$\d+/);
      expect(reads[0]?.parameters).toContain(mine.id);
    }
  });

  it('and not in an administrator’s, who reads the whole organization', async () => {
    const { db, org } = await delegatedOrg();
    const { token } = await sessionOf(db, org.adminId);
    const statements = await statementsOf(db, (logged) =>
      createCaller(createContext({ db: logged, sessionToken: token })).users.search({ query: 'ann' }),
    );
    for (const read of userReads(statements)) expect(read.sql).not.toMatch(/account_id"? = \$\d+/);
  });
});
