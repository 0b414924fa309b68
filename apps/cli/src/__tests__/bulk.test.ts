import { type BulkWorker, startBulkWorker } from '@roster/api';
import type { TestOrg } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { buildTestApp } from '@roster/server/test';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Run, runInProcess } from './harness.js';
import { startTestServer } from './test-server.js';

// `roster users bulk` against a real server, with the bulk worker running as the server runs it.

let db: Kysely<Database>;
let org: TestOrg;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let worker: BulkWorker;
let serverUrl: string;
let key: string;

beforeAll(async () => {
  ({ db, org, key, app, url: serverUrl } = await startTestServer('CLI Bulk Org', 'bulk'));
  worker = startBulkWorker(db, { intervalMs: 50, batchSize: 2 });
});

afterAll(async () => {
  await worker?.stop();
  await app?.close();
});

const roster = (args: string[], input?: string): Promise<Run> =>
  runInProcess([...args, '--poll-ms', '50'], { input, env: { ROSTER_URL: serverUrl, ROSTER_API_KEY: key } });

const activeOf = async (id: string) =>
  (await db.selectFrom('users').select('active').where('id', '=', id).executeTakeFirst())?.active;

describe('roster users bulk', () => {
  it('previews with --dry-run, changing nothing', async () => {
    const account = await org.addAccount();
    const a = await org.addUser({ accountId: account.id, lastName: 'Bulkson' });
    await org.addUser({ accountId: account.id, lastName: 'Bulkson' });
    const text = await roster(['users', 'bulk', 'deactivate', '--account', account.name, '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('2 users selected: Deactivate 2 users.\n');
    const json = await roster([
      'users',
      'bulk',
      'deactivate',
      '--ids',
      `${a.id},${org.adminId}`,
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      total: 2,
      affected: 1,
      skipped: [{ reason: 'self', count: 1, message: 'You cannot do this to yourself' }],
    });
    expect(await activeOf(a.id)).toBe(true);
  });

  it('asks first (a pipe without --yes is refused), then applies, shows progress and the skipped users', async () => {
    const account = await org.addAccount();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await org.addUser({ accountId: account.id })).id);
    const refused = await roster(['users', 'bulk', 'deactivate', '--ids', ids.join(',')]);
    expect(refused.code).toBe(2);
    expect(await activeOf(ids[0] as string)).toBe(true);

    const applied = await roster(['users', 'bulk', 'deactivate', '--ids', [...ids, org.adminId].join(','), '--yes']);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('6 users selected: Deactivate 5 users.');
    expect(applied.stderr).toMatch(/6 of 6 \(100%\)/);
    expect(applied.stdout).toMatch(
      /^Done: 5 done, 1 skipped \(bulk action [0-9a-f-]{36}\)\.\nEMAIL\s+OUTCOME\s+REASON\s+ID\n/,
    );
    expect(applied.stdout).toContain('You cannot do this to yourself');
    for (const id of ids) expect(await activeOf(id)).toBe(false);

    const json = await roster(['users', 'bulk', 'reactivate', '--account', account.id, '--yes', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ operation: { status: 'done', done: 5, skipped: 0 }, skipped: [] });
    for (const id of ids) expect(await activeOf(id)).toBe(true);
  });

  it('moves users to an account named with --to-account', async () => {
    const from = await org.addAccount();
    const to = await org.addAccount();
    const u = await org.addUser({ accountId: from.id });
    const result = await roster(['users', 'bulk', 'move', '--account', from.name, '--to-account', to.name, '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Move 1 user to ${to.name}`);
    const row = await db.selectFrom('users').select('accountId').where('id', '=', u.id).executeTakeFirst();
    expect(row?.accountId).toBe(to.id);
  });

  it('explains a wrong command line', async () => {
    const none = await roster(['users', 'bulk', 'deactivate']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Say which users');
    const badId = await roster(['users', 'bulk', 'deactivate', '--ids', 'abc']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('Not a user id: abc');
    const move = await roster(['users', 'bulk', 'move', '--query', 'x']);
    expect(move.code).toBe(2);
    expect(move.stderr).toContain('move needs --to-account');
    const action = await roster(['users', 'bulk', 'explode', '--query', 'x']);
    expect(action.code).toBe(2);
    expect(action.stderr).toContain('Allowed choices are deactivate, reactivate, delete, move, end_sessions, unlock');
  });
});
