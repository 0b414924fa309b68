import { request as httpRequest } from 'node:http';
import { auditRowsOf, createTestOrg, exportLimits, type TestOrg, testDb } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signInCookie } from './helpers.js';

let db: Kysely<Database>;
let org: TestOrg;
let app: FastifyInstance;
let cookie: string;

const header = 'id,account,email,first name,last name,role,active,created,last sign-in';
const sameOrigin = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Export Org');
  await org.addUser({ firstName: '=cmd|"/C calc"!A0', lastName: 'Hostile' });
  await org.addUser({ firstName: 'Zoë', lastName: 'Müller, Jr' });
  app = await buildTestApp(db);
  cookie = await signInCookie(app, org.adminEmail);
});

afterAll(async () => {
  await app?.close();
});

const defaultPageSize = exportLimits.pageSize;
const defaultRunning = exportLimits.running;
afterEach(() => {
  exportLimits.pageSize = defaultPageSize;
  exportLimits.running = defaultRunning;
});

const exportRows = async () =>
  (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');

const download = (url: string, headers: Record<string, string>) => app.inject({ method: 'GET', url, headers });

/** The export's audit row is written once the stream has closed, just after the answer: wait for it. */
async function untilExportRows(count: number) {
  let rows = await exportRows();
  for (let i = 0; i < 100 && rows.length < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    rows = await exportRows();
  }
  expect(rows.length).toBe(count);
  return rows;
}

/** A download that succeeds, once its audit row is written. */
async function exported(url: string, headers: Record<string, string>) {
  const before = (await exportRows()).length;
  const response = await download(url, headers);
  expect(response.statusCode, response.body).toBe(200);
  const rows = await untilExportRows(before + 1);
  return { response, audit: rows.at(-1) };
}

describe('GET /export/users.csv', () => {
  it('streams the CSV of the search to the console’s link, as an attachment nobody caches', async () => {
    const { response, audit } = await exported('/export/users.csv?query=m%C3%BCller', { cookie, ...sameOrigin });
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="users-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const lines = response.body.split('\r\n');
    expect(lines[0]).toBe(header);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(',Zoë,"Müller, Jr",user,true,');
    expect(lines[2]).toBe('');
    expect(audit?.changes).toEqual({ before: null, after: { filter: { query: 'müller' }, rows: 1, complete: true } });
  });

  it('neutralizes formulas over HTTP too, names an account’s file after it, and adds a BOM when asked', async () => {
    const { response: all } = await exported('/export/users.csv?bom=true', { cookie, 'sec-fetch-site': 'none' });
    expect(all.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(all.body).toContain(`"'=cmd|""/C calc""!A0"`);
    expect(all.body).not.toMatch(/(^|,|\r\n)=cmd/);
    const account = await org.addAccount(`Sales & Ops ${Date.now()}`);
    const { response: one } = await exported(`/export/users.csv?accountId=${account.id}`, { cookie, ...sameOrigin });
    expect(one.headers['content-disposition']).toMatch(
      /^attachment; filename="users-sales-ops-\d+-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(one.body).toBe(`${header}\r\n`);
  });

  it('works with an API key (scripts, the CLI), with no Sec-Fetch-Site', async () => {
    const { secret } = await org.admin.apiKeys.create({ name: 'export over http' });
    const { response } = await exported('/export/users.csv?role=admin', { authorization: `Bearer ${secret}` });
    expect(response.body.split('\r\n')[1]).toContain(org.adminEmail);
  });

  it('refuses with JSON: 401 without credentials, 403 to a plain user, 400 for bad filters, 404 for another organization’s account', async () => {
    const before = (await exportRows()).length;
    const anonymous = await download('/export/users.csv', sameOrigin);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/json');
    expect(anonymous.json()).toMatchObject({ reason: 'UNAUTHENTICATED', message: 'Sign in to continue.' });

    const plain = await org.addUser({ canSignIn: true });
    const plainCookie = await signInCookie(app, plain.email);
    const forbidden = await download('/export/users.csv', { cookie: plainCookie, ...sameOrigin });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ reason: 'NOT_ADMIN' });

    const bad = await download('/export/users.csv?active=maybe&role=root&accountId=1', { cookie, ...sameOrigin });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['cache-control']).toBe('no-store');
    const body = bad.json();
    expect(body).toMatchObject({ statusCode: 400, reason: 'INVALID_INPUT' });
    expect(Object.keys(body.fieldErrors).sort()).toEqual(['accountId', 'active', 'role']);
    expect(body.message).toContain('active is true or false');

    const unknown = await download('/export/users.csv?status=active', { cookie, ...sameOrigin });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toContain('"status" is not a filter of the export');

    const stranger = await createTestOrg(db, 'Stranger Org');
    const notFound = await download(`/export/users.csv?accountId=${stranger.defaultAccountId}`, {
      cookie,
      ...sameOrigin,
    });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toMatchObject({ reason: 'NOT_FOUND', message: 'No such account.' });
    expect((await exportRows()).length).toBe(before);
  });

  it('is HEAD-, POST- and every other method-proof: 405, and nothing exported', async () => {
    const before = (await exportRows()).length;
    for (const method of ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      const response = await app.inject({
        method,
        url: '/export/users.csv',
        headers: { cookie, ...sameOrigin, 'content-type': 'application/json' },
        ...(method === 'HEAD' || method === 'OPTIONS' ? {} : { payload: '{}' }),
      });
      expect(response.statusCode, method).toBe(405);
      expect(response.headers.allow).toBe('GET');
    }
    expect((await exportRows()).length).toBe(before);
  });
});

describe('another site cannot start a download with the administrator’s cookie', () => {
  // What a browser sends for a link, <img>, <iframe> or fetch() of another site, or an older browser without Fetch Metadata.
  const attacks: Array<[string, Record<string, string>]> = [
    ['a cross-site link or <img>', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }],
    ['a sibling subdomain', { 'sec-fetch-site': 'same-site' }],
    ['cross-site fetch with its Origin', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ['a forged Origin even with same-origin', { 'sec-fetch-site': 'same-origin', origin: 'https://evil.example' }],
    ['no Fetch Metadata at all', {}],
    ['the null origin of a sandboxed frame', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
  ];
  const spellings = ['/export/users.csv', '/export/users.csv?role=admin', '//export/users.csv', '/export/users%2Ecsv'];

  it.each(attacks)('%s: 403 before anything is read or audited', async (_name, headers) => {
    const before = (await exportRows()).length;
    for (const url of spellings) {
      const response = await download(url, { cookie, ...headers });
      if (response.statusCode === 404) continue; // a spelling the router does not take to the route at all
      expect(response.statusCode, url).toBe(403);
      expect(response.body).not.toContain(org.adminEmail);
      expect(response.headers['cache-control']).toBe('no-store');
    }
    const plain = await download('/export/users.csv', { cookie, ...headers });
    expect(plain.statusCode).toBe(403);
    expect((await exportRows()).length).toBe(before);
  });

  it('says when to come back (Retry-After) when too many exports run at once: 429', async () => {
    exportLimits.running = 0;
    const response = await app.inject({ url: '/export/users.csv', headers: { cookie, ...sameOrigin } });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ reason: 'RATE_LIMITED' });
  });

  it('answers only known host names (DNS rebinding): 421', async () => {
    const response = await download('/export/users.csv', { cookie, ...sameOrigin, host: 'evil.example' });
    expect(response.statusCode).toBe(421);
  });
});

describe('streaming over a real connection', () => {
  it('sends the first rows before the last page is read, and audits a download the client abandoned', async () => {
    // 3,000 users read one per page: the client is gone long before the last page.
    const tag = Date.now().toString(36);
    await sql`
      insert into users (organization_id, account_id, email, first_name, last_name, role)
      select ${org.organizationId}, ${org.defaultAccountId}, 'bulk-' || lpad(g::text, 4, '0') || '-' || ${tag} || '@example.test',
        'Bulk', 'User ' || g, 'user'
      from generate_series(1, 3000) as g
    `.execute(db);
    exportLimits.pageSize = 1;
    const before = (await exportRows()).length;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const firstChunk = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(
        { host: '127.0.0.1', port, path: '/export/users.csv', headers: { cookie, ...sameOrigin } },
        (response) => {
          expect(response.statusCode).toBe(200);
          response.once('data', (chunk: Buffer) => {
            resolve(chunk.toString('utf8'));
            // The person cancels the download.
            request.destroy();
          });
        },
      );
      request.on('error', (error) => {
        if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
      });
      request.end();
    });
    expect(firstChunk.startsWith(header)).toBe(true);
    // The audit row is written when the server sees the connection close.
    const rows = await untilExportRows(before + 1);
    const after = rows.at(-1)?.changes.after as { rows: number; complete: boolean };
    expect(after.complete).toBe(false);
    expect(after.rows).toBeLessThan(3000);
  });
});
