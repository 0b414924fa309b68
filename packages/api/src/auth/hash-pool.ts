// Password hashing on threads of its own, at a lower CPU priority than the
// rest of the server. An argon2id check takes ~15 ms of a core and 19 MiB; on
// a busy machine a burst of sign-ins would otherwise take its share of the
// cores from the event loop and from Postgres, and every other request would
// wait behind it. At nice 10 the hashing threads get what the machine has
// spare, and yield when requests need the CPU; on an idle machine they run at
// full speed. (Linux only: elsewhere the threads run at normal priority.)
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The nice value of the hashing threads (0 is normal, 19 the lowest). */
export const hashThreadNice = 10;

export type HashJob =
  | { op: 'hash'; password: string; options: object }
  | { op: 'verify'; hash: string; password: string };

type Pending = { resolve(value: string | boolean): void; reject(error: Error): void };

// The worker's code, as CommonJS: evaluated as it is, it needs no build step and
// no file next to the server's bundle. It loads the same @node-rs/argon2 as we do.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');
const argon2 = require(workerData.argon2Path);
try {
  // /proc/thread-self -> "<pid>/task/<tid>": on Linux a thread's priority is set by its id.
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) setPriority(tid, workerData.nice);
} catch {}
parentPort.on('message', ({ id, job }) => {
  try {
    const value = job.op === 'hash'
      ? argon2.hashSync(job.password, job.options)
      : argon2.verifySync(job.hash, job.password);
    parentPort.postMessage({ id, value });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

/**
 * One thread that runs one job at a time (the caller limits concurrency). It
 * is started on first use, holds the process open only while a job runs, and
 * is replaced if it ever dies.
 */
export class HashThread {
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;

  run(job: HashJob): Promise<string | boolean> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, job });
    });
  }

  /** Stops the thread (tests); the next job starts a new one. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const argon2Path = createRequire(import.meta.url).resolve('@node-rs/argon2');
    const worker = new Worker(workerSource, { eval: true, workerData: { argon2Path, nice: hashThreadNice } });
    worker.unref();
    worker.on('message', (message: { id: number; value?: string | boolean; error?: string }) => {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (this.#pending.size === 0) worker.unref();
      if (!pending) return;
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.value ?? false);
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the password hashing thread stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/**
 * Which work waits for a hashing thread: `check` is a password check (a
 * sign-in, a current password), which someone is waiting on now; `hash` is the
 * hashing of a new password, which may come in bulk (an account created with a
 * hundred users).
 */
export type HashLane = 'check' | 'hash';

/**
 * Hands the hashing threads out fairly, so no caller can monopolise them:
 * checks go first, as sign-ins must not wait behind bulk hashing; hashes take
 * turns per caller, the one served least recently first, so a batch of a
 * hundred from one request lets another caller's single hash in next. So that
 * a flood of checks cannot starve hashing either, while hashes wait one is
 * served after every `checksPerHash` checks.
 */
export class HashScheduler<T> {
  static readonly checksPerHash = 4;
  readonly #idle: T[];
  readonly #checks: Array<(thread: T) => void> = [];
  readonly #hashes = new Map<string, Array<(thread: T) => void>>();
  /** When each caller with hashes waiting or running was last served (a tick), for the turns. */
  readonly #served = new Map<string, number>();
  #tick = 0;
  #checksInARow = 0;

  constructor(threads: T[]) {
    this.#idle = [...threads];
  }

  /** Jobs waiting for a thread now (the metrics' queue length). */
  get waiting(): number {
    let hashes = 0;
    for (const queue of this.#hashes.values()) hashes += queue.length;
    return this.#checks.length + hashes;
  }

  /** Resolves with a thread for one job; give it back with `release`. */
  acquire(lane: HashLane, caller: string): Promise<T> {
    const thread = this.#idle.pop();
    if (thread !== undefined && this.#checks.length === 0 && this.#hashes.size === 0) {
      this.#note(lane, caller);
      return Promise.resolve(thread);
    }
    if (thread !== undefined) this.#idle.push(thread);
    return new Promise<T>((resolve) => {
      if (lane === 'check') this.#checks.push(resolve);
      else {
        const queue = this.#hashes.get(caller) ?? [];
        queue.push(resolve);
        this.#hashes.set(caller, queue);
      }
      this.#dispatch();
    });
  }

  /** The thread passes straight to the next in line, or waits idle. */
  release(thread: T): void {
    this.#idle.push(thread);
    this.#dispatch();
  }

  #note(lane: HashLane, caller: string) {
    if (lane === 'check') {
      this.#checksInARow++;
      return;
    }
    this.#checksInARow = 0;
    this.#served.set(caller, ++this.#tick);
  }

  #dispatch() {
    for (;;) {
      const thread = this.#idle.pop();
      if (thread === undefined) return;
      const next = this.#next();
      if (!next) {
        this.#idle.push(thread);
        return;
      }
      next(thread);
    }
  }

  #next(): ((thread: T) => void) | undefined {
    const hashesWait = this.#hashes.size > 0;
    if (this.#checks.length > 0 && !(hashesWait && this.#checksInARow >= HashScheduler.checksPerHash)) {
      this.#note('check', 'check');
      return this.#checks.shift();
    }
    if (!hashesWait) return undefined;
    // The caller served least recently (never served first).
    let caller: string | undefined;
    for (const candidate of this.#hashes.keys()) {
      if (caller === undefined || (this.#served.get(candidate) ?? 0) < (this.#served.get(caller) ?? 0)) {
        caller = candidate;
      }
    }
    const queue = caller === undefined ? undefined : this.#hashes.get(caller);
    if (caller === undefined || !queue) return undefined;
    const next = queue.shift();
    if (queue.length === 0) this.#hashes.delete(caller);
    this.#note('hash', caller);
    // Forget callers with nothing waiting, so the map stays as small as the queue.
    if (this.#served.size > 1_000) {
      for (const known of this.#served.keys()) if (!this.#hashes.has(known)) this.#served.delete(known);
    }
    return next;
  }
}
