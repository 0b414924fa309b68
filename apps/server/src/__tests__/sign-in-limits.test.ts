import { createTestDatabase, createTestOrg, testDb, testPassword, testServerUrl, uniqueEmail } from '@roster/api/test';
import { createDb, type Database, migrateToLatest } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, uniqueRemoteAddress } from './helpers.js';

/**
 * Two server instances on one database, as two processes behind a load
 * balancer would be. On PostgreSQL each has its own connection pool to a
 * database of its own; PGlite lives in one process, so there they share it.
 */
let first: FastifyInstance;
let second: FastifyInstance;
let dbs: Kysely<Database>[] = [];

beforeAll(async () => {
  if (testServerUrl) {
    const url = await createTestDatabase(testServerUrl);
    dbs = [createDb({ url }).db, createDb({ url }).db];
    await migrateToLatest(dbs[0] as Kysely<Database>);
  } else {
    const shared = await testDb();
    dbs = [shared, shared];
  }
  first = await buildTestApp(dbs[0] as Kysely<Database>);
  second = await buildTestApp(dbs[1] as Kysely<Database>);
});

afterAll(async () => {
  await first.close();
  await second.close();
  if (testServerUrl) for (const db of dbs) await db.destroy();
});

const login = (app: FastifyInstance, email: string, password: string, remoteAddress: string) =>
  app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: { json: { email, password } },
  });

describe('sign-in limits over HTTP, across server instances', () => {
  it('counts failures of one address on every instance, then answers 429 with Retry-After', async () => {
    const org = await createTestOrg(dbs[0] as Kysely<Database>);
    const address = uniqueRemoteAddress();
    for (let i = 0; i < 20; i++) {
      const response = await login(i % 2 ? second : first, uniqueEmail('spray'), 'guess guess', address);
      expect(response.statusCode).toBe(401);
    }
    for (const app of [first, second]) {
      const refused = await login(app, org.adminEmail, testPassword, address);
      expect(refused.statusCode).toBe(429);
      const seconds = Number(refused.headers['retry-after']);
      expect(seconds).toBeGreaterThan(14 * 60);
      expect(seconds).toBeLessThanOrEqual(15 * 60);
      const error = refused.json().error.json;
      expect(error.data.code).toBe('TOO_MANY_REQUESTS');
      expect(error.message).toMatch(/Too many failed sign-ins from your network\. Try again in 1[45] minutes\./);
    }
    // Another address signs in on either instance.
    expect((await login(second, org.adminEmail, testPassword, uniqueRemoteAddress())).statusCode).toBe(200);
  });

  it('limits sign-ins per email, successful ones too, on every instance: 429 with Retry-After, known or not', async () => {
    const org = await createTestOrg(dbs[0] as Kysely<Database>);
    for (const [email, password] of [
      [org.adminEmail, testPassword],
      [uniqueEmail('nobody'), testPassword],
    ] as const) {
      for (let i = 0; i < 10; i++) {
        const response = await login(i % 2 ? second : first, email, password, uniqueRemoteAddress());
        expect(response.statusCode).toBe(email === org.adminEmail ? 200 : 401);
      }
      const refused = await login(first, email, password, uniqueRemoteAddress());
      expect(refused.statusCode).toBe(429);
      const seconds = Number(refused.headers['retry-after']);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(refused.json().error.json.message).toBe('Too many sign-ins with this email. Try again in a minute.');
    }
  });

  it('locks a user after 5 failures spread over both instances', async () => {
    const org = await createTestOrg(dbs[0] as Kysely<Database>);
    for (let i = 0; i < 5; i++) {
      const response = await login(i % 2 ? second : first, org.adminEmail, 'wrong guess', uniqueRemoteAddress());
      expect(response.statusCode).toBe(401);
    }
    const locked = await login(first, org.adminEmail, testPassword, uniqueRemoteAddress());
    expect(locked.statusCode).toBe(401);
    expect(locked.json().error.json.message).toBe('The email or password is incorrect.');
    expect(locked.headers['retry-after']).toBeUndefined();
  });
});
