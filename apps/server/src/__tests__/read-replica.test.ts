import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createOrganization } from '@roster/api';
import { createTestOrg, testDb, testPassword, testServerUrl, uniqueEmail } from '@roster/api/test';
import { createDb, createReadReplica, type Database, migrateToLatest, parseLsn, type ReadReplica } from '@roster/db';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { buildTestApp, queryUrl, signInCookie } from './helpers.js';
import {
  findPostgresBin,
  type PrivatePostgres,
  startPrivatePostgres,
  startPrivateReplica,
} from './private-postgres.js';
import {
  freePort,
  type ServerProcess,
  startServerProcess,
  stopServerProcess,
  waitFor as waitUntil,
} from './processes.js';

// List reads on a read replica (DATABASE_READ_URL), with a real streaming
// replica: a private primary (wal_level=replica) and a replica made from it by
// pg_basebackup -R, both on ports and in folders of this test's own, removed
// afterwards. Two apps on that pair stand for two server processes behind a
// load balancer: each has its own pools and its own watch on the replica, and
// they share nothing but the databases.
//
// Pausing the replica's replay (pg_wal_replay_pause) makes it stale on
// purpose: a reader who did not write then sees the old data (so the read
// really ran on the replica), while the writer sees its write at once, on
// either app.

describe('WAL positions', () => {
  it('compare as numbers, whatever their spelling', () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(parseLsn('0/a') === parseLsn('0/A')).toBe(true);
    for (const bad of ['', '0', '0/', 'x/1', '1/2/3', '123456789/0']) expect(() => parseLsn(bad)).toThrow();
  });
});

describe('without a replica (DATABASE_READ_URL unset)', () => {
  it('notes no write position after a change, and /readyz says ready', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'No Replica Org');
    const app = await buildTestApp(db);
    try {
      const cookie = await signInCookie(app, org.adminEmail);
      const response = await app.inject({
        method: 'POST',
        url: '/trpc/accounts.create',
        headers: { cookie, 'content-type': 'application/json' },
        payload: { json: { name: 'Written without a replica', users: [] } },
      });
      expect(response.statusCode, response.body).toBe(200);
      const positions = await db.selectFrom('sessions').select('writeLsn').where('userId', '=', org.adminId).execute();
      expect(positions.length).toBeGreaterThan(0);
      expect(positions.every((row) => row.writeLsn === null)).toBe(true);
      const ready = await app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready' });
    } finally {
      await app.close();
    }
  });
});

const bin = findPostgresBin();
if (testServerUrl === undefined) {
  console.info(
    'read replica test: skipped on embedded PGlite; with DATABASE_URL it runs on a private primary and replica.',
  );
}
const metricsToken = 'replica-metrics-token-0123456789';

type Process = { db: Kysely<Database>; replica: ReadReplica; app: FastifyInstance };

describe.skipIf(testServerUrl === undefined)('a streaming read replica (PostgreSQL only: DATABASE_URL)', () => {
  let primary: PrivatePostgres;
  let standby: PrivatePostgres;
  /** The test's own connections: to write behind the apps' backs, and to pause and resume the replica. */
  let primaryDb: Kysely<Database>;
  let standbyDb: Kysely<Database>;
  const processes: Process[] = [];
  let organizationId = '';
  let accountId = '';
  let writer = '';
  let writerEmail = '';
  let reader = '';
  /** Two "processes" with a lag bound far away, and one with a short one. */
  let a: Process;
  let b: Process;
  let strict: Process;
  /** One whose own checks never come (an hour apart): only a failed read tells it the replica is gone. */
  let unchecked: Process;

  async function startProcess(maxLagMs: number, intervalMs = 50): Promise<Process> {
    const { db } = createDb({ url: primary.url, poolSize: 4, statementTimeoutMs: 5_000 });
    const replica = createReadReplica({
      primary: db,
      url: standby.url,
      maxLagMs,
      intervalMs,
      poolSize: 4,
      statementTimeoutMs: 5_000,
    });
    const metrics = createMetrics({ db, pool: () => ({ total: 0, idle: 0, waiting: 0 }), version: 'test', replica });
    const app = await buildTestApp(db, { replica, metrics, metricsToken });
    const process = { db, replica, app };
    processes.push(process);
    return process;
  }

  const waitFor = (what: string, check: () => Promise<boolean>, ms = 20_000) => waitUntil(what, check, ms, 50);

  /** Until the replica has replayed everything the primary has written, and every process has seen so. */
  async function caughtUp() {
    const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primaryDb);
    const target = parseLsn(rows[0]?.lsn ?? '');
    await waitFor('the replica to catch up', async () => {
      const replayed = await sql<{ lsn: string }>`select pg_last_wal_replay_lsn()::text as lsn`.execute(standbyDb);
      return parseLsn(replayed.rows[0]?.lsn ?? '0/0') >= target;
    });
    for (const process of processes) {
      await waitFor('a process to see the replica', async () => (await process.replica.check()).status === 'ok');
    }
  }

  async function pauseReplay() {
    await sql`select pg_wal_replay_pause()`.execute(standbyDb);
    await waitFor('replay to pause', async () => {
      const { rows } = await sql<{ state: string }>`select pg_get_wal_replay_pause_state() as state`.execute(standbyDb);
      return rows[0]?.state === 'paused';
    });
  }
  const resumeReplay = () => sql`select pg_wal_replay_resume()`.execute(standbyDb);

  async function call(app: FastifyInstance, path: string, input: unknown, auth: string) {
    const headers = auth.startsWith('Bearer ') ? { authorization: auth } : { cookie: auth };
    const response = await app.inject({
      method: 'POST',
      url: `/trpc/${path}`,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: { json: input },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().result.data.json;
  }

  /** The emails a users search finds for `query`. */
  async function search(app: FastifyInstance, query: string, auth: string): Promise<string[]> {
    const headers = auth.startsWith('Bearer ') ? { authorization: auth } : { cookie: auth };
    const response = await app.inject({ url: queryUrl('users.search', { query, limit: 25 }), headers });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().result.data.json.items.map((user: { email: string }) => user.email);
  }

  const newUser = (app: FastifyInstance, email: string, auth = writer) =>
    call(app, 'users.create', { accountId, email, firstName: 'Fresh', lastName: 'Replica' }, auth);

  const readyz = async (process: Process) => {
    const response = await process.app.inject({ url: '/readyz' });
    return { statusCode: response.statusCode, body: response.json() as { status: string; reason?: string } };
  };

  beforeAll(async () => {
    if (!bin || !existsSync(join(bin, 'pg_basebackup'))) {
      throw new Error(
        'DATABASE_URL is set, so the read replica test must run, but PostgreSQL’s server programs (initdb, pg_ctl, pg_basebackup in /usr/lib/postgresql/<version>/bin) are missing: install postgresql-15.',
      );
    }
    primary = await startPrivatePostgres(bin, { replication: true });
    primaryDb = createDb({ url: primary.url, poolSize: 2 }).db;
    await migrateToLatest(primaryDb);
    const created = await createOrganization(primaryDb, {
      name: 'Replica Org',
      adminEmail: uniqueEmail('writer'),
      adminPassword: testPassword,
    });
    organizationId = created.organization.id;
    accountId = created.account.id;
    writerEmail = created.admin.email;
    standby = await startPrivateReplica(bin, primary);
    standbyDb = createDb({ url: standby.url, poolSize: 2 }).db;
    a = await startProcess(60_000);
    b = await startProcess(60_000);
    strict = await startProcess(1_000);
    unchecked = await startProcess(60_000, 3_600_000);
    writer = await signInCookie(a.app, writerEmail);
    const readerEmail = uniqueEmail('reader');
    await call(
      a.app,
      'users.create',
      { accountId, email: readerEmail, firstName: 'Read', lastName: 'Only', role: 'admin', password: testPassword },
      writer,
    );
    reader = await signInCookie(b.app, readerEmail);
  }, 120_000);

  afterAll(async () => {
    await sql`select pg_wal_replay_resume()`.execute(standbyDb).catch(() => {});
    for (const process of processes) {
      await process.app.close();
      await process.replica.close();
      await process.db.destroy();
    }
    await primaryDb?.destroy();
    await standbyDb?.destroy();
    await standby?.destroy();
    await primary?.destroy();
  }, 180_000);

  it('is a streaming replica of the primary, and every process reads from it once it has caught up', async () => {
    const { rows } = await sql<{ recovering: boolean }>`select pg_is_in_recovery() as recovering`.execute(standbyDb);
    expect(rows[0]?.recovering).toBe(true);
    await caughtUp();
    for (const process of [a, b, strict])
      expect(await readyz(process)).toEqual({ statusCode: 200, body: { status: 'ready' } });
  });

  it('answers a search by a caller who did not write from the replica, and the writer from the primary, on every process', async () => {
    await caughtUp();
    await pauseReplay();
    try {
      const email = uniqueEmail('fresh');
      await newUser(a.app, email);
      // The writer sees its user at once, through the process it wrote on and through the other one.
      expect(await search(a.app, email, writer)).toEqual([email]);
      expect(await search(b.app, email, writer)).toEqual([email]);
      // Someone who did not write reads the replica, which has not replayed the write: the user is not there yet.
      expect(await search(b.app, email, reader)).toEqual([]);
      expect(await search(a.app, email, reader)).toEqual([]);
      // The primary has it: the reader's answer really came from the replica.
      const onPrimary = await primaryDb.selectFrom('users').select('email').where('email', '=', email).execute();
      expect(onPrimary).toHaveLength(1);

      // The same with an API key: a change made with the key, and the key's next reads, on another process.
      const { secret } = await call(a.app, 'apiKeys.create', { name: 'replica script' }, writer);
      const key = `Bearer ${secret as string}`;
      const keyed = uniqueEmail('keyed');
      await newUser(a.app, keyed, key);
      expect(await search(b.app, keyed, key)).toEqual([keyed]);
      expect(await search(b.app, keyed, reader)).toEqual([]);

      // The audit list and the accounts list follow the same rule.
      const account = await call(a.app, 'accounts.create', { name: `Replica account ${email}`, users: [] }, writer);
      const accounts = async (process: Process, auth: string) => {
        const response = await process.app.inject({
          url: queryUrl('accounts.list', { query: account.name, limit: 25 }),
          headers: { cookie: auth },
        });
        expect(response.statusCode, response.body).toBe(200);
        return response.json().result.data.json.items.map((item: { id: string }) => item.id);
      };
      expect(await accounts(b, writer)).toEqual([account.id]);
      expect(await accounts(b, reader)).toEqual([]);
    } finally {
      await resumeReplay();
    }
    // Replay resumed: the reader sees the users too, still from the replica.
    await caughtUp();
    const replicaReads = b.replica.reads().replica;
    expect((await search(b.app, 'fresh-', reader)).length).toBeGreaterThan(0);
    expect(b.replica.reads().replica).toBe(replicaReads + 1);

    const metrics = await b.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } });
    expect(metrics.body).toMatch(/^roster_replica_up 1$/m);
    expect(metrics.body).toMatch(/^roster_replica_reads_total\{route="replica"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^roster_replica_reads_total\{route="recent_write"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^roster_replica_lag_seconds \d/m);
  });

  it('exports the CSV from the replica for a caller who did not write, and from the primary for the writer', async () => {
    await caughtUp();
    await pauseReplay();
    try {
      const email = uniqueEmail('exported');
      await newUser(a.app, email);
      const csv = async (auth: string) => {
        const response = await b.app.inject({
          url: `/export/users.csv?query=${encodeURIComponent(email)}`,
          headers: { cookie: auth, 'sec-fetch-site': 'same-origin' },
        });
        expect(response.statusCode, response.body).toBe(200);
        return response.body;
      };
      expect(await csv(writer)).toContain(email);
      expect(await csv(reader)).not.toContain(email);
    } finally {
      await resumeReplay();
    }
  });

  it('sends reads to the primary and says degraded while the replica lags past the bound, and returns to it', async () => {
    await caughtUp();
    await pauseReplay();
    let email = '';
    try {
      email = uniqueEmail('lagged');
      await newUser(a.app, email);
      // The strict process (1 s bound) gives up on the replica; the others (60 s) still read it.
      await waitFor('the strict process to see the lag', async () => (await readyz(strict)).body.status === 'degraded');
      const ready = await readyz(strict);
      expect(ready.statusCode).toBe(200);
      expect(ready.body.reason).toMatch(/behind the primary.*REPLICA_MAX_LAG_MS/);
      const fellBack = strict.replica.reads().unavailable;
      expect(await search(strict.app, email, reader)).toEqual([email]);
      expect(strict.replica.reads().unavailable).toBe(fellBack + 1);
      expect(await search(b.app, email, reader)).toEqual([]);
      expect((await readyz(b)).body).toEqual({ status: 'ready' });
      const metrics = await strict.app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${metricsToken}` },
      });
      expect(metrics.body).toMatch(/^roster_replica_up 0$/m);
    } finally {
      await resumeReplay();
    }
    await waitFor(
      'the strict process to read the replica again',
      async () => (await readyz(strict)).body.status === 'ready',
    );
    const onReplica = strict.replica.reads().replica;
    expect(await search(strict.app, email, reader)).toEqual([email]);
    expect(strict.replica.reads().replica).toBe(onReplica + 1);
  });

  it('answers from the primary while the replica is stopped, says degraded, and reads the replica again once it is back', async () => {
    await caughtUp();
    await standby.stop();
    try {
      const email = uniqueEmail('outage');
      await newUser(a.app, email);
      // A process that has not checked since: the read fails on the replica and runs again on the primary.
      const failed = unchecked.replica.reads().failed;
      expect(await search(unchecked.app, email, reader)).toEqual([email]);
      expect(unchecked.replica.reads().failed).toBe(failed + 1);
      expect((await readyz(unchecked)).body.reason).toMatch(/A read on the replica failed/);
      expect(await search(b.app, email, reader)).toEqual([email]);
      await waitFor('the processes to see the replica down', async () => (await readyz(a)).body.status === 'degraded');
      const ready = await readyz(a);
      expect(ready.statusCode).toBe(200);
      expect(ready.body.reason).toMatch(/does not answer|failed/);
      // /readyz is public: the reason names no host or port of the replica.
      expect(JSON.stringify(ready.body)).not.toContain(String(standby.port));
      const metrics = await a.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } });
      expect(metrics.body).toMatch(/^roster_replica_up 0$/m);
      expect(metrics.body).toMatch(/^roster_replica_lag_seconds nan$/im);
      const fellBack = a.replica.reads().unavailable;
      expect(await search(a.app, email, reader)).toEqual([email]);
      expect(a.replica.reads().unavailable).toBe(fellBack + 1);
    } finally {
      await standby.start();
    }
    await caughtUp();
    for (const process of [a, b, strict, unchecked]) expect((await readyz(process)).body).toEqual({ status: 'ready' });
    const onReplica = b.replica.reads().replica;
    expect((await search(b.app, 'outage-', reader)).length).toBeGreaterThan(0);
    expect(b.replica.reads().replica).toBe(onReplica + 1);
  });

  it('holds read-your-writes across two server processes (main.ts) started with DATABASE_READ_URL', async () => {
    const servers: Array<ServerProcess & { base: string }> = [];
    try {
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        const server = startServerProcess(port, {
          DATABASE_URL: primary.url,
          DATABASE_READ_URL: standby.url,
          REPLICA_MAX_LAG_MS: '60000',
          DB_POOL_SIZE: '3',
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
        });
        servers.push({ ...server, base: `http://127.0.0.1:${port}` });
      }
      for (const server of servers) {
        await waitFor(
          `a server process\n${server.log.join('')}`,
          async () => (await fetch(`${server.base}/readyz`)).ok,
          90_000,
        );
      }
      const [first, second] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const signIn = async (base: string, email: string) => {
        const response = await fetch(`${base}/trpc/auth.login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ json: { email, password: testPassword } }),
        });
        expect(response.status).toBe(200);
        return (
          response.headers
            .getSetCookie()
            .find((c) => c.startsWith('roster_session='))
            ?.split(';')[0] ?? ''
        );
      };
      const searchOn = async (base: string, query: string, cookie: string) => {
        const response = await fetch(`${base}${queryUrl('users.search', { query, limit: 25 })}`, {
          headers: { cookie },
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { result: { data: { json: { items: Array<{ email: string }> } } } };
        return body.result.data.json.items.map((user) => user.email);
      };
      const writerCookie = await signIn(first.base, writerEmail);
      const readerEmail = uniqueEmail('process-reader');
      await call(
        a.app,
        'users.create',
        {
          accountId,
          email: readerEmail,
          firstName: 'Process',
          lastName: 'Reader',
          role: 'admin',
          password: testPassword,
        },
        writer,
      );
      const readerCookie = await signIn(second.base, readerEmail);
      await caughtUp();
      await waitFor('both processes to read the replica', async () => {
        const states = await Promise.all(
          servers.map(async (server) => (await (await fetch(`${server.base}/readyz`)).json()) as { status: string }),
        );
        return states.every((state) => state.status === 'ready');
      });
      await pauseReplay();
      try {
        const email = uniqueEmail('process-write');
        const created = await fetch(`${first.base}/trpc/users.create`, {
          method: 'POST',
          headers: { cookie: writerCookie, 'content-type': 'application/json' },
          body: JSON.stringify({ json: { accountId, email, firstName: 'Across', lastName: 'Processes' } }),
        });
        expect(created.status).toBe(200);
        // The writer, on the other process: its own write, at once.
        expect(await searchOn(second.base, email, writerCookie)).toEqual([email]);
        // The reader, on either: the replica, which has not replayed it. A process learns the replica's
        // replayed position by asking it every 200 ms, so until its first ask since catching up it still
        // sends the reader (whose sign-in wrote) to the primary; on a busy machine that took long enough
        // for a first read to find the row (CI saw it). What must hold is that the reader is then served
        // by the replica, which never has the row while replay is paused.
        await waitFor('the reader to be served by the replica on both processes', async () => {
          const [onSecond, onFirst] = await Promise.all([
            searchOn(second.base, email, readerCookie),
            searchOn(first.base, email, readerCookie),
          ]);
          return onSecond.length === 0 && onFirst.length === 0;
        });
        // And the writer still reads their own write, on both.
        expect(await searchOn(first.base, email, writerCookie)).toEqual([email]);
      } finally {
        await resumeReplay();
      }
    } finally {
      for (const server of servers) await stopServerProcess(server, 'SIGTERM');
    }
  }, 180_000);

  it('says degraded when DATABASE_READ_URL names a server that is not a replica', async () => {
    const { db } = createDb({ url: primary.url, poolSize: 1 });
    const notReplica = createReadReplica({ primary: db, url: primary.url, maxLagMs: 10_000 });
    try {
      const state = await notReplica.check();
      expect(state.status).toBe('down');
      expect(state.reason).toMatch(/not a streaming replica/);
      expect(notReplica.readerFor(null)).toBeNull();
    } finally {
      await notReplica.close();
      await db.destroy();
    }
  });

  it('keeps the organization to itself on the replica too', async () => {
    // Another organization's user, replayed on the replica: never in this organization's search.
    const other = await createOrganization(primaryDb, {
      name: 'Other Replica Org',
      adminEmail: uniqueEmail('other'),
      adminPassword: testPassword,
    });
    await caughtUp();
    expect(await search(b.app, other.admin.email, reader)).toEqual([]);
    expect(organizationId).not.toBe(other.organization.id);
  });
});
