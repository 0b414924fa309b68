// The Dockerfile's steps, run without Docker (this machine has no Docker
// daemon, and no registry to pull node:20-bookworm-slim from): the build stage's
// RUN on a clean copy of the sources, then the run stage's CMD, with the
// image's ENV, as an unprivileged user, until its HEALTHCHECK passes; then
// SIGTERM, which must end it cleanly. Read from the Dockerfile itself, so the
// file and what this checks cannot drift apart. `node .ci/image-steps.mjs [--keep]`
// (--keep leaves the build in its temporary directory, to look at).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
// Instructions, with continued lines joined and comments dropped.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages = [];
for (const line of instructions) {
  if (/^FROM /i.test(line)) stages.push([]);
  stages.at(-1)?.push(line);
}
if (stages.length !== 2) throw new Error(`expected a build and a run stage, found ${stages.length}`);
const [build, run] = stages;
const buildRun = build.filter((line) => /^RUN pnpm install/.test(line));
if (buildRun.length !== 1) throw new Error('expected one RUN pnpm install … in the build stage');
const jsonArray = (prefix, lines) => {
  const line = lines.find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no ${prefix.trim()} in the run stage`);
  return JSON.parse(line.slice(line.indexOf('[')));
};
const env = {};
for (const line of run.filter((l) => l.startsWith('ENV '))) {
  for (const [, key, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key] = value;
}
const cmd = jsonArray('CMD ', run);
const healthcheck = jsonArray(
  'HEALTHCHECK ',
  run.map((l) => l.replace(/^HEALTHCHECK .*?CMD /, 'HEALTHCHECK CMD ')),
);

const work = mkdtempSync(join(tmpdir(), 'roster-image-'));
chmodSync(work, 0o755);
const src = join(work, 'src');
const out = join(work, 'out');
const data = join(work, 'data');
const say = (text) => console.log(`image-steps: ${text}`);
let server;
try {
  // COPY . . : the working tree's files that git does not ignore (as .dockerignore leaves them: the
  // sources, not node_modules, builds or .git).
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repo,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(repo, file)));
  mkdirSync(src);
  execFileSync('bash', ['-c', `tar --null -T - -cf - | tar -xf - -C ${JSON.stringify(src)}`], {
    cwd: repo,
    input: files.join('\0'),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const started = Date.now();
  const command = buildRun[0].replace(/^RUN /, '').replaceAll('/out', out);
  say(`build stage: ${command}`);
  execFileSync('bash', ['-euo', 'pipefail', '-c', command], { cwd: src, stdio: 'inherit' });
  const size = execFileSync('du', ['-sh', out], { encoding: 'utf8' }).split('\t')[0];
  say(`built in ${Math.round((Date.now() - started) / 1000)} s; the run stage's /app holds ${size}`);

  // The run stage: /app is `out`, /data a directory the unprivileged user owns, the image's ENV.
  mkdirSync(data);
  execFileSync('chown', ['-R', 'nobody:nogroup', data]);
  execFileSync('chmod', ['-R', 'a+rX', out]);
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const runEnv = {
    PATH: process.env.PATH,
    HOME: data,
    ...env,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: data,
    WEB_DIST: env.WEB_DIST?.replace(/^\/app/, out),
  };
  say(`run stage as nobody: ${cmd.join(' ')} (port ${port})`);
  server = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', ...cmd], {
    cwd: out,
    env: runEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  server.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 90_000;
  for (;;) {
    const check = spawn(healthcheck[0], healthcheck.slice(1), { env: runEnv, stdio: 'ignore' });
    const code = await new Promise((resolve) => check.on('exit', resolve));
    if (code === 0) break;
    if (server.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the HEALTHCHECK never passed; the server said:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  say('HEALTHCHECK passes');
  const page = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
  const html = await page.text();
  if (!page.ok || !html.includes('<div id="root">')) throw new Error(`GET / answered ${page.status}: not the console`);
  const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  // Read to the end: an unread body holds its connection open, and SIGTERM below would wait on it.
  const script = asset ? await fetch(`http://127.0.0.1:${port}${asset}`) : null;
  if (!script?.ok || !(await script.text()).length) throw new Error(`the console's ${asset} is not served`);
  say(`GET / serves the console, and ${asset}`);
  if (!/"msg"/.test(output)) throw new Error(`LOG_FORMAT=json but the log has no JSON lines:\n${output.slice(-2000)}`);

  server.kill('SIGTERM');
  const timeout = setTimeout(() => server.kill('SIGKILL'), 15_000);
  const { code, signal } = await exited;
  clearTimeout(timeout);
  if (code !== 0)
    throw new Error(
      `after SIGTERM the server ended with ${signal ?? `code ${code}`}; it said:\n${output.slice(-4000)}`,
    );
  say('SIGTERM ends it cleanly');
} finally {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  if (process.argv.includes('--keep')) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
