import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServerDatabase, testDatabasePrefix, withClient } from '@roster/db/server-databases';
import { request } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { defaultAccountIdOf, must } from './api';
import { parallelFiles } from './parallel';

export const adminEmail = 'admin@roster.test';
export const adminPassword = 'e2e admin password';

declare module 'vitest' {
  export interface ProvidedContext {
    baseURL: string;
    adminEmail: string;
    adminPassword: string;
    /** The administrator of each parallel worker, by VITEST_POOL_ID - 1 (the first is the one above). */
    workerAdmins: Credentials[];
    serverLogPath: string;
  }
}

export type Credentials = { email: string; password: string };

/**
 * An administrator for each worker: files running side by side each sign their
 * administrator in many times, and a user holds at most 20 live sessions (a
 * sign-in beyond that ends the oldest), so with one administrator shared, one
 * file's sign-ins ended the session another file was still using.
 */
async function addWorkerAdmins(baseURL: string): Promise<Credentials[]> {
  const first = { email: adminEmail, password: adminPassword };
  const context = await request.newContext({ baseURL });
  try {
    await must(context, 'mutation', 'auth.login', first);
    const accountId = await defaultAccountIdOf(context);
    const admins = [first];
    for (let worker = 2; worker <= parallelFiles; worker++) {
      const added = { email: `admin${worker}@roster.test`, password: `${adminPassword} ${worker}` };
      const names = { firstName: 'Admin', lastName: `Worker ${worker}` };
      await must(context, 'mutation', 'users.create', { accountId, ...added, ...names, role: 'admin' });
      admins.push(added);
    }
    return admins;
  } finally {
    await context.dispose();
  }
}

const webDir = join(import.meta.dirname, '..');
const serverDir = join(webDir, '..', 'server');

/** A port nobody listens on right now, so parallel helpers and CI never clash. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitUntilReady(url: string, server: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`The server exited with ${server.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`The server did not become ready within 90 s:\n${output()}`);
}

/**
 * Starts the real server (apps/server) on a free port, a fresh embedded
 * database and the built console, once for the whole browser suite.
 */
export default async function setup(project: TestProject) {
  const webDist = join(webDir, 'dist');
  if (!existsSync(join(webDist, 'index.html'))) {
    throw new Error('apps/web/dist is missing: build the console first (`pnpm --filter @roster/web build`).');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-e2e-'));
  const port = await freePort();
  // The run's database: a fresh one of its own on the PostgreSQL server when DATABASE_URL
  // names one (dropped at the end), otherwise a fresh embedded one in dataDir.
  const { DATABASE_URL: serverUrl, ...inherited } = process.env;
  const databaseName = `${testDatabasePrefix}e2e_${randomUUID().slice(0, 8)}`;
  const databaseUrl = serverUrl
    ? await createServerDatabase(serverUrl, databaseName, 'roster browser tests')
    : undefined;
  let log = '';
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: serverDir,
    env: {
      ...inherited,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: join(dataDir, 'db'),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      WEB_DIST: webDist,
      ROSTER_ORG_NAME: 'Browser Test Org',
      ROSTER_ADMIN_EMAIL: adminEmail,
      ROSTER_ADMIN_PASSWORD: adminPassword,
      // The suites sign the same people in far more often than anyone does in a minute.
      SIGN_IN_EMAIL_LIMIT: '10000',
      // Every request's log line, so the end of the run can check that no secret was ever written.
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      COOKIE_SECURE: 'auto',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The server's log, also in a file that server-log.test.ts (run last) reads.
  const logPath = join(dataDir, 'server.log');
  server.stdout?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    appendFileSync(logPath, chunk);
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });

  const baseURL = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
    if (serverUrl) {
      await withClient(serverUrl, (client) => client.query(`drop database if exists "${databaseName}" with (force)`));
    }
  };
  let workerAdmins: Credentials[];
  try {
    await waitUntilReady(baseURL, server, () => log);
    workerAdmins = await addWorkerAdmins(baseURL);
  } catch (error) {
    await stop();
    throw error;
  }
  project.provide('baseURL', baseURL);
  project.provide('serverLogPath', logPath);
  project.provide('adminEmail', adminEmail);
  project.provide('adminPassword', adminPassword);
  project.provide('workerAdmins', workerAdmins);

  return stop;
}
