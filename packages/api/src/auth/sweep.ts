import type { Db } from '@roster/db';
import { startWorker } from '../core/worker.js';
import { deleteExpiredImports } from '../imports/queries.js';
import { deleteOldResetRequests } from '../links/queries.js';
import { sweepEmailWindows, sweepSessions, sweepSignInAttempts } from './queries.js';
import { signInPolicy } from './sign-in-policy.js';

/** How often a server sweeps; each run deletes in bounded batches. */
export const sweepIntervalMs = 5 * 60_000;

export type SweepOptions = {
  /** Sessions unused for this long are over (the server's SESSION_IDLE_MINUTES). */
  idleTimeoutMs: number;
  /** Rows deleted per statement, so no statement holds many locks or runs long ... */
  batchSize?: number;
  /** ... and statements per table per run: the rest waits for the next run. */
  maxBatches?: number;
};

export type SweepResult = { sessions: number; signInAttempts: number; emailWindows: number };

/**
 * Deletes what sign-in leaves behind once it no longer counts: sessions past
 * their absolute or idle expiry (otherwise deleted only when presented), client
 * address attempts out of their window or abandoned in flight, and per-email
 * windows that have ended. Bounded batches; each picks its rows with
 * `for update skip locked`, so several server processes sweeping at once
 * neither wait on each other nor delete a row twice, and a row a request is
 * using right now is left for the next run.
 */
export async function sweepSignInData(db: Db, options: SweepOptions): Promise<SweepResult> {
  const batches = { batchSize: options.batchSize ?? 500, maxBatches: options.maxBatches ?? 20 };
  const sessions = await sweepSessions(db, options.idleTimeoutMs, batches);
  const signInAttempts = await sweepSignInAttempts(db, signInPolicy.addressWindowMs, batches);
  const emailWindows = await sweepEmailWindows(db, signInPolicy.emailWindowMs, batches);
  return { sessions, signInAttempts, emailWindows };
}

export type Sweeper = { stop(): Promise<void> };

/**
 * Runs `sweepSignInData` (and removes old import previews) every `intervalMs` (one run at a time; the timer does
 * not keep the process alive). A failed run is reported to `onError` and the
 * next one comes as planned. `stop` waits for a run in progress.
 */
export function startSweeper(
  db: Db,
  options: SweepOptions & { intervalMs?: number; onError?: (error: unknown) => void },
): Sweeper {
  return startWorker({
    work: async () => {
      await sweepSignInData(db, options);
      // And CSV import previews a day past their expiry, and password reset requests past their hour.
      await deleteExpiredImports(db);
      await deleteOldResetRequests(db);
    },
    intervalMs: options.intervalMs ?? sweepIntervalMs,
    onError: options.onError,
  });
}
