import { randomUUID } from 'node:crypto';
import { ConnectionRateLimiter } from '@roster/api';
import { createTestOrg, testDb } from '@roster/api/test';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { defaultScimRequestsPerSecond } from '../scim-route.js';
import { buildTestApp } from './helpers.js';
import { connectionTo, errorSchema, userSchema } from './scim-helpers.js';

describe('SCIM_RATE_LIMIT', () => {
  it('is read from the environment: 100 a second unless set, 0 for no limit, never negative', () => {
    expect(readEnv({}).SCIM_RATE_LIMIT).toBe(defaultScimRequestsPerSecond);
    expect(defaultScimRequestsPerSecond).toBe(100);
    expect(readEnv({ SCIM_RATE_LIMIT: '25' }).SCIM_RATE_LIMIT).toBe(25);
    expect(readEnv({ SCIM_RATE_LIMIT: '0' }).SCIM_RATE_LIMIT).toBe(0);
    expect(() => readEnv({ SCIM_RATE_LIMIT: '-1' })).toThrow(/SCIM_RATE_LIMIT/);
    expect(() => readEnv({ SCIM_RATE_LIMIT: 'lots' })).toThrow(/SCIM_RATE_LIMIT/);
  });
});

describe('a connection’s token bucket', () => {
  it('grants a burst, then refills at the rate, per connection, and says how long to wait', () => {
    let now = 0;
    const limiter = new ConnectionRateLimiter({ perSecond: 2, burst: 4 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
    now = 500; // half a second: one token back
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    now = 60_000; // a long pause refills to the burst, not beyond
    expect(Array.from({ length: 5 }, () => limiter.take('a'))).toEqual([0, 0, 0, 0, 1]);
  });

  it('tells a slow rate’s client to wait whole seconds until its next token', () => {
    let now = 0;
    const limiter = new ConnectionRateLimiter({ perSecond: 0.25, burst: 1 }, () => now);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(4);
    now = 3_000;
    expect(limiter.take('a')).toBe(1);
    now = 4_000;
    expect(limiter.take('a')).toBe(0);
  });

  it('refuses a setting that would refuse everything', () => {
    expect(() => new ConnectionRateLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new ConnectionRateLimiter({ perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('SCIM requests a second, per connection', () => {
  it('answers 429 with Retry-After past the burst, changes nothing for refused requests, spares other connections', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'SCIM Rate Org');
    // 2 a second, bursts of 4.
    const app = await buildTestApp(db, { scimRequestsPerSecond: 2 });
    try {
      const { scim, accountId } = await connectionTo(app, org);
      const other = await connectionTo(app, org);
      const started = performance.now();
      const created = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          scim('POST', '/Users', {
            schemas: [userSchema],
            userName: `rate-${i}-${randomUUID().slice(0, 6)}@scim.example`,
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const statuses = created.map((r) => r.status);
      const admitted = statuses.filter((s) => s === 201).length;
      // The burst, plus what the bucket refilled while the requests were being answered (a busy machine is slow).
      expect(admitted).toBeGreaterThanOrEqual(4);
      expect(admitted).toBeLessThanOrEqual(4 + Math.ceil(seconds * 2));
      expect(admitted).toBeLessThan(16);
      expect(statuses.filter((s) => s === 429)).toHaveLength(16 - admitted);
      const refused = created.find((r) => r.status === 429);
      expect(refused?.json).toMatchObject({ schemas: [errorSchema], status: '429' });
      expect(String(refused?.json.detail)).toMatch(/more than 2 requests a second/);
      expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused?.headers['content-type']).toMatch(/application\/scim\+json/);

      // A refused request created nobody.
      const inAccount = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('accountId', '=', accountId)
        .executeTakeFirstOrThrow();
      expect(Number(inAccount.n)).toBe(admitted);

      // Another connection has a bucket of its own.
      expect((await other.scim('GET', '/Users')).status).toBe(200);

      // The bucket refills at the rate: two seconds later, four more go through.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const later = await Promise.all(Array.from({ length: 4 }, () => scim('GET', '/Users?count=1')));
      expect(later.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    } finally {
      await app.close();
    }
  });

  it('limits nobody when set to 0: 360 requests in quick rounds, past the default burst of 200, all answered', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'SCIM Unlimited Org');
    const app = await buildTestApp(db, { scimRequestsPerSecond: 0 });
    try {
      const { scim } = await connectionTo(app, org);
      for (let round = 0; round < 12; round++) {
        const responses = await Promise.all(Array.from({ length: 30 }, () => scim('GET', '/Users?count=1')));
        expect(responses.every((r) => r.status === 200)).toBe(true);
      }
    } finally {
      await app.close();
    }
  });
});
