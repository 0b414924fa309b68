import { randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxUsableKeysPerUser } from '../api-keys/service.js';
import { createContext } from '../context.js';
import { hashSecret } from '../core/tokens.js';
import {
  callerAs,
  callerWithKey,
  callerWithToken,
  createCaller,
  createTestOrg,
  expectTRPCError,
  fieldErrorsOf,
  recordCookies,
  sessionOf,
  type TestOrg,
  testDb,
  testPassword,
} from '../test/index.js';

let db: Kysely<Database>;
let org: TestOrg;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Keys Org');
});

/**
 * A plain user of `org` with a session, and a key of theirs. Without a password
 * unless asked: hashing one is the slowest step, and most tests never sign in.
 */
async function userWithKey(options: { password?: string } = {}) {
  const user = await org.addUser({ password: options.password });
  const session = await callerAs(db, user.id);
  const { apiKey, secret } = await session.apiKeys.create({ name: 'script' });
  return { user, session, apiKey, secret, viaKey: callerWithKey(db, secret) };
}

const keyRow = (id: string) => db.selectFrom('apiKeys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

const auditCount = async () =>
  Number(
    (
      await db
        .selectFrom('auditLog')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const auditOf = (action: string, apiKeyId: string) =>
  db
    .selectFrom('auditLog')
    .selectAll()
    .where('action', '=', action)
    .where(sql<string>`changes->'after'->>'apiKeyId'`, '=', apiKeyId)
    .orderBy('createdAt')
    .execute();

describe('apiKeys.create', () => {
  it('returns the secret once and stores only its hash', async () => {
    const { apiKey, secret } = await org.admin.apiKeys.create({ name: '  deploy bot  ' });
    expect(secret).toMatch(/^rk_[a-z0-9]{8}_[\w-]{43}$/);
    expect(secret.startsWith(`${apiKey.prefix}_`)).toBe(true);
    expect(apiKey).toMatchObject({ name: 'deploy bot', userId: org.adminId, status: 'active', lastUsedAt: null });
    expect(apiKey).not.toHaveProperty('secret');
    expect(apiKey).not.toHaveProperty('secretHash');

    const row = await keyRow(apiKey.id);
    expect(row.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret.slice(12));
    const listed = await org.admin.apiKeys.list();
    expect(JSON.stringify(listed)).not.toContain(secret.slice(12));
    expect(listed.items.map((k) => k.id)).toContain(apiKey.id);
  });

  it('is audited in the user trail, without the secret', async () => {
    const { apiKey, secret } = await org.admin.apiKeys.create({ name: 'audited' });
    const [entry] = await auditOf('api_key.created', apiKey.id);
    expect(entry).toMatchObject({ actorId: org.adminId, targetType: 'user', targetId: org.adminId });
    expect(entry?.changes.after).toMatchObject({
      name: 'audited',
      prefix: apiKey.prefix,
      expiresAt: apiKey.expiresAt.toISOString(),
    });
    expect(JSON.stringify(entry)).not.toContain(secret.slice(12));
    const trail = await org.admin.audit.list({ userId: org.adminId });
    expect(trail.items.some((item) => item.action === 'api_key.created')).toBe(true);
  });

  it('takes a future expiry and refuses a past one or an empty name', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000);
    const { apiKey } = await org.admin.apiKeys.create({ name: 'tomorrow', expiresAt });
    expect(apiKey.expiresAt?.getTime()).toBe(expiresAt.getTime());
    await expect(
      org.admin.apiKeys.create({ name: 'yesterday', expiresAt: new Date(Date.now() - 1000) }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('The expiry must be in the future'),
    });
    await expect(org.admin.apiKeys.create({ name: '   ' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('Enter a name for the key'),
    });
  });

  it(`holds at most ${maxUsableKeysPerUser} working keys per user; revoked ones do not count`, async () => {
    const { session } = await userWithKey();
    const made = [];
    for (let i = 1; i < maxUsableKeysPerUser; i += 1) made.push(await session.apiKeys.create({ name: `k${i}` }));
    await expect(session.apiKeys.create({ name: 'one too many' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: expect.stringContaining('revoke one you no longer use'),
    });
    await session.apiKeys.revoke({ id: made[0]?.apiKey.id ?? '' });
    await expect(session.apiKeys.create({ name: 'fits again' })).resolves.toMatchObject({
      apiKey: { status: 'active' },
    });
  });

  // Finding 5: a key that mints keys outlives its own expiry and revocation through its children.
  it('is refused with an API key, for every role, and writes nothing: keys come from a signed-in session', async () => {
    const { user, viaKey } = await userWithKey();
    const adminKey = callerWithKey(db, (await org.admin.apiKeys.create({ name: 'admin script' })).secret);
    for (const [caller, userId] of [
      [viaKey, user.id],
      [adminKey, org.adminId],
    ] as const) {
      const before = await db.selectFrom('apiKeys').select('id').where('userId', '=', userId).execute();
      const auditBefore = await auditCount();
      // With or without an expiry, even one sooner than the key's own.
      for (const input of [
        { name: 'minted by a script' },
        { name: 'short', expiresAt: new Date(Date.now() + 60_000) },
      ]) {
        await expect(caller.apiKeys.create(input)).rejects.toMatchObject({
          code: 'FORBIDDEN',
          message: expect.stringContaining('Not allowed with an API key: create keys while signed in'),
        });
      }
      expect(await db.selectFrom('apiKeys').select('id').where('userId', '=', userId).execute()).toEqual(before);
      expect(await auditCount()).toBe(auditBefore);
    }
  });

  it('gives every key an expiry: the longest allowed when none is asked, a later one refused on expiresAt', async () => {
    const dayMs = 86_400_000;
    const session = await sessionOf(db, org.adminId);
    const caller = createCaller(
      createContext({ db, sessionToken: session.token, apiKeys: { maxLifetimeMs: 30 * dayMs } }),
    );
    const started = Date.now();
    const { apiKey } = await caller.apiKeys.create({ name: 'no expiry asked' });
    expect(apiKey.expiresAt.getTime()).toBeGreaterThanOrEqual(started + 30 * dayMs);
    expect(apiKey.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 30 * dayMs);
    expect((await keyRow(apiKey.id)).expiresAt).toEqual(apiKey.expiresAt);
    // The default is 365 days.
    const yearly = await org.admin.apiKeys.create({ name: 'default maximum' });
    expect(yearly.apiKey.expiresAt.getTime()).toBeGreaterThanOrEqual(started + 365 * dayMs);
    expect(yearly.apiKey.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 365 * dayMs);

    const inside = new Date(Date.now() + 29 * dayMs);
    await expect(caller.apiKeys.create({ name: 'inside', expiresAt: inside })).resolves.toMatchObject({
      apiKey: { expiresAt: inside },
    });
    for (const expiresAt of [new Date(Date.now() + 31 * dayMs), new Date(8.64e15)]) {
      const error = await expectTRPCError(caller.apiKeys.create({ name: 'too long', expiresAt }), 'BAD_REQUEST');
      expect(error.message).toMatch(/^An API key works at most 30 days: choose \d{4}-\d{2}-\d{2} or earlier\.$/);
      expect(fieldErrorsOf(error)).toEqual({ expiresAt: [error.message] });
    }
  });
});

describe('Authorization: Bearer <key>', () => {
  it("acts as the key's user, with their role and organization", async () => {
    const { secret } = await org.admin.apiKeys.create({ name: 'admin script' });
    const viaKey = callerWithKey(db, secret);
    const plain = await org.addUser({ lastName: 'Searchable' });
    const elsewhere = await createTestOrg(db, 'Elsewhere');
    const stranger = await elsewhere.addUser();

    const found = await viaKey.users.search({ query: plain.email });
    expect(found.items.map((u) => u.id)).toEqual([plain.id]);
    await expect(viaKey.users.get({ id: stranger.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const created = await viaKey.users.create({
      accountId: org.defaultAccountId,
      email: `made-by-key-${Date.now()}@example.test`,
      firstName: 'Made',
      lastName: 'ByKey',
    });
    const audit = await org.admin.audit.list({ userId: created.id, action: 'user.created' });
    expect(audit.items[0]).toMatchObject({ action: 'user.created', actorId: org.adminId });
  });

  it("follows the user's role at every request", async () => {
    const { user, viaKey } = await userWithKey();
    await expect(viaKey.users.search({})).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'Not allowed: account management is for administrators.',
    });
    await org.admin.users.setRole({ id: user.id, role: 'admin' });
    await expect(viaKey.users.search({})).resolves.toHaveProperty('items');
    await org.admin.users.setRole({ id: user.id, role: 'user' });
    await expect(viaKey.accounts.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("auth.me answers the key's user; the session procedures refuse a key", async () => {
    const { user, viaKey, secret } = await userWithKey({ password: testPassword });
    await expect(viaKey.auth.me()).resolves.toMatchObject({ id: user.id, email: user.email });
    await expect(
      viaKey.auth.changePassword({ currentPassword: testPassword, newPassword: 'another long password' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('change your password in the console'),
    });

    const sessionsBefore = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
    const cookies = recordCookies();
    const withCookies = callerWithKey(db, secret, { cookies });
    await expect(withCookies.auth.login({ email: user.email, password: testPassword })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(withCookies.auth.logout()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(cookies.token).toBeNull();
    expect(cookies.cleared).toBe(false);
    const sessionsAfter = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
    expect(sessionsAfter).toEqual(sessionsBefore);
    // The password did not change: the old one still signs in.
    await expect(
      callerWithToken(db, null).auth.login({ email: user.email, password: testPassword }),
    ).resolves.toBeTruthy();
  });

  it('is the only credential when present: no fallback to the cookie or to anonymous', async () => {
    const { user, secret } = await userWithKey();
    const { token: adminToken } = await sessionOf(db, org.adminId);
    await expect(callerWithKey(db, secret, { sessionToken: adminToken }).auth.me()).resolves.toMatchObject({
      id: user.id,
    });
    const garbage = callerWithKey(db, 'not-a-key', { sessionToken: adminToken });
    await expect(garbage.auth.me()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'The API key is not valid.',
    });
    await expect(garbage.users.search({})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const basic = createCaller(createContext({ db, authorization: 'Basic dXNlcjpwYXNz', sessionToken: adminToken }));
    await expect(basic.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('records lastUsedAt, writing it at most once a minute', async () => {
    const { apiKey, viaKey } = await userWithKey();
    expect((await keyRow(apiKey.id)).lastUsedAt).toBeNull();
    await viaKey.auth.me();
    const first = (await keyRow(apiKey.id)).lastUsedAt;
    expect(first).toBeInstanceOf(Date);
    await viaKey.apiKeys.list();
    expect((await keyRow(apiKey.id)).lastUsedAt).toEqual(first);
    await db
      .updateTable('apiKeys')
      .set({ lastUsedAt: sql<Date>`now() - interval '2 minutes'` })
      .where('id', '=', apiKey.id)
      .execute();
    await viaKey.apiKeys.list();
    expect((await keyRow(apiKey.id)).lastUsedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('refused keys', () => {
  it('a revoked key fails on the next request, and the refusal is audited', async () => {
    const { apiKey, viaKey, session, user } = await userWithKey();
    await viaKey.auth.me();
    await session.apiKeys.revoke({ id: apiKey.id });
    await expect(viaKey.auth.me()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API key was revoked.',
    });
    const [entry] = await auditOf('api_key.refused', apiKey.id);
    expect(entry).toMatchObject({
      actorId: null,
      targetType: 'user',
      targetId: user.id,
      organizationId: org.organizationId,
    });
    expect(entry?.changes.after).toMatchObject({ reason: 'revoked', clientAddress: '127.0.0.1', userAgent: 'vitest' });
  });

  it('an expired key fails', async () => {
    const { apiKey, viaKey } = await userWithKey();
    await db
      .updateTable('apiKeys')
      .set({ expiresAt: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', apiKey.id)
      .execute();
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API key has expired.',
    });
    expect((await auditOf('api_key.refused', apiKey.id))[0]?.changes.after).toMatchObject({ reason: 'expired' });
    const listed = await org.admin.apiKeys.list({ userId: (await keyRow(apiKey.id)).userId ?? '' });
    expect(listed.items.find((k) => k.id === apiKey.id)?.status).toBe('expired');
  });

  it("a deactivated user's keys fail at once and are revoked for good: reactivation does not bring them back", async () => {
    const { user, viaKey, apiKey, session } = await userWithKey();
    const { apiKey: second } = await session.apiKeys.create({ name: 'second' });
    const { apiKey: gone } = await session.apiKeys.create({ name: 'revoked before' });
    await session.apiKeys.revoke({ id: gone.id });
    await viaKey.apiKeys.list();
    await org.admin.users.deactivate({ id: user.id });
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: "This API key's user is deactivated.",
    });
    expect((await auditOf('api_key.refused', apiKey.id))[0]?.changes.after).toMatchObject({
      reason: 'user_deactivated',
    });
    // Each working key revoked, audited in the same transaction as the deactivation.
    for (const key of [apiKey, second]) {
      expect((await keyRow(key.id)).revokedAt).not.toBeNull();
      const [entry] = await auditOf('api_key.revoked', key.id);
      expect(entry).toMatchObject({ actorId: org.adminId, targetId: user.id });
      expect(entry?.changes.after).toMatchObject({ reason: 'user_deactivated' });
    }
    expect(await auditOf('api_key.revoked', gone.id)).toHaveLength(1);

    await org.admin.users.reactivate({ id: user.id });
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API key was revoked.',
    });
    const listed = await org.admin.apiKeys.list({ userId: user.id, includeRevoked: true });
    expect(listed.items.map((k) => k.status)).toEqual(['revoked', 'revoked', 'revoked']);
  });

  it("a deleted user's key fails; the key stays, ownerless, so its use is still audited", async () => {
    const { user, viaKey, apiKey } = await userWithKey();
    await org.admin.users.delete({ id: user.id });
    await expect(viaKey.auth.me()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: "This API key's user no longer exists.",
    });
    expect((await keyRow(apiKey.id)).userId).toBeNull();
    const [entry] = await auditOf('api_key.refused', apiKey.id);
    expect(entry).toMatchObject({ targetType: 'api_key', targetId: apiKey.id, organizationId: org.organizationId });
    expect(entry?.changes.after).toMatchObject({ reason: 'user_deleted' });
    // An administrator can still end it for good.
    await expect(org.admin.apiKeys.revoke({ id: apiKey.id })).resolves.toMatchObject({ status: 'revoked' });
  });

  it('writes one audit row a minute per refused key, however often it is tried', async () => {
    const { apiKey, viaKey, session } = await userWithKey();
    await session.apiKeys.revoke({ id: apiKey.id });
    for (let i = 0; i < 3; i += 1) await expect(viaKey.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await auditOf('api_key.refused', apiKey.id)).toHaveLength(1);
    await db
      .updateTable('apiKeys')
      .set({ lastRefusedAt: sql<Date>`now() - interval '61 seconds'` })
      .where('id', '=', apiKey.id)
      .execute();
    await expect(viaKey.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await auditOf('api_key.refused', apiKey.id)).toHaveLength(2);
  });

  it('writes nothing for strings that are no key at all', async () => {
    const before = await auditCount();
    const wellFormedUnknown = `rk_abcdefgh_${'A'.repeat(43)}`;
    for (const token of [wellFormedUnknown, 'rk_short', '', 'x'.repeat(5000)]) {
      await expect(callerWithKey(db, token).users.search({})).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: 'The API key is not valid.',
      });
    }
    expect(await auditCount()).toBe(before);
  });
});

describe('apiKeys.list', () => {
  it("shows the caller's own keys, newest first, with their status; revoked ones on request", async () => {
    const { session, apiKey } = await userWithKey();
    const second = await session.apiKeys.create({ name: 'second' });
    await session.apiKeys.revoke({ id: apiKey.id });
    const listed = await session.apiKeys.list();
    expect(listed.items.map((k) => [k.name, k.status])).toEqual([['second', 'active']]);
    const all = await session.apiKeys.list({ includeRevoked: true });
    expect(all.items.map((k) => [k.id, k.status])).toEqual([
      [second.apiKey.id, 'active'],
      [apiKey.id, 'revoked'],
    ]);
  });

  it('pages with a cursor', async () => {
    const { session } = await userWithKey();
    await session.apiKeys.create({ name: 'b' });
    await session.apiKeys.create({ name: 'c' });
    const first = await session.apiKeys.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = await session.apiKeys.list({ limit: 2, cursor: first.nextCursor ?? undefined });
    expect(rest.items.map((k) => k.name)).toEqual(['script']);
    expect(rest.nextCursor).toBeNull();
    await expect(session.apiKeys.list({ cursor: 'garbage' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("lets an administrator list any user's keys of the organization", async () => {
    const { user, apiKey } = await userWithKey();
    const listed = await org.admin.apiKeys.list({ userId: user.id });
    expect(listed.items.map((k) => k.id)).toEqual([apiKey.id]);
    await expect(org.admin.apiKeys.list({ userId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('apiKeys.revoke', () => {
  it('ends a key for good, audited once; revoking again changes nothing', async () => {
    const { apiKey, session, user } = await userWithKey();
    const revoked = await session.apiKeys.revoke({ id: apiKey.id });
    expect(revoked).toMatchObject({ id: apiKey.id, status: 'revoked', revokedAt: expect.any(Date) });
    const again = await session.apiKeys.revoke({ id: apiKey.id });
    expect(again.revokedAt).toEqual(revoked.revokedAt);
    const entries = await auditOf('api_key.revoked', apiKey.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorId: user.id, targetId: user.id });
  });

  it("lets an administrator revoke a user's key, in that user's audit trail", async () => {
    const { apiKey, viaKey, user } = await userWithKey();
    await org.admin.apiKeys.revoke({ id: apiKey.id });
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const trail = await org.admin.audit.list({ userId: user.id });
    expect(trail.items.find((e) => e.action === 'api_key.revoked')).toMatchObject({
      actorId: org.adminId,
      targetId: user.id,
      targetLabel: user.email,
    });
  });

  it('lets a key revoke itself: the next request with it fails', async () => {
    const { apiKey, viaKey } = await userWithKey();
    await expect(viaKey.apiKeys.revoke({ id: apiKey.id })).resolves.toMatchObject({ status: 'revoked' });
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  // Finding 9: another user's key answered FORBIDDEN while a missing one was NOT_FOUND.
  it("answers a plain user the same for another user's key, another organization's and a missing one", async () => {
    const { session: mallory } = await userWithKey();
    const { apiKey: theirs, viaKey: theirKey } = await userWithKey();
    const adminKey = (await org.admin.apiKeys.create({ name: 'admin key' })).apiKey;
    const other = await createTestOrg(db, 'Elsewhere');
    const foreign = (await other.admin.apiKeys.create({ name: 'foreign' })).apiKey;
    const answers = [];
    for (const id of [theirs.id, adminKey.id, foreign.id, randomUUID()]) {
      const error = await expectTRPCError(mallory.apiKeys.revoke({ id }), 'NOT_FOUND');
      answers.push({ code: error.code, message: error.message });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ code: 'NOT_FOUND', message: 'No such API key.' });
    // Nothing happened to the keys.
    await expect(theirKey.apiKeys.list()).resolves.toHaveProperty('items');
    expect((await keyRow(adminKey.id)).revokedAt).toBeNull();
    expect(await auditOf('api_key.revoked', theirs.id)).toEqual([]);
  });

  it('refuses an id that is not a uuid', async () => {
    await expect(org.admin.apiKeys.revoke({ id: 'nope' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('who may do what', () => {
  type Caller = ReturnType<typeof callerWithKey>;
  type Outcome = 'ok' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND';
  const procedures = ['create', 'listOwn', 'listOther', 'revokeOther'] as const;
  // The other user's key is revoked by the admin column, so that column comes last.
  const expected: Record<string, Record<(typeof procedures)[number], Outcome>> = {
    anonymous: {
      create: 'UNAUTHORIZED',
      listOwn: 'UNAUTHORIZED',
      listOther: 'UNAUTHORIZED',
      revokeOther: 'UNAUTHORIZED',
    },
    deactivated: {
      create: 'UNAUTHORIZED',
      listOwn: 'UNAUTHORIZED',
      listOther: 'UNAUTHORIZED',
      revokeOther: 'UNAUTHORIZED',
    },
    user: { create: 'ok', listOwn: 'ok', listOther: 'FORBIDDEN', revokeOther: 'NOT_FOUND' },
    otherOrgAdmin: { create: 'ok', listOwn: 'ok', listOther: 'NOT_FOUND', revokeOther: 'NOT_FOUND' },
    admin: { create: 'ok', listOwn: 'ok', listOther: 'ok', revokeOther: 'ok' },
  };
  /** With a key, nobody creates keys (finding 5). */
  const expectedFor = (via: 'session' | 'apiKey') =>
    via === 'session'
      ? expected
      : Object.fromEntries(
          Object.entries(expected).map(([role, row]) => [
            role,
            { ...row, create: row.create === 'ok' ? 'FORBIDDEN' : row.create },
          ]),
        );

  async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
    try {
      await run();
      return 'ok';
    } catch (error) {
      return (error as { code: Outcome }).code;
    }
  }

  for (const via of ['session', 'apiKey'] as const) {
    it(`holds for every role, authenticated by ${via}`, async () => {
      const target = await userWithKey();
      const other = await createTestOrg(db, 'Other Org');
      const callers: Record<string, () => Promise<Caller>> = {
        anonymous: async () => callerWithToken(db, null),
        deactivated: async () => {
          const gone = await userWithKey();
          await org.admin.users.deactivate({ id: gone.user.id });
          return via === 'session' ? callerAs(db, gone.user.id) : gone.viaKey;
        },
        user: async () => {
          const plain = await userWithKey();
          return via === 'session' ? plain.session : plain.viaKey;
        },
        otherOrgAdmin: async () =>
          via === 'session' ? other.admin : callerWithKey(db, (await other.admin.apiKeys.create({ name: 'x' })).secret),
        admin: async () =>
          via === 'session' ? org.admin : callerWithKey(db, (await org.admin.apiKeys.create({ name: 'x' })).secret),
      };
      const seen: Record<string, Record<string, Outcome>> = {};
      for (const [role, make] of Object.entries(callers)) {
        const caller = await make();
        seen[role] = {
          create: await outcome(() => caller.apiKeys.create({ name: 'matrix' })),
          listOwn: await outcome(() => caller.apiKeys.list()),
          listOther: await outcome(() => caller.apiKeys.list({ userId: target.user.id })),
          revokeOther: await outcome(() => caller.apiKeys.revoke({ id: target.apiKey.id })),
        };
      }
      expect(seen).toEqual(expectedFor(via));
    });
  }
});

// Finding 5: a key created from a stolen session survived users.setPassword and users.endSessions.
describe('what ends keys, and what keys cannot do', () => {
  it('users.endSessions({ revokeApiKeys: true }) revokes every working key too, audited; without it keys stay', async () => {
    const { user, viaKey, apiKey, session } = await userWithKey();
    const { apiKey: expired } = await session.apiKeys.create({
      name: 'expiring',
      expiresAt: new Date(Date.now() + 60_000),
    });
    await db
      .updateTable('apiKeys')
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where('id', '=', expired.id)
      .execute();

    await expect(org.admin.users.endSessions({ id: user.id })).resolves.toEqual({ ended: 1, apiKeysRevoked: 0 });
    await expect(viaKey.apiKeys.list()).resolves.toHaveProperty('items');

    await callerAs(db, user.id);
    await expect(org.admin.users.endSessions({ id: user.id, revokeApiKeys: true })).resolves.toEqual({
      ended: 1,
      apiKeysRevoked: 1,
    });
    await expect(viaKey.apiKeys.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API key was revoked.',
    });
    const [revoked] = await auditOf('api_key.revoked', apiKey.id);
    expect(revoked).toMatchObject({ actorId: org.adminId, targetId: user.id });
    expect(revoked?.changes.after).toMatchObject({ reason: 'sessions_ended' });
    // An expired key stays expired: nothing to revoke, nothing written.
    expect((await keyRow(expired.id)).revokedAt).toBeNull();
    const ended = await db
      .selectFrom('auditLog')
      .select('changes')
      .where('action', '=', 'user.sessions_ended')
      .where('targetId', '=', user.id)
      .orderBy('createdAt', 'desc')
      .executeTakeFirstOrThrow();
    expect(ended.changes.after).toEqual({ ended: 1, apiKeysRevoked: 1 });
  });

  it('a key minted from a stolen session does not survive the owner ending sessions with revokeApiKeys', async () => {
    const victim = await org.addUser({ role: 'admin' });
    const stolen = await callerAs(db, victim.id);
    const { secret } = await stolen.apiKeys.create({ name: 'attacker' });
    const attacker = callerWithKey(db, secret);
    // The attacker's key cannot mint a longer-lived child, nor set the victim's password.
    await expect(attacker.apiKeys.create({ name: 'child' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(attacker.users.setPassword({ id: victim.id, password: 'attacker chosen' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    const victimSession = await callerAs(db, victim.id);
    await victimSession.users.endSessions({ id: victim.id, revokeApiKeys: true });
    await expect(attacker.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // The victim's own session stays.
    await expect(victimSession.auth.me()).resolves.toMatchObject({ id: victim.id });
  });

  it('an API key sets no password at all, another user’s included, and changes nothing', async () => {
    const admin = await org.addUser({ role: 'admin', canSignIn: true });
    const { caller: viaSession } = await sessionOf(db, admin.id);
    const viaKey = callerWithKey(db, (await viaSession.apiKeys.create({ name: 'admin script' })).secret);
    const other = await org.addUser({ canSignIn: true });
    const before = await db
      .selectFrom('users')
      .select(['passwordHash', 'version'])
      .where('id', '=', other.id)
      .executeTakeFirstOrThrow();
    const auditBefore = await auditCount();
    const error = await expectTRPCError(
      viaKey.users.setPassword({ id: other.id, password: 'taken over' }),
      'FORBIDDEN',
    );
    expect(error.message).toContain('Not allowed with an API key');
    expect(
      await db
        .selectFrom('users')
        .select(['passwordHash', 'version'])
        .where('id', '=', other.id)
        .executeTakeFirstOrThrow(),
    ).toEqual(before);
    expect(await auditCount()).toBe(auditBefore);
    // The same administrator, signed in, may.
    await expect(viaSession.users.setPassword({ id: other.id, password: 'set for them' })).resolves.toMatchObject({
      id: other.id,
    });
  });

  it('users.setPassword on oneself is refused with a session and with a key, and changes nothing', async () => {
    const admin = await org.addUser({ role: 'admin', canSignIn: true });
    const { token, caller: viaSession } = await sessionOf(db, admin.id);
    const viaKey = callerWithKey(db, (await viaSession.apiKeys.create({ name: 'admin script' })).secret);
    const before = await db
      .selectFrom('users')
      .select(['passwordHash', 'version'])
      .where('id', '=', admin.id)
      .executeTakeFirstOrThrow();
    const auditBefore = await auditCount();
    for (const caller of [viaSession, viaKey]) {
      const error = await expectTRPCError(
        caller.users.setPassword({ id: admin.id, password: 'my own new password' }),
        'PRECONDITION_FAILED',
      );
      expect(error.message).toContain('use auth.changePassword');
    }
    expect(
      await db
        .selectFrom('users')
        .select(['passwordHash', 'version'])
        .where('id', '=', admin.id)
        .executeTakeFirstOrThrow(),
    ).toEqual(before);
    expect(await auditCount()).toBe(auditBefore);
    // Still signed in: nothing was ended either.
    await expect(callerWithToken(db, token).auth.me()).resolves.toMatchObject({ id: admin.id });
    // And the key cannot change it the other way.
    await expect(
      viaKey.auth.changePassword({ currentPassword: testPassword, newPassword: 'my own new password' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Another user's password is still an administrator's to set.
    const other = await org.addUser();
    await expect(viaSession.users.setPassword({ id: other.id, password: 'set for them' })).resolves.toMatchObject({
      id: other.id,
    });
  });
});
