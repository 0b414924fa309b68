import { createTestOrg, testDb, testPassword } from '@roster/api/test';
import { withAuditFailing } from '@roster/api/test/audit-failing';
import { createDb } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../app.js';
import { buildTestApp, signInCookie } from './helpers.js';

let app: FastifyInstance;
let org: Awaited<ReturnType<typeof createTestOrg>>;

const sessions = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000 };

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db);
  // roster.example.com: a name other than localhost this server answers to.
  app = await buildTestApp(db, { sessions, allowedHosts: ['roster.example.com'] });
});

afterAll(async () => {
  await app.close();
});

const login = (host = 'localhost:3000') =>
  app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    headers: { 'content-type': 'application/json', host },
    payload: { json: { email: org.adminEmail, password: testPassword } },
  });

/** Signs in (failing unless that answers 200 with a cookie) and returns the `cookie` header. */
const sessionCookie = () => signInCookie(app, org.adminEmail);

const me = (cookie?: string) =>
  app.inject({
    method: 'GET',
    url: `/trpc/auth.me?input=${encodeURIComponent(JSON.stringify({ json: null }))}`,
    ...(cookie ? { headers: { cookie } } : {}),
  });

describe('HTTP host', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('sets an HttpOnly, SameSite=Lax session cookie, not Secure on plain-http localhost', async () => {
    const response = await login();
    expect(response.statusCode).toBe(200);
    const cookie = response.cookies.find((c) => c.name === sessionCookieName);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(cookie?.secure).toBeFalsy();
    expect(cookie?.path).toBe('/');
    expect(cookie?.value).toMatch(/^[\w-]{43}$/);
    // It lives as long as the session's absolute expiry.
    const expires = cookie?.expires?.getTime() ?? 0;
    expect(Math.abs(expires - (Date.now() + sessions.absoluteTimeoutMs))).toBeLessThan(60_000);
  });

  it('marks the cookie Secure for any other host', async () => {
    const response = await login('roster.example.com');
    expect(response.cookies.find((c) => c.name === sessionCookieName)?.secure).toBe(true);
  });

  it('signs in and out over HTTP: logout clears the cookie and ends the session', async () => {
    const cookie = await sessionCookie();
    expect((await me(cookie)).json().result.data.json).toMatchObject({ email: org.adminEmail });
    const out = await app.inject({
      method: 'POST',
      url: '/trpc/auth.logout',
      headers: { host: 'localhost:3000', 'content-type': 'application/json', cookie },
      payload: '{}',
    });
    expect(out.statusCode).toBe(200);
    const cleared = out.cookies.find((c) => c.name === sessionCookieName);
    expect(cleared?.value).toBe('');
    expect(cleared?.httpOnly).toBe(true);
    expect(cleared?.path).toBe('/');
    expect((cleared?.expires?.getTime() ?? Number.POSITIVE_INFINITY) < Date.now() || cleared?.maxAge === 0).toBe(true);
    // The browser's old cookie is worth nothing now.
    expect((await me(cookie)).json().result.data.json).toBeNull();
  });

  it('serves the SPA for page URLs, and JSON 404 for others', async () => {
    const page = await app.inject({ url: '/security/accounts', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Roster test page');
    expect(page.headers['cache-control']).toBe('no-cache');
    const api = await app.inject({ url: '/nope.json', headers: { accept: 'application/json' } });
    expect(api.statusCode).toBe(404);
    // A page-like URL under /trpc is never the SPA.
    const trpcPage = await app.inject({ url: '/trpc/', headers: { accept: 'text/html' } });
    expect(trpcPage.body).not.toContain('Roster test page');
  });

  it('answers a bad request with 400, a readable message and the fields at fault', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: { json: { email: 'not-an-email', password: 'x' } },
    });
    expect(response.statusCode).toBe(400);
    const error = response.json().error.json;
    expect(error.message).toContain('Enter a valid email address');
    expect(error.data).toEqual({
      code: 'BAD_REQUEST',
      reason: 'INVALID_INPUT',
      httpStatus: 400,
      path: 'auth.login',
      fieldErrors: { email: ['Enter a valid email address, like name@example.com'] },
    });
  });

  it('names the field of a wrong current password like any bad input', async () => {
    const cookie = await sessionCookie();
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/auth.changePassword',
      headers: { 'content-type': 'application/json', cookie },
      payload: { json: { currentPassword: 'not it at all', newPassword: 'a new password' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.json.data.fieldErrors).toEqual({
      currentPassword: ['The current password is incorrect.'],
    });
  });

  it('answers the other error codes with their HTTP status, and no stack trace', async () => {
    const cookie = await sessionCookie();
    const anonymous = await app.inject({ url: `/trpc/accounts.list?input=${encodeURIComponent('{"json":{}}')}` });
    expect(anonymous.statusCode).toBe(401);
    const missing = await app.inject({
      url: `/trpc/accounts.get?input=${encodeURIComponent(JSON.stringify({ json: { id: '00000000-0000-4000-8000-000000000000' } }))}`,
      headers: { cookie },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.json.data).toMatchObject({ code: 'NOT_FOUND', fieldErrors: null });
    expect(JSON.stringify(missing.json())).not.toContain('stack');
  });

  it('answers an unknown procedure with 404', async () => {
    const response = await app.inject({ url: '/trpc/users.nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.json.data.code).toBe('NOT_FOUND');
  });

  it('takes batches of up to 20 calls, and refuses a larger one with 400', async () => {
    const batch = (size: number) => {
      const paths = Array.from({ length: size }, () => 'auth.me').join(',');
      const input = Object.fromEntries(Array.from({ length: size }, (_, i) => [i, { json: null }]));
      return app.inject({ url: `/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}` });
    };
    const twenty = await batch(20);
    expect(twenty.statusCode).toBe(200);
    expect(twenty.json()).toHaveLength(20);
    const tooMany = await batch(21);
    expect(tooMany.statusCode).toBe(400);
  });

  it('refuses a body over 1 MB with 413', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ json: { email: 'a@example.test', password: 'x'.repeat(1024 * 1024) } }),
    });
    expect(response.statusCode).toBe(413);
  });

  it('sends security headers on pages and API answers', async () => {
    for (const response of [
      await app.inject({ url: '/', headers: { accept: 'text/html' } }),
      await me(),
      await app.inject('/healthz'),
    ]) {
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('same-origin');
      // Plain HTTP: HSTS means nothing here (request-abuse.test.ts checks it over HTTPS).
      expect(response.headers['strict-transport-security']).toBeUndefined();
      expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(response.headers['x-powered-by']).toBeUndefined();
    }
  });
});

describe('an unexpected failure', () => {
  it('answers 500 with a generic message: the database error stays in the log', async () => {
    const db = await testDb();
    const cookie = await sessionCookie();
    // An error no mapping knows (plpgsql's P0001), raised inside this organization's audit insert.
    await withAuditFailing(db, org.organizationId, 'secret internal detail', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/trpc/accounts.create',
        headers: { 'content-type': 'application/json', cookie },
        payload: { json: { name: 'Never created', users: [] } },
      });
      expect(response.statusCode).toBe(500);
      const error = response.json().error.json;
      expect(error.data.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error.message).not.toContain('secret internal detail');
      expect(error.message).toMatch(/went wrong/);
    });
  });
});

describe('without a database', () => {
  it('/readyz is 503 when the database server does not answer, /healthz stays 200', async () => {
    // Nothing listens on port 1.
    const { db } = createDb({ url: 'postgres://postgres@127.0.0.1:1/roster_gone' });
    const gone = await buildTestApp(db);
    try {
      const ready = await gone.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'unavailable' });
      expect((await gone.inject('/healthz')).statusCode).toBe(200);
      // A procedure that needs the database says so: 503, not 500.
      const call = await gone.inject({
        url: `/trpc/auth.me?input=${encodeURIComponent('{"json":null}')}`,
        cookies: { [sessionCookieName]: 'a'.repeat(43) },
      });
      expect(call.statusCode).toBe(503);
      expect(call.json().error.json.data.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await gone.close();
      await db.destroy();
    }
  });

  it('/readyz is 503 once the database handle is destroyed', async () => {
    const { db } = createDb({ url: 'postgres://postgres@127.0.0.1:1/roster_gone' });
    const gone = await buildTestApp(db);
    try {
      await db.destroy();
      expect((await gone.inject('/readyz')).statusCode).toBe(503);
    } finally {
      await gone.close();
    }
  });
});
