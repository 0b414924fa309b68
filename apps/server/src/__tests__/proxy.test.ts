import { createTestOrg, type TestOrg, testDb, testPassword, uniqueEmail } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { buildTestApp, uniqueRemoteAddress } from './helpers.js';

/**
 * Finding 3 of the security review: with TRUST_PROXY=true the per-address
 * sign-in limit keyed on the left-most X-Forwarded-For value, which the client
 * writes itself, so rotating it gave unlimited guesses.
 */
let db: Kysely<Database>;
let org: TestOrg;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db);
});

/** A sign-in as sent by a proxy at `proxy` that appended the client's address to X-Forwarded-For. */
const login = (app: FastifyInstance, forwardedFor: string, proxy: string, password = 'wrong guess!') =>
  app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress: proxy,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    payload: { json: { email: uniqueEmail('rotating'), password } },
  });

const rightLogin = (app: FastifyInstance, forwardedFor: string, proxy: string) =>
  app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress: proxy,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    payload: { json: { email: org.adminEmail, password: testPassword } },
  });

/** 20 failures with a new left-most X-Forwarded-For each time, then the right password: refused. */
async function expectLimitHolds(app: FastifyInstance, client: string, proxy: string) {
  for (let i = 0; i < 20; i++) {
    const rotated = `203.0.113.${i + 1}, 198.51.100.${(i * 7) % 250}`;
    const response = await login(app, `${rotated}, ${client}`, proxy);
    expect(response.statusCode, `failure ${i + 1}`).toBe(401);
  }
  const refused = await rightLogin(app, `192.0.2.99, ${client}`, proxy);
  expect(refused.statusCode).toBe(429);
  expect(refused.json().error.json.data.code).toBe('TOO_MANY_REQUESTS');
  // Another client behind the same proxy is not held back by this one.
  expect((await rightLogin(app, `192.0.2.99, ${uniqueRemoteAddress()}`, proxy)).statusCode).toBe(200);
}

describe('the client address behind a reverse proxy', () => {
  it('TRUST_PROXY=1: rotating left-most X-Forwarded-For values still hits the sign-in limit after 20 failures', async () => {
    const app = await buildTestApp(db, { trustProxy: readEnv({ TRUST_PROXY: '1' }).TRUST_PROXY });
    try {
      await expectLimitHolds(app, uniqueRemoteAddress(), uniqueRemoteAddress());
    } finally {
      await app.close();
    }
  });

  it('TRUST_PROXY=<proxy addresses>: the right-most address not on the list is the client', async () => {
    const proxy = uniqueRemoteAddress();
    const app = await buildTestApp(db, {
      trustProxy: readEnv({ TRUST_PROXY: `10.9.8.7, ${proxy}/32` }).TRUST_PROXY,
    });
    try {
      await expectLimitHolds(app, uniqueRemoteAddress(), proxy);
      // A client that reaches the server directly (not from a listed proxy) is its socket
      // address, whatever it writes into X-Forwarded-For.
      const direct = uniqueRemoteAddress();
      for (let i = 0; i < 20; i++) {
        expect((await login(app, `203.0.113.${i + 1}`, direct)).statusCode).toBe(401);
      }
      expect((await rightLogin(app, '203.0.113.200', direct)).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });

  it('reads TRUST_PROXY as false, a number of hops or proxy addresses, and refuses true with a clear message', () => {
    expect(readEnv({}).TRUST_PROXY).toBe(false);
    expect(readEnv({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(readEnv({ TRUST_PROXY: '0' }).TRUST_PROXY).toBe(false);
    expect(readEnv({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(readEnv({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(readEnv({ TRUST_PROXY: '10.0.0.5, 10.0.0.0/8,fd00::/8 ,loopback' }).TRUST_PROXY).toEqual([
      '10.0.0.5',
      '10.0.0.0/8',
      'fd00::/8',
      'loopback',
    ]);
    expect(readEnv({ TRUST_PROXY: '10.0.0.0/255.0.0.0' }).TRUST_PROXY).toEqual(['10.0.0.0/255.0.0.0']);
    expect(() => readEnv({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: .*Behind one reverse proxy set TRUST_PROXY=1/);
    expect(() => readEnv({ TRUST_PROXY: 'TRUE' })).toThrow(/TRUST_PROXY=1/);
    for (const bad of ['yes', '-1', '1.5', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/8', 'proxy.example.com', ',']) {
      expect(() => readEnv({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
  });
});
