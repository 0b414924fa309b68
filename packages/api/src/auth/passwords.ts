import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Algorithm } from '@node-rs/argon2';
import { type HashLane, HashScheduler, HashThread } from './hash-pool.js';

// OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane.
const options = {
  // Algorithm.Argon2id; the enum is `const`, so its value is written out.
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * How many hashes run at once, each on a thread of its own at a lower priority
 * (hash-pool.ts). Each takes a core and 19 MiB for its whole duration, so one
 * core is always left to everything else; further sign-ins wait their turn.
 */
export const maxConcurrentHashes = Math.max(1, availableParallelism() - 1);

const scheduler = new HashScheduler(Array.from({ length: maxConcurrentHashes }, () => new HashThread()));

/** What a host's metrics read of password hashing: the queue now, and each job's wait and run. */
export type HashingObserver = (lane: HashLane, waitedMs: number, ranMs: number) => void;
let hashingObserver: HashingObserver | null = null;

/** Reports every finished hashing job to `observer` (one at a time: the server's metrics). */
export function observeHashing(observer: HashingObserver | null): void {
  hashingObserver = observer;
}

/** Hashing jobs waiting for a thread now. */
export function hashingQueueLength(): number {
  return scheduler.waiting;
}

async function onThread<T>(lane: HashLane, caller: string, task: (thread: HashThread) => Promise<T>): Promise<T> {
  const queued = performance.now();
  const thread = await scheduler.acquire(lane, caller);
  const started = performance.now();
  try {
    return await task(thread);
  } finally {
    scheduler.release(thread);
    hashingObserver?.(lane, started - queued, performance.now() - started);
  }
}

let anonymousCallers = 0;

/**
 * Hashes a new password. Hashing waits behind password checks, and takes turns
 * per `caller` (hash-pool.ts `HashScheduler`): give the hashes of one request
 * the same caller (e.g. the acting user's id) so a batch of them cannot hold
 * the threads from anyone else. Without one, the hash is a caller of its own.
 */
export async function hashPassword(password: string, caller?: string): Promise<string> {
  const who = caller ?? `anonymous:${++anonymousCallers}`;
  return String(await onThread('hash', who, (thread) => thread.run({ op: 'hash', password, options })));
}

async function verifyHash(storedHash: string, password: string): Promise<boolean> {
  return (
    (await onThread('check', 'check', (thread) => thread.run({ op: 'verify', hash: storedHash, password }))) === true
  );
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no hash (unknown email, user
 * without a password) it verifies against a dummy hash, so every failure takes
 * as long as a real check and timing tells nothing.
 */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword(randomBytes(32).toString('base64url'), 'dummy');
    await verifyHash(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verifyHash(storedHash, password);
  } catch {
    return false;
  }
}

/** A strong generated password: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
