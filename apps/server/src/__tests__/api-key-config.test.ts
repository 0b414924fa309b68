import { createTestOrg, testDb } from '@roster/api/test';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { buildTestApp, signInCookie } from './helpers.js';

const dayMs = 86_400_000;

describe('API_KEY_MAX_DAYS', () => {
  it('is read from the environment (default 365), positive', () => {
    expect(readEnv({}).API_KEY_MAX_DAYS).toBe(365);
    expect(readEnv({ API_KEY_MAX_DAYS: '30' }).API_KEY_MAX_DAYS).toBe(30);
    expect(() => readEnv({ API_KEY_MAX_DAYS: '0' })).toThrow(/API_KEY_MAX_DAYS/);
  });

  it('bounds keys created over HTTP: no expiry gets the longest, a later one is BAD_REQUEST on expiresAt', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const app = await buildTestApp(db, { apiKeys: { maxLifetimeMs: 7 * dayMs } });
    try {
      const cookie = await signInCookie(app, org.adminEmail);
      const create = (input: Record<string, unknown>) =>
        app.inject({
          method: 'POST',
          url: '/trpc/apiKeys.create',
          headers: { cookie, 'content-type': 'application/json' },
          payload: JSON.stringify({
            json: input,
            meta: input.expiresAt ? { values: { expiresAt: ['Date'] } } : undefined,
          }),
        });
      const started = Date.now();
      const plain = await create({ name: 'default expiry' });
      expect(plain.statusCode).toBe(200);
      const expiresAt = new Date(plain.json().result.data.json.apiKey.expiresAt).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(started + 7 * dayMs - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * dayMs + 1_000);

      const tooLate = await create({ name: 'too late', expiresAt: new Date(Date.now() + 8 * dayMs).toISOString() });
      expect(tooLate.statusCode).toBe(400);
      const error = tooLate.json().error.json;
      expect(error.data.fieldErrors.expiresAt[0]).toMatch(/at most 7 days/);
    } finally {
      await app.close();
    }
  });
});
