import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, testServerUrl } from '@roster/api/test';
import { createDb } from '@roster/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ServerProcess, startServerProcess, stopServerProcess, waitFor } from './processes.js';

// Several server processes on one database behind HAProxy, as production runs
// them: started, restarted and killed here. Needs the real PostgreSQL server
// (DATABASE_URL) and Debian's haproxy; on embedded PGlite (one process's own
// database) there is no cluster to make, and the run says so.

const haproxyBin = '/usr/sbin/haproxy';
const adminEmail = 'cluster-admin@roster.test';
const adminPassword = 'cluster admin password 1';

const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;

let databaseUrl = '';
const nodes: ServerProcess[] = [];
let haproxy: ChildProcess | null = null;
const haproxyLog: string[] = [];
let base = '';
let dir = '';

function startNode(port: number): ServerProcess {
  return startServerProcess(port, {
    DATABASE_URL: databaseUrl,
    ROSTER_ORG_NAME: 'Cluster Org',
    ROSTER_ADMIN_EMAIL: adminEmail,
    ROSTER_ADMIN_PASSWORD: adminPassword,
    // HAProxy adds X-Forwarded-For: one hop.
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    DB_POOL_SIZE: '5',
    // Out of HAProxy's rotation (two failed checks 300 ms apart, each given up to 2 s) before it stops listening.
    SHUTDOWN_DELAY_MS: '3000',
  });
}

const clusterable = testServerUrl !== undefined && existsSync(haproxyBin);

describe.skipIf(!clusterable)('three servers behind HAProxy, on one database', () => {
  beforeAll(async () => {
    databaseUrl = await createTestDatabase(testServerUrl as string);
    dir = mkdtempSync(join(tmpdir(), 'roster-cluster-'));
    const ports = [await freePort(), await freePort(), await freePort()];
    // All three at once: migrations and the first start's bootstrap race.
    for (const port of ports) nodes.push(startNode(port));
    for (const node of nodes) {
      await waitFor(`server on ${node.port}\n${node.log.join('')}`, () => ready(node.port), 90_000);
    }
    const front = await freePort();
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(
      config,
      `global
  maxconn 2000
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503
  option forwardfor
frontend roster
  bind 127.0.0.1:${front}
  default_backend servers
backend servers
  balance roundrobin
  # A write is never sent twice: what reached a process that died is its client's to retry.
  http-request disable-l7-retry if METH_POST
  option httpchk GET /readyz
  # A busy machine may take a while to answer a check: slow is not down.
  timeout check 2s
  default-server inter 300 fall 2 rise 2
${ports.map((port, i) => `  server s${i} 127.0.0.1:${port} check`).join('\n')}
`,
    );
    haproxy = spawn(haproxyBin, ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (c: Buffer) => haproxyLog.push(c.toString()));
    haproxy.stderr?.on('data', (c: Buffer) => haproxyLog.push(c.toString()));
    base = `http://127.0.0.1:${front}`;
    await waitFor('HAProxy', async () => (await fetch(`${base}/readyz`)).ok);
  }, 180_000);

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    for (const node of nodes) await stopServerProcess(node, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ json: body }),
    });
  const get = (url: string, path: string, input: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers });

  async function firstAccountId(cookie: string): Promise<string> {
    const response = await get(base, 'accounts.list', {}, { cookie });
    const body = (await response.json()) as { result: { data: { json: { items: Array<{ id: string }> } } } };
    return body.result.data.json.items[0]?.id ?? '';
  }

  async function signIn(url: string, email = adminEmail, password = adminPassword) {
    const response = await post(url, 'auth.login', { email, password });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('roster_session='));
    return { status: response.status, cookie: cookie?.split(';')[0] ?? '' };
  }

  it('migrated and bootstrapped exactly once though all three started at once', async () => {
    const { db } = createDb({ url: databaseUrl, poolSize: 1 });
    try {
      const orgs = await sql<{ n: number }>`select count(*)::int as n from organizations`.execute(db);
      expect(orgs.rows[0]?.n).toBe(1);
      const admins = await sql<{ n: number }>`select count(*)::int as n from users where role = 'admin'`.execute(db);
      expect(admins.rows[0]?.n).toBe(1);
      const twice = await sql<{ n: number }>`
        select count(*)::int as n from (select name from kysely_migration group by name having count(*) > 1) as d`.execute(
        db,
      );
      expect(twice.rows[0]?.n).toBe(0);
    } finally {
      await db.destroy();
    }
  });

  it('honours a session made through one process on every other', async () => {
    const { status, cookie } = await signIn(`http://127.0.0.1:${nodes[0]?.port}`);
    expect(status).toBe(200);
    for (const node of nodes) {
      const me = await get(`http://127.0.0.1:${node.port}`, 'auth.me', undefined, { cookie });
      const body = (await me.json()) as { result: { data: { json: { email: string } | null } } };
      expect(body.result.data.json?.email).toBe(adminEmail);
    }
    for (let i = 0; i < 6; i++) {
      expect((await get(base, 'users.search', {}, { cookie })).status).toBe(200);
    }
  });

  it('locks a user out after five failures spread over the three processes', async () => {
    const { cookie } = await signIn(base);
    const email = `spread-${randomUUID().slice(0, 8)}@roster.test`;
    const password = 'the right password 12';
    const accountId = await firstAccountId(cookie);
    const created = await post(
      base,
      'users.create',
      { accountId, email, firstName: 'Spread', lastName: 'Out', password },
      {
        cookie,
        origin: base,
      },
    );
    expect(created.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const node = nodes[i % nodes.length] as ServerProcess;
      const wrong = await signIn(`http://127.0.0.1:${node.port}`, email, `wrong password ${i}`);
      expect(wrong.status).toBe(401);
    }
    for (const node of nodes) {
      const right = await signIn(`http://127.0.0.1:${node.port}`, email, password);
      expect(right.status).not.toBe(200);
      expect(right.cookie).toBe('');
    }
  });

  it('restarts each process in turn under 16 clients with no failed request', async () => {
    const { cookie } = await signIn(base);
    let stop = false;
    const outcomes = { ok: 0, failed: 0, statuses: new Map<string, number>() };
    const samples: string[] = [];
    const client = async () => {
      while (!stop) {
        try {
          const response = await get(base, 'users.search', { limit: 5 }, { cookie });
          const text = await response.text();
          if (response.status === 200) outcomes.ok++;
          else {
            if (outcomes.failed < 3) samples.push(`${response.status} ${text.slice(0, 200)}`);
            outcomes.failed++;
            outcomes.statuses.set(String(response.status), (outcomes.statuses.get(String(response.status)) ?? 0) + 1);
          }
        } catch (error) {
          outcomes.failed++;
          const name = String((error as Error).cause ?? error);
          outcomes.statuses.set(name, (outcomes.statuses.get(name) ?? 0) + 1);
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (let i = 0; i < nodes.length; i++) {
      const old = nodes[i] as ServerProcess;
      await stopServerProcess(old, 'SIGTERM');
      expect(old.process.exitCode, old.log.join('')).toBe(0);
      const fresh = startNode(old.port);
      nodes[i] = fresh;
      await waitFor(`restarted server on ${old.port}`, () => ready(old.port), 90_000);
      // HAProxy takes it back after two good checks.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    stop = true;
    await Promise.all(clients);
    if (outcomes.failed > 0) {
      // What HAProxy saw (servers going down, requests it could not place), to tell why.
      console.log(samples.join('\n'));
      console.log(
        haproxyLog
          .join('')
          .split('\n')
          .filter((l) => / 50\d |DOWN|NOSRV/.test(l))
          .slice(0, 20)
          .join('\n'),
      );
    }
    console.log(
      `rolling restart of 3 processes under 16 clients: ${outcomes.ok} requests answered, ${outcomes.failed} failed`,
    );
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(Object.fromEntries(outcomes.statuses)).toEqual({});
    expect(outcomes.failed).toBe(0);
  }, 240_000);

  it('loses only the requests a killed process held, and never half a write', async () => {
    const { cookie } = await signIn(base);
    const accountId = await firstAccountId(cookie);
    const tag = randomUUID().slice(0, 8);
    let stop = false;
    const sent: Array<{ email: string; status: number | 'error' }> = [];
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const email = `kill-${tag}-${w}-${i}@roster.test`;
        try {
          const response = await post(
            base,
            'users.create',
            { accountId, email, firstName: 'Kill', lastName: `W${w}` },
            { cookie, origin: base },
          );
          await response.arrayBuffer();
          sent.push({ email, status: response.status });
        } catch {
          sent.push({ email, status: 'error' });
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const victim = nodes[1] as ServerProcess;
    await stopServerProcess(victim, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stop = true;
    await Promise.all(writers);
    nodes[1] = startNode(victim.port);
    await waitFor('the killed server, restarted', () => ready(victim.port), 90_000);

    const failed = sent.filter((s) => s.status !== 200);
    console.log(
      `SIGKILL under 8 writers: ${sent.length} creates, ${failed.length} not answered 200`,
      failed.map((f) => f.status),
    );
    // Only what the killed process held when it died: at most one request per writer.
    expect(failed.length).toBeLessThanOrEqual(8);
    expect(sent.length - failed.length).toBeGreaterThan(20);

    const { db } = createDb({ url: databaseUrl, poolSize: 1 });
    try {
      const users = await sql<{ email: string; id: string }>`
        select email, id from users where email like ${`kill-${tag}-%`}`.execute(db);
      const audited = await sql<{ target: string }>`
        select target_id::text as target from audit_log where action = 'user.created'
          and target_id in (select id from users where email like ${`kill-${tag}-%`})`.execute(db);
      const stored = new Set(users.rows.map((row) => row.email));
      // Every answered create is stored; every stored user has its audit row (one transaction).
      for (const s of sent.filter((s) => s.status === 200)) expect(stored.has(s.email)).toBe(true);
      expect(new Set(audited.rows.map((row) => row.target)).size).toBe(users.rows.length);
    } finally {
      await db.destroy();
    }
  }, 240_000);
});

describe.runIf(!clusterable)('the cluster tests', () => {
  it('run only on the real PostgreSQL server with Debian’s haproxy; this run has neither, so they were not run', () => {
    expect(clusterable).toBe(false);
  });
});
