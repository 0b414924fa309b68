import { randomUUID } from 'node:crypto';
import { createTestOrg, type TestOrg, testDb } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { connectionTo, errorSchema, patchOp, userSchema } from './scim-helpers.js';

// The request sequences Okta's "SCIM 2.0 Spec Test" (its Runscope suite) and
// Microsoft Entra ID's provisioning (its SCIM tutorial and validator) send,
// replayed against the real server.

let app: Awaited<ReturnType<typeof buildTestApp>>;
let org: TestOrg;
let db: Kysely<Database>;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'SCIM Org');
  app = await buildTestApp(db);
});

afterAll(async () => {
  await app.close();
});

const id8 = () => randomUUID().slice(0, 8);

describe('Okta SCIM 2.0 test suite', () => {
  it('replays Okta: list, filter miss, create, get, filter hit (any case), duplicate 409, 404, deactivate, reactivate, PUT', async () => {
    const { scim } = await connectionTo(app, org);
    const userIdOne = `okta-${id8()}`;
    const userName = `${userIdOne}@atko.example`;

    // "Required Test: Test Users endpoint"
    const list = await scim('GET', '/Users?count=1&startIndex=1');
    expect(list.status).toBe(200);
    expect(list.headers['content-type']).toContain('application/scim+json');
    expect(list.json).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    // "Required Test: Get Users/{{id}}": a random userName finds nobody
    const miss = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}@atko.example"`)}`);
    expect(miss.status).toBe(200);
    expect(miss.json.totalResults).toBe(0);

    // "Required Test: Create Okta user with realistic values"
    const created = await scim('POST', '/Users', {
      schemas: [userSchema],
      userName,
      name: { givenName: userIdOne, familyName: 'Okta' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: `${userIdOne} Okta`,
      locale: 'en-US',
      externalId: `00u${id8()}`,
      groups: [],
      password: '1mz050nq',
      active: true,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ active: true, userName, name: { givenName: userIdOne, familyName: 'Okta' } });
    const id = created.json.id as string;
    expect(created.headers.etag).toBe('W/"1"');
    expect(created.headers.location).toContain(`/scim/v2/Users/${id}`);

    // "Required Test: Verify Okta can retrieve the user"
    const got = await scim('GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id, userName, active: true, meta: { resourceType: 'User' } });

    // "Required Test: Expect filter results" and the username case-sensitivity check
    for (const name of [userName, userName.toUpperCase()]) {
      const hit = await scim(
        'GET',
        `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}&startIndex=1&count=100`,
      );
      expect(hit.status).toBe(200);
      expect(hit.json.totalResults).toBe(1);
      expect(hit.json.Resources?.[0]?.id).toBe(id);
    }

    // "Required Test: Creating a user with an existing userName returns 409"
    const duplicate = await scim('POST', '/Users', {
      schemas: [userSchema],
      userName: userName.toUpperCase(),
      name: { givenName: 'Dup', familyName: 'Licate' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      active: true,
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ schemas: [errorSchema], status: '409', scimType: 'uniqueness' });

    // "Required Test: Fetch a user that does not exist" (Okta uses a non-UUID id)
    for (const missing of ['010101001010101', randomUUID()]) {
      const notFound = await scim('GET', `/Users/${missing}`);
      expect(notFound.status).toBe(404);
      expect(notFound.json).toMatchObject({ schemas: [errorSchema], status: '404' });
    }

    // Deactivate: Okta's pathless replace
    const deactivated = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(deactivated.status).toBe(200);
    expect(deactivated.json.active).toBe(false);
    const stillThere = await scim('GET', `/Users/${id}`);
    expect(stillThere.json.active).toBe(false);

    // Reactivate
    const reactivated = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    expect(reactivated.json.active).toBe(true);

    // Profile update by PUT (Okta sends the whole user)
    const put = await scim('PUT', `/Users/${id}`, {
      schemas: [userSchema],
      id,
      userName,
      name: { givenName: 'Renamed', familyName: 'Person' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      active: true,
      groups: [],
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      name: { givenName: 'Renamed', familyName: 'Person' },
      displayName: 'Renamed Person',
    });

    // Okta deprovisions by deactivating; a DELETE (as other clients send) is permanent.
    const deleted = await scim('DELETE', `/Users/${id}`);
    expect(deleted.status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).status).toBe(404);
    expect((await scim('DELETE', `/Users/${id}`)).status).toBe(404);
  });
});

describe('Microsoft Entra ID provisioning', () => {
  it('replays Entra ID: filter miss, create, filter by userName and externalId, PATCH with value filters, "False", pathless dotted keys, DELETE', async () => {
    const { scim } = await connectionTo(app, org);
    const externalId = randomUUID();
    const userName = `Test_User_${id8()}@testuser.example`;

    // Entra first looks the user up by its matching attribute.
    const miss = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(miss.json).toMatchObject({ totalResults: 0, Resources: [] });

    // POST /Users as in the tutorial (enterprise extension, roles, meta in the body).
    const created = await scim('POST', '/Users', {
      schemas: [userSchema, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      externalId,
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: userName }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Engineering' },
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect(created.json).toMatchObject({ externalId, userName: userName.toLowerCase(), active: true });

    // Duplicate create: 409 uniqueness
    const duplicate = await scim('POST', '/Users', {
      schemas: [userSchema],
      externalId: randomUUID(),
      userName,
      active: true,
      name: { familyName: 'x', givenName: 'y' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.scimType).toBe('uniqueness');

    // GET by id, filter by userName, filter by externalId (case-exact)
    expect((await scim('GET', `/Users/${id}`)).json.userName).toBe(userName.toLowerCase());
    const byUserName = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(byUserName.json.Resources?.map((r) => r.id)).toEqual([id]);
    const byExternalId = await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`);
    expect(byExternalId.json.Resources?.map((r) => r.id)).toEqual([id]);
    const wrongCase = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent(`externalId eq "${externalId.toUpperCase()}"`)}`,
    );
    expect(wrongCase.json.totalResults).toBe(0);

    // PATCH: "Replace" (capitalised) with a value filter in the path, and name.familyName
    const newEmail = `updated_${id8()}@testuser.example`;
    const patched = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: newEmail },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ userName: newEmail, name: { familyName: 'updatedFamilyName' } });

    // "Add" on an attribute that has a value, and externalId changes
    const added = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [
        { op: 'Add', path: 'name.givenName', value: 'Bar' },
        { op: 'Replace', path: 'externalId', value: `${externalId}-2` },
      ],
    });
    expect(added.json).toMatchObject({ name: { givenName: 'Bar' }, externalId: `${externalId}-2` });

    // Disable with the string "False" (Entra's older behaviour), as a path and pathless
    const disabled = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(disabled.status).toBe(200);
    expect(disabled.json.active).toBe(false);
    const filtered = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${newEmail}"`)}`);
    expect(filtered.json.Resources?.[0]?.active).toBe(false);

    // Pathless replace with dotted keys, and "True" to enable again
    const pathless = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [
        {
          op: 'replace',
          value: {
            active: 'True',
            'name.givenName': 'Dotted',
            'name.familyName': 'Keys',
            displayName: 'ignored: derived from the names',
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': '701984',
          },
        },
      ],
    });
    expect(pathless.status).toBe(200);
    expect(pathless.json).toMatchObject({ active: true, name: { givenName: 'Dotted', familyName: 'Keys' } });

    // A PATCH that changes nothing succeeds and writes nothing.
    const version = pathless.headers.etag;
    const noop = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', path: 'name.givenName', value: 'Dotted' }],
    });
    expect(noop.status).toBe(200);
    expect(noop.headers.etag).toBe(version);

    // DELETE, then 404 for GET, PATCH and DELETE
    expect((await scim('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).status).toBe(404);
    const patchGone = await scim('PATCH', `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(patchGone.status).toBe(404);
  });
});
