import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AuditFilter, auditQuery } from '../audit/queries.js';
import { auditActions } from '../shared/schemas.js';
import { createTestOrg, expectTRPCError, fieldErrorsOf, type TestOrg, testDb, uniqueEmail } from '../test/index.js';

// Issue 18 item 8: the audit log shows a deleted user's history and is filtered
// by part of an email or name, by action, by account and by period, page by page.

let db: Kysely<Database>;

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

beforeAll(async () => {
  db = await testDb();
});

type Org = TestOrg;

/** A small history: an administrator who leaves, a user renamed and deleted, an account deleted with its users. */
async function history(org: Org) {
  const leaverEmail = uniqueEmail('leaver');
  const { user: leaver, caller: leaverCaller } = await org.addSignedInUser({
    role: 'admin',
    email: leaverEmail,
    firstName: 'Léa',
    lastName: 'Départ',
  });
  const sales = await leaverCaller.accounts.create({ name: `Sales ${randomUUID().slice(0, 6)}` });
  const zoe = await leaverCaller.users.create({
    accountId: sales.id,
    email: uniqueEmail('zoe'),
    firstName: 'Zoe',
    lastName: 'Quartermaine',
    // Not invited: this history is about the rows of changes (invitations.test.ts audits those).
    sendInvitation: false,
  });
  await org.admin.users.update({ id: zoe.id, lastName: 'Smith' });
  await org.admin.users.delete({ id: leaver.id });
  await org.admin.accounts.delete({ id: sales.id });
  return { leaver, sales, zoe };
}

const actionsOf = (page: { items: { action: string }[] }) => page.items.map((item) => item.action);

describe('audit.list filters', () => {
  it("finds a deleted user's whole history by the email they had, as actor and as target", async () => {
    const org = await createTestOrg(db);
    const { leaver, zoe } = await history(org);
    expect(actionsOf(await org.admin.audit.list({ email: leaver.email }))).toEqual([
      'user.deleted',
      'user.created',
      'account.created',
      'user.created',
    ]);
    // Whatever case it is typed in.
    expect(actionsOf(await org.admin.audit.list({ email: zoe.email.toUpperCase() }))).toEqual([
      'user.deleted',
      'user.updated',
      'user.created',
    ]);
    const rows = (await org.admin.audit.list({ email: leaver.email })).items;
    expect(rows.find((r) => r.action === 'account.created')).toMatchObject({
      actorId: leaver.id,
      actorEmail: leaver.email,
      actorName: 'Léa Départ',
      actorExists: false,
    });
    // Nobody had this email: an empty page, not an error.
    expect((await org.admin.audit.list({ email: uniqueEmail('nobody') })).items).toEqual([]);
  });

  it('finds rows by part of an email or a name, of the actor or the target, case-insensitively', async () => {
    const org = await createTestOrg(db);
    const { leaver, zoe } = await history(org);
    const byQuery = async (query: string) => (await org.admin.audit.list({ query, limit: 100 })).items;
    // Part of the target's surname as it was (rows written after the rename have the new one).
    expect((await byQuery('QUARTERM')).map((r) => r.action)).toEqual(['user.created']);
    expect((await byQuery('zoe smith')).map((r) => r.action)).toEqual(['user.deleted', 'user.updated']);
    // Part of the actor's name: every row they wrote.
    const byLeaver = await byQuery('départ');
    expect(byLeaver.filter((r) => r.actorId === leaver.id).map((r) => r.action)).toEqual([
      'user.created',
      'account.created',
    ]);
    // Part of an email.
    const local = zoe.email.slice(0, zoe.email.indexOf('@'));
    expect((await byQuery(local.slice(2))).every((r) => r.targetEmail === zoe.email)).toBe(true);
    // LIKE's metacharacters are text: a search for "%" finds no row rather than every row.
    expect(await byQuery('%')).toEqual([]);
    expect(await byQuery('_')).toEqual([]);
  });

  it('filters by action, from the typed list, and refuses an action that is not on it', async () => {
    const org = await createTestOrg(db);
    await history(org);
    const deleted = await org.admin.audit.list({ action: 'user.deleted' });
    expect(deleted.items).toHaveLength(2);
    expect(new Set(actionsOf(deleted))).toEqual(new Set(['user.deleted']));
    expect(auditActions).toContain('api_key.revoked');
    const error = await expectTRPCError(
      // @ts-expect-error: not an action the log records
      org.admin.audit.list({ action: 'user.exploded' }),
      'BAD_REQUEST',
    );
    expect(fieldErrorsOf(error)).toHaveProperty('action');
  });

  it('filters by account: the account and its users as they were, after all of them are gone', async () => {
    const org = await createTestOrg(db);
    const { sales, zoe } = await history(org);
    const rows = (await org.admin.audit.list({ accountId: sales.id, limit: 100 })).items;
    expect(rows.map((r) => `${r.action} ${r.targetId}`)).toEqual([
      `account.deleted ${sales.id}`,
      `user.deleted ${zoe.id}`,
      `user.updated ${zoe.id}`,
      `user.created ${zoe.id}`,
      `account.created ${sales.id}`,
    ]);
    expect(rows.every((r) => r.accountId === sales.id)).toBe(true);
    // Another organization's account id finds nothing of it.
    const other = await createTestOrg(db);
    expect((await other.admin.audit.list({ accountId: sales.id })).items).toEqual([]);
    expect((await other.admin.audit.list({ email: zoe.email })).items).toEqual([]);
  });

  it('filters by period (from inclusive, to exclusive) and refuses an end before the start', async () => {
    const org = await createTestOrg(db);
    await history(org);
    const all = (await org.admin.audit.list({ limit: 100 })).items;
    const middle = all[3];
    if (!middle) throw new Error('no rows');
    const from = (await org.admin.audit.list({ from: middle.createdAt, limit: 100 })).items;
    expect(from.every((r) => r.createdAt >= middle.createdAt)).toBe(true);
    expect(from.map((r) => r.id)).toContain(middle.id);
    const to = (await org.admin.audit.list({ to: middle.createdAt, limit: 100 })).items;
    expect(to.every((r) => r.createdAt < middle.createdAt)).toBe(true);
    expect(from.length + to.length).toBe(all.length);
    const error = await expectTRPCError(
      org.admin.audit.list({ from: new Date(), to: new Date(Date.now() - 1000) }),
      'BAD_REQUEST',
    );
    expect(fieldErrorsOf(error)).toEqual({ to: ['The end of the period comes before its start.'] });
  });

  it('pages filtered results by cursor, each row once, filters combined', async () => {
    const org = await createTestOrg(db);
    const account = await org.addAccount('Paged');
    for (let i = 0; i < 7; i++) await org.addUser({ accountId: account.id, lastName: `Pagewise${i}` });
    await org.addUser({ lastName: 'Pagewise-elsewhere' });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await org.admin.audit.list({
        query: 'pagewise',
        action: 'user.created',
        accountId: account.id,
        limit: 3,
        cursor,
      });
      seen.push(...result.items.map((i) => i.targetName ?? ''));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect(seen.every((name) => /Pagewise\d$/.test(name))).toBe(true);
  });

  it('says which users still exist, so the console links only to them', async () => {
    const org = await createTestOrg(db);
    const { leaver } = await history(org);
    const kept = await org.addUser();
    const rows = (await org.admin.audit.list({ limit: 100 })).items;
    expect(rows.find((r) => r.targetId === kept.id)).toMatchObject({ targetExists: true, actorExists: true });
    expect(rows.find((r) => r.targetId === leaver.id)).toMatchObject({ targetExists: false });
    expect(rows.find((r) => r.targetType === 'account')).toMatchObject({ targetExists: false });
  });
});

// The filters stay index-served on a large log: each plan reads through the
// index made for it (0006), never the whole table.
describe('audit.list plans', () => {
  let org: Org;
  const seeded = 30_000;

  beforeAll(async () => {
    org = await createTestOrg(db, 'Audit Plan Org');
    const account = await org.addAccount();
    // In slices: one statement stays well under the statement timeout on a busy machine.
    for (let first = 1; first <= seeded; first += 5_000) {
      await sql`
      insert into audit_log (organization_id, actor_id, actor_email, actor_name, action, target_type, target_id,
                             target_label, target_email, target_name, account_id, created_at)
      select ${org.organizationId}::uuid, gen_random_uuid(), 'actor' || (i % 300) || '@plan.test', 'Actor ' || (i % 300),
             (array['user.created', 'user.updated', 'user.deleted', 'api_key.created', 'user.locked'])[1 + i % 5],
             'user', gen_random_uuid(), md5(i::text) || '@plan.test', md5(i::text) || '@plan.test',
             'Target ' || i, case when i % 50 = 0 then ${account.id}::uuid end,
             now() - i * interval '1 minute'
      from generate_series(${first}::int, ${first + 4_999}::int) as i
    `.execute(db);
    }
    // VACUUM, not only ANALYZE: it empties the trigram index's pending list, whose
    // size (after the other files in this worker wrote to the log) the planner
    // counts against the index, and which a real log's autovacuum keeps short.
    await sql`vacuum analyze audit_log`.execute(db);
  }, 120_000);

  async function planOf(filter: Omit<AuditFilter, 'limit'>): Promise<string> {
    const rows = await auditQuery(db, org.organizationId, { ...filter, limit: 25 }).explain();
    return rows.map((row) => String(Object.values(row)[0])).join('\n');
  }

  it.each([
    ['email', { email: `${md5('12345')}@plan.test` }, /audit_log_org_(actor|target)_email/],
    ['action', { action: 'user.locked' }, /audit_log_org_action|audit_log_org_time/],
    ['account', { accountId: '' }, /audit_log_org_account/],
    // Eight characters from the middle of one address.
    ['substring', { query: md5('23456').slice(10, 18) }, /audit_log_search_trgm/],
    ['period', { from: new Date(Date.now() - 3_600_000) }, /audit_log_org_time/],
  ] as const)('%s', async (_name, filter, index) => {
    const accountId =
      'accountId' in filter
        ? (
            await db
              .selectFrom('auditLog')
              .select('accountId')
              .where('organizationId', '=', org.organizationId)
              .where('accountId', 'is not', null)
              .executeTakeFirstOrThrow()
          ).accountId
        : undefined;
    const plan = await planOf(accountId ? { accountId } : filter);
    expect(plan, plan).toMatch(index);
    expect(plan).not.toMatch(/Seq Scan on audit_log/);
  });
});
