// Runs the API's test suite through PgBouncer in transaction mode, the way
// managed Postgres is often reached: the whole suite, on the real server behind
// a pooler that hands each transaction whatever server connection is free.
// Started here and stopped here; nothing is left running. Needs Debian's
// pgbouncer (.ci/run installs it) and the Postgres server of DATABASE_URL.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const server = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

const listening = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'roster-pgbouncer-'));
// PgBouncer will not run as root: it runs as postgres, which must read its files.
chmodSync(dir, 0o777);
writeFileSync(join(dir, 'userlist.txt'), `"${server.username || 'postgres'}" ""\n`);
writeFileSync(
  join(dir, 'pgbouncer.ini'),
  `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; node-postgres sends statement_timeout at start-up; PgBouncer only passes known parameters.
ignore_startup_parameters = extra_float_digits,statement_timeout
logfile = ${join(dir, 'pgbouncer.log')}
log_connections = 0
log_disconnections = 0
`,
);

const config = join(dir, 'pgbouncer.ini');
// Its log is in pgbouncer.log, printed if anything fails.
const program = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
const bouncer = spawn(program, process.getuid?.() === 0 ? ['-u', 'postgres', config] : [config], {
  stdio: 'ignore',
});
let status = 1;
try {
  const deadline = Date.now() + 15_000;
  while (!(await listening(port))) {
    if (bouncer.exitCode !== null || Date.now() > deadline) throw new Error('PgBouncer did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const version = spawnSync(program, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`${version} on 127.0.0.1:${port}, pool_mode = transaction, in front of ${server.host}`);
  const pooled = new URL(server);
  pooled.host = `127.0.0.1:${port}`;
  const result = spawnSync('pnpm', ['--filter', '@roster/api', 'test', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: pooled.toString(), DB_PREPARED_STATEMENTS: 'false' },
  });
  status = result.status ?? 1;
  if (status !== 0) console.error(readFileSync(join(dir, 'pgbouncer.log'), 'utf8').split('\n').slice(-40).join('\n'));
} catch (error) {
  console.error(String(error));
  try {
    console.error(readFileSync(join(dir, 'pgbouncer.log'), 'utf8'));
  } catch {}
} finally {
  bouncer.kill('SIGTERM');
  await new Promise((resolve) => (bouncer.exitCode !== null ? resolve() : bouncer.once('exit', resolve)));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
