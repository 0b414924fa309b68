import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createTestOrg, type TestOrg, testDb, testPassword } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../app.js';
import { readEnv } from '../env.js';
import { createMetrics, type Metrics, serveMetrics } from '../metrics.js';
import { procedureOf, requestIdOf } from '../request-log.js';
import { buildTestApp, queryUrl, uniqueRemoteAddress } from './helpers.js';

const metricsToken = 'metrics-token-for-tests-0123456789';

/** Prometheus text format → samples: `name{labels}` → value (a small parser: the format is line-based). */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

const sample = (samples: Map<string, number>, name: string, labels: Record<string, string> = {}) => {
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`) && key !== name) continue;
    if (Object.entries(labels).every(([label, v]) => key.includes(`${label}="${v}"`))) return value;
  }
  return undefined;
};

let db: Kysely<Database>;
let org: TestOrg;
let app: FastifyInstance;
let metrics: Metrics;
const log: string[] = [];

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Observability Org');
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean)));
  metrics = createMetrics({ db, pool: () => ({ total: 4, idle: 3, waiting: 0 }), version: '9.9.9-test' });
  app = await buildTestApp(db, { metrics, metricsToken, logLevel: 'info', logStream: stream });
});

afterAll(async () => {
  await app.close();
  metrics.close();
});

async function signIn(email: string, password: string) {
  return app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress: uniqueRemoteAddress(),
    headers: { 'content-type': 'application/json' },
    payload: { json: { email, password } },
  });
}

async function scrape(): Promise<Map<string, number>> {
  const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(response.headers['cache-control']).toBe('no-store');
  return parseMetrics(response.body);
}

describe('/metrics', () => {
  it('counts requests by procedure and status, sign-ins by outcome, hashing, the pool, sessions and the build', async () => {
    const wrong = await signIn(org.adminEmail, 'not the password at all');
    expect(wrong.statusCode).toBe(401);
    const ok = await signIn(org.adminEmail, testPassword);
    expect(ok.statusCode).toBe(200);
    const cookie = `${sessionCookieName}=${ok.cookies.find((c) => c.name === sessionCookieName)?.value}`;
    for (let i = 0; i < 3; i++) {
      const search = await app.inject({ url: queryUrl('users.search', { query: 'a' }), headers: { cookie } });
      expect(search.statusCode).toBe(200);
    }
    const refused = await app.inject({ url: queryUrl('users.search', {}) });
    expect(refused.statusCode).toBe(401);

    const samples = await scrape();
    expect(sample(samples, 'roster_request_duration_seconds_count', { procedure: 'users.search', status: '200' })).toBe(
      3,
    );
    expect(sample(samples, 'roster_request_duration_seconds_count', { procedure: 'users.search', status: '401' })).toBe(
      1,
    );
    expect(
      sample(samples, 'roster_request_duration_seconds_bucket', { procedure: 'users.search', le: '+Inf' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(samples, 'roster_sign_ins_total', { outcome: 'success' })).toBe(1);
    expect(sample(samples, 'roster_sign_ins_total', { outcome: 'SIGN_IN_FAILED' })).toBe(1);
    expect(
      sample(samples, 'roster_password_hash_seconds_count', { lane: 'check', phase: 'run' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(samples, 'roster_password_hash_queue_length')).toBe(0);
    // The scrape itself is in flight while it is counted.
    expect(sample(samples, 'roster_requests_in_flight')).toBe(1);
    expect(sample(samples, 'roster_db_pool_connections', { state: 'total' })).toBe(4);
    expect(sample(samples, 'roster_db_pool_connections', { state: 'idle' })).toBe(3);
    expect(sample(samples, 'roster_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(sample(samples, 'roster_sessions_live')).toBeGreaterThanOrEqual(1);
    expect(sample(samples, 'roster_statement_timeouts_total')).toBe(0);
    expect(sample(samples, 'roster_build_info', { version: '9.9.9-test', node: process.version })).toBe(1);
    expect(sample(samples, 'roster_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('labels unknown procedure names as unknown, so nobody can grow the label set', async () => {
    for (const name of ['nope.one', 'nope.two', 'users.search,nope.three']) {
      await app.inject({ url: `/trpc/${name}` });
    }
    const samples = await scrape();
    expect(sample(samples, 'roster_request_duration_seconds_count', { procedure: 'unknown' })).toBe(3);
    expect([...samples.keys()].some((key) => key.includes('nope'))).toBe(false);
  });

  it('refuses a scrape without the token, or with another, in constant form', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${metricsToken}x`, metricsToken]) {
      const response = await app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      expect(response.statusCode).toBe(401);
      expect(response.body).not.toContain('roster_');
    }
  });

  it('is not served on the main port without METRICS_TOKEN', async () => {
    const plain = await buildTestApp(db);
    try {
      const response = await plain.inject({ url: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('roster_');
    } finally {
      await plain.close();
    }
  });

  it('is served alone on METRICS_PORT: /metrics and nothing else', async () => {
    const server = await serveMetrics(metrics, '127.0.0.1', 0);
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(parseMetrics(await response.text()).size).toBeGreaterThan(20);
      expect((await fetch(`http://127.0.0.1:${port}/trpc/auth.me`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('the request log', () => {
  it('writes one JSON line per request, with its id, procedure, status, duration and caller, and never a secret', async () => {
    const newPassword = 'a brand new password for Dora 42';
    const before = log.length;
    const ok = await signIn(org.adminEmail, testPassword);
    const token = ok.cookies.find((c) => c.name === sessionCookieName)?.value ?? '';
    expect(token.length).toBeGreaterThan(20);
    const cookie = `${sessionCookieName}=${token}`;
    const json = { cookie, 'content-type': 'application/json' };
    const key = await app.inject({
      method: 'POST',
      url: '/trpc/apiKeys.create',
      headers: json,
      payload: { json: { name: 'log test' } },
    });
    const secret = key.json().result.data.json.secret as string;
    expect(secret.length).toBeGreaterThan(20);
    const user = await org.addUser({ firstName: 'Dora', lastName: 'Logged' });
    const set = await app.inject({
      method: 'POST',
      url: '/trpc/users.setPassword',
      headers: json,
      payload: { json: { id: user.id, password: newPassword } },
    });
    expect(set.statusCode, set.body).toBe(200);
    const byKey = await app.inject({
      url: queryUrl('users.search', { query: 'Dora' }),
      headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'trace-abc.123' },
    });
    expect(byKey.statusCode).toBe(200);
    expect(byKey.headers['x-request-id']).toBe('trace-abc.123');
    const forged = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\nwith "quotes"' } });
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await app.inject({ url: '/readyz' });

    const lines = log.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request');
    // Probes are at debug: not in an info log.
    expect(requests.map((line) => line.procedure)).toEqual([
      'auth.login',
      'apiKeys.create',
      'users.setPassword',
      'users.search',
    ]);
    for (const line of requests) {
      expect(line).toMatchObject({ level: 30, method: expect.any(String), status: 200 });
      expect(typeof line.reqId).toBe('string');
      expect(typeof line.durationMs).toBe('number');
    }
    const [login, create, , search] = requests;
    expect(login?.actorId).toBeUndefined();
    expect(create).toMatchObject({ actorId: org.adminId, organizationId: org.organizationId, via: 'session' });
    expect(search).toMatchObject({ reqId: 'trace-abc.123', actorId: org.adminId, via: 'apiKey' });
    expect(search?.path).toBe('/trpc/users.search');

    const text = log.slice(before).join('\n');
    for (const secretText of [testPassword, newPassword, token, secret, 'Dora"}', 'input=']) {
      expect(text).not.toContain(secretText);
    }
  });

  it('prints readable lines in a terminal (LOG_FORMAT=pretty), not JSON', async () => {
    const stream = new PassThrough();
    const pretty: string[] = [];
    stream.on('data', (chunk: Buffer) => pretty.push(...chunk.toString().split('\n').filter(Boolean)));
    const terminal = await buildTestApp(db, { logLevel: 'info', logFormat: 'pretty', logStream: stream });
    try {
      await terminal.inject({ url: queryUrl('users.search', {}) });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const line = pretty.find((l) => l.includes('users.search'));
      expect(line).toBeDefined();
      expect(line).toMatch(/INFO/);
      expect(line).toMatch(/401/);
      expect(() => JSON.parse(line ?? '')).toThrow();
    } finally {
      await terminal.close();
    }
  });
});

describe('request ids and procedure labels', () => {
  it('keeps a plain incoming X-Request-Id and replaces anything else', () => {
    const request = (value?: string) =>
      ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as Parameters<typeof requestIdOf>[0];
    expect(requestIdOf(request('abc-123_x.y:z'))).toBe('abc-123_x.y:z');
    for (const bad of ['', 'a b', 'x'.repeat(129), 'line\nbreak', '{"json":1}']) {
      expect(requestIdOf(request(bad))).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(requestIdOf(request())).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('names what was asked for from a bounded set', () => {
    const known = new Set(['users.search', 'users.get']);
    expect(procedureOf('/trpc/users.search', known)).toBe('users.search');
    expect(procedureOf('/trpc/users.search,users.get', known)).toBe('batch');
    expect(procedureOf('/trpc/users.search,whatever', known)).toBe('unknown');
    expect(procedureOf('/trpc/anything', known)).toBe('unknown');
    expect(procedureOf('/scim/v2/Users/42', known)).toBe('scim');
    expect(procedureOf('/export/users.csv', known)).toBe('users.export');
    expect(procedureOf('/import/users', known)).toBe('users.import');
    expect(procedureOf('/healthz', known)).toBe('healthz');
    expect(procedureOf('/assets/index-abc.js', known)).toBe('asset');
    expect(procedureOf('/accounts/42', known)).toBe('page');
  });

  it('reads its settings from the environment: metrics off by default, a token of 24 characters or more', () => {
    const env = readEnv({});
    expect(env.METRICS_PORT).toBeUndefined();
    expect(env.METRICS_TOKEN).toBeUndefined();
    expect(env.METRICS_HOST).toBe('127.0.0.1');
    expect(env.LOG_FORMAT).toBe('auto');
    expect(readEnv({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(() => readEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => readEnv({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});
