import { type TestOrg, testPassword } from '@roster/api/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicProcedurePaths } from '../app.js';
import { nestsDeeperThan } from '../json-depth.js';
import { signedInApp, uniqueRemoteAddress } from './helpers.js';
import { portOf, rawRequest } from './raw-http.js';

/**
 * Finding 4 of the security review: a 1 MB body of 500,000 nested arrays to
 * auth.login cost ~0.8 s of CPU before anyone was authenticated. Now nesting
 * deeper than 64 is refused by a linear scan before JSON.parse, and calls that
 * need no session (or carry no credentials) may send 16 KiB at most.
 */
let org: TestOrg;
let app: FastifyInstance;
let cookie: string;

beforeAll(async () => {
  ({ org, app, cookie } = await signedInApp());
});

afterAll(async () => {
  await app?.close();
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    remoteAddress: uniqueRemoteAddress(),
    headers: { 'content-type': 'application/json', ...headers },
    payload,
  });

const tooDeepMessage = /nests arrays or objects deeper than 64 levels/;

describe('nesting depth, refused before parsing', () => {
  it('refuses a body nested deeper than 64 levels with 400 and a readable message', async () => {
    for (const [url, payload, headers] of [
      ['/trpc/auth.login', `{"json":${nested(64)}}`, {}],
      ['/trpc/auth.login', `{"json":{"email":${nested(500)},"password":"x"}}`, {}],
      ['/trpc/accounts.create', `{"json":{"name":"Deep","users":${nested(100)}}}`, { cookie }],
      [
        '/trpc/accounts.create,accounts.create?batch=1',
        `{"0":{"json":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}}`,
        { cookie },
      ],
      ['/trpc/accounts.create', `{"json":{"name":"Deep","users":[]},"meta":${nested(80)}}`, { cookie }],
    ] as const) {
      const response = await post(url, payload, headers);
      expect(response.statusCode, payload.slice(0, 40)).toBe(400);
      expect(response.json().message, payload.slice(0, 40)).toMatch(tooDeepMessage);
    }
  });

  it('refuses a GET input nested deeper than 64 levels, however the query spells it', async () => {
    const deep = `{"json":${nested(100)}}`;
    for (const query of [
      `input=${encodeURIComponent(deep)}`,
      `input=${deep}`,
      `input={}&input=${encodeURIComponent(deep)}`,
      `batch=1&input=${encodeURIComponent(`{"0":${deep}}`)}`,
    ]) {
      const response = await app.inject({ url: `/trpc/auth.me,auth.me?${query}`, headers: { cookie } });
      expect(response.statusCode, query.slice(0, 40)).toBe(400);
      expect(response.json().message).toMatch(tooDeepMessage);
    }
  });

  it('accepts 64 levels, and brackets inside strings do not count', async () => {
    // 64 levels in all (the {"json": wrapper is one): the procedure runs and says the input is wrong.
    const deepest = await post('/trpc/auth.login', `{"json":${nested(63)}}`);
    expect(deepest.statusCode).toBe(400);
    expect(deepest.json().error.json.data.code).toBe('BAD_REQUEST');
    expect(deepest.json().error.json.message).not.toMatch(tooDeepMessage);
    const inString = await post(
      '/trpc/auth.login',
      JSON.stringify({ json: { email: org.adminEmail, password: `${'['.repeat(100)}\\"{{{{` } }),
    );
    expect(inString.statusCode).toBe(401);
  });

  it('counts like JSON.parse would: strings, escapes and both kinds of brackets', () => {
    expect(nestsDeeperThan(nested(64), 64)).toBe(false);
    expect(nestsDeeperThan(nested(65), 64)).toBe(true);
    expect(nestsDeeperThan(`[${'{"a":'.repeat(64)}1${'}'.repeat(64)}]`, 64)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify({ a: '['.repeat(1000) }), 64)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ a: `\\"${'['.repeat(1000)}` }), 64)).toBe(false);
    expect(nestsDeeperThan(`["\\\\"${',['.repeat(65)}`, 64)).toBe(true);
  });
});

describe('a small body limit before authentication', () => {
  const bigLogin = (extra = 17 * 1024) =>
    JSON.stringify({ json: { email: org.adminEmail, password: testPassword, pad: 'x'.repeat(extra) } });

  it('refuses a sign-in body over 16 KiB with 413, even with a session cookie', async () => {
    for (const headers of [{}, { cookie }, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const response = await post('/trpc/auth.login', bigLogin(), headers);
      expect(response.statusCode).toBe(413);
      expect(response.json().message).toMatch(/larger than 16384 bytes.*without a session, such as sign-in/);
    }
    // Under the limit the same sign-in works (unknown keys are ignored).
    expect((await post('/trpc/auth.login', bigLogin(1000))).statusCode).toBe(200);
  });

  it('refuses any call over 16 KiB without a session cookie or key, and in a batch with a public call', async () => {
    const account = (name: string) => ({ json: { name, description: 'd'.repeat(17 * 1024), users: [] } });
    const without = await post('/trpc/accounts.create', JSON.stringify(account(`No cookie ${Date.now()}`)));
    expect(without.statusCode).toBe(413);
    const batch = await post(
      '/trpc/accounts.create,auth.logout?batch=1',
      JSON.stringify({ 0: account(`Batch ${Date.now()}`) }),
      { cookie },
    );
    expect(batch.statusCode).toBe(413);
    const unknown = await post('/trpc/no.such', JSON.stringify(account('x')), { cookie });
    expect(unknown.statusCode).toBe(413);
    // A signed-in administrator keeps the full limit for calls that need a session.
    const name = `Big description ${Date.now()}`;
    const signedIn = await post('/trpc/accounts.create', JSON.stringify(account(name)), { cookie });
    expect(signedIn.statusCode).not.toBe(413);
    expect(signedIn.statusCode).toBeLessThan(500);
  });

  it('counts a body without Content-Length (chunked) as it arrives', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = portOf(app);
    const response = await rawRequest(port, {
      method: 'POST',
      target: '/trpc/auth.login',
      headers: { host: `localhost:${port}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: (() => {
        const chunk = `{"json":"${'x'.repeat(20_000)}"}`;
        return `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
      })(),
    });
    expect(response.status).toBe(413);
  });

  it('public procedures are the ones that answer without a session', async () => {
    const procedures = Object.entries(
      (await import('@roster/api')).appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
    );
    const answering: string[] = [];
    for (const [path, procedure] of procedures) {
      const response =
        procedure._def.type === 'query'
          ? await app.inject({ url: `/trpc/${path}?input=${encodeURIComponent('{"json":null}')}` })
          : await post(`/trpc/${path}`, '{"json":null}');
      if (response.json().error?.json.data.code !== 'UNAUTHORIZED') answering.push(path);
    }
    expect(answering.sort()).toEqual([...publicProcedurePaths].sort());
    // The sign-in, the link pages and the reset request: each gets the small body limit.
    expect([...publicProcedurePaths].sort()).toEqual([
      'auth.acceptInvitation',
      'auth.invitation',
      'auth.login',
      'auth.logout',
      'auth.me',
      'auth.requestPasswordReset',
      'auth.resetPassword',
    ]);
  });
});
