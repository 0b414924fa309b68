import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestOrg, testDb, testPassword } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { type AppOptions, buildApp, sessionCookieName } from '../app.js';

/** A built console stand-in, so page routes have something to serve. */
export function fakeWebRoot(): string {
  const webRoot = mkdtempSync(join(tmpdir(), 'roster-web-'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Roster test page</title>');
  return webRoot;
}

/** The app on a test database, with a stand-in console that is removed when the app closes. */
export async function buildTestApp(db: Kysely<Database>, options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const webRoot = options.webRoot ?? fakeWebRoot();
  const app = await buildApp({
    db,
    webRoot,
    sessions: { idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000 },
    cookieSecure: 'auto',
    logLevel: 'silent',
    ...options,
  });
  if (!options.webRoot) app.addHook('onClose', async () => rmSync(webRoot, { recursive: true, force: true }));
  return app;
}

/** A client address of its own, so per-address sign-in limits of other tests do not meet ours. */
export const uniqueRemoteAddress = () => `127.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** Signs in over HTTP and returns the session cookie, as `cookie` header value. */
export async function signInCookie(app: FastifyInstance, email: string, password = testPassword): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/trpc/auth.login',
    remoteAddress: uniqueRemoteAddress(),
    headers: { 'content-type': 'application/json' },
    payload: { json: { email, password } },
  });
  const cookie = response.cookies.find((c) => c.name === sessionCookieName);
  if (response.statusCode !== 200 || !cookie)
    throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  return `${sessionCookieName}=${cookie.value}`;
}

/** The tRPC GET URL of a query with its input. */
export function queryUrl(path: string, input: unknown = {}): string {
  return `/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

/** An app on the test database, an organization of its own, and its administrator's session cookie. */
export async function signedInApp(options: { orgName?: string } = {}) {
  const db = await testDb();
  const org = await createTestOrg(db, options.orgName);
  const app = await buildTestApp(db);
  return { db, org, app, cookie: await signInCookie(app, org.adminEmail) };
}
