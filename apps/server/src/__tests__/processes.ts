import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

// Server processes of the tests that run `src/main.ts` for real (cluster.test.ts,
// read-replica.test.ts): a free port, starting one, waiting for it, stopping it.

const serverDir = join(import.meta.dirname, '..', '..');

/** A loopback port nothing listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

/** Until `check` answers true (a thrown error counts as false), every `everyMs`; past `ms`, an error naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000, everyMs = 100) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

export type ServerProcess = { port: number; process: ChildProcess; log: string[] };

/** `src/main.ts` on 127.0.0.1:`port` with only PATH of this environment and `env`; its output collected in `log`. */
export function startServerProcess(port: number, env: Record<string, string>): ServerProcess {
  const log: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  return { port, process: child, log };
}

/** Sends `signal` and waits for the exit (at once if it has already exited). */
export async function stopServerProcess(server: ServerProcess, signal: NodeJS.Signals) {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill(signal);
  await exited;
}
