import { createTestOrg, type TestOrg, testDb, testPassword } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../app.js';
import { readEnv } from '../env.js';
import { buildTestApp, signInCookie, uniqueRemoteAddress } from './helpers.js';
import { portOf, rawRequest } from './raw-http.js';

/**
 * Finding 9 of the security review: without a host allowlist, a DNS-rebinding
 * page (evil.example resolving to this server) sends `Host: evil.example` and
 * `Origin: http://evil.example`, which passed for the server's own origin.
 */
let db: Kysely<Database>;
let org: TestOrg;
let app: FastifyInstance;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db);
  app = await buildTestApp(db);
});

afterAll(async () => {
  await app?.close();
});

/** The sign-in a rebinding page makes from its own origin, with the right password. */
const rebindLogin = (target: FastifyInstance, host: string, origin = `http://${host}`) =>
  target.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress: uniqueRemoteAddress(),
    headers: { host, origin, 'content-type': 'application/json' },
    payload: { json: { email: org.adminEmail, password: testPassword } },
  });

const signedIn = (response: { cookies: { name: string; value: string }[] }) =>
  response.cookies.some((cookie) => cookie.name === sessionCookieName && cookie.value !== '');

describe('host allowlist without PUBLIC_URL (localhost development)', () => {
  it('refuses a DNS-rebinding sign-in (Host and Origin of another site) with 421 and no session', async () => {
    for (const host of [
      'evil.example',
      'evil.example:3000',
      'localhost.evil.example',
      '127.0.0.1.nip.io:3000',
      'EVIL.EXAMPLE',
      'localhost@evil.example',
      'evil.example#localhost',
      'localhost.',
      '192.168.1.20:3000',
    ]) {
      const response = await rebindLogin(app, host);
      expect(response.statusCode, host).toBe(421);
      expect(response.json().message, host).toMatch(/answers to localhost only.*PUBLIC_URL/);
      expect(response.headers['cache-control'], host).toBe('no-store');
      expect(signedIn(response), host).toBe(false);
    }
  });

  it('refuses other hosts on every route: pages, queries, unknown paths', async () => {
    for (const url of ['/', '/security/accounts', '/trpc/auth.me', '/%74rpc/auth.me', '/nope.json', '/assets/x.js']) {
      const response = await app.inject({ url, headers: { host: 'evil.example', accept: 'text/html' } });
      expect(response.statusCode, url).toBe(421);
    }
  });

  it('answers localhost names on any port, as development and the tests use them', async () => {
    for (const host of ['localhost', 'localhost:5173', '127.0.0.1:3000', '[::1]:3000', 'LOCALHOST:3000']) {
      const response = await rebindLogin(app, host);
      expect(response.statusCode, host).toBe(200);
      expect(signedIn(response), host).toBe(true);
    }
  });

  it('answers the health probes whatever the Host, as load balancers call them', async () => {
    for (const url of ['/healthz', '/readyz', '/healthz?probe=1']) {
      const response = await app.inject({ url, headers: { host: '10.1.2.3:3000' } });
      expect(response.statusCode, url).toBe(200);
    }
    // The exemption is the route, not the spelling: a path that only starts like a probe is checked.
    const other = await app.inject({ url: '/healthz/../trpc/auth.me', headers: { host: 'evil.example' } });
    expect(other.statusCode).toBe(421);
  });

  it('checks the authority of an absolute-form request target, not only the Host header', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = portOf(app);
    const response = await rawRequest(port, {
      method: 'POST',
      target: 'http://evil.example/trpc/auth.login',
      headers: { host: `localhost:${port}`, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: org.adminEmail, password: testPassword } }),
    });
    expect(response.status).toBe(421);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('behind a trusted proxy checks the forwarded host, and ignores it from an untrusted client', async () => {
    const proxied = await buildTestApp(db, { trustProxy: 1 });
    try {
      const forwarded = await proxied.inject({
        url: '/trpc/auth.me',
        headers: { host: '127.0.0.1:3000', 'x-forwarded-host': 'evil.example' },
      });
      expect(forwarded.statusCode).toBe(421);
    } finally {
      await proxied.close();
    }
    const direct = await app.inject({
      url: '/trpc/auth.me',
      headers: { host: 'localhost:3000', 'x-forwarded-host': 'evil.example' },
    });
    expect(direct.statusCode).toBe(200);
  });
});

describe('PUBLIC_URL and ALLOWED_HOSTS', () => {
  it('answers PUBLIC_URL’s host, trusts its origin behind TLS termination, and refuses other hosts', async () => {
    const env = readEnv({ PUBLIC_URL: 'https://Roster.Example.com/' });
    expect(env.PUBLIC_URL).toBe('https://roster.example.com');
    const served = await buildTestApp(db, { ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}) });
    try {
      const cookie = await signInCookie(served, org.adminEmail);
      // A proxy terminates TLS and passes the Host on; the server itself sees plain http.
      const name = `Public URL ${Date.now()}`;
      const ok = await served.inject({
        method: 'POST',
        url: '/trpc/accounts.create',
        headers: {
          host: 'roster.example.com',
          origin: 'https://roster.example.com',
          cookie,
          'content-type': 'application/json',
        },
        payload: { json: { name, users: [] } },
      });
      expect(ok.statusCode).toBe(200);
      expect((await org.admin.accounts.list({ query: name })).items).toHaveLength(1);

      const rebound = await rebindLogin(served, 'evil.example');
      expect(rebound.statusCode).toBe(421);
      expect(rebound.json().message).toMatch(/PUBLIC_URL/);
      // The downgraded origin of the public name is not its own.
      const downgraded = await rebindLogin(served, 'roster.example.com', 'http://roster.example.com');
      expect(downgraded.statusCode).toBe(403);
      // Local clients (the CLI on the server's machine, health checks) still reach it by localhost.
      expect((await rebindLogin(served, '127.0.0.1:3000')).statusCode).toBe(200);
    } finally {
      await served.close();
    }
  });

  it('answers ALLOWED_HOSTS names too, on any port', async () => {
    const env = readEnv({ ALLOWED_HOSTS: 'Roster.Internal, 10.0.0.7' });
    expect(env.ALLOWED_HOSTS).toEqual(['roster.internal', '10.0.0.7']);
    const served = await buildTestApp(db, { allowedHosts: env.ALLOWED_HOSTS });
    try {
      expect((await rebindLogin(served, 'roster.internal:8080')).statusCode).toBe(200);
      expect((await rebindLogin(served, '10.0.0.7')).statusCode).toBe(200);
      expect((await rebindLogin(served, 'roster.internal.evil.example')).statusCode).toBe(421);
    } finally {
      await served.close();
    }
  });

  it('reads PUBLIC_URL as an origin and ALLOWED_HOSTS as host names, refusing anything else', () => {
    expect(readEnv({}).PUBLIC_URL).toBeUndefined();
    expect(readEnv({}).ALLOWED_HOSTS).toEqual([]);
    expect(readEnv({ PUBLIC_URL: 'http://roster.local:8080' }).PUBLIC_URL).toBe('http://roster.local:8080');
    for (const bad of ['roster.example.com', 'https://roster.example.com/app', 'ftp://roster.example.com']) {
      expect(() => readEnv({ PUBLIC_URL: bad }), bad).toThrow(/PUBLIC_URL/);
    }
    for (const bad of ['https://roster.example.com', 'roster.example.com:443', 'roster.example.com/x', 'a b']) {
      expect(() => readEnv({ ALLOWED_HOSTS: bad }), bad).toThrow(/ALLOWED_HOSTS/);
    }
  });
});
