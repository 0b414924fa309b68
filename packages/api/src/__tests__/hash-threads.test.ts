import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HashScheduler, HashThread, hashThreadNice } from '../auth/hash-pool.js';
import { hashPassword, maxConcurrentHashes, verifyPassword } from '../auth/passwords.js';

/** The nice value of each thread of this process, from /proc (Linux). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after "(comm)": state is the 3rd field of stat, nice the 19th.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

const argon2idHash = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;

describe('password hashing threads', () => {
  it('hash and verify with argon2id at OWASP parameters', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(argon2idHash);
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'Correct horse battery staple')).toBe(false);
    expect(await verifyPassword('not a hash', 'anything')).toBe(false);
  });

  it('keeps many checks at once apart', async () => {
    const [a, b] = await Promise.all([hashPassword('first password 1'), hashPassword('second password 2')]);
    const checks = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? verifyPassword(a, 'first password 1') : verifyPassword(b, 'first password 1'),
      ),
    );
    expect(checks).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 0));
  });

  it.runIf(process.platform === 'linux')('run at a lower priority than the rest of the process', async () => {
    expect(hashThreadNice).toBeGreaterThan(0);
    const before = threadNiceValues().filter((nice) => nice === hashThreadNice).length;
    const thread = new HashThread();
    try {
      await thread.run({ op: 'hash', password: 'another password 3', options: {} });
      expect(threadNiceValues().filter((nice) => nice === hashThreadNice).length).toBe(before + 1);
    } finally {
      await thread.stop();
    }
  });

  it('fails the jobs of a thread that stops with a clear error, and starts a new one for the next', async () => {
    const thread = new HashThread();
    const running = thread.run({ op: 'hash', password: 'stopped midway 4', options: {} });
    await thread.stop();
    await expect(running).rejects.toThrow(/password hashing thread stopped/);
    const hash = await thread.run({ op: 'hash', password: 'after the stop 5', options: { algorithm: 2 } });
    expect(hash).toMatch(/^\$argon2id\$/);
    await thread.stop();
  });

  it('reports a failed job as an error, and goes on', async () => {
    const thread = new HashThread();
    try {
      await expect(thread.run({ op: 'hash', password: 'bad options 6', options: { timeCost: 0 } })).rejects.toThrow();
      expect(
        await thread.run({ op: 'verify', hash: await hashPassword('ok password 7'), password: 'ok password 7' }),
      ).toBe(true);
    } finally {
      await thread.stop();
    }
  });
});

describe('fair turns on the hashing threads (finding 7)', () => {
  it('lets a password check through ahead of a bulk of hashing from one caller', async () => {
    const stored = await hashPassword('a password to check 8');
    const done: string[] = [];
    const bulk = Array.from({ length: 12 }, (_, i) =>
      hashPassword(`bulk password ${i} 9`, 'one-caller').then(() => done.push(`hash ${i}`)),
    );
    const check = verifyPassword(stored, 'a password to check 8').then((ok) => done.push(`check ${ok}`));
    await Promise.all([...bulk, check]);
    // At most the hashes already running when it came finish before it.
    expect(done.indexOf('check true')).toBeLessThanOrEqual(maxConcurrentHashes);
  });

  it("lets another caller's hash in next, ahead of the rest of one caller's batch", async () => {
    const done: string[] = [];
    const batch = Array.from({ length: 12 }, (_, i) =>
      hashPassword(`batch password ${i} 10`, 'big-batch').then(() => done.push(`batch ${i}`)),
    );
    const single = hashPassword('a single password 11', 'someone-else').then(() => done.push('single'));
    await Promise.all([...batch, single]);
    expect(done.indexOf('single')).toBeLessThanOrEqual(maxConcurrentHashes);
  });

  it('still hashes while checks keep coming (one hash after every few checks)', async () => {
    const stored = await hashPassword('checked again and again 12');
    const done: string[] = [];
    const hashing = hashPassword('waiting to be hashed 13', 'patient').then(() => done.push('hash'));
    const checks = Array.from({ length: 12 }, (_, i) =>
      verifyPassword(stored, 'checked again and again 12').then(() => done.push(`check ${i}`)),
    );
    await Promise.all([hashing, ...checks]);
    expect(done.indexOf('hash')).toBeLessThanOrEqual(HashScheduler.checksPerHash + maxConcurrentHashes);
  });
});
