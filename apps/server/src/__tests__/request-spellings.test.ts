import { createTestOrg, type TestOrg, testDb } from '@roster/api/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signInCookie } from './helpers.js';
import { portOf, type RawResponse, rawRequest } from './raw-http.js';

/**
 * Finding 1 of the security review: the browser-request guard looked at the
 * raw request target, while the router decodes it, so `/%74rpc/...` ran a
 * procedure unguarded. Every request here is sent byte for byte over a socket,
 * as an attacker's page or script would, to an app of each handler kind.
 */
let org: TestOrg;
let apps: { lean: FastifyInstance; stock: FastifyInstance };
let cookie: string;

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db);
  apps = { lean: await buildTestApp(db), stock: await buildTestApp(db, { trpcHandler: 'stock' }) };
  for (const app of Object.values(apps)) await app.listen({ port: 0, host: '127.0.0.1' });
  cookie = await signInCookie(apps.lean, org.adminEmail);
});

afterAll(async () => {
  for (const app of Object.values(apps ?? {})) await app.close();
});

async function accountExists(name: string): Promise<boolean> {
  return (await org.admin.accounts.list({ query: name })).items.some((a) => a.name === name);
}

/** Spellings of `/trpc/accounts.create` an attacker tries, each with the query to append. */
const spellings = (port: number) => [
  '/%74rpc/accounts.create',
  '/%74%72%70%63/accounts.create',
  '/%54RPC/accounts.create',
  '/trpc/accounts%2Ecreate',
  '/trpc/%61ccounts.create',
  '/trpc/accounts%252Ecreate',
  '/%74rpc/accounts.create?',
  '/%74rpc/accounts.create?batch=0&input=x',
  '/%74rpc/accounts.create#fragment',
  '/%74rpc/accounts.create;jsessionid=1',
  '/trpc;a=b/accounts.create',
  '//trpc/accounts.create',
  '/trpc//accounts.create',
  '/./trpc/accounts.create',
  '/x/../trpc/accounts.create',
  '/%2e/trpc/accounts.create',
  '/TRPC/accounts.create',
  '/trpc/accounts.create/',
  '/trpc/accounts.create%00',
  `http://localhost:${port}/trpc/accounts.create`,
  `HTTP://LOCALHOST:${port}/%74rpc/accounts.create`,
  `http://evil.example/trpc/accounts.create`,
  `http://localhost:${port}//trpc/accounts.create`,
];

/** The cross-site requests a page on another origin can make with the administrator's cookie. */
const forgeries = (port: number): { label: string; headers: Record<string, string> }[] => [
  { label: 'text/plain form', headers: { 'content-type': 'text/plain', origin: 'http://evil.example' } },
  {
    label: 'urlencoded form from a sibling port (same site)',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://localhost:${port + 1}` },
  },
  { label: 'multipart form', headers: { 'content-type': 'multipart/form-data; boundary=x', origin: 'null' } },
  { label: 'text/plain without Origin', headers: { 'content-type': 'text/plain', 'sec-fetch-site': 'same-site' } },
  {
    label: 'JSON from a foreign origin',
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
  },
  {
    label: 'JSON without Origin, cross-site by Sec-Fetch-Site',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
  },
  { label: 'no content type', headers: {} },
  { label: 'lookalike media type', headers: { 'content-type': 'application/jsonp' } },
  { label: 'JSON named as text', headers: { 'content-type': 'text/plain; charset=application/json' } },
];

/** Responses that ran on the tRPC route carry no-store; the not-found handler's own 404s did not run it. */
function expectNoStoreUnlessUnrouted(response: RawResponse, where: string) {
  if (response.status === 404 && response.body.includes('No route for')) return;
  expect(response.headers['cache-control'], where).toBe('no-store');
}

for (const kind of ['lean', 'stock'] as const) {
  describe(`guards on whatever spelling reaches the tRPC route (${kind} handler)`, () => {
    it('refuses every forged state-changing request, and no account is created', async () => {
      const app = apps[kind];
      const port = portOf(app);
      let tried = 0;
      for (const target of spellings(port)) {
        for (const forgery of forgeries(port)) {
          const name = `Forged ${kind} ${tried++} ${Date.now()}`;
          const where = `${forgery.label} to ${target}`;
          const response = await rawRequest(port, {
            method: 'POST',
            target,
            headers: { host: `localhost:${port}`, cookie, ...forgery.headers },
            body: JSON.stringify({ json: { name, users: [] } }),
          });
          expect(response.status, where).toBeGreaterThanOrEqual(400);
          expect(response.status, where).toBeLessThan(500);
          expectNoStoreUnlessUnrouted(response, where);
          expect(await accountExists(name), where).toBe(false);
        }
      }
    });

    it('refuses forged batches and streamed (jsonl) calls on an encoded path', async () => {
      const app = apps[kind];
      const port = portOf(app);
      for (const extra of [{}, { 'trpc-accept': 'application/jsonl' }, { accept: 'application/jsonl' }] as Record<
        string,
        string
      >[]) {
        const name = `Batch ${kind} ${JSON.stringify(extra)} ${Date.now()}`;
        const response = await rawRequest(port, {
          method: 'POST',
          target: '/%74rpc/accounts.create,accounts.create?batch=1',
          headers: { host: `localhost:${port}`, cookie, 'content-type': 'text/plain', ...extra },
          body: JSON.stringify({ 0: { json: { name, users: [] } } }),
        });
        expect(response.status).toBe(415);
        expect(response.headers['cache-control']).toBe('no-store');
        expect(await accountExists(name)).toBe(false);
      }
    });

    it('allows only GET and POST on the route, whatever the spelling', async () => {
      const app = apps[kind];
      const port = portOf(app);
      for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE']) {
        for (const target of ['/trpc/accounts.create', '/%74rpc/accounts.create']) {
          const name = `By ${method} ${kind} ${Date.now()}`;
          const response = await rawRequest(port, {
            method,
            target,
            headers: { host: `localhost:${port}`, cookie, 'content-type': 'application/json' },
            body: JSON.stringify({ json: { name, users: [] } }),
          });
          expect(response.status, `${method} ${target}`).toBe(405);
          expect(response.headers.allow, `${method} ${target}`).toBe('GET, POST');
          expect(response.headers['cache-control'], `${method} ${target}`).toBe('no-store');
          expect(await accountExists(name)).toBe(false);
        }
      }
    });

    it('keeps answers out of caches on every spelling of a query', async () => {
      const app = apps[kind];
      const port = portOf(app);
      for (const target of [
        '/trpc/auth.me',
        '/%74rpc/auth.me',
        '/trpc/auth%2Eme',
        `http://localhost:${port}/trpc/accounts.list`,
        '/%74rpc/accounts.list?batch=1',
      ]) {
        const response = await rawRequest(port, {
          method: 'GET',
          target,
          headers: { host: `localhost:${port}`, cookie },
        });
        expect(response.status, target).toBe(200);
        expect(response.headers['cache-control'], target).toBe('no-store');
      }
    });

    it('still serves JSON from its own origin and from clients without Origin, on an encoded spelling too', async () => {
      const app = apps[kind];
      const port = portOf(app);
      for (const [target, origin] of [
        ['/trpc/accounts.create', `http://localhost:${port}`],
        ['/%74rpc/accounts.create', undefined],
      ] as const) {
        const name = `Own ${kind} ${target} ${Date.now()}`;
        const response = await rawRequest(port, {
          method: 'POST',
          target,
          headers: {
            host: `localhost:${port}`,
            cookie,
            'content-type': 'application/json; charset=utf-8',
            ...(origin ? { origin } : {}),
          },
          body: JSON.stringify({ json: { name, users: [] } }),
        });
        expect(response.status, target).toBe(200);
        expect(await accountExists(name)).toBe(true);
      }
    });
  });
}
