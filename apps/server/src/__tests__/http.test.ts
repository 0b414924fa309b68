import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestOrg, testDb, testPassword } from '@roster/api/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, sessionCookieName } from '../app.js';

let app: FastifyInstance;
let org: Awaited<ReturnType<typeof createTestOrg>>;

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db);
  const webRoot = mkdtempSync(join(tmpdir(), 'roster-web-'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Roster test page</title>');
  app = await buildApp({
    db,
    webRoot,
    sessions: { idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000 },
    cookieSecure: 'auto',
    logLevel: 'silent',
  });
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
    expect(cookie?.value).toMatch(/^[\w-]{43}$/);
  });

  it('marks the cookie Secure for any other host', async () => {
    const response = await login('roster.example.com');
    expect(response.cookies.find((c) => c.name === sessionCookieName)?.secure).toBe(true);
  });

  it('serves the SPA for page URLs, and JSON 404 for others', async () => {
    const page = await app.inject({ url: '/security/accounts', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Roster test page');
    const api = await app.inject({ url: '/nope.json', headers: { accept: 'application/json' } });
    expect(api.statusCode).toBe(404);
  });

  it('answers a bad request with 400 and a readable message', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: { json: { email: 'not-an-email', password: 'x' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.json.message).toContain('Enter a valid email address');
  });
});
