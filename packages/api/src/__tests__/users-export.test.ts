import { TRPCError } from '@trpc/server';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { type CompiledQuery, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../context.js';
import { neutralizeFormulaCell, restoreFormulaCell, userCsvColumns, usersExportUrl } from '../shared/schemas.js';
import {
  auditRowsOf,
  createTestOrg,
  errorDataOf,
  sessionOf,
  type TestOrg,
  testDb,
  uniqueEmail,
} from '../test/index.js';
import { exportLimits, parseUserExportParams, startUserExport, userCsvHeader, userCsvLine } from '../users/export.js';

const defaults = { ...exportLimits };
afterEach(() => {
  Object.assign(exportLimits, defaults);
});

/** The export as an administrator's session (or the given credentials) asks for it, read to the end. */
async function exportAs(
  credentials: { sessionToken?: string; authorization?: string },
  params: Record<string, string> | string = {},
) {
  const db = await testDb();
  const ctx = createContext({ db, ...credentials, clientAddress: '127.0.0.1', userAgent: 'vitest' });
  const run = await startUserExport(ctx, new URLSearchParams(params));
  const chunks: Buffer[] = [];
  for await (const chunk of run.stream) chunks.push(Buffer.from(chunk));
  const outcome = await run.finished;
  const text = Buffer.concat(chunks).toString('utf8');
  return { run, text, outcome, records: parse(text, { bom: true }) as string[][] };
}

async function adminSession(org: TestOrg) {
  return (await sessionOf(await testDb(), org.adminId)).token;
}

/** Every page of users.search for the same filters: what the console shows. */
async function searchAll(org: TestOrg, filter: Record<string, unknown>) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await org.admin.users.search({ ...filter, cursor, limit: 3 });
    ids.push(...page.items.map((user) => user.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected the export to be refused');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return { error: error as TRPCError, data: errorDataOf(error as TRPCError) };
}

describe('users export: the file', () => {
  it('has the header row, one RFC 4180 row per user in email order, UTF-8, CRLF', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount(`Ventes, "Nord" ${crypto.randomUUID().slice(0, 6)}`);
    const zoe = await org.addUser({
      accountId: account.id,
      email: `a-${uniqueEmail('zoe')}`,
      firstName: 'Zoë "Z", 日本',
      lastName: 'Ångström 😀',
    });
    const plain = await org.addUser({ email: `b-${uniqueEmail('plain')}`, firstName: 'Plain', lastName: 'Person' });
    await org.admin.users.deactivate({ id: plain.id });
    // A line break in a name cannot come through the API, but a row may hold one (an older version, SQL).
    await db.updateTable('users').set({ lastName: 'Two\r\nLines' }).where('id', '=', plain.id).execute();
    // Microseconds, as Postgres keeps them: the file has milliseconds, as the API's dates (toISOString) do.
    await sql`update users set last_login_at = '2026-03-04T05:06:07.089999Z' where id = ${zoe.id}`.execute(db);

    const { text, records } = await exportAs({ sessionToken: await adminSession(org) });

    expect(text.startsWith('id,account,email,first name,last name,role,active,created,last sign-in\r\n')).toBe(true);
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(records[0]).toEqual([...userCsvColumns]);
    const rows = records.slice(1);
    const admin = await org.admin.users.get({ id: org.adminId });
    const expectedOrder = [admin, zoe, plain].sort((a, b) => (a.email < b.email ? -1 : 1)).map((user) => user.id);
    expect(rows.map((row) => row[0])).toEqual(expectedOrder);
    const byId = new Map(rows.map((row) => [row[0], row]));
    expect(byId.get(zoe.id)).toEqual([
      zoe.id,
      account.name,
      zoe.email,
      'Zoë "Z", 日本',
      'Ångström 😀',
      'user',
      'true',
      zoe.createdAt.toISOString(),
      '2026-03-04T05:06:07.089Z',
    ]);
    const plainRow = byId.get(plain.id);
    expect(plainRow?.slice(4, 7)).toEqual(['Two\r\nLines', 'user', 'false']);
    expect(plainRow?.[8]).toBe('');
    expect(byId.get(org.adminId)?.slice(5, 7)).toEqual(['admin', 'true']);
    // Quoting as RFC 4180 has it: the comma and quotes quoted, quotes doubled.
    expect(text).toContain('"Zoë ""Z"", 日本"');
    expect(text).toContain(`"${account.name.replaceAll('"', '""')}"`);
  });

  it('neutralizes every cell a spreadsheet would run as a formula, and quotes it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const hostile = [
      ['=HYPERLINK("http://evil.example","x")', 'plus'],
      ['+1+cmd|" /C calc"!A0', 'minus'],
      ['-2+3', '@SUM(A1:A2)'],
      ['\t=1+1', '\r=1+1'],
      ['＝1+1', "'quoted"],
    ];
    const ids: string[] = [];
    for (const [first, last] of hostile) {
      const user = await org.addUser({ email: `-${uniqueEmail('hostile')}`, firstName: 'x', lastName: 'y' });
      await db
        .updateTable('users')
        .set({ firstName: first as string, lastName: last as string })
        .where('id', '=', user.id)
        .execute();
      ids.push(user.id);
    }
    const { text, records } = await exportAs({ sessionToken: await adminSession(org) });
    const byId = new Map(records.slice(1).map((row) => [row[0], row]));
    hostile.forEach(([first, last], index) => {
      const row = byId.get(ids[index] as string);
      expect(row?.[3]).toBe(`'${first}`);
      expect(row?.[4]).toBe(last === 'plus' || last === 'minus' ? last : `'${last}`);
      // The email starts with "-" too: neutralized as well, and restorable.
      expect(row?.[2]?.startsWith("'-")).toBe(true);
      expect(restoreFormulaCell(row?.[2] as string).startsWith('-')).toBe(true);
    });
    // No cell of the file starts with a formula character, quoted or not.
    for (const row of records) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(text).toContain(`"'@SUM(A1:A2)"`);
    expect(text).toContain(`"''quoted"`);
  });

  it('starts with a byte order mark only when asked (bom=true), for Excel', async () => {
    const org = await createTestOrg(await testDb());
    const token = await adminSession(org);
    const { text } = await exportAs({ sessionToken: token }, { bom: 'true' });
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text.slice(1).startsWith('id,account,email,')).toBe(true);
  });

  it('reads the users page by page, and a search with no match is the header alone', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    for (let i = 0; i < 7; i++) await org.addUser({ email: `p${i}-${uniqueEmail('page')}` });
    exportLimits.pageSize = 2;
    const token = await adminSession(org);
    const { records, outcome } = await exportAs({ sessionToken: token });
    expect(records.length).toBe(1 + 8);
    expect(new Set(records.slice(1).map((row) => row[0])).size).toBe(8);
    expect(outcome).toEqual({ rows: 8, complete: true });
    const none = await exportAs({ sessionToken: token }, { query: 'nobody-matches-this-zzz' });
    expect(none.records).toEqual([[...userCsvColumns]]);
  });
});

describe('users export: the filters', () => {
  it('exports exactly the users every page of users.search shows, for each filter', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await org.addAccount();
    const tag = crypto.randomUUID().slice(0, 6);
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await org.addUser({
          accountId: i % 2 ? other.id : org.defaultAccountId,
          email: uniqueEmail(`f${i}`),
          firstName: i < 3 ? `Marguerite${tag}` : 'Other',
          lastName: 'Test',
          role: i === 0 ? 'admin' : 'user',
        }),
      );
    }
    await org.admin.users.deactivate({ id: (made[2] as { id: string }).id });
    await db
      .updateTable('users')
      .set({ lockedUntil: new Date(Date.now() + 3_600_000) })
      .where('id', '=', (made[4] as { id: string }).id)
      .execute();
    // Two of them signed in: one long ago, one today (the others never).
    await db
      .updateTable('users')
      .set({ lastLoginAt: new Date('2025-01-15T10:00:00Z') })
      .where('id', '=', (made[1] as { id: string }).id)
      .execute();
    await db
      .updateTable('users')
      .set({ lastLoginAt: new Date() })
      .where('id', '=', (made[3] as { id: string }).id)
      .execute();
    exportLimits.pageSize = 2;
    const token = await adminSession(org);
    const filters: Array<Record<string, unknown>> = [
      {},
      { query: `marguerite${tag}` },
      { query: 'f1' },
      { query: 'Ot' },
      { accountId: other.id },
      { accountId: other.id, query: 'Other' },
      { active: false },
      { active: true, role: 'user' },
      { role: 'admin' },
      { locked: true },
      { locked: false, active: true },
      { lastSignIn: { never: true } },
      { lastSignIn: { before: new Date('2026-01-01T00:00:00Z') } },
      { lastSignIn: { never: true }, query: `marguerite${tag}` },
    ];
    for (const filter of filters) {
      const expected = await searchAll(org, filter);
      const params = new URLSearchParams(usersExportUrl(filter).split('?')[1] ?? '');
      const { records, run } = await exportAs({ sessionToken: token }, params.toString());
      expect(
        records.slice(1).map((row) => row[0]),
        JSON.stringify(filter),
      ).toEqual(expected);
      expect(run.filter).toEqual(filter);
    }
  });

  it('never includes users of another organization', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const stranger = await createTestOrg(db);
    const theirs = await stranger.addUser({ firstName: 'Stranger' });
    const { records } = await exportAs({ sessionToken: await adminSession(org) });
    expect(records.slice(1).map((row) => row[0])).not.toContain(theirs.id);
    expect(records.length).toBe(2);
    // Their account is NOT_FOUND, as in accounts.get.
    const { data } = await refusal(
      exportAs({ sessionToken: await adminSession(org) }, { accountId: theirs.accountId }),
    );
    expect(data).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_FOUND' });
  });

  it('refuses bad filters with the field and a message, before any byte', async () => {
    const org = await createTestOrg(await testDb());
    const token = await adminSession(org);
    const cases: Array<[string, string]> = [
      ['active=yes', 'active'],
      ['locked=1', 'locked'],
      ['bom=maybe', 'bom'],
      ['role=owner', 'role'],
      ['accountId=not-an-id', 'accountId'],
      [`query=${'x'.repeat(201)}`, 'query'],
      ['query=a%00b', 'query'],
      ['q=ada', 'q'],
      ['role=user&role=admin', 'role'],
      ['query=&query=ada', 'query'],
      ['neverSignedIn=maybe', 'neverSignedIn'],
      ['lastSignInBefore=yesterday', 'lastSignInBefore'],
      ['neverSignedIn=true&lastSignInBefore=2026-01-01', 'neverSignedIn'],
    ];
    for (const [query, field] of cases) {
      const { error, data } = await refusal(exportAs({ sessionToken: token }, query));
      expect(data.code, query).toBe('BAD_REQUEST');
      expect(data.reason).toBe('INVALID_INPUT');
      expect(Object.keys(data.fieldErrors ?? {}), query).toContain(field);
      expect(error.message).toContain(field);
    }
    expect(() => parseUserExportParams(new URLSearchParams('active=true&role=admin&query=%20'))).not.toThrow();
    expect(parseUserExportParams(new URLSearchParams('active=true&role=admin&query=%20'))).toEqual({
      filter: { active: true, role: 'admin' },
      bom: false,
    });
  });
});

describe('users export: who may', () => {
  it('is refused without a session, to a plain user, and with a revoked key; an administrator’s API key works', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    expect((await refusal(exportAs({}))).data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'UNAUTHENTICATED' });
    const plain = await org.addUser();
    const plainToken = (await sessionOf(db, plain.id)).token;
    expect((await refusal(exportAs({ sessionToken: plainToken }))).data).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'NOT_ADMIN',
    });
    const { apiKey, secret } = await org.admin.apiKeys.create({ name: 'export script' });
    const { records } = await exportAs({ authorization: `Bearer ${secret}` });
    expect(records.length).toBe(3);
    await org.admin.apiKeys.revoke({ id: apiKey.id });
    expect((await refusal(exportAs({ authorization: `Bearer ${secret}` }))).data).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'API_KEY_REVOKED',
    });
    // Nothing refused was audited as an export.
    const exports = (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');
    expect(exports.length).toBe(1);
  });
});

describe('users export: the database going away midway', () => {
  it('ends the stream with DATABASE_UNAVAILABLE (never a file that looks complete), and audits what was written', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    for (let i = 0; i < 6; i++) await org.addUser();
    exportLimits.pageSize = 2;
    // Fault injection on the real database: once told to, reads of users fail as when the server goes away.
    let failing = false;
    const faulty = db.withPlugin({
      transformQuery(args) {
        if (failing && args.node.kind === 'SelectQueryNode') {
          throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
        }
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    // Statements compiled once (preparedQuery) are sent through executeQuery, past transformQuery: they fail too.
    const execute = faulty.executeQuery.bind(faulty);
    faulty.executeQuery = ((query: CompiledQuery, options?: Parameters<typeof execute>[1]) => {
      if (failing && /^\s*(select|with)\b/i.test(query.sql)) {
        throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      }
      return execute(query, options);
    }) as typeof faulty.executeQuery;
    const run = await startUserExport(
      createContext({ db: faulty, sessionToken: await adminSession(org) }),
      new URLSearchParams(),
    );
    const chunks: string[] = [];
    const failure = await (async () => {
      try {
        for await (const chunk of run.stream) {
          chunks.push(String(chunk));
          failing = true;
        }
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(failure).toBeInstanceOf(TRPCError);
    expect(errorDataOf(failure as TRPCError)).toMatchObject({ reason: 'DATABASE_UNAVAILABLE' });
    failing = false;
    const outcome = await run.finished;
    // The page after the first may have been read already (pages are read one ahead): 2 or 4 of the 7 users.
    expect(outcome.complete).toBe(false);
    expect([2, 4]).toContain(outcome.rows);
    const received = chunks.join('').split('\r\n').length - 2;
    expect(received).toBeGreaterThanOrEqual(2);
    expect(received).toBeLessThanOrEqual(outcome.rows);
    const rows = (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');
    expect(rows.at(-1)?.changes).toEqual({ before: null, after: { filter: {}, rows: outcome.rows, complete: false } });
  });
});

describe('users export: how many at once', () => {
  it('refuses one more than `exportLimits.running` at once (429), and takes it again once one has ended', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    exportLimits.running = 1;
    const token = await adminSession(org);
    const first = await startUserExport(createContext({ db, sessionToken: token }), new URLSearchParams());
    const { data, error } = await refusal(exportAs({ sessionToken: token }));
    expect(data).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
    expect(error.message).toContain('try again');
    first.stream.destroy();
    await first.finished;
    const { records } = await exportAs({ sessionToken: token });
    expect(records[0]).toEqual([...userCsvColumns]);
  });
});

describe('users export: the audit row', () => {
  it('says who exported which filter and how many rows, once the file is complete', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    await org.addUser({ accountId: account.id });
    await org.addUser({ accountId: account.id });
    await exportAs({ sessionToken: await adminSession(org) }, { accountId: account.id, active: 'true' });
    const rows = (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorId: org.adminId,
      actorEmail: org.adminEmail,
      targetType: 'account',
      targetId: account.id,
      targetLabel: account.name,
      accountId: account.id,
    });
    expect(rows[0]?.changes).toEqual({
      before: null,
      after: { filter: { accountId: account.id, active: true }, rows: 2, complete: true },
    });
  });

  it('records an export the client abandoned, with the rows sent and complete: false', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    for (let i = 0; i < 6; i++) await org.addUser();
    exportLimits.pageSize = 2;
    const ctx = createContext({ db, sessionToken: await adminSession(org) });
    const run = await startUserExport(ctx, new URLSearchParams());
    // Read one page, then go away.
    const iterator = run.stream[Symbol.asyncIterator]();
    await iterator.next();
    run.stream.destroy();
    const outcome = await run.finished;
    expect(outcome.complete).toBe(false);
    expect(outcome.rows).toBeGreaterThanOrEqual(2);
    expect(outcome.rows).toBeLessThan(7);
    const rows = (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.targetType).toBe('organization');
    expect(rows[0]?.targetId).toBe(org.organizationId);
    expect(rows[0]?.changes).toEqual({ before: null, after: { filter: {}, rows: outcome.rows, complete: false } });
  });
});

describe('the CSV writer', () => {
  it('writes exactly what csv-stringify writes (RFC 4180, CRLF, neutralized cells quoted), and csv-parse reads it back', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', ',', '"', "'", 'a', ' ', '＝', 'é') }),
    );
    fc.assert(
      fc.property(
        text,
        text,
        text,
        text,
        fc.boolean(),
        fc.option(fc.date({ noInvalidDate: true })),
        (account, email, first, last, active, login) => {
          const user = {
            id: '0b6c2d2e-1f0a-4c5e-9a55-3d2f0c1d2e3f',
            accountId: '0b6c2d2e-1f0a-4c5e-9a55-3d2f0c1d2e3e',
            email,
            firstName: first,
            lastName: last,
            role: 'user' as const,
            active,
            createdAt: '2026-01-02T03:04:05.006Z',
            lastLoginAt: login ? login.toISOString() : null,
          };
          const cells = [
            user.id,
            account,
            email,
            first,
            last,
            'user',
            String(active),
            '2026-01-02T03:04:05.006Z',
            login ? login.toISOString() : '',
          ];
          const line = userCsvLine(user, account);
          const reference = stringify([cells.map(neutralizeFormulaCell)], {
            record_delimiter: 'windows',
            // Without it, csv-stringify leaves a lone \n or \r unquoted once the delimiter is \r\n, and a reader
            // that takes either for a line end would split the row. Ours quotes them.
            quote_record_delimiter: true,
            quoted_match: /^'/,
          });
          expect(line).toBe(reference);
          const [read] = parse(userCsvHeader + line, { columns: true }) as Array<Record<string, string>>;
          expect(Object.keys(read ?? {})).toEqual([...userCsvColumns]);
          expect(userCsvColumns.map((column) => restoreFormulaCell(read?.[column] ?? ''))).toEqual(cells);
        },
      ),
      { numRuns: 500 },
    );
    expect(userCsvHeader).toBe(
      stringify([], { header: true, columns: [...userCsvColumns], record_delimiter: 'windows' }),
    );
  });
});

describe('formula neutralization', () => {
  it('is undone exactly by restoreFormulaCell, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const written = neutralizeFormulaCell(text);
        expect(restoreFormulaCell(written)).toBe(text);
        expect(written).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
      }),
    );
    for (const text of ['=1', "'=1", "''", "'", 'plain', '', '-', "a'b"]) {
      expect(restoreFormulaCell(neutralizeFormulaCell(text))).toBe(text);
    }
  });

  it('the export address carries the filters by their users.search names', () => {
    expect(usersExportUrl({})).toBe('/export/users.csv');
    expect(
      usersExportUrl(
        { query: 'ada lovelace', active: false, role: 'admin', locked: true, accountId: undefined },
        { bom: true },
      ),
    ).toBe('/export/users.csv?query=ada+lovelace&active=false&role=admin&locked=true&bom=true');
  });
});
