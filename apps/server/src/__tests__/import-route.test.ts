import { Readable } from 'node:stream';
import { createTestOrg, type TestOrg, testDb, uniqueEmail } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signInCookie } from './helpers.js';

let app: Awaited<ReturnType<typeof buildTestApp>>;
let org: TestOrg;
let db: Kysely<Database>;
let cookie: string;
const limit = 20 * 1024 * 1024;

beforeAll(async () => {
  db = await testDb();
  org = await createTestOrg(db, 'Import Org');
  app = await buildTestApp(db);
  cookie = await signInCookie(app, org.adminEmail);
});

afterAll(async () => {
  await app.close();
});

const url = (accountId = org.defaultAccountId, fileName = 'people.csv') =>
  `/import/users?accountId=${accountId}&fileName=${encodeURIComponent(fileName)}`;

function upload(payload: string | Buffer | Readable, headers: Record<string, string> = {}, target = url()) {
  return app.inject({
    method: 'POST',
    url: target,
    headers: { cookie, 'content-type': 'text/csv', ...headers },
    payload,
  });
}

const importCount = async () =>
  Number(
    (
      await db
        .selectFrom('userImports')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organizationId', '=', org.organizationId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('POST /import/users', () => {
  it('previews a file for an administrator, then /trpc applies it', async () => {
    const email = uniqueEmail();
    const response = await upload(`email,first name,last name,shoe size\n${email},Http,Upload,42\n`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json();
    expect(body.import).toMatchObject({
      accountId: org.defaultAccountId,
      summary: { total: 1, create: 1, error: 0, unknownColumns: ['shoe size'] },
    });
    const applied = await app.inject({
      method: 'POST',
      url: '/trpc/imports.commit',
      headers: { cookie, 'content-type': 'application/json' },
      payload: { json: { id: body.import.id } },
    });
    expect(applied.statusCode).toBe(200);
    expect(applied.json().result.data.json).toMatchObject({ created: 1 });
    const got = await app.inject({
      url: `/trpc/imports.get?input=${encodeURIComponent(JSON.stringify({ json: { id: body.import.id } }))}`,
      headers: { cookie },
    });
    expect(got.json().result.data.json).toMatchObject({ status: 'applied', fileName: 'people.csv' });
  });

  it('takes text/csv with parameters (charset)', async () => {
    const response = await upload(`email,first name,last name\n${uniqueEmail()},Char,Set\n`, {
      'content-type': 'text/csv; charset=utf-8',
    });
    expect(response.statusCode).toBe(200);
  });

  it('takes an API key instead of a session', async () => {
    const { secret } = await org.admin.apiKeys.create({ name: 'import script' });
    const response = await upload(`email,first name,last name\n${uniqueEmail()},Key,User\n`, {
      cookie: '',
      authorization: `Bearer ${secret}`,
    });
    expect(response.statusCode).toBe(200);
  });

  it('refuses without a session (401) and a plain user (403), before reading the file', async () => {
    const before = await importCount();
    const anonymous = await upload('email\nx@example.test\n', { cookie: '' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error).toMatchObject({ reason: 'UNAUTHENTICATED', message: 'Sign in to continue.' });
    const plain = await org.addUser({ canSignIn: true });
    const plainCookie = await signInCookie(app, plain.email);
    const refused = await upload('email\nx@example.test\n', { cookie: plainCookie });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.reason).toBe('NOT_ADMIN');
    expect(await importCount()).toBe(before);
  });

  it('keeps the browser guards: only text/csv, only its own Origin, POST only', async () => {
    const before = await importCount();
    for (const type of [
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
    ]) {
      const response = await upload('email\nx@example.test\n', { 'content-type': type });
      expect(response.statusCode, type).toBe(415);
    }
    const foreign = await upload(`email,first name,last name\n${uniqueEmail()},A,B\n`, {
      origin: 'https://evil.example',
    });
    expect(foreign.statusCode).toBe(403);
    const crossSite = await upload(`email,first name,last name\n${uniqueEmail()},A,B\n`, {
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.statusCode).toBe(403);
    const own = await upload(`email,first name,last name\n${uniqueEmail()},A,B\n`, {
      origin: 'http://localhost:80',
      host: 'localhost',
    });
    expect(own.statusCode).toBe(200);
    const get = await app.inject({ method: 'GET', url: url(), headers: { cookie } });
    expect(get.statusCode).toBe(405);
    expect(await importCount()).toBe(before + 1);
  });

  it('bad files and bad addresses are clear 4xx answers, never 500', async () => {
    const empty = await upload('');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toMatchObject({
      reason: 'IMPORT_FILE_INVALID',
      message: expect.stringMatching(/empty/),
    });
    const latin1 = await upload(Buffer.from([...Buffer.from('email,first name\n'), 0x7a, 0xe9, 0x0a]));
    expect(latin1.statusCode).toBe(400);
    expect(latin1.json().error.message).toMatch(/not UTF-8/);
    const quote = await upload('email,first name,last name\na@example.test,"Ann,Lee\n');
    expect(quote.json().error.message).toMatch(/never closed/);
    const noAccount = await upload('email\nx@example.test\n', {}, '/import/users');
    expect(noAccount.statusCode).toBe(400);
    const other = await createTestOrg(db, 'Other Import Org');
    const foreign = await upload('email,first name,last name\nx@example.test,A,B\n', {}, url(other.defaultAccountId));
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.reason).toBe('NOT_FOUND');
  });

  it('takes exactly 20 MB, and refuses 20 MB + 1 byte with 413, by Content-Length or while reading', async () => {
    const parts = ['email,first name,last name,notes\n'];
    let size = parts[0]?.length ?? 0;
    while (size < limit) {
      const start = `${uniqueEmail('big')},Big,File,`;
      const room = limit - size - start.length - 1;
      const row = `${start}${'x'.repeat(Math.max(0, Math.min(60_000, room)))}\n`;
      parts.push(row);
      size += row.length;
    }
    const exact = Buffer.from(parts.join(''));
    expect(exact.length).toBe(limit);
    const ok = await upload(exact);
    expect(ok.statusCode).toBe(200);

    const over = Buffer.concat([exact, Buffer.from('x')]);
    const declared = await upload(over);
    expect(declared.statusCode).toBe(413);
    expect(declared.json().error).toMatchObject({
      reason: 'IMPORT_TOO_LARGE',
      message: expect.stringMatching(/larger than 20 MB/),
    });
    // Without a Content-Length (chunked), the reader stops at the limit.
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const stream = new Readable({
      read() {
        if (sent > limit + 4 * chunk.length) return this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const chunked = await upload(stream, { 'transfer-encoding': 'chunked' });
    expect(chunked.statusCode).toBe(413);
    expect(chunked.json().error.reason).toBe('IMPORT_TOO_LARGE');
  });
});
