import { createTestOrg, type TestOrg, testDb } from '@roster/api/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';

let app: Awaited<ReturnType<typeof buildTestApp>>;
let org: TestOrg;

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db, 'Bearer Org');
  app = await buildTestApp(db);
});

afterAll(async () => {
  await app.close();
});

const me = (authorization: string) => app.inject({ url: '/trpc/auth.me', headers: { authorization } });

describe('Authorization header', () => {
  it("authenticates a request with `Bearer <API key>` as the key's user, setting no cookie", async () => {
    const { secret } = await org.admin.apiKeys.create({ name: 'http' });
    const response = await me(`Bearer ${secret}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().result.data.json).toMatchObject({ id: org.adminId, email: org.adminEmail });
    expect(response.headers['set-cookie']).toBeUndefined();
    const lowerCase = await me(`bearer ${secret}`);
    expect(lowerCase.statusCode).toBe(200);
  });

  it('answers 401 with a readable message for anything that is not a live key', async () => {
    for (const header of ['Bearer nope', 'Basic dXNlcjpwYXNz', 'Bearer ']) {
      const response = await me(header);
      expect(response.statusCode, header).toBe(401);
      expect(response.json().error.json.message).toBe('The API key is not valid.');
    }
  });
});
