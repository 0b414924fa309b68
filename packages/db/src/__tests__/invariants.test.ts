import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../schema.js';
import { freshMigratedDb } from '../test/fresh-db.js';

/**
 * The invariants the database keeps by itself, whatever the application does:
 * checked with plain SQL, bypassing the API.
 */

let db: Kysely<Database>;

beforeAll(async () => {
  db = (await freshMigratedDb()).db;
});

afterAll(async () => {
  await db?.destroy();
});

type Id = { id: string };

/** Awaits a statement that the database must refuse, and returns its SQLSTATE and constraint. */
async function refused(statement: Promise<unknown>): Promise<{ code: string; constraint: string | undefined }> {
  const error = await statement.then(
    () => {
      throw new Error('the database accepted it');
    },
    (reason: unknown) => reason as { code?: unknown; constraint?: unknown },
  );
  if (typeof error.code !== 'string') throw error;
  return { code: error.code, constraint: typeof error.constraint === 'string' ? error.constraint : undefined };
}

const email = (label = 'u') => `${label}-${randomUUID().slice(0, 12)}@example.test`;

/** An organization with its default account, inserted in one transaction as the rules require. */
async function org() {
  return db.transaction().execute(async (tx) => {
    const { rows: orgs } = await sql<Id>`insert into organizations (name) values ('Org') returning id`.execute(tx);
    const orgId = orgs[0]?.id ?? '';
    const { rows: accounts } = await sql<Id>`
      insert into accounts (organization_id, name, is_default) values (${orgId}, 'Default', true) returning id`.execute(
      tx,
    );
    return { orgId, defaultId: accounts[0]?.id ?? '' };
  });
}

async function account(orgId: string, name = `Account ${randomUUID().slice(0, 8)}`) {
  const { rows } = await sql<Id>`
    insert into accounts (organization_id, name) values (${orgId}, ${name}) returning id`.execute(db);
  return rows[0]?.id ?? '';
}

function insertUser(values: { orgId: string; accountId: string; email?: string; role?: string }) {
  return sql<Id>`
    insert into users (organization_id, account_id, email, first_name, last_name, role)
    values (${values.orgId}, ${values.accountId}, ${values.email ?? email()}, 'First', 'Last', ${values.role ?? 'user'})
    returning id`.execute(db);
}

async function user(values: { orgId: string; accountId: string; email?: string; role?: string }) {
  return (await insertUser(values)).rows[0]?.id ?? '';
}

async function countWhere(table: 'accounts' | 'users' | 'sessions' | 'audit_log', column: string, value: string) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(db);
  return rows[0]?.n ?? -1;
}

describe('emails', () => {
  it('are unique across the installation', async () => {
    const a = await org();
    const b = await org();
    const taken = email();
    await user({ orgId: a.orgId, accountId: a.defaultId, email: taken });
    expect(await refused(insertUser({ orgId: a.orgId, accountId: a.defaultId, email: taken }))).toEqual({
      code: '23505',
      constraint: 'users_email_unique',
    });
    expect(await refused(insertUser({ orgId: b.orgId, accountId: b.defaultId, email: taken }))).toEqual({
      code: '23505',
      constraint: 'users_email_unique',
    });
  });

  it('are stored trimmed and lower-cased, so case cannot make a duplicate', async () => {
    const a = await org();
    const taken = email();
    const id = await user({ orgId: a.orgId, accountId: a.defaultId, email: taken });
    for (const variant of [taken.toUpperCase(), ` ${taken}`, `${taken} `]) {
      expect((await refused(insertUser({ orgId: a.orgId, accountId: a.defaultId, email: variant }))).code).toBe(
        '23514',
      );
    }
    expect(
      (await refused(sql`update users set email = ${taken.toUpperCase()} where id = ${id}`.execute(db))).code,
    ).toBe('23514');
    // The unique index is on lower(email), so it holds even without the check.
    const { rows } = await sql<{ def: string }>`
      select indexdef as def from pg_indexes where indexname = 'users_email_unique'`.execute(db);
    expect(rows[0]?.def).toMatch(/UNIQUE INDEX .* \(lower\(email\)\)/);
  });
});

describe('default accounts', () => {
  it('at most one per organization', async () => {
    const a = await org();
    expect(
      await refused(
        sql`insert into accounts (organization_id, name, is_default) values (${a.orgId}, 'Second', true)`.execute(db),
      ),
    ).toEqual({ code: '23505', constraint: 'accounts_one_default' });
  });

  it('at least one: an organization without one fails when its transaction commits', async () => {
    const before = await sql<{ n: number }>`select count(*)::int as n from organizations`.execute(db);
    // Alone, in its own transaction.
    expect(await refused(sql`insert into organizations (name) values ('Lonely')`.execute(db))).toEqual({
      code: '23514',
      constraint: 'organizations_default_account',
    });
    // With only an ordinary account: the check waits for the commit, then refuses.
    const error = await refused(
      db.transaction().execute(async (tx) => {
        const { rows } = await sql<Id>`insert into organizations (name) values ('No default') returning id`.execute(tx);
        await sql`insert into accounts (organization_id, name) values (${rows[0]?.id}, 'Ordinary')`.execute(tx);
      }),
    );
    expect(error).toEqual({ code: '23514', constraint: 'organizations_default_account' });
    const after = await sql<{ n: number }>`select count(*)::int as n from organizations`.execute(db);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('cannot be deleted, nor lose or gain the flag', async () => {
    const a = await org();
    const other = await account(a.orgId);
    expect(await refused(sql`delete from accounts where id = ${a.defaultId}`.execute(db))).toEqual({
      code: '23514',
      constraint: 'accounts_default_undeletable',
    });
    expect(await refused(sql`update accounts set is_default = false where id = ${a.defaultId}`.execute(db))).toEqual({
      code: '23514',
      constraint: 'accounts_default_immutable',
    });
    expect(await refused(sql`update accounts set is_default = true where id = ${other}`.execute(db))).toMatchObject({
      code: expect.stringMatching(/^23/),
    });
    // Even swapping the flag in one transaction is refused.
    expect(
      await refused(
        db.transaction().execute(async (tx) => {
          await sql`update accounts set is_default = false where id = ${a.defaultId}`.execute(tx);
          await sql`update accounts set is_default = true where id = ${other}`.execute(tx);
        }),
      ),
    ).toMatchObject({ constraint: 'accounts_default_immutable' });
    expect(await countWhere('accounts', 'id', a.defaultId)).toBe(1);
  });

  it('go with their organization: deleting it removes everything it holds', async () => {
    const a = await org();
    const other = await account(a.orgId);
    const admin = await user({ orgId: a.orgId, accountId: a.defaultId, role: 'admin' });
    const member = await user({ orgId: a.orgId, accountId: other });
    await sql`insert into sessions (token_hash, user_id, expires_at) values (${randomUUID()}, ${member}, now() + interval '1 hour')`.execute(
      db,
    );
    await sql`insert into audit_log (organization_id, actor_id, action, target_type) values (${a.orgId}, ${admin}, 'x', 'user')`.execute(
      db,
    );
    await sql`delete from organizations where id = ${a.orgId}`.execute(db);
    expect(await countWhere('accounts', 'organization_id', a.orgId)).toBe(0);
    expect(await countWhere('users', 'organization_id', a.orgId)).toBe(0);
    expect(await countWhere('sessions', 'user_id', member)).toBe(0);
    expect(await countWhere('audit_log', 'organization_id', a.orgId)).toBe(0);
  });
});

describe('administrators', () => {
  it('exist only in the default account: insert, promotion and move are refused elsewhere', async () => {
    const a = await org();
    const other = await account(a.orgId);
    const expected = { code: '23514', constraint: 'users_admin_in_default_account' };
    expect(await refused(insertUser({ orgId: a.orgId, accountId: other, role: 'admin' }))).toEqual(expected);
    const member = await user({ orgId: a.orgId, accountId: other });
    expect(await refused(sql`update users set role = 'admin' where id = ${member}`.execute(db))).toEqual(expected);
    const admin = await user({ orgId: a.orgId, accountId: a.defaultId, role: 'admin' });
    expect(await refused(sql`update users set account_id = ${other} where id = ${admin}`.execute(db))).toEqual(
      expected,
    );
  });

  it('have a role that is admin or user and nothing else', async () => {
    const a = await org();
    expect((await refused(insertUser({ orgId: a.orgId, accountId: a.defaultId, role: 'owner' }))).code).toBe('23514');
  });
});

describe('foreign keys', () => {
  it("a user's account must be of the user's organization", async () => {
    const a = await org();
    const b = await org();
    expect((await refused(insertUser({ orgId: a.orgId, accountId: b.defaultId }))).code).toBe('23503');
    const member = await user({ orgId: a.orgId, accountId: a.defaultId });
    expect(
      (await refused(sql`update users set account_id = ${b.defaultId} where id = ${member}`.execute(db))).code,
    ).toBe('23503');
  });

  it('deleting an account deletes its users, and their sessions', async () => {
    const a = await org();
    const other = await account(a.orgId);
    const member = await user({ orgId: a.orgId, accountId: other });
    await sql`insert into sessions (token_hash, user_id, expires_at) values (${randomUUID()}, ${member}, now() + interval '1 hour')`.execute(
      db,
    );
    await sql`delete from accounts where id = ${other}`.execute(db);
    expect(await countWhere('users', 'id', member)).toBe(0);
    expect(await countWhere('sessions', 'user_id', member)).toBe(0);
  });

  // Since 0006 the actor's id stays too, so a deleted administrator's history is still found by id.
  it('deleting a user deletes its sessions and keeps its audit rows whole, actor id included', async () => {
    const a = await org();
    const actor = await user({ orgId: a.orgId, accountId: a.defaultId, role: 'admin' });
    await sql`insert into sessions (token_hash, user_id, expires_at) values (${randomUUID()}, ${actor}, now() + interval '1 hour')`.execute(
      db,
    );
    const { rows } = await sql<Id>`
      insert into audit_log (organization_id, actor_id, actor_email, action, target_type)
      values (${a.orgId}, ${actor}, 'who@example.test', 'account.created', 'account') returning id`.execute(db);
    await sql`delete from users where id = ${actor}`.execute(db);
    expect(await countWhere('sessions', 'user_id', actor)).toBe(0);
    const { rows: audit } = await sql<{ actorId: string | null; actorEmail: string }>`
      select actor_id, actor_email from audit_log where id = ${rows[0]?.id}`.execute(db);
    expect(audit).toEqual([{ actorId: actor, actorEmail: 'who@example.test' }]);
  });

  it('a session needs a user', async () => {
    expect(
      (
        await refused(
          sql`insert into sessions (token_hash, user_id, expires_at) values ('h', ${randomUUID()}, now())`.execute(db),
        )
      ).code,
    ).toBe('23503');
  });
});

describe('defaults and bookkeeping', () => {
  it('a user starts at version 1, active, a plain user, with timestamps', async () => {
    const a = await org();
    const id = await user({ orgId: a.orgId, accountId: a.defaultId });
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ version: 1, active: true, role: 'user', lastLoginAt: null, passwordHash: null });
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(row.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(row.updatedAt).toEqual(row.createdAt);
    expect((await refused(sql`update users set version = 0 where id = ${id}`.execute(db))).code).toBe('23514');
  });

  it('updatedAt follows edits of the record, not sign-ins or password changes', async () => {
    const a = await org();
    const id = await user({ orgId: a.orgId, accountId: a.defaultId });
    const read = () =>
      db.selectFrom('users').select(['createdAt', 'updatedAt']).where('id', '=', id).executeTakeFirstOrThrow();
    const created = await read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sql`update users set last_login_at = now(), password_hash = 'x' where id = ${id}`.execute(db);
    expect((await read()).updatedAt).toEqual(created.updatedAt);
    await sql`update users set first_name = 'Changed' where id = ${id}`.execute(db);
    expect((await read()).updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());

    const accountId = await account(a.orgId);
    const before = await db
      .selectFrom('accounts')
      .select('updatedAt')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sql`update accounts set description = 'changed' where id = ${accountId}`.execute(db);
    const after = await db
      .selectFrom('accounts')
      .select('updatedAt')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(after.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
  });

  it('accounts keep count of their users through inserts, moves and deletes', async () => {
    const a = await org();
    const first = await account(a.orgId);
    const second = await account(a.orgId);
    const userCount = async (id: string) =>
      (await db.selectFrom('accounts').select('userCount').where('id', '=', id).executeTakeFirstOrThrow()).userCount;
    const u1 = await user({ orgId: a.orgId, accountId: first });
    await user({ orgId: a.orgId, accountId: first });
    expect(await userCount(first)).toBe(2);
    await sql`update users set account_id = ${second} where id = ${u1}`.execute(db);
    expect([await userCount(first), await userCount(second)]).toEqual([1, 1]);
    await sql`update users set first_name = 'Not a move' where id = ${u1}`.execute(db);
    expect(await userCount(second)).toBe(1);
    await sql`delete from users where id = ${u1}`.execute(db);
    expect(await userCount(second)).toBe(0);
  });

  it('account names are unique per organization whatever the case, and free across organizations', async () => {
    const a = await org();
    const b = await org();
    await account(a.orgId, 'Sales');
    expect(await refused(account(a.orgId, 'SALES'))).toEqual({ code: '23505', constraint: 'accounts_org_name' });
    await account(b.orgId, 'Sales');
  });

  it('audit rows are timed to the millisecond, so a page cursor holds the exact time', async () => {
    const a = await org();
    await sql`insert into audit_log (organization_id, action, target_type) values (${a.orgId}, 'x', 'user')`.execute(
      db,
    );
    const { rows } = await sql<{ micros: number }>`
      select (extract(microseconds from created_at)::int % 1000) as micros
      from audit_log where organization_id = ${a.orgId}`.execute(db);
    expect(rows).toEqual([{ micros: 0 }]);
  });
});
