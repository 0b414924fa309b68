import type { Db } from '@roster/db';
import { sql } from 'kysely';

// Which way a substring search should start (see substringUsersQuery): text
// that many users match is found fastest by reading users in email order,
// rare text through the trigram index. Postgres keeps a sample of
// users.search_text in its statistics (histogram_bounds: up to 1,001 values
// spread over the whole column, statistics target 1000 since migration 0009).
// The share of them that contain the text estimates how common it is, at no
// cost per search. The estimate only picks what is tried first: a wrong one
// costs time, never a wrong answer.

/** Text in at least this share (0.5%) of the sample is searched from the head of the email order first. */
export const commonShare = 0.005;
/** With fewer sampled values than this (a new or small database) every search starts with the trigram index. */
const minimumSample = 200;
const refreshMs = 10 * 60_000;

/** The verdicts remembered per sample, at most: the same texts are searched again and again (a page, the next page). */
const maxVerdicts = 10_000;

type Sample = {
  values: string[];
  loadedAt: number;
  loading?: Promise<void>;
  /** Verdicts already reached on these values, by text: scanning 1,001 values was 3% of a search's server time. */
  verdicts: Map<string, boolean>;
};
const samples = new WeakMap<Db, Sample>();

async function load(db: Db, sample: Sample): Promise<void> {
  try {
    const { rows } = await sql<{ value: string }>`
      select unnest(histogram_bounds::text::text[]) as value from pg_stats
      where schemaname = current_schema() and tablename = 'users' and attname = 'search_text'`.execute(db);
    sample.values = rows.map((row) => row.value);
  } catch {
    sample.values = [];
  }
  sample.verdicts = new Map();
  sample.loadedAt = Date.now();
}

/** Whether `folded` is in at least `commonShare` of the sampled search texts (false when there is no sample yet). */
export async function likelyCommon(db: Db, folded: string): Promise<boolean> {
  let sample = samples.get(db);
  if (!sample) {
    sample = { values: [], loadedAt: 0, verdicts: new Map() };
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
  const { values, verdicts } = sample;
  if (values.length < minimumSample) return false;
  const known = verdicts.get(folded);
  if (known !== undefined) return known;
  let hits = 0;
  for (const value of values) if (value.includes(folded)) hits++;
  const verdict = hits >= values.length * commonShare;
  if (verdicts.size >= maxVerdicts) verdicts.clear();
  verdicts.set(folded, verdict);
  return verdict;
}
