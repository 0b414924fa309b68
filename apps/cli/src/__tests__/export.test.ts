import { auditRowsOf, exportLimits, type TestOrg, uniqueEmail } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { buildTestApp } from '@roster/server/test';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, closedPort, runInProcess, runProcess } from './harness.js';
import { startTestServer } from './test-server.js';

// `roster users export [filters] > users.csv` against a real server on a free port.

let db: Kysely<Database>;
let org: TestOrg;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let serverUrl: string;
let adminKey: string;
const header = 'id,account,email,first name,last name,role,active,created,last sign-in';

/** The file's lines (CRLF-separated; these tests' cells hold no line breaks), without the empty one after the last CRLF. */
function linesOf(csv: string): string[] {
  expect(csv.endsWith('\r\n')).toBe(true);
  return csv.slice(0, -2).split('\r\n');
}
const idsOf = (csv: string) =>
  linesOf(csv)
    .slice(1)
    .map((line) => line.split(',')[0]);

beforeAll(async () => {
  ({ db, org, key: adminKey, app, url: serverUrl } = await startTestServer('CLI Export Org', 'export'));
});

afterAll(async () => {
  await app?.close();
});

const env = (key: string | null = adminKey, url = serverUrl) => ({
  ROSTER_URL: url,
  ...(key ? { ROSTER_API_KEY: key } : {}),
});

describe('roster users export', () => {
  it('writes the CSV of the same filters as `users search` to standard output, and nothing else', async () => {
    const sales = await org.addAccount(`Sales ${Date.now()}`);
    const ada = await org.addUser({
      accountId: sales.id,
      email: uniqueEmail('ada'),
      firstName: 'Ada',
      lastName: '=1+1',
    });
    const bob = await org.addUser({ accountId: sales.id, email: uniqueEmail('bob'), firstName: 'Bob', lastName: 'B' });
    await org.admin.users.deactivate({ id: bob.id });
    await org.addUser({ firstName: 'Ada', lastName: 'Elsewhere' });
    exportLimits.pageSize = 1;
    try {
      const all = await runInProcess(['users', 'export'], { env: env() });
      expect(all.stderr).toBe('');
      expect(all.code).toBe(0);
      const rows = linesOf(all.stdout);
      expect(rows[0]).toBe(header);
      expect(rows.length).toBe(1 + 4);

      const filtered = await runInProcess(['users', 'export', '--account', sales.name, '--active', 'ada'], {
        env: env(),
      });
      expect(filtered.code).toBe(0);
      expect(linesOf(filtered.stdout)).toEqual([
        header,
        `${ada.id},${sales.name},${ada.email},Ada,"'=1+1",user,true,${ada.createdAt.toISOString()},`,
      ]);
      const inactive = await runInProcess(['users', 'export', '--inactive'], { env: env() });
      expect(idsOf(inactive.stdout)).toEqual([bob.id]);
      const admins = await runInProcess(['users', 'export', '--role', 'admin', '--bom'], { env: env() });
      expect(admins.stdout.startsWith(`\uFEFF${header}\r\n`)).toBe(true);
      expect(idsOf(admins.stdout)).toEqual([org.adminId]);
    } finally {
      exportLimits.pageSize = 2_000;
    }
    const audited = (await auditRowsOf(db, org.organizationId)).filter((row) => row.action === 'users.exported');
    expect(audited.length).toBeGreaterThanOrEqual(3);
  });

  it('says why it is refused, with exit code 1 and nothing on standard output', async () => {
    const plain = await org.addSignedInUser();
    // A plain user cannot make an API key for someone else; theirs is made the way the console does.
    const plainKey = (await plain.caller.apiKeys.create({ name: 'mine' })).secret;
    const forbidden = await runInProcess(['users', 'export'], { env: env(plainKey) });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stdout).toBe('');
    expect(forbidden.stderr).toContain('Not allowed: account management is for administrators.');

    const badKey = await runInProcess(['users', 'export', '--json'], { env: env('rk_nope') });
    expect(badKey.code).toBe(1);
    expect(JSON.parse(badKey.stderr)).toMatchObject({ error: { code: 'UNAUTHORIZED', reason: 'API_KEY_INVALID' } });

    const noKey = await runInProcess(['users', 'export'], { env: env(null) });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('No API key');

    const badRole = await runInProcess(['users', 'export', '--role', 'owner'], { env: env() });
    expect(badRole.code).toBe(2);

    const down = await runInProcess(['users', 'export'], {
      env: env(adminKey, `http://127.0.0.1:${await closedPort()}`),
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('Cannot reach Roster at');
  });

  it('streams to a real pipe from the installed bundle (`roster users export > users.csv`)', async () => {
    const bundle = await buildBundle();
    try {
      const result = await runProcess(process.execPath, [bundle.main, 'users', 'export'], { env: env() });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(linesOf(result.stdout)[0]).toBe(header);
      expect(idsOf(result.stdout)).toContain(org.adminId);
    } finally {
      bundle.remove();
    }
  });
});
