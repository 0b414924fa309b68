/**
 * This process's tasks for one key, one after the other. Sign-in reservations
 * of one client address are serialized by an advisory lock anyway; queued
 * here, a burst of sign-ins from one address (an office behind one NAT) waits
 * in memory rather than in database connections held on that lock, which
 * every other request needs.
 */
const queues = new Map<string, Promise<unknown>>();

/** Runs `task` once every earlier task of `key` in this process has settled. */
export async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(task, task);
  const tail = run.catch(() => {});
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}
