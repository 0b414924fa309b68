import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { createContext } from '../context.js';
import { importMaxBytes } from '../imports/csv.js';
import { deleteExpiredImports } from '../imports/queries.js';
import { previewUserImport } from '../imports/service.js';
import {
  auditRowsOf,
  callerAs,
  createTestOrg,
  errorDataOf,
  expectTRPCError,
  failure,
  sessionOf,
  type TestOrg,
  testDb,
  testServerUrl,
  uniqueEmail,
} from '../test/index.js';
import { startUserExport } from '../users/export.js';

const csv = (...lines: string[]) => `${lines.join('\n')}\n`;

/** The preview's rows, all of them, in the order the console shows them (errors first). */
async function allRows(org: TestOrg, id: string, verdict?: 'error' | 'create' | 'update' | 'unchanged') {
  const rows = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<TestOrg['admin']['imports']['rows']>> = await org.admin.imports.rows({
      id,
      verdict,
      cursor,
      limit: 3,
    });
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return rows;
}

/** An administrator's API key (a script): what the console would do, without a session. */
const scriptActor = (org: TestOrg, id: string) => ({
  id,
  organizationId: org.organizationId,
  accountId: org.defaultAccountId,
  email: 'script@example.test',
  role: 'admin' as const,
  via: 'apiKey' as const,
  apiKeyId: '00000000-0000-4000-8000-000000000002',
});

async function reasonOfFailure(promise: Promise<unknown>) {
  return errorDataOf(await failure(promise)).reason;
}

async function userByEmail(email: string) {
  const db = await testDb();
  return db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
}

describe('import: bad files get clear errors', () => {
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['an empty file', '', /empty/],
    ['only blank lines', '\n\r\n  \n', /empty/],
    ['a BOM and nothing else', Buffer.from([0xef, 0xbb, 0xbf]), /empty/],
    ['a header and no rows', 'email,first name,last name\n', /no rows/],
    [
      'a binary file (PNG)',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      /not a CSV file/,
    ],
    [
      'Latin-1 text',
      Buffer.concat([
        Buffer.from('email,first name,last name\nzoe@example.test,Zo'),
        Buffer.from([0xeb]),
        Buffer.from(',Lee\n'),
      ]),
      /not UTF-8.*line 2/,
    ],
    ['UTF-16 text', Buffer.from('\ufeffemail\nx@example.test\n', 'utf16le'), /UTF-16/],
    ['a header without email', csv('name,first name', 'a,b'), /no "email" column/],
    ['semicolons', csv('email;first name;last name', 'a@example.test;A;B'), /semicolons/],
    [
      'a quote that never closes',
      csv('email,first name,last name', 'a@example.test,"Ann,Lee', 'b@example.test,B,C'),
      /never closed.*line/,
    ],
    [
      'a row of 10,000 columns',
      csv('email,first name', `a@example.test${',x'.repeat(9_999)}`),
      /Line 2 has 10,000 fields/,
    ],
    ['the same column twice', csv('email,Email', 'a@example.test,b@example.test'), /twice/],
  ];
  it.each(cases)('%s', async (_name, content, message) => {
    const org = await createTestOrg(await testDb());
    const error = await expectTRPCError(org.previewImport(content), 'BAD_REQUEST');
    expect(errorDataOf(error).reason).toBe('IMPORT_FILE_INVALID');
    expect(error.message).toMatch(message);
  });

  it('reads Windows line ends, quoted commas, quotes and line breaks, and blank lines', async () => {
    const org = await createTestOrg(await testDb());
    const a = uniqueEmail();
    const b = uniqueEmail();
    const file = `email,first name,last name\r\n${a},"Ann, Jr.","O""Brien"\r\n\r\n${b},"Multi\r\nLine",Name\r\n`;
    const preview = await org.previewImport(file);
    expect(preview.summary).toMatchObject({ total: 2, create: 1, error: 1 });
    const rows = await allRows(org, preview.id);
    expect(rows.find((r) => r.verdict === 'create')).toMatchObject({
      email: a,
      firstName: 'Ann, Jr.',
      lastName: 'O"Brien',
      line: 2,
    });
    // A line break inside a name is a control character: refused, naming the row's line.
    expect(rows.find((r) => r.verdict === 'error')).toMatchObject({
      email: b,
      error: expect.stringMatching(/control characters/),
    });
  });

  it('refuses 20 MB + 1 byte, and takes exactly 20 MB', async () => {
    const org = await createTestOrg(await testDb());
    // Rows with a long notes column (unknown, ignored), the last one padded to reach exactly 20 MB.
    const parts = ['email,first name,last name,notes\n'];
    let size = parts[0]?.length ?? 0;
    let rows = 0;
    while (size < importMaxBytes) {
      const start = `${uniqueEmail('big')},Big,File,`;
      const room = importMaxBytes - size - start.length - 1;
      const notes = 'x'.repeat(Math.max(0, Math.min(60_000, room)));
      const row = `${start}${notes}\n`;
      parts.push(row);
      size += row.length;
      rows++;
    }
    const exact = Buffer.from(parts.join(''));
    expect(exact.length).toBe(importMaxBytes);
    const preview = await org.previewImport(exact);
    expect(preview.summary).toMatchObject({ total: rows, create: rows, unknownColumns: ['notes'] });
    const over = Buffer.concat([exact, Buffer.from('x')]);
    const error = await expectTRPCError(org.previewImport(over), 'PAYLOAD_TOO_LARGE');
    expect(errorDataOf(error).reason).toBe('IMPORT_TOO_LARGE');
    expect(error.message).toMatch(/larger than 20 MB/);
  });

  it('accepts UTF-8 with a BOM, headers in any spelling and order, and reports unknown columns', async () => {
    const org = await createTestOrg(await testDb());
    const email = uniqueEmail('Zoe');
    const file = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(csv('Last_Name,Favourite Colour,EMAIL,firstName,Password', `Müller,blue,${email},Zoë,hunter22`)),
    ]);
    const preview = await org.previewImport(file);
    expect(preview.summary).toMatchObject({
      total: 1,
      create: 1,
      columns: ['Last_Name', 'EMAIL', 'firstName'],
      unknownColumns: ['Favourite Colour'],
      ignoredColumns: ['Password'],
    });
    expect(preview.summary.notes.join(' ')).toMatch(/passwords are never imported/);
    expect(preview.summary.notes.join(' ')).toMatch(/Unknown column ignored: "Favourite Colour"/);
    const [row] = await allRows(org, preview.id);
    expect(row).toMatchObject({ verdict: 'create', email: email.toLowerCase(), firstName: 'Zoë', lastName: 'Müller' });
    await org.admin.imports.commit({ id: preview.id });
    const user = await userByEmail(email);
    expect(user).toMatchObject({
      firstName: 'Zoë',
      lastName: 'Müller',
      passwordHash: null,
      role: 'user',
      active: true,
    });
  });
});

describe('import: every row gets a verdict before anything changes', () => {
  it('create, update (with before → after), unchanged and each kind of error', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    const account = await org.addAccount();
    const elsewhere = await org.addAccount('Elsewhere');
    const same = await org.addUser({ accountId: account.id, firstName: 'Same', lastName: 'Person' });
    const renamed = await org.addUser({ accountId: account.id, firstName: 'Old', lastName: 'Name' });
    const leaving = await org.addUser({ accountId: account.id, firstName: 'Leaving', lastName: 'Soon' });
    const inOtherAccount = await org.addUser({ accountId: elsewhere.id });
    const inOtherOrg = await other.addUser();
    const newEmail = uniqueEmail('new');
    const dup = uniqueEmail('dup');
    const file = csv(
      'email,first name,last name,active,role',
      `${newEmail.toUpperCase()},New,Person,,`, // 2 create (case-insensitive email)
      `${same.email},Same,Person,true,user`, // 3 unchanged
      ` ${renamed.email.toUpperCase()} ,New,Name,,`, // 4 update: first name
      `${leaving.email},Leaving,Soon,false,`, // 5 update: deactivate
      'not-an-email,A,B,,', // 6 bad email
      `${dup},A,B,,`, // 7 duplicate
      `${dup},A,C,,`, // 8 duplicate
      `${inOtherAccount.email},A,B,,`, // 9 taken in another account
      `${inOtherOrg.email},A,B,,`, // 10 taken outside the organization
      `${uniqueEmail()},A,B,maybe,`, // 11 bad active
      `${uniqueEmail()},A,B,,admin`, // 12 admin outside the default account
      `${uniqueEmail()},,B,,`, // 13 new user without first name
      `${uniqueEmail()},A,B`, // 14 short row
    );
    const before = await auditRowsOf(db, org.organizationId);
    const preview = await org.previewImport(file, account.id);
    expect(preview.summary).toMatchObject({ total: 13, create: 1, update: 2, unchanged: 1, error: 9 });
    // Nothing changed yet: no user, no audit row.
    expect(await userByEmail(newEmail)).toBeUndefined();
    expect((await userByEmail(renamed.email))?.firstName).toBe('Old');
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(before.length);

    const rows = await allRows(org, preview.id);
    // Errors first, each group in file order.
    expect(rows.map((r) => [r.line, r.verdict])).toEqual([
      [6, 'error'],
      [7, 'error'],
      [8, 'error'],
      [9, 'error'],
      [10, 'error'],
      [11, 'error'],
      [12, 'error'],
      [13, 'error'],
      [14, 'error'],
      [2, 'create'],
      [4, 'update'],
      [5, 'update'],
      [3, 'unchanged'],
    ]);
    const byLine = new Map(rows.map((r) => [r.line, r]));
    expect(byLine.get(2)).toMatchObject({ email: newEmail.toLowerCase(), firstName: 'New', lastName: 'Person' });
    expect(byLine.get(4)?.changes).toEqual({ before: { firstName: 'Old' }, after: { firstName: 'New' } });
    expect(byLine.get(5)?.changes).toEqual({ before: { active: true }, after: { active: false } });
    expect(byLine.get(6)?.error).toMatch(/Bad email "not-an-email"/);
    expect(byLine.get(7)?.error).toMatch(/Duplicate in the file: this email is also on line 8/);
    expect(byLine.get(8)?.error).toMatch(/also on line 7/);
    expect(byLine.get(9)?.error).toMatch(/taken in another account \("Elsewhere"\)/);
    expect(byLine.get(10)?.error).toMatch(/outside this organization/);
    expect(byLine.get(11)?.error).toMatch(/"active" is true or false/);
    expect(byLine.get(12)?.error).toMatch(/Administrators belong to the default account/);
    expect(byLine.get(13)?.error).toMatch(/needs a first name/);
    expect(byLine.get(14)?.error).toMatch(/3 fields; the header has 5/);

    // Filter by verdict.
    expect((await allRows(org, preview.id, 'update')).map((r) => r.line)).toEqual([4, 5]);
    expect((await allRows(org, preview.id, 'unchanged')).map((r) => r.line)).toEqual([3]);
    await expectTRPCError(org.admin.imports.rows({ id: preview.id, cursor: 'bm9wZQ' }), 'BAD_REQUEST');

    // Errors block the apply until skipped.
    expect(await reasonOfFailure(org.admin.imports.commit({ id: preview.id }))).toBe('IMPORT_HAS_ERRORS');
    const result = await org.admin.imports.commit({ id: preview.id, skipErrors: true });
    expect(result).toMatchObject({ created: 1, updated: 2, unchanged: 1, skipped: 9, deactivated: 1 });
    expect(await userByEmail(newEmail)).toMatchObject({ accountId: account.id, firstName: 'New' });
    expect(await userByEmail(renamed.email)).toMatchObject({ firstName: 'New', version: renamed.version + 1 });
    expect(await userByEmail(leaving.email)).toMatchObject({ active: false });
    expect(await userByEmail(inOtherAccount.email)).toMatchObject({ accountId: elsewhere.id });
    expect(await userByEmail(dup)).toBeUndefined();
    const got = await org.admin.imports.get({ id: preview.id });
    expect(got).toMatchObject({ status: 'applied', result: { created: 1, skipped: 9 } });
  });

  it('refuses to deactivate or demote yourself, and admins only in the default account', async () => {
    const org = await createTestOrg(await testDb());
    const other = await org.addUser();
    const preview = await org.previewImport(
      csv('email,active,role', `${org.adminEmail},false,admin`, `${other.email},,admin`),
    );
    const rows = await allRows(org, preview.id);
    expect(rows.map((r) => [r.line, r.verdict])).toEqual([
      [2, 'error'],
      [3, 'update'],
    ]);
    expect(rows[0]?.error).toMatch(/cannot deactivate yourself/);
    const demote = await org.previewImport(csv('email,role', `${org.adminEmail},user`));
    expect((await allRows(org, demote.id))[0]?.error).toMatch(/cannot demote yourself/);
    await org.admin.imports.commit({ id: preview.id, skipErrors: true });
    expect(await userByEmail(other.email)).toMatchObject({ role: 'admin' });
    const audit = await auditRowsOf(await testDb(), org.organizationId);
    expect(audit.find((r) => r.action === 'user.role_changed' && r.targetId === other.id)?.changes).toEqual({
      before: { role: 'user' },
      after: { role: 'admin' },
    });
  });

  it('refuses rows that would leave the organization without an active administrator', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    // An actor who is not the administrator in the file (as a script's key of another admin
    // would be, were that admin demoted meanwhile): the self rule does not apply, this one does.
    const actor = scriptActor(org, (await org.addUser()).id);
    const other = await org.addUser();
    const preview = await previewUserImport(db, actor, {
      accountId: org.defaultAccountId,
      bytes: Buffer.from(csv('email,active,role', `${org.adminEmail},false,`, `${other.email},,`)),
    });
    expect(preview.summary).toMatchObject({ error: 1, unchanged: 1 });
    const [row] = await allRows(org, preview.id, 'error');
    expect(row?.error).toMatch(/would remove the last active administrator/);
    // With another administrator made in the same file, it is allowed.
    const both = await previewUserImport(db, actor, {
      accountId: org.defaultAccountId,
      bytes: Buffer.from(csv('email,active,role', `${org.adminEmail},false,`, `${other.email},,admin`)),
    });
    expect(both.summary).toMatchObject({ error: 0, update: 2 });
  });

  it('reads the file a batch at a time: every batch size gives the same preview, across batches', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const actor = scriptActor(org, (await org.addUser()).id);
    const promoted = await org.addUser();
    const same = await org.addUser({ firstName: 'Same' });
    const dup = uniqueEmail('dup');
    const file = csv(
      'email,first name,last name,active,role',
      `${org.adminEmail},,,false,`, // 2: takes the only administrator away
      `${promoted.email},,,,admin`, // 3: would make another, but its email is repeated on line 7
      `${uniqueEmail('new')},New,Person,,`, // 4: create
      `${dup},A,B,,`, // 5: repeated on line 8
      `${same.email},Same,,,`, // 6: unchanged
      `${promoted.email.toUpperCase()},,,,admin`, // 7: repeated (line 3)
      `${dup},B,C,,`, // 8: repeated (line 5)
      'not-an-email,A,B,,', // 9
    );
    const previews = [];
    for (const batchRows of [1, 2, 3, 10_000]) {
      const preview = await previewUserImport(
        db,
        actor,
        { accountId: org.defaultAccountId, bytes: Buffer.from(file) },
        { batchRows },
      );
      const rows = (await allRows(org, preview.id)).map(({ line, verdict, email, error, changes }) => ({
        line,
        verdict,
        email,
        error,
        changes,
      }));
      previews.push({ summary: preview.summary, rows });
    }
    const [first, ...others] = previews;
    for (const other of others) expect(other).toEqual(first);
    expect(first?.summary).toMatchObject({ total: 8, create: 1, update: 0, unchanged: 1, error: 6 });
    const byLine = new Map(first?.rows.map((row) => [row.line, row]));
    // The repeated promotion changes nobody, so it cannot stand in for the administrator taken away.
    expect(byLine.get(2)?.error).toMatch(/would remove the last active administrator/);
    expect(byLine.get(3)?.error).toBe('Duplicate in the file: this email is also on line 7.');
    expect(byLine.get(7)?.error).toBe('Duplicate in the file: this email is also on line 3.');
    expect(byLine.get(5)?.error).toBe('Duplicate in the file: this email is also on line 8.');
    expect(byLine.get(8)?.error).toBe('Duplicate in the file: this email is also on line 5.');
    expect(byLine.get(3)?.changes).toBeNull();
    expect(byLine.get(4)?.verdict).toBe('create');
    expect(byLine.get(6)?.verdict).toBe('unchanged');
    expect(byLine.get(9)?.error).toMatch(/Bad email/);
  });

  it('a file that turns out bad at its end stores nothing of its earlier batches', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const countImports = async () =>
      Number(
        (
          await db
            .selectFrom('userImports')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('organizationId', '=', org.organizationId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const lines = Array.from({ length: 5 }, (_, i) => `${uniqueEmail(`b${i}`)},A,B`);
    const error = await failure(
      previewUserImport(
        db,
        scriptActor(org, org.adminId),
        {
          accountId: org.defaultAccountId,
          bytes: Buffer.from(csv('email,first name,last name', ...lines, '"open,A,B')),
        },
        { batchRows: 2 },
      ),
    );
    expect(errorDataOf(error).reason).toBe('IMPORT_FILE_INVALID');
    expect((error as Error).message).toMatch(/quoted field is never closed/);
    expect(await countImports()).toBe(0);
  });

  it('another organization’s account or import is NOT_FOUND', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const other = await createTestOrg(db);
    await expectTRPCError(other.previewImport(csv('email', uniqueEmail()), org.defaultAccountId), 'NOT_FOUND');
    const preview = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    await expectTRPCError(other.admin.imports.get({ id: preview.id }), 'NOT_FOUND');
    await expectTRPCError(other.admin.imports.rows({ id: preview.id }), 'NOT_FOUND');
    await expectTRPCError(other.admin.imports.commit({ id: preview.id }), 'NOT_FOUND');
    expect((await org.admin.imports.get({ id: preview.id })).status).toBe('previewed');
  });

  it('a plain user may not read or apply an import', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const plain = await org.addUser();
    const caller = await callerAs(db, plain.id);
    const preview = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    await expectTRPCError(caller.imports.get({ id: preview.id }), 'FORBIDDEN');
    await expectTRPCError(caller.imports.commit({ id: preview.id }), 'FORBIDDEN');
    expect((await org.admin.imports.get({ id: preview.id })).status).toBe('previewed');
  });
});

describe('import: apply', () => {
  it('writes every change in the audit log, as the single calls do, plus one row for the import', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount('Imported');
    const existing = await org.addUser({ accountId: account.id, firstName: 'Kim', lastName: 'Old' });
    const fresh = uniqueEmail('fresh');
    const preview = await org.previewImport(
      csv('email,first name,last name,active', `${fresh},Fresh,User,`, `${existing.email},Kim,New,false`),
      account.id,
      'people.csv',
    );
    const before = (await auditRowsOf(db, org.organizationId)).length;
    await org.admin.imports.commit({ id: preview.id });
    const rows = (await auditRowsOf(db, org.organizationId)).slice(before);
    const created = await userByEmail(fresh);
    expect(rows.map((r) => [r.action, r.targetId])).toEqual(
      expect.arrayContaining([
        ['user.created', created?.id],
        // Created without a password: invited, as users.create does.
        ['user.invited', created?.id],
        ['user.updated', existing.id],
        ['user.deactivated', existing.id],
        ['account.users_imported', account.id],
      ]),
    );
    expect(rows).toHaveLength(5);
    const byAction = Object.fromEntries(rows.map((r) => [r.action, r]));
    expect(byAction['user.created']).toMatchObject({
      actorId: org.adminId,
      actorEmail: org.adminEmail,
      targetEmail: fresh.toLowerCase(),
      targetName: 'Fresh User',
      accountId: account.id,
      changes: {
        before: null,
        after: {
          email: fresh.toLowerCase(),
          firstName: 'Fresh',
          lastName: 'User',
          role: 'user',
          active: true,
          accountId: account.id,
          passwordSet: false,
        },
      },
    });
    expect(byAction['user.updated']?.changes).toEqual({ before: { lastName: 'Old' }, after: { lastName: 'New' } });
    expect(byAction['user.deactivated']?.changes).toEqual({ before: { active: true }, after: { active: false } });
    expect(byAction['account.users_imported']).toMatchObject({
      targetLabel: 'Imported',
      changes: { after: { importId: preview.id, fileName: 'people.csv', created: 1, updated: 1, deactivated: 1 } },
    });
    // The audit log's own listing finds them by action.
    const listed = await org.admin.audit.list({ action: 'account.users_imported' });
    expect(listed.items.map((i) => i.targetId)).toEqual([account.id]);
  });

  it('deactivating ends the user’s sessions and revokes their API keys, as users.deactivate does', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const { user, caller } = await org.addSignedInUser();
    const { apiKey } = await caller.apiKeys.create({ name: 'Script' });
    const preview = await org.previewImport(csv('email,active', `${user.email},false`));
    const result = await org.admin.imports.commit({ id: preview.id });
    expect(result).toMatchObject({ deactivated: 1, sessionsEnded: 1, apiKeysRevoked: 1 });
    const sessions = await db.selectFrom('sessions').select('id').where('userId', '=', user.id).execute();
    expect(sessions).toEqual([]);
    const key = await db
      .selectFrom('apiKeys')
      .select('revokedAt')
      .where('id', '=', apiKey.id)
      .executeTakeFirstOrThrow();
    expect(key.revokedAt).not.toBeNull();
    await expectTRPCError(
      caller.auth.changePassword({ currentPassword: 'x', newPassword: 'a long new password' }),
      'UNAUTHORIZED',
    );
    const audit = await auditRowsOf(db, org.organizationId);
    expect(audit.find((r) => r.action === 'api_key.revoked')).toMatchObject({
      targetId: user.id,
      changes: { after: { apiKeyId: apiKey.id, reason: 'user_deactivated' } },
    });
    // And reactivating through an import works too.
    const back = await org.previewImport(csv('email,active', `${user.email},true`));
    expect(await org.admin.imports.commit({ id: back.id })).toMatchObject({ reactivated: 1 });
    expect(await userByEmail(user.email)).toMatchObject({ active: true });
  });

  it('reports its progress while it runs (on Postgres; PGlite answers the poll after it), then none', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    // Applied 40 lines a step (10,000 in production): the same statements, in 30 steps of progress.
    const count = 1_200;
    const batchLines = 40;
    const file = csv(
      'email,first name,last name',
      ...Array.from({ length: count }, (_, i) => `bulk-${i}-${org.organizationId}@example.test,Bulk,${i}`),
    );
    const preview = await org.previewImport(file);
    expect(preview.summary.create).toBe(count);
    const seen: { done: number; total: number }[] = [];
    let finished = false;
    const applying = org.applyImport(preview.id, { batchLines }).finally(() => {
      finished = true;
    });
    while (!finished) {
      const { progress } = await org.admin.imports.get({ id: preview.id });
      if (progress) seen.push(progress);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await applying).toMatchObject({ created: count });
    if (testServerUrl) expect(seen.length).toBeGreaterThan(0);
    for (const progress of seen) {
      expect(progress.total).toBe(count);
      expect(progress.done).toBeLessThanOrEqual(count);
    }
    // Polled while it ran, the count only goes up.
    expect(seen.map((p) => p.done)).toEqual(seen.map((p) => p.done).sort((a, b) => a - b));
    expect(await org.admin.imports.get({ id: preview.id })).toMatchObject({ status: 'applied', progress: null });
    // Every step applied: each user created once, invited, and audited.
    const created = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organizationId', '=', org.organizationId)
      .where('email', 'like', 'bulk-%')
      .executeTakeFirstOrThrow();
    expect(Number(created.n)).toBe(count);
    const audit = await auditRowsOf(db, org.organizationId);
    expect(audit.filter((r) => r.action === 'user.created')).toHaveLength(count);
  });

  it('is applied once: a second apply is refused', async () => {
    const org = await createTestOrg(await testDb());
    const preview = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    await org.admin.imports.commit({ id: preview.id });
    expect(await reasonOfFailure(org.admin.imports.commit({ id: preview.id }))).toBe('IMPORT_APPLIED');
  });

  it('two applies at once: one applies, the other is refused, nothing twice', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const emails = Array.from({ length: 20 }, () => uniqueEmail('race'));
    const preview = await org.previewImport(csv('email,first name,last name', ...emails.map((e) => `${e},Race,Twin`)));
    const outcomes = await Promise.allSettled([
      org.admin.imports.commit({ id: preview.id }),
      org.admin.imports.commit({ id: preview.id }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(errorDataOf(refused.reason).reason).toBe('IMPORT_APPLIED');
    const audit = await auditRowsOf(db, org.organizationId);
    expect(audit.filter((r) => r.action === 'user.created' && r.targetLabel?.startsWith('race-'))).toHaveLength(20);
  });

  it('refuses when a previewed user was edited since, and changes nothing', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const a = await org.addUser({ firstName: 'Ann' });
    const b = await org.addUser({ firstName: 'Bob' });
    const fresh = uniqueEmail();
    const preview = await org.previewImport(
      csv('email,first name,last name', `${a.email},Anna,User`, `${b.email},Bob,User`, `${fresh},New,User`),
    );
    // Another administrator edits the unchanged row's user meanwhile.
    await org.admin.users.update({ id: b.id, lastName: 'Elsewhere' });
    const auditBefore = (await auditRowsOf(db, org.organizationId)).length;
    const error = await expectTRPCError(org.admin.imports.commit({ id: preview.id }), 'CONFLICT');
    expect(errorDataOf(error).reason).toBe('IMPORT_STALE');
    expect(error.message).toMatch(/Preview the file again/);
    expect(await userByEmail(a.email)).toMatchObject({ firstName: 'Ann' });
    expect(await userByEmail(fresh)).toBeUndefined();
    expect(await auditRowsOf(db, org.organizationId)).toHaveLength(auditBefore);
    expect((await org.admin.imports.get({ id: preview.id })).status).toBe('previewed');
  });

  it('refuses when an email it creates was taken since', async () => {
    const org = await createTestOrg(await testDb());
    const fresh = uniqueEmail();
    const preview = await org.previewImport(csv('email,first name,last name', `${fresh},New,User`));
    await org.addUser({ email: fresh });
    expect(await reasonOfFailure(org.admin.imports.commit({ id: preview.id }))).toBe('IMPORT_STALE');
  });

  it('an apply racing an edit: either the import sees the edit and refuses, or the edit comes after it', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const users = await Promise.all(Array.from({ length: 10 }, () => org.addUser({ firstName: 'Before' })));
    const preview = await org.previewImport(
      csv('email,first name,last name', ...users.map((u) => `${u.email},Imported,User`)),
    );
    const target = users[5];
    if (!target) throw new Error('no user');
    const [apply, edit] = await Promise.allSettled([
      org.admin.imports.commit({ id: preview.id }),
      org.admin.users.update({ id: target.id, firstName: 'Edited', version: target.version }),
    ]);
    const final = await userByEmail(target.email);
    if (apply.status === 'fulfilled') {
      // The edit, made with the version it read, either went first (then the apply would have refused) or was refused.
      expect(edit.status).toBe('rejected');
      expect(errorDataOf((edit as PromiseRejectedResult).reason).reason).toBe('STALE_VERSION');
      expect(final?.firstName).toBe('Imported');
    } else {
      expect(errorDataOf(apply.reason).reason).toBe('IMPORT_STALE');
      expect(edit.status).toBe('fulfilled');
      expect(final?.firstName).toBe('Edited');
      expect((await userByEmail(users[0]?.email ?? ''))?.firstName).toBe('Before');
    }
  });

  it('an expired preview is refused', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const preview = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    await db
      .updateTable('userImports')
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where('id', '=', preview.id)
      .execute();
    expect(await reasonOfFailure(org.admin.imports.commit({ id: preview.id }))).toBe('IMPORT_EXPIRED');
  });
});

describe('import: round trip', () => {
  it('a file exported in the export format previews as all unchanged', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    for (let i = 0; i < 12; i++) {
      await org.addUser({ accountId: account.id, firstName: i % 2 ? 'Ana, "the first"' : 'Zoë', lastName: `Lée ${i}` });
    }
    const someone = await org.addUser({ accountId: account.id });
    await org.admin.users.deactivate({ id: someone.id });
    // The export's format: this header, ISO dates, true/false, the API's role strings.
    const users = await db
      .selectFrom('users')
      .selectAll()
      .where('accountId', '=', account.id)
      .orderBy('email')
      .execute();
    const file = stringify(
      users.map((u) => [
        u.id,
        account.name,
        u.email,
        u.firstName,
        u.lastName,
        u.role,
        String(u.active),
        u.createdAt.toISOString(),
        u.lastLoginAt ? u.lastLoginAt.toISOString() : '',
      ]),
      {
        header: true,
        columns: ['id', 'account', 'email', 'first name', 'last name', 'role', 'active', 'created', 'last sign-in'],
      },
    );
    const preview = await org.previewImport(file, account.id);
    expect(preview.summary).toMatchObject({
      total: 13,
      unchanged: 13,
      create: 0,
      update: 0,
      error: 0,
      unknownColumns: [],
    });
    expect(preview.summary.ignoredColumns).toEqual(['id', 'account', 'created', 'last sign-in']);
  });
});

describe('import: round trip through the real export', () => {
  it('previews the export of an account as all unchanged, formula-looking names included', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const account = await org.addAccount();
    const names = ['=SUM(A1:A9)', '+Plus', '-Minus', '@At', "'Quoted", 'Ana, "the first"', 'Zoë', 'Plain'];
    for (const [i, name] of names.entries()) {
      await org.addUser({ accountId: account.id, firstName: name, lastName: `Lée ${i}` });
    }
    const someone = await org.addUser({ accountId: account.id, email: uniqueEmail('-dash') });
    await org.admin.users.deactivate({ id: someone.id });
    const ctx = createContext({
      db,
      sessionToken: (await sessionOf(db, org.adminId)).token,
      clientAddress: '127.0.0.1',
      userAgent: 'vitest',
    });
    const run = await startUserExport(ctx, new URLSearchParams({ accountId: account.id }));
    const chunks: Buffer[] = [];
    for await (const chunk of run.stream) chunks.push(Buffer.from(chunk));
    await run.finished;
    const file = Buffer.concat(chunks).toString('utf8');
    // The export did neutralise them, so the round trip is a real one.
    expect(file).toContain("'=SUM(A1:A9)");
    const preview = await org.previewImport(file, account.id);
    expect(preview.summary).toMatchObject({
      total: names.length + 1,
      unchanged: names.length + 1,
      create: 0,
      update: 0,
      error: 0,
      unknownColumns: [],
    });
  });
});

describe('import: old previews', () => {
  it('are removed a day after they expire, with their rows', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const old = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    const recent = await org.previewImport(csv('email,first name,last name', `${uniqueEmail()},A,B`));
    await db
      .updateTable('userImports')
      .set({ expiresAt: new Date(Date.now() - 25 * 3_600_000) })
      .where('id', '=', old.id)
      .execute();
    while ((await deleteExpiredImports(db)) > 0) {}
    const left = await db
      .selectFrom('userImports')
      .select('id')
      .where('organizationId', '=', org.organizationId)
      .execute();
    expect(left.map((r) => r.id)).toEqual([recent.id]);
    const rows = await db.selectFrom('userImportRows').select('line').where('importId', '=', old.id).execute();
    expect(rows).toEqual([]);
  });
});
