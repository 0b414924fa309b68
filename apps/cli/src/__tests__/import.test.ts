import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestOrg, uniqueEmail } from '@roster/api/test';
import type { buildTestApp } from '@roster/server/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from './harness.js';
import { startTestServer } from './test-server.js';

let org: TestOrg;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let serverUrl: string;
let key: string;
const dir = mkdtempSync(join(tmpdir(), 'roster-cli-import-'));

beforeAll(async () => {
  ({ org, key, app, url: serverUrl } = await startTestServer('CLI Import Org', 'fixture'));
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const roster = (args: string[]) => runInProcess(args, { env: { ROSTER_URL: serverUrl, ROSTER_API_KEY: key } });

function fileWith(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('roster users import', () => {
  it('--dry-run previews (counts and the first errors) and changes nothing', async () => {
    const account = await org.addAccount('Dry Run');
    const fresh = uniqueEmail();
    const path = fileWith('dry.csv', `email,first name,last name\n${fresh},Dry,Run\nnot-an-email,A,B\n`);
    const result = await roster(['users', 'import', '--account', 'Dry Run', path, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('2 rows: 1 to create, 0 to update, 0 unchanged, 1 error');
    expect(result.stdout).toMatch(/3\s+not-an-email\s+Bad email/);
    const users = await org.admin.users.list({ accountId: account.id });
    expect(users.items).toEqual([]);
  });

  it('refuses rows with errors unless --skip-errors, asks for --yes off a terminal, then applies', async () => {
    const account = await org.addAccount('Applied');
    const fresh = uniqueEmail();
    const path = fileWith('apply.csv', `email,first name,last name\n${fresh},Cli,Import\n,A,B\n`);
    const refused = await roster(['users', 'import', '--account', account.id, path, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 row has errors: nothing was imported.*--skip-errors/);
    const unconfirmed = await roster(['users', 'import', '--account', account.id, path, '--skip-errors']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/create 1 user.*pass --yes/);
    expect((await org.admin.users.list({ accountId: account.id })).items).toEqual([]);
    const applied = await roster([
      'users',
      'import',
      '--account',
      account.id,
      path,
      '--skip-errors',
      '--yes',
      '--json',
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    const output = JSON.parse(applied.stdout);
    expect(output).toMatchObject({
      import: { summary: { create: 1, error: 1 } },
      errors: [{ line: 3, error: 'The email is empty.' }],
      result: { created: 1, skipped: 1 },
    });
    const users = await org.admin.users.list({ accountId: account.id });
    expect(users.items.map((u) => u.email)).toEqual([fresh.toLowerCase()]);
  });

  it('a bad file is a clear error, a missing file a usage error', async () => {
    const path = fileWith('bad.csv', 'name,first name\nx,y\n');
    const bad = await roster(['users', 'import', '--account', org.defaultAccountId, path, '--yes']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: The header has no "email" column/);
    const missing = await roster(['users', 'import', '--account', org.defaultAccountId, join(dir, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Cannot read .*nope.csv: no such file/);
  });
});
