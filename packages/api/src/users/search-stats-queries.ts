import type { Db } from '@roster/db';
import { sql } from 'kysely';

// Which way a substring search should start (see substringUsersQuery): text
// that many users match is found fastest by reading users in email order,
// rare text through the trigram index. Postgres keeps a sample of
// users.search_text in its statistics (histogram_bounds: up to 1,001 values
// spread over the whole column, statistics target 1000 since migration 0009).
// The share of them that contain the text estimates how common it is, at no
// cost per search; with the table's size (pg_class.reltuples, read with the
// sample) it estimates how many users hold it. The estimate only picks what is
// tried first: a wrong one costs time, never a wrong answer.

/** Text in at least this share (0.5%) of the sample is found in the first 10,000 users of an order. */
export const commonShare = 0.005;
/** With fewer sampled values than this (a new or small database) every search starts with the trigram index. */
const minimumSample = 200;
const refreshMs = 10 * 60_000;

/** The shares remembered per sample, at most: the same texts are searched again and again (a page, the next page). */
const maxShares = 10_000;

type Sample = {
  values: string[];
  /** The users table's size as the statistics have it (0 before its first ANALYZE). */
  rows: number;
  loadedAt: number;
  loading?: Promise<void>;
  /** Shares already counted in these values, by text: scanning 1,001 values was 3% of a search's server time. */
  shares: Map<string, number>;
};
const samples = new WeakMap<Db, Sample>();

async function load(db: Db, sample: Sample): Promise<void> {
  try {
    // One statement: the sampled values and the table's size.
    const { rows } = await sql<{ values: string[] | null; rows: number | null }>`
      select (select histogram_bounds::text::text[] from pg_stats
              where schemaname = current_schema() and tablename = 'users' and attname = 'search_text') as values,
             (select greatest(reltuples, 0)::float8 from pg_class where oid = to_regclass('users')) as rows`.execute(
      db,
    );
    sample.values = rows[0]?.values ?? [];
    sample.rows = Number(rows[0]?.rows ?? 0);
  } catch {
    sample.values = [];
    sample.rows = 0;
  }
  sample.shares = new Map();
  sample.loadedAt = Date.now();
}

/** Forgets the sample, so that the next search reads it again (as after an ANALYZE that changed it), not in up to 10 minutes. */
export function forgetTextSample(db: Db): void {
  samples.delete(db);
}

/** How common a text is: the share of the sampled search texts that hold it, and the users table's size. */
export type TextEstimate = { share: number; rows: number };

/** The share of the sampled search texts that hold `folded` (null when there is no sample yet: a new or small database). */
export async function estimateText(db: Db, folded: string): Promise<TextEstimate | null> {
  let sample = samples.get(db);
  if (!sample) {
    sample = { values: [], rows: 0, loadedAt: 0, shares: new Map() };
    samples.set(db, sample);
  }
  const current = sample;
  if (current.loadedAt === 0) {
    current.loading ??= load(db, current);
    await current.loading;
    current.loading = undefined;
  } else if (Date.now() - current.loadedAt > refreshMs && !current.loading) {
    // Refreshed in the background: this search uses the sample it has.
    current.loading = load(db, current).finally(() => {
      current.loading = undefined;
    });
  }
  const { values, shares, rows } = sample;
  if (values.length < minimumSample) return null;
  let share = shares.get(folded);
  if (share === undefined) {
    let hits = 0;
    for (const value of values) if (value.includes(folded)) hits++;
    share = hits / values.length;
    if (shares.size >= maxShares) shares.clear();
    shares.set(folded, share);
  }
  return { share, rows };
}
