import type { Db } from '@roster/db';
import { sql } from 'kysely';
import { signInPolicy } from './sign-in.js';

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

/** Deletes by batches of `batchSize` while batches come back full, `maxBatches` at most. */
async function inBatches(batch: () => Promise<number>, batchSize: number, maxBatches: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const deleted = await batch();
    total += deleted;
    if (deleted < batchSize) break;
  }
  return total;
}

/** Rows a `delete ... returning 1` removed. */
const deleted = (result: { rows: unknown[] }) => result.rows.length;

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
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 20;
  const ms = (value: number) => sql`(${value}::bigint * interval '1 millisecond')`;
  const sessions = await inBatches(
    async () =>
      deleted(
        await sql`
          delete from sessions where id in (
            select id from sessions
            where expires_at <= now() or last_seen_at <= now() - ${ms(options.idleTimeoutMs)}
            limit ${batchSize}::int for update skip locked
          ) returning 1
        `.execute(db),
      ),
    batchSize,
    maxBatches,
  );
  const signInAttempts = await inBatches(
    async () =>
      deleted(
        await sql`
          delete from sign_in_attempts where id in (
            select id from sign_in_attempts
            where attempted_at <= now() - ${ms(signInPolicy.addressWindowMs)} or pending_until <= now()
            limit ${batchSize}::int for update skip locked
          ) returning 1
        `.execute(db),
      ),
    batchSize,
    maxBatches,
  );
  const emailWindows = await inBatches(
    async () =>
      deleted(
        await sql`
          delete from sign_in_email_windows where email_key in (
            select email_key from sign_in_email_windows
            where window_started_at <= now() - ${ms(signInPolicy.emailWindowMs)}
            limit ${batchSize}::int for update skip locked
          ) returning 1
        `.execute(db),
      ),
    batchSize,
    maxBatches,
  );
  return { sessions, signInAttempts, emailWindows };
}

export type Sweeper = { stop(): Promise<void> };

/**
 * Runs `sweepSignInData` every `intervalMs` (one run at a time; the timer does
 * not keep the process alive). A failed run is reported to `onError` and the
 * next one comes as planned. `stop` waits for a run in progress.
 */
export function startSweeper(
  db: Db,
  options: SweepOptions & { intervalMs?: number; onError?: (error: unknown) => void },
): Sweeper {
  const intervalMs = options.intervalMs ?? sweepIntervalMs;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepSignInData(db, options)
        .then(
          () => {},
          (error: unknown) => options.onError?.(error),
        )
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
