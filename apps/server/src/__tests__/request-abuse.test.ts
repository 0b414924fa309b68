import { connect } from 'node:net';
import { appRouter } from '@roster/api';
import { type TestOrg, testDb } from '@roster/api/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { buildTestApp, queryUrl, signedInApp } from './helpers.js';

let app: FastifyInstance;
let org: TestOrg;
let cookie: string;

beforeAll(async () => {
  ({ org, app, cookie } = await signedInApp());
});

afterAll(async () => {
  await app.close();
});

const createAccountBody = (name: string) => JSON.stringify({ json: { name, users: [] } });

/** POSTs accounts.create for an account of this name, with these headers. */
const createAccount = (headers: Record<string, string>, name: string, target = app) =>
  target.inject({ method: 'POST', url: '/trpc/accounts.create', headers, payload: createAccountBody(name) });

async function accountExists(name: string): Promise<boolean> {
  return (await org.admin.accounts.list({ query: name })).items.some((a) => a.name === name);
}

async function stillServing() {
  const response = await app.inject('/healthz');
  expect(response.statusCode).toBe(200);
}

describe('forged cross-site requests', () => {
  // What an HTML form on another site can send without a CORS preflight.
  const formTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'];

  for (const type of formTypes) {
    it(`refuses ${type.split(';')[0]} with 415, even with a valid administrator cookie`, async () => {
      const name = `Forged ${type} ${Date.now()}`;
      const response = await createAccount({ cookie, 'content-type': type, origin: 'https://evil.example' }, name);
      expect(response.statusCode).toBe(415);
      expect(await accountExists(name)).toBe(false);
      // Same-origin too: the media type alone is refused.
      const sameSite = await createAccount(
        { cookie, 'content-type': type, host: 'localhost:3301', origin: 'http://localhost:3301' },
        name,
      );
      expect(sameSite.statusCode).toBe(415);
      expect(await accountExists(name)).toBe(false);
    });
  }

  it('refuses a POST without a content type', async () => {
    const name = `Untyped ${Date.now()}`;
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/accounts.create',
      headers: { cookie },
      payload: Buffer.from(createAccountBody(name)),
    });
    expect(response.statusCode).toBe(415);
    expect(await accountExists(name)).toBe(false);
  });

  it('refuses JSON from a foreign Origin with 403', async () => {
    for (const origin of [
      'https://evil.example',
      'http://localhost:3301.evil.example',
      'null',
      'http://localhost:9999',
    ]) {
      const name = `Foreign ${origin} ${Date.now()}`;
      const response = await createAccount(
        { cookie, 'content-type': 'application/json', host: 'localhost:3301', origin },
        name,
      );
      expect(response.statusCode, origin).toBe(403);
      expect(response.json().message).toMatch(/Cross-site requests are refused/);
      expect(await accountExists(name)).toBe(false);
    }
  });

  it('refuses a browser request that says it is cross-site even without Origin', async () => {
    const name = `Fetch site ${Date.now()}`;
    const response = await createAccount(
      { cookie, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      name,
    );
    expect(response.statusCode).toBe(403);
    expect(await accountExists(name)).toBe(false);
  });

  it('accepts JSON from its own origin, and from clients that send no Origin', async () => {
    const own = `Own origin ${Date.now()}`;
    const sameOrigin = await createAccount(
      {
        cookie,
        'content-type': 'application/json; charset=utf-8',
        host: 'localhost:3301',
        origin: 'http://localhost:3301',
        'sec-fetch-site': 'same-origin',
      },
      own,
    );
    expect(sameOrigin.statusCode).toBe(200);
    expect(await accountExists(own)).toBe(true);
    const cli = `No origin ${Date.now()}`;
    const noOrigin = await createAccount({ cookie, 'content-type': 'application/json' }, cli);
    expect(noOrigin.statusCode).toBe(200);
    expect(await accountExists(cli)).toBe(true);
  });

  it('compares origins behind a trusted HTTPS proxy by the forwarded scheme and host', async () => {
    const proxied = await buildTestApp(await testDb(), { trustProxy: 1, allowedHosts: ['roster.example.com'] });
    try {
      const headers = {
        cookie,
        'content-type': 'application/json',
        host: 'internal:3000',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'roster.example.com',
      };
      const good = `Proxied ${Date.now()}`;
      const ok = await createAccount({ ...headers, origin: 'https://roster.example.com' }, good, proxied);
      expect(ok.statusCode).toBe(200);
      const downgraded = await createAccount(
        { ...headers, origin: 'http://roster.example.com' },
        `Downgraded ${Date.now()}`,
        proxied,
      );
      expect(downgraded.statusCode).toBe(403);
    } finally {
      await proxied.close();
    }
  });
});

describe('trusted extra origins (the Vite dev server proxying /trpc)', () => {
  it('accepts an origin on the list even though the Host is the server itself, and no other', async () => {
    const proxied = await buildTestApp(await testDb(), { allowedOrigins: ['http://localhost:5173'] });
    try {
      // Vite's string shorthand proxies with changeOrigin: the Host is rewritten, the Origin is not.
      const send = (origin: string, name: string) =>
        createAccount({ cookie, 'content-type': 'application/json', host: '127.0.0.1:3000', origin }, name, proxied);
      const name = `Via Vite ${Date.now()}`;
      expect((await send('http://localhost:5173', name)).statusCode).toBe(200);
      expect(await accountExists(name)).toBe(true);
      expect((await send('http://localhost:5174', `Not listed ${Date.now()}`)).statusCode).toBe(403);
    } finally {
      await proxied.close();
    }
  });

  it('reads ALLOWED_ORIGINS as a comma-separated list of origins', () => {
    expect(readEnv({}).ALLOWED_ORIGINS).toEqual([]);
    expect(readEnv({ ALLOWED_ORIGINS: 'http://localhost:5173, https://console.example.com' }).ALLOWED_ORIGINS).toEqual([
      'http://localhost:5173',
      'https://console.example.com',
    ]);
    expect(() => readEnv({ ALLOWED_ORIGINS: 'http://localhost:5173/path' })).toThrow(/ALLOWED_ORIGINS/);
    expect(() => readEnv({ ALLOWED_ORIGINS: 'localhost' })).toThrow(/ALLOWED_ORIGINS/);
  });
});

describe('queries never change state', () => {
  // Reads are named as reads (a preview of what a change would do, too: users.deactivationPreview; and
  // users.bulkStatus / users.bulkList, a bulk action's progress and the list of them); every other verb
  // changes something and must be a mutation (POST only).
  const readVerbs = new Set(['me', 'list', 'get', 'search', 'sessions', 'names', 'rows', 'bulkStatus', 'bulkList']);
  const isRead = (verb: string) => readVerbs.has(verb) || verb.endsWith('Preview');

  it('every procedure that is not a read is a mutation', () => {
    const procedures = Object.entries(
      appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
    );
    expect(procedures.length).toBeGreaterThan(20);
    for (const [path, procedure] of procedures) {
      const verb = path.split('.').at(-1) ?? '';
      expect(procedure._def.type, path).toBe(isRead(verb) ? 'query' : 'mutation');
    }
  });

  it('refuses a mutation sent as GET (405) and changes nothing', async () => {
    const name = `By GET ${Date.now()}`;
    const response = await app.inject({
      method: 'GET',
      url: queryUrl('accounts.create', { name, users: [] }),
      headers: { cookie },
    });
    expect(response.statusCode).toBe(405);
    expect(await accountExists(name)).toBe(false);
    const logout = await app.inject({ method: 'GET', url: '/trpc/auth.logout', headers: { cookie } });
    expect(logout.statusCode).toBe(405);
    const me = await app.inject({ url: queryUrl('auth.me'), headers: { cookie } });
    expect(me.json().result.data.json).not.toBeNull();
  });

  it('refuses a query sent as POST (405)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/accounts.list',
      headers: { cookie, 'content-type': 'application/json' },
      payload: { json: {} },
    });
    expect(response.statusCode).toBe(405);
  });
});

describe('bounded requests', () => {
  it('answers a body over 1 MB with 413 and keeps serving', async () => {
    const name = `Big ${Date.now()}`;
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/accounts.create',
      headers: { cookie, 'content-type': 'application/json' },
      payload: JSON.stringify({ json: { name, description: 'x'.repeat(1024 * 1024), users: [] } }),
    });
    expect(response.statusCode).toBe(413);
    expect(await accountExists(name)).toBe(false);
    await stillServing();
  });

  it('answers a batch of more than 20 calls with 400, and serves 20', async () => {
    const paths = (n: number) => Array.from({ length: n }, () => 'auth.me').join(',');
    const input = (n: number) =>
      encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, { json: null }]))));
    const over = await app.inject({ url: `/trpc/${paths(21)}?batch=1&input=${input(21)}`, headers: { cookie } });
    expect(over.statusCode).toBe(400);
    const ok = await app.inject({ url: `/trpc/${paths(20)}?batch=1&input=${input(20)}`, headers: { cookie } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toHaveLength(20);
    // A batched POST of 21 mutations is refused whole: none of them runs.
    const names = Array.from({ length: 21 }, (_, i) => `Batch ${Date.now()} ${i}`);
    const mutations = await app.inject({
      method: 'POST',
      url: `/trpc/${Array(21).fill('accounts.create').join(',')}?batch=1`,
      headers: { cookie, 'content-type': 'application/json' },
      payload: Object.fromEntries(names.map((name, i) => [i, { json: { name, users: [] } }])),
    });
    expect(mutations.statusCode).toBe(400);
    for (const name of names.slice(0, 3)) expect(await accountExists(name)).toBe(false);
  });

  it('answers batches of empty or unknown paths with a clean 4xx', async () => {
    for (const url of [
      '/trpc/?batch=1&input={}',
      '/trpc/,?batch=1&input={}',
      `/trpc/${','.repeat(5000)}?batch=1&input={}`,
      '/trpc/users.search?batch=1&input=not-json',
      '/trpc/__proto__?batch=1&input={}',
      '/trpc/constructor.prototype?input={}',
    ]) {
      const response = await app.inject({ url, headers: { cookie } });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
    }
    // A batch mixing a bad path with a good one answers each call on its own (207).
    const mixed = await app.inject({ url: '/trpc/nope.nothing,auth.me?batch=1&input={}', headers: { cookie } });
    expect(mixed.statusCode).toBe(207);
    expect(mixed.json().map((r: { error?: { json: { data: { code: string } } } }) => r.error?.json.data.code)).toEqual([
      'NOT_FOUND',
      undefined,
    ]);
    await stillServing();
  });

  it('serves a batch of 20 repeated paths', async () => {
    const input = encodeURIComponent(
      JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i, { json: { limit: 100 } }]))),
    );
    const response = await app.inject({
      url: `/trpc/${Array(20).fill('users.search').join(',')}?batch=1&input=${input}`,
      headers: { cookie },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().every((r: { result?: unknown }) => r.result)).toBe(true);
  });

  it('answers a URL over 8 KiB with 414, and a huge one with 431, and keeps serving', async () => {
    const long = await app.inject({ url: queryUrl('users.search', { query: 'x'.repeat(9000) }), headers: { cookie } });
    expect(long.statusCode).toBe(414);
    expect(long.headers['x-content-type-options']).toBe('nosniff');
    const fits = await app.inject({ url: queryUrl('users.search', { query: 'x'.repeat(150) }), headers: { cookie } });
    expect(fits.statusCode).toBe(200);

    // Past Node's header limit (16 KiB) the HTTP parser itself answers: over a real socket.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /trpc/auth.me?input=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    expect(status).toMatch(/^HTTP\/1\.1 431/);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('refuses hostile JSON bodies cleanly: deep nesting, prototype keys, broken JSON, wrong shapes', async () => {
    const bodies = [
      `{"json":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
      '{"json":{"name":"Meta","users":[]},"meta":{"values":{"name":["custom","nope"]}}}',
      '{"json":{"name":"Meta2","users":[]},"meta":{"values":{"__proto__":["Date"]}}}',
      '{"json": {"name": "Broken", "users": [}',
      '[]',
      'null',
      '"string"',
      '1e309',
      '',
    ];
    for (const payload of bodies) {
      const response = await app.inject({
        method: 'POST',
        url: '/trpc/accounts.create',
        headers: { cookie, 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode, payload.slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, payload.slice(0, 60)).toBeLessThan(500);
    }
    await stillServing();
  });

  it('treats prototype keys in a body as plain, ignored data', async () => {
    const stamp = Date.now();
    for (const payload of [
      `{"json":{"__proto__":{"role":"admin","isDefault":true},"name":"Proto ${stamp}","users":[]}}`,
      `{"json":{"constructor":{"prototype":{"role":"admin"}},"name":"Ctor ${stamp}","users":[]}}`,
      `{"json":{"name":"Meta ${stamp}","users":[]},"meta":{"values":{"__proto__":["Date"]}}}`,
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/trpc/accounts.create',
        headers: { cookie, 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode, payload).toBeLessThan(500);
      if (response.statusCode === 200) expect(response.json().result.data.json.isDefault).toBe(false);
    }
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isDefault).toBeUndefined();
    await stillServing();
  });

  it('keeps serving while a client holds a request open, and bounds how long it may', async () => {
    const db = await testDb();
    const slow = await buildTestApp(db, { requestTimeoutMs: 5_000 });
    // Node checks this bound on its own schedule; what we own is that it is set.
    expect(slow.server.requestTimeout).toBe(5_000);
    expect(app.server.requestTimeout).toBe(30_000);
    await slow.listen({ port: 0, host: '127.0.0.1' });
    const address = slow.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const sockets = Array.from({ length: 20 }, () =>
      connect(port, '127.0.0.1', function (this: ReturnType<typeof connect>) {
        this.write(
          'POST /trpc/auth.login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"json":',
        );
      }),
    );
    try {
      for (const socket of sockets) socket.on('error', () => {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await slow.close();
    }
  });
});

describe('security headers', () => {
  const urls = ['/healthz', '/readyz', '/security/accounts', '/nope.json', '/trpc/auth.me', '/trpc/no.such.procedure'];

  function expectHeaders(headers: Record<string, unknown>, where: string) {
    const csp = String(headers['content-security-policy'] ?? '');
    expect(csp, where).toContain("frame-ancestors 'none'");
    expect(csp, where).toContain("default-src 'self'");
    expect(csp, where).toContain("object-src 'none'");
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc, where).toBe("'self'");
    expect(headers['x-content-type-options'], where).toBe('nosniff');
    expect(headers['referrer-policy'], where).toBe('same-origin');
    expect(headers['x-frame-options'], where).toBe('DENY');
  }

  it('are on every response: pages, probes, API answers, errors and refusals', async () => {
    for (const url of urls) {
      const response = await app.inject({ url, headers: { accept: url.includes('.') ? '*/*' : 'text/html' } });
      expectHeaders(response.headers, url);
      expect(response.headers['strict-transport-security'], url).toBeUndefined();
    }
    const refused = await app.inject({
      method: 'POST',
      url: '/trpc/auth.logout',
      headers: { 'content-type': 'text/plain' },
      payload: '{}',
    });
    expect(refused.statusCode).toBe(415);
    expectHeaders(refused.headers, 'refused POST');
    const tooBig = await app.inject({
      method: 'POST',
      url: '/trpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: `{"json":"${'x'.repeat(1_100_000)}"}`,
    });
    expect(tooBig.statusCode).toBe(413);
    expectHeaders(tooBig.headers, 'too big');
  });

  it('keeps API answers out of caches', async () => {
    const response = await app.inject({ url: queryUrl('accounts.list'), headers: { cookie } });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('sends HSTS only over HTTPS', async () => {
    const proxied = await buildTestApp(await testDb(), { trustProxy: 1 });
    try {
      const https = await proxied.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
      expect(https.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const http = await proxied.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'http' } });
      expect(http.headers['strict-transport-security']).toBeUndefined();
      // Without a trusted proxy, a client's own X-Forwarded-Proto changes nothing.
      const spoofed = await app.inject({ url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
      expect(spoofed.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await proxied.close();
    }
  });
});
