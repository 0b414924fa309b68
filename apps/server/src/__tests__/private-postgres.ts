import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, in a temporary folder on a free port,
 * which the test may stop and start at will. Never the shared server on 5432:
 * other test runs use that one.
 */
export type PrivatePostgres = {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
};

/** The folder of initdb and pg_ctl of the newest PostgreSQL installed (Debian layout), if any. */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type PrivatePostgresOptions = {
  /** Serve streaming replicas: wal_level=replica and WAL senders (initdb's pg_hba already trusts local replication). */
  replication?: boolean;
};

/** How to run PostgreSQL's programs: as the postgres user when the test runs as root (initdb and the server refuse root). */
async function programRunner(bin: string) {
  const asRoot = process.getuid?.() === 0;
  const exec = (program: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { timeout: 60_000 })
      : run(join(bin, program), args, { timeout: 60_000 });
  const dir = mkdtempSync(join(tmpdir(), 'roster-postgres-'));
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  return { exec, dir };
}

/** Starts the cluster in `data`, and the handle that stops, restarts and removes it. */
async function serve(
  exec: (program: string, args: string[]) => Promise<unknown>,
  dir: string,
  data: string,
  port: number,
  settings: string[],
): Promise<PrivatePostgres> {
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=50',
    ...settings,
  ].join(' ');
  const start = () => exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async start() {
      await start();
    },
    async destroy() {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const replicationSettings = ['-c wal_level=replica', '-c max_wal_senders=5', '-c wal_keep_size=256MB'];

export async function startPrivatePostgres(
  bin: string,
  options: PrivatePostgresOptions = {},
): Promise<PrivatePostgres> {
  const { exec, dir } = await programRunner(bin);
  const data = join(dir, 'data');
  const port = await freePort();
  await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  return serve(exec, dir, data, port, options.replication ? replicationSettings : []);
}

/**
 * A streaming replica of `primary` (started with `replication: true`), made as
 * production makes one: `pg_basebackup -R` (which writes standby.signal and the
 * primary_conninfo), then started on a port of its own, read-only (hot standby).
 */
export async function startPrivateReplica(bin: string, primary: PrivatePostgres): Promise<PrivatePostgres> {
  const { exec, dir } = await programRunner(bin);
  const data = join(dir, 'data');
  const port = await freePort();
  await exec('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    data,
    '-R',
    '-X',
    'stream',
    '--checkpoint=fast',
    '--no-sync',
  ]);
  return serve(exec, dir, data, port, ['-c hot_standby=on']);
}
