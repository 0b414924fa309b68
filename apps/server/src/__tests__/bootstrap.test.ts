import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapInstallation } from '@roster/api';
import { createTestDatabase, createTestOrg, testDb, testServerUrl } from '@roster/api/test';
import { createDb, migrateToLatest } from '@roster/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const serverDir = fileURLToPath(new URL('../../', import.meta.url));
const port = 3501;
const base = `http://127.0.0.1:${port}`;
const tempDirs: string[] = [];

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const firstOrg = (label: string) => ({
  name: `Org ${label}`,
  adminEmail: `admin-${label}@example.test`,
  adminPassword: 'bootstrap password',
});

describe('bootstrapInstallation', () => {
  it('does nothing on a database that already has an organization', async () => {
    const db = await testDb();
    await createTestOrg(db);
    const before = await sql<{ n: number }>`select count(*)::int as n from organizations`.execute(db);
    expect(before.rows[0]?.n).toBeGreaterThan(0);
    expect(await bootstrapInstallation(db, firstOrg('late'))).toBeNull();
    const after = await sql<{ n: number }>`select count(*)::int as n from organizations`.execute(db);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it.runIf(testServerUrl)(
    'creates exactly one organization when two servers start at once on one empty Postgres database',
    async () => {
      for (let round = 0; round < 3; round++) {
        const url = await createTestDatabase(testServerUrl ?? '');
        const one = createDb({ url });
        const two = createDb({ url });
        try {
          await migrateToLatest(one.db);
          const results = await Promise.all([
            bootstrapInstallation(one.db, firstOrg(`one-${round}`)),
            bootstrapInstallation(two.db, firstOrg(`two-${round}`)),
          ]);
          expect(
            results.filter((r) => r !== null),
            `round ${round + 1}`,
          ).toHaveLength(1);
          const { rows } = await sql<{ orgs: number; accounts: number; users: number }>`
          select (select count(*)::int from organizations) as orgs,
                 (select count(*)::int from accounts) as accounts,
                 (select count(*)::int from users) as users`.execute(one.db);
          expect(rows[0]).toEqual({ orgs: 1, accounts: 1, users: 1 });
        } finally {
          await one.db.destroy();
          await two.db.destroy();
        }
      }
    },
  );
});

type Started = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** `pnpm start`'s command after `node`: the production bundle, with its memory flags. */
function startArguments(): string[] {
  const pkg = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(/\s+/);
  expect(command).toBe('node');
  return args;
}

/** Starts the server exactly as `pnpm start` does after its build, on port 3501, and waits until it is ready. */
async function startServer(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, startArguments(), {
    cwd: serverDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output}`);
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (ready === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, output: () => output, exited };
}

async function stop(server: Started): Promise<number | null> {
  server.child.kill('SIGTERM');
  const timeout = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timeout);
  }
}

const signIn = (email: string, password: string) =>
  fetch(`${base}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { email, password } }),
  });

describe('the start path (the production bundle of main.ts)', () => {
  // What `pnpm start` runs is the esbuild bundle: build it as `pnpm start` does.
  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: serverDir, stdio: 'pipe' });
  }, 120_000);

  it('creates the first administrator, prints the generated password once, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-start-'));
    tempDirs.push(dataDir);
    // Only what a newcomer's shell would have, plus the port and a fresh data folder.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dataDir, 'data'),
      WEB_DIST: join(dataDir, 'no-web'),
      LOG_LEVEL: 'warn',
      ...(testServerUrl ? { DATABASE_URL: await createTestDatabase(testServerUrl) } : {}),
    };

    const first = await startServer(env);
    let firstExit: number | null;
    try {
      const printed = /Sign in as: (\S+)\s+Password:\s+(\S+)\s+\(generated; shown only now\)/.exec(first.output());
      expect(printed, first.output()).not.toBeNull();
      const [, email = '', password = ''] = printed ?? [];
      expect(email).toBe('admin@example.com');
      expect(password.length).toBeGreaterThanOrEqual(20);
      const response = await signIn(email, password);
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toMatch(/roster_session=[\w-]{43};/);
      const body = (await response.json()) as { result: { data: { json: { user: unknown } } } };
      expect(body.result.data.json.user).toMatchObject({ email, role: 'admin' });
      expect((await signIn(email, 'not the password')).status).toBe(401);

      // Stopping: SIGTERM drains and exits 0.
      firstExit = await stop(first);
      expect(firstExit, first.output()).toBe(0);

      // The next start finds the organization: nothing is created, no password is printed.
      const second = await startServer(env);
      try {
        expect((await signIn(email, password)).status).toBe(200);
      } finally {
        expect(await stop(second), second.output()).toBe(0);
      }
      expect(second.output()).not.toContain('Password:');
      expect(second.output()).not.toContain(password);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    }
  }, 240_000);
});
