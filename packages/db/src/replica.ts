import { type Kysely, sql } from 'kysely';
import { type CreateDbOptions, createDb, type PoolUse } from './connect.js';
import type { Database } from './schema.js';

// A read replica (DATABASE_READ_URL): a second pool, and a watch on how far the
// replica has replayed the primary's write-ahead log.
//
// Nothing here runs on a request: a timer asks the primary for its WAL position
// and the replica for the position it has replayed (every `intervalMs`), and a
// request only compares numbers with the last answers. A read may go to the
// replica when the replica answered its last check, lags at most `maxLagMs`, and
// has replayed the caller's last write (the position noted on the caller's
// session or API key after it wrote: core/read-replica.ts in the API).
//
// The lag is measured in time, from the primary's positions: how long ago the
// primary was at a position the replica has not replayed yet (zero when the
// replica has replayed everything the primary had written at the last check).
// That is right whether the primary is busy or idle, unlike the age of the last
// replayed transaction, which grows on an idle primary.

/** A WAL position (`16/B374D848`) as a number that compares. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new Error(`not a WAL position: ${text.slice(0, 40)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export type ReplicaStatus = 'starting' | 'ok' | 'down' | 'lagging';

export type ReplicaState = {
  status: ReplicaStatus;
  /** How far behind the replica was at the last check, in milliseconds (null when it did not answer). */
  lagMs: number | null;
  /** Why reads go to the primary (`down`, `lagging`, `starting`), for /readyz and the log; null when ok. */
  reason: string | null;
  /** The error behind `down`, for the server's log only: /readyz is public, and this may name hosts and ports. */
  detail?: string;
};

/** Why a read went where it went (counted for metrics). */
export type ReadRoute = 'replica' | 'recent_write' | 'unavailable' | 'failed';

export type ReadReplica = {
  /** The replica's database. */
  db: Kysely<Database>;
  /**
   * The database a read may use, for a caller whose last write is at `writeLsn`
   * (null: none noted): the replica, or null for the primary. No query: it
   * compares with the last check.
   */
  readerFor(writeLsn: string | null | undefined): Kysely<Database> | null;
  /** A read on the replica failed: reads go to the primary until the next check answers. */
  failed(error: unknown): void;
  state(): ReplicaState;
  /** Reads by where they went and why, since the start. */
  reads(): Readonly<Record<ReadRoute, number>>;
  pool(): PoolUse;
  /** Checks now (start-up, tests) rather than at the next tick. */
  check(): Promise<ReplicaState>;
  close(): Promise<void>;
};

export type ReadReplicaOptions = Pick<
  CreateDbOptions,
  'poolSize' | 'statementTimeoutMs' | 'preparedStatements' | 'onQuery'
> & {
  /** The primary, asked for its WAL position at each check. */
  primary: Kysely<Database>;
  url: string;
  /** Past this lag, reads go to the primary (REPLICA_MAX_LAG_MS). */
  maxLagMs: number;
  /** How often the positions are checked (default 200 ms). */
  intervalMs?: number;
  /** A check not answered within this is a replica that does not answer (default 1 s). */
  checkTimeoutMs?: number;
  /** Told when the state changes (the server logs it). */
  onChange?: (state: ReplicaState, previous: ReplicaState) => void;
};

type Sample = { at: number; lsn: bigint };

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 200);

export function createReadReplica(options: ReadReplicaOptions): ReadReplica {
  const handle = createDb({
    url: options.url,
    ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
    ...(options.statementTimeoutMs !== undefined ? { statementTimeoutMs: options.statementTimeoutMs } : {}),
    ...(options.preparedStatements !== undefined ? { preparedStatements: options.preparedStatements } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  const { db } = handle;
  // The checks have a connection of their own to the replica: behind a pool full of slow reads they
  // would time out, and a busy replica would look down.
  const checker = createDb({
    url: options.url,
    poolSize: 1,
    statementTimeoutMs: options.checkTimeoutMs ?? 1_000,
    preparedStatements: options.preparedStatements ?? true,
  }).db;
  const intervalMs = options.intervalMs ?? 200;
  const checkTimeoutMs = options.checkTimeoutMs ?? 1_000;
  const counts: Record<ReadRoute, number> = { replica: 0, recent_write: 0, unavailable: 0, failed: 0 };
  let state: ReplicaState = { status: 'starting', lagMs: null, reason: 'The read replica has not been checked yet.' };
  /** The replica's replayed position at the last check that answered. */
  let replayed: bigint | null = null;
  /** The primary's positions at recent checks, oldest first: enough to measure a lag up to past the bound. */
  const samples: Sample[] = [];
  const keepSamples = Math.ceil((options.maxLagMs * 2) / intervalMs) + 10;

  function set(next: ReplicaState) {
    const previous = state;
    state = next;
    if (previous.status !== next.status) options.onChange?.(next, previous);
  }

  async function check(): Promise<ReplicaState> {
    const startedAt = Date.now();
    // The primary's position through the primary's pool: when it cannot answer in time (a busy pool),
    // the lag is measured against the positions it gave before, rather than calling the replica down.
    const primary = withTimeout(
      sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(options.primary),
      checkTimeoutMs,
      'The primary',
    ).then(
      (result) => {
        samples.push({ at: startedAt, lsn: parseLsn(result.rows[0]?.lsn ?? '') });
        if (samples.length > keepSamples) samples.splice(0, samples.length - keepSamples);
      },
      () => {},
    );
    try {
      const [replica] = await Promise.all([
        withTimeout(
          sql<{
            lsn: string | null;
            recovering: boolean;
          }>`select pg_last_wal_replay_lsn()::text as lsn, pg_is_in_recovery() as recovering`.execute(checker),
          checkTimeoutMs,
          'The read replica',
        ),
        primary,
      ]);
      const row = replica.rows[0];
      if (!row?.recovering || !row.lsn) {
        // A promoted replica (or a primary named as one) has no replay position to compare with.
        replayed = null;
        set({ status: 'down', lagMs: null, reason: 'DATABASE_READ_URL is not a streaming replica (not in recovery).' });
        return state;
      }
      const position = parseLsn(row.lsn);
      replayed = replayed === null || position > replayed ? position : replayed;
      const behind = samples.find((sample) => sample.lsn > position);
      const lagMs = behind ? Date.now() - behind.at : 0;
      set(
        lagMs > options.maxLagMs
          ? {
              status: 'lagging',
              lagMs,
              reason: `The read replica is ${(lagMs / 1000).toFixed(1)} s behind the primary (more than REPLICA_MAX_LAG_MS, ${options.maxLagMs} ms): reads go to the primary.`,
            }
          : { status: 'ok', lagMs, reason: null },
      );
    } catch (error) {
      set({
        status: 'down',
        lagMs: null,
        reason: 'The read replica does not answer: reads go to the primary.',
        detail: messageOf(error),
      });
    }
    return state;
  }

  let running: Promise<ReplicaState> | null = null;
  const checkOnce = () => {
    running ??= check().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void checkOnce(), intervalMs);
  timer.unref();

  return {
    db,
    readerFor(writeLsn) {
      if (state.status !== 'ok' || replayed === null) {
        counts.unavailable += 1;
        return null;
      }
      if (writeLsn && parseLsn(writeLsn) > replayed) {
        counts.recent_write += 1;
        return null;
      }
      counts.replica += 1;
      return db;
    },
    failed(error) {
      counts.failed += 1;
      set({
        status: 'down',
        lagMs: null,
        reason: 'A read on the replica failed: reads go to the primary until it answers a check.',
        detail: messageOf(error),
      });
    },
    state: () => state,
    reads: () => counts,
    pool: handle.pool,
    check: checkOnce,
    async close() {
      clearInterval(timer);
      await running?.catch(() => {});
      await checker.destroy();
      await db.destroy();
    },
  };
}
