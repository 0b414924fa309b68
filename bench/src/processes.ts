import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { inheritedPath } from './env.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

export type Child = {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
};

/**
 * A package's npm script as the arguments of a `node` command, so that it runs
 * exactly as `pnpm run <name>` would run it, but as our own child (its pid is
 * the server's). Only scripts of the form `node ...` are supported.
 */
export function nodeScript(packageDir: string, name: string): string[] {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const [command, ...args] = (pkg.scripts?.[name] ?? '').trim().split(/\s+/);
  if (command !== 'node') throw new Error(`${packageDir}: script "${name}" is not a plain node command`);
  return args;
}

/** Runs a node command to completion, or throws with its output. */
export function runNode(args: string[], cwd: string): void {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { PATH: inheritedPath } });
  if (result.status !== 0)
    throw new Error(`node ${args.join(' ')} failed in ${cwd}:\n${result.stderr}${result.stdout}`);
}

/**
 * Starts `node <args>` in `cwd`, its output going to a log file, and waits
 * until `readyUrl` answers 200.
 */
export async function startNode(options: {
  args: string[];
  nodeOptions?: string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  readyUrl: string;
  timeoutMs?: number;
}): Promise<Child> {
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...options.args], {
    cwd: options.cwd,
    env: { PATH: inheritedPath, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`Could not start ${options.args.join(' ')}`);

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${options.args.join(' ')} exited with code ${child.exitCode}; see ${options.logFile}`);
    }
    try {
      const response = await fetch(options.readyUrl);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`${options.args.join(' ')} did not become ready in time; see ${options.logFile}`);
    }
    await sleep(200);
  }

  return {
    process: child,
    pid,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident memory of a process in MB, and the kernel's high-water mark of it, from /proc. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; reports the largest seen. */
export function sampleMemory(pid: number, everyMs = 100) {
  let maxMb = 0;
  let windowMb = 0;
  let samples = 0;
  const take = () => {
    const memory = memoryOf(pid);
    if (!memory) return;
    samples += 1;
    maxMb = Math.max(maxMb, memory.rssMb, memory.peakMb);
    windowMb = Math.max(windowMb, memory.rssMb);
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    get maxMb() {
      return maxMb;
    },
    get samples() {
      return samples;
    },
    /** The largest RSS sampled since the last call. */
    window() {
      take();
      const mb = windowMb;
      windowMb = 0;
      return Math.round(mb * 10) / 10;
    },
    stop() {
      take();
      clearInterval(timer);
      return maxMb;
    },
  };
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return Number.NaN;
  }
}
