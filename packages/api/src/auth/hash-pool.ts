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
