import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type Algorithm, hash, verify } from '@node-rs/argon2';

// OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane. The work runs on
// libuv's thread pool, so hashing never blocks the event loop.
const options = {
  // Algorithm.Argon2id; the enum is `const`, so its value is written out.
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * How many hashes run at once. Each takes a core and 19 MiB for its whole
 * duration, so a burst of sign-ins would otherwise take every core (and libuv's
 * four threads) from the event loop and the database, and multiply the memory.
 * One core is always left to everything else; further sign-ins wait their turn.
 */
export const maxConcurrentHashes = Math.max(1, availableParallelism() - 1);

let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (running < maxConcurrentHashes) running += 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await task();
  } finally {
    // The slot passes straight to the next in line, or is freed.
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, options));
}

function verifyHash(storedHash: string, password: string): Promise<boolean> {
  return limited(() => verify(storedHash, password));
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
