import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readEnv } from '../env.js';
import { run } from '../program.js';
import { Runtime } from '../runtime.js';

/** apps/cli, where the CLI's own node_modules are. */
export const cliDir = fileURLToPath(new URL('../../', import.meta.url));

export type Run = { code: number; stdout: string; stderr: string };

export type RunOptions = {
  /** Written to standard input, which is then closed (a pipe: never a terminal). */
  input?: string;
  /** The child's whole environment, beside PATH: nothing leaks in from the test's. */
  env?: Record<string, string | undefined>;
};

/** Runs a command to its end and collects what it printed. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: cliDir,
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs one command line inside the test's process, through the same `run(argv, runtime)`
 * that `main.ts` calls, with `options.env` as the whole environment and standard input a
 * pipe (never a terminal) holding `options.input`. Most tests use this: a child process
 * per command cost a second each; a few tests still run the built bundle as a process.
 */
export async function runInProcess(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const stdin = Readable.from(options.input ? [options.input] : []);
  const runtime = new Runtime(readEnv(options.env ?? {}), {
    stdin,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  const code = await run(args, runtime);
  return { code, stdout, stderr };
}

/**
 * Bundles the CLI the way `pnpm --filter @roster/cli build` does, into a folder of
 * its own, so the tests run exactly what gets installed (and start it fast).
 */
export async function buildBundle(): Promise<{ main: string; remove: () => void }> {
  const outdir = `node_modules/.cache/roster-cli-test-${randomUUID().slice(0, 8)}`;
  const built = await runProcess(process.execPath, ['scripts/build.js', outdir]);
  if (built.code !== 0) throw new Error(`The build failed:\n${built.stderr}`);
  const absolute = fileURLToPath(new URL(`${outdir}/`, `file://${cliDir}`));
  return { main: `${absolute}main.js`, remove: () => rmSync(absolute, { recursive: true, force: true }) };
}

/** A port nothing listens on (just freed), for "connection refused". */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}
