import { randomUUID } from 'node:crypto';
import { auditRowsOf, createTestOrg, type TestOrg, testDb } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { connectionTo, errorSchema, patchOp, type ScimClient, userSchema } from './scim-helpers.js';

let app: Awaited<ReturnType<typeof buildTestApp>>;
let org: TestOrg;
let db: Kysely<Database>;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'SCIM Endpoint Org');
  app = await buildTestApp(db);
});

afterAll(async () => {
  await app.close();
});

const newUser = (label: string, extra: Record<string, unknown> = {}) => ({
  schemas: [userSchema],
  userName: `${label}-${randomUUID().slice(0, 8)}@scim.example`,
  name: { givenName: label, familyName: 'Tester' },
  active: true,
  ...extra,
});

async function create(scim: ScimClient, label: string, extra: Record<string, unknown> = {}) {
  const response = await scim('POST', '/Users', newUser(label, extra));
  expect(response.status, response.text).toBe(201);
  return response.json as { id: string; userName: string; meta: { version: string } };
}

const filterUrl = (filter: string, rest = '') => `/Users?filter=${encodeURIComponent(filter)}${rest}`;

describe('SCIM authentication', () => {
  it('answers 401 in the SCIM error format for a missing, malformed, unknown or revoked token', async () => {
    const { scim, connection, token } = await connectionTo(app, org);
    expect((await scim('GET', '/Users')).status).toBe(200);
    for (const authorization of ['', 'Bearer nope', `Basic ${token}`, `Bearer ${token}x`]) {
      const response = await app.inject({ url: '/scim/v2/Users', headers: authorization ? { authorization } : {} });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.json()).toMatchObject({ schemas: [errorSchema], status: '401' });
      expect(response.headers['www-authenticate']).toContain('Bearer');
    }
    await org.admin.scim.connections.revoke({ id: connection.id });
    const revoked = await scim('GET', '/Users');
    expect(revoked.status).toBe(401);
    const listed = await org.admin.scim.connections.list();
    expect(listed.find((c) => c.id === connection.id)).toMatchObject({ status: 'revoked' });
    expect(listed.find((c) => c.id === connection.id)?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('audits creating and revoking a connection, and names the connection as the actor of what it does', async () => {
    const { scim, connection } = await connectionTo(app, org);
    const user = await create(scim, 'audited');
    await scim('PATCH', `/Users/${user.id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    await org.admin.scim.connections.revoke({ id: connection.id });
    const rows = await auditRowsOf(db, org.organizationId);
    const actions = rows.filter((r) => r.targetId === user.id || r.changes.after?.scimConnectionId === connection.id);
    expect(actions.map((r) => r.action)).toEqual([
      'scim_connection.created',
      'user.created',
      // Created without a password: invited by email, with the connection as the inviter.
      'user.invited',
      'user.deactivated',
      'scim_connection.revoked',
    ]);
    const byConnection = actions.filter((r) => r.action.startsWith('user.'));
    for (const row of byConnection) {
      expect(row.actorId).toBeNull();
      expect(row.actorEmail).toBe(`SCIM: Test IdP (${connection.prefix})`);
    }
    const stored = await db.selectFrom('users').select('scimConnectionId').where('id', '=', user.id).executeTakeFirst();
    expect(stored?.scimConnectionId).toBe(connection.id);
    // The console shows it in the user's details.
    expect(await org.admin.scim.connections.get({ userId: user.id })).toMatchObject({
      id: connection.id,
      name: 'Test IdP',
      status: 'revoked',
    });
    expect(await org.admin.scim.connections.get({ userId: org.adminId })).toBeNull();
  });
});

describe('SCIM scope and rules', () => {
  it("sees and changes only its own account's users", async () => {
    const a = await connectionTo(app, org);
    const b = await connectionTo(app, org);
    const mine = await create(a.scim, 'mine');
    const theirs = await create(b.scim, 'theirs');
    const listed = await a.scim('GET', '/Users');
    expect(listed.json.Resources?.map((r) => r.id)).toEqual([mine.id]);
    expect((await a.scim('GET', `/Users/${theirs.id}`)).status).toBe(404);
    expect((await a.scim('DELETE', `/Users/${theirs.id}`)).status).toBe(404);
    const patch = await a.scim('PATCH', `/Users/${theirs.id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(patch.status).toBe(404);
    const filtered = await a.scim('GET', filterUrl(`userName eq "${theirs.userName}"`));
    expect(filtered.json.totalResults).toBe(0);
    expect((await b.scim('GET', `/Users/${theirs.id}`)).json.active).toBe(true);
  });

  it('never changes or deletes an account administrator or an auditor of its account either', async () => {
    const account = await org.addAccount();
    const { scim } = await connectionTo(app, org, account.id);
    for (const role of ['account_admin', 'auditor'] as const) {
      const user = await org.addUser({ accountId: account.id, role });
      for (const [method, body] of [
        ['PATCH', { schemas: [patchOp], Operations: [{ op: 'replace', path: 'active', value: false }] }],
        ['PUT', { schemas: [userSchema], userName: user.email, name: { givenName: 'X', familyName: 'Y' } }],
        ['DELETE', undefined],
      ] as const) {
        const response = await scim(method, `/Users/${user.id}`, body);
        expect(response.status, `${role} ${method}`).toBe(403);
        expect(response.json.detail).toContain('managed in the Roster console');
      }
      expect(await org.admin.users.get({ id: user.id })).toMatchObject({
        active: true,
        role,
        firstName: user.firstName,
      });
    }
  });

  it('never changes or deletes an administrator: a 403 says they are managed in the console', async () => {
    const { scim } = await connectionTo(app, org, org.defaultAccountId);
    const got = await scim('GET', `/Users/${org.adminId}`);
    expect(got.status).toBe(200);
    for (const [method, body] of [
      ['PATCH', { schemas: [patchOp], Operations: [{ op: 'replace', path: 'active', value: false }] }],
      ['PUT', { schemas: [userSchema], userName: org.adminEmail, name: { givenName: 'X', familyName: 'Y' } }],
      ['DELETE', undefined],
    ] as const) {
      const response = await scim(method, `/Users/${org.adminId}`, body);
      expect(response.status, method).toBe(403);
      expect(response.json.detail).toContain('managed in the Roster console');
    }
    const after = await scim('GET', `/Users/${org.adminId}`);
    expect(after.json).toMatchObject({
      active: true,
      meta: { version: got.json.meta && (got.json.meta as { version: string }).version },
    });
  });

  it('If-Match with a stale version is 412 and changes nothing; the current one or * goes through', async () => {
    const { scim } = await connectionTo(app, org);
    const user = await create(scim, 'etag');
    expect(user.meta.version).toBe('W/"1"');
    const renamed = await scim(
      'PATCH',
      `/Users/${user.id}`,
      { schemas: [patchOp], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Second' }] },
      { 'if-match': 'W/"1"' },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.headers.etag).toBe('W/"2"');
    for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
      const body =
        method === 'PATCH'
          ? { schemas: [patchOp], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Stale' }] }
          : method === 'PUT'
            ? { ...newUser('stale'), userName: user.userName }
            : undefined;
      const stale = await scim(method, `/Users/${user.id}`, body, { 'if-match': 'W/"1"' });
      expect(stale.status, method).toBe(412);
      expect(stale.json).toMatchObject({ schemas: [errorSchema], status: '412' });
    }
    const current = await scim('GET', `/Users/${user.id}`);
    expect(current.json).toMatchObject({ name: { givenName: 'Second' }, meta: { version: 'W/"2"' } });
    expect((await scim('DELETE', `/Users/${user.id}`, undefined, { 'if-match': '*' })).status).toBe(204);
  });

  it('POST with active false creates a deactivated user; a taken externalId is 409 uniqueness', async () => {
    const { scim } = await connectionTo(app, org);
    const externalId = randomUUID();
    const user = await create(scim, 'inactive', { active: false, externalId });
    const got = await scim('GET', `/Users/${user.id}`);
    expect(got.json).toMatchObject({ active: false, externalId });
    const clash = await scim('POST', '/Users', newUser('clash', { externalId }));
    expect(clash.status).toBe(409);
    expect(clash.json.scimType).toBe('uniqueness');
  });
});

describe('SCIM lists', () => {
  it('pages by startIndex/count and by cursor (RFC 9865), with totalResults', async () => {
    const { scim } = await connectionTo(app, org);
    const ids = [];
    for (let i = 0; i < 7; i += 1) ids.push((await create(scim, `page${i}`)).userName);
    const sorted = [...ids].sort();
    const page2 = await scim('GET', '/Users?startIndex=3&count=2');
    expect(page2.json).toMatchObject({ totalResults: 7, startIndex: 3, itemsPerPage: 2 });
    expect(page2.json.Resources?.map((r) => r.userName)).toEqual(sorted.slice(2, 4));

    const walked: string[] = [];
    let cursor = '';
    for (let guard = 0; guard < 10; guard += 1) {
      const page = await scim('GET', `/Users?count=3&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      expect(page.json.totalResults).toBe(7);
      walked.push(...(page.json.Resources ?? []).map((r) => r.userName as string));
      if (!page.json.nextCursor) break;
      cursor = page.json.nextCursor as string;
    }
    expect(walked).toEqual(sorted);

    const bad = await scim('GET', '/Users?cursor=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(bad.json.scimType).toBe('invalidCursor');
    const capped = await scim('GET', '/Users?count=5000');
    expect(capped.status).toBe(200);
    const countOnly = await scim('GET', '/Users?count=0');
    expect(countOnly.json).toMatchObject({ totalResults: 7, itemsPerPage: 0, Resources: [] });
  });

  it('filters with every operator, logic, value paths and case-insensitive names; honours attributes', async () => {
    const { scim } = await connectionTo(app, org);
    const ada = await create(scim, 'ada', {
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      externalId: 'EXT-ada',
    });
    const bob = await create(scim, 'bob', { name: { givenName: 'Bob', familyName: 'Babbage' }, active: false });
    const ids = async (filter: string) => {
      const response = await scim('GET', filterUrl(filter));
      expect(response.status, `${filter}: ${response.text}`).toBe(200);
      return (response.json.Resources ?? []).map((r) => r.id).sort();
    };
    const both = [ada.id, bob.id].sort();
    expect(await ids(`userName eq "${ada.userName.toUpperCase()}"`)).toEqual([ada.id]);
    expect(await ids(`USERNAME Eq "${ada.userName}"`)).toEqual([ada.id]);
    expect(await ids(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "${ada.userName}"`)).toEqual([ada.id]);
    expect(await ids('userName sw "ADA-"')).toEqual([ada.id]);
    expect(await ids('userName ew "@scim.example"')).toEqual(both);
    expect(await ids('name.familyName co "ovel"')).toEqual([ada.id]);
    expect(await ids('name.givenName ne "ada"')).toEqual([bob.id]);
    expect(await ids('externalId eq "EXT-ada"')).toEqual([ada.id]);
    expect(await ids('externalId eq "ext-ada"')).toEqual([]);
    expect(await ids('externalId pr')).toEqual([ada.id]);
    expect(await ids('not (externalId pr)')).toEqual([bob.id]);
    // A comparison with an absent attribute is false, so its negation is true (not SQL's unknown).
    expect(await ids('not (externalId eq "EXT-ada")')).toEqual([bob.id]);
    expect(await ids('not (externalId sw "EXT" or active eq true)')).toEqual([bob.id]);
    expect(await ids(`id eq "${bob.id}"`)).toEqual([bob.id]);
    expect(await ids('id eq "not-a-uuid"')).toEqual([]);
    expect(await ids('active eq false')).toEqual([bob.id]);
    expect(await ids('active eq true and name.givenName sw "a"')).toEqual([ada.id]);
    expect(await ids('(active eq false) or (externalId eq "EXT-ada")')).toEqual(both);
    expect(await ids(`emails[type eq "work" and value eq "${bob.userName}"]`)).toEqual([bob.id]);
    expect(await ids(`emails.value eq "${bob.userName}"`)).toEqual([bob.id]);
    expect(await ids('emails[type eq "home"]')).toEqual([]);
    expect(await ids('displayName eq "ada lovelace"')).toEqual([ada.id]);
    expect(await ids('meta.created gt "2000-01-01T00:00:00Z"')).toEqual(both);
    expect(await ids('meta.lastModified lt "2000-01-01T00:00:00Z"')).toEqual([]);
    expect(await ids('userName co "50%_"')).toEqual([]);

    for (const bad of [
      'userName eq',
      'nickName eq "x"',
      'active eq "maybe"',
      'meta.created gt "yesterday"',
      '(',
      'userName xx "a"',
    ]) {
      const response = await scim('GET', filterUrl(bad));
      expect(response.status, bad).toBe(400);
      expect(response.json.scimType, bad).toBe('invalidFilter');
    }

    const only = await scim('GET', `/Users/${ada.id}?attributes=userName,name.givenName`);
    expect(Object.keys(only.json).sort()).toEqual(['id', 'meta', 'name', 'schemas', 'userName']);
    expect(only.json.name).toEqual({ givenName: 'Ada' });
    const without = await scim('GET', filterUrl(`id eq "${ada.id}"`, '&excludedAttributes=emails,name'));
    expect(Object.keys(without.json.Resources?.[0] ?? {})).not.toContain('emails');
    expect(Object.keys(without.json.Resources?.[0] ?? {})).not.toContain('name');
  });
});

describe('SCIM discovery and HTTP', () => {
  it('states what is supported in ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const { scim } = await connectionTo(app, org);
    const config = await scim('GET', '/ServiceProviderConfig');
    expect(config.json).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      pagination: { cursor: true, index: true },
    });
    const types = await scim('GET', '/ResourceTypes');
    expect(types.json.Resources?.map((r) => r.id)).toEqual(['User']);
    const schemas = await scim('GET', '/Schemas');
    expect(schemas.json.Resources?.map((r) => r.id)).toEqual([userSchema]);
    expect((await scim('GET', `/Schemas/${userSchema}`)).status).toBe(200);
    expect((await scim('GET', '/Groups')).status).toBe(501);
  });

  it('accepts application/json, refuses bad bodies with SCIM 400s, a huge body with 413 and other media types with 415', async () => {
    const { scim, token } = await connectionTo(app, org);
    const asJson = await scim('POST', '/Users', newUser('json'), { 'content-type': 'application/json' });
    expect(asJson.status).toBe(201);
    const broken = await scim('POST', '/Users', '{"userName": ');
    expect(broken.status).toBe(400);
    expect(broken.json).toMatchObject({ schemas: [errorSchema], scimType: 'invalidSyntax' });
    const noUserName = await scim('POST', '/Users', { schemas: [userSchema] });
    expect(noUserName.json).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const notEmail = await scim('POST', '/Users', { schemas: [userSchema], userName: 'not-an-email' });
    expect(notEmail.json).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const huge = await scim('POST', '/Users', { ...newUser('huge'), padding: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.json.schemas).toEqual([errorSchema]);
    const text = await app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      payload: 'userName=x',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().schemas).toEqual([errorSchema]);
    const noOps = await scim('PATCH', `/Users/${randomUUID()}`, { schemas: [patchOp] });
    expect([400, 404]).toContain(noOps.status);
  });
});

describe('SCIM limits', () => {
  it('answers 429 with Retry-After beyond 32 requests of one connection at once, and serves the others', async () => {
    const { scim } = await connectionTo(app, org);
    const other = await connectionTo(app, org);
    const responses = await Promise.all(
      Array.from({ length: 60 }, () => scim('GET', filterUrl('userName sw "a" or name.familyName co "x"'))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    // All 60 are sent at once, and each holds its place while it waits for the database.
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(32);
    expect(limited[0]?.json).toMatchObject({ schemas: [errorSchema], status: '429' });
    expect(limited[0]?.headers['retry-after']).toBe('1');
    expect((await other.scim('GET', '/Users')).status).toBe(200);
    expect((await scim('GET', '/Users')).status).toBe(200);
  });
});
