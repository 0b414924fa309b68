import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Algorithm } from '@node-rs/argon2';
import { HashThread } from './hash-pool.js';

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

const idle: HashThread[] = Array.from({ length: maxConcurrentHashes }, () => new HashThread());
const waiting: Array<(thread: HashThread) => void> = [];

async function onThread<T>(task: (thread: HashThread) => Promise<T>): Promise<T> {
  const thread = idle.pop() ?? (await new Promise<HashThread>((resolve) => waiting.push(resolve)));
  try {
    return await task(thread);
  } finally {
    // The thread passes straight to the next in line, or waits idle.
    const next = waiting.shift();
    if (next) next(thread);
    else idle.push(thread);
  }
}

export async function hashPassword(password: string): Promise<string> {
  return String(await onThread((thread) => thread.run({ op: 'hash', password, options })));
}

async function verifyHash(storedHash: string, password: string): Promise<boolean> {
  return (await onThread((thread) => thread.run({ op: 'verify', hash: storedHash, password }))) === true;
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no hash (unknown email, user
 * without a password) it verifies against a dummy hash, so every failure takes
 * as long as a real check and timing tells nothing.
 */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
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
