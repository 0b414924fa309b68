import type { Db } from '@roster/db';
import { type RawBuilder, sql } from 'kysely';
import { deleteExpiredImports } from '../imports/queries.js';
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

/**
 * Deletes the rows of `table` (keyed by `key`) that `expired` selects, by
 * batches of `batchSize` while batches come back full, `maxBatches` at most.
 * Each batch picks its rows with `for update skip locked`.
 */
async function sweepTable(
  db: Db,
  table: string,
  key: string,
  expired: RawBuilder<unknown>,
  batchSize: number,
  maxBatches: number,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const { rows } = await sql`
      delete from ${sql.table(table)} where ${sql.ref(key)} in (
        select ${sql.ref(key)} from ${sql.table(table)} where ${expired}
        limit ${batchSize}::int for update skip locked
      ) returning 1
    `.execute(db);
    total += rows.length;
    if (rows.length < batchSize) break;
  }
  return total;
}

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
  const sweep = (table: string, key: string, expired: RawBuilder<unknown>) =>
    sweepTable(db, table, key, expired, batchSize, maxBatches);
  const sessions = await sweep(
    'sessions',
    'id',
    sql`expires_at <= now() or last_seen_at <= now() - ${ms(options.idleTimeoutMs)}`,
  );
  const signInAttempts = await sweep(
    'sign_in_attempts',
    'id',
    sql`attempted_at <= now() - ${ms(signInPolicy.addressWindowMs)} or pending_until <= now()`,
  );
  const emailWindows = await sweep(
    'sign_in_email_windows',
    'email_key',
    sql`window_started_at <= now() - ${ms(signInPolicy.emailWindowMs)}`,
  );
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
  const intervalMs = options.intervalMs ?? sweepIntervalMs;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepSignInData(db, options)
        // And CSV import previews a day past their expiry.
        .then(() => deleteExpiredImports(db))
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
