// Bulk actions at scale: previewing a search-selected deactivation of 100,000
// users, and applying it, while other requests go on (their latency is compared
// with the same load just before). Runs last: it deactivates those users.
import { performance } from 'node:perf_hooks';
import { withClient } from './database.js';
import type { Inputs } from './inputs.js';
import { drive, type Load, type ScenarioResult } from './load.js';

export const bulkNames = {
  preview: 'bulk preview 100k (search)',
  apply: 'bulk deactivate 100k',
  baseline: 'users.get before bulk deactivate',
  during: 'users.get during bulk deactivate',
} as const;

export type BulkSetup = { accountId: string; users: number };

/**
 * An account of its own holding 100,000 plain users (taken from the largest
 * account; fewer when the seed has fewer), so that a search by account selects exactly them.
 */
export async function setUpBulk(url: string, inputs: Inputs, wanted = 100_000): Promise<BulkSetup> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `insert into accounts (organization_id, name, description)
       select organization_id, 'Bulk bench ' || floor(random() * 1e9)::text, 'Users of the bulk scenarios'
       from accounts where id = $1 returning id`,
      [inputs.bigAccountId],
    );
    const accountId = rows[0]?.id ?? '';
    // Without the row triggers (superuser's replica mode): the account counts, kept per row, would update the same
    // two account rows 100,000 times in one transaction. They are set once afterwards.
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    const moved = await client.query(
      `update users set account_id = $2
       where id in (select id from users where account_id = $1 and role = 'user' and active order by id limit $3)`,
      [inputs.bigAccountId, accountId, wanted],
    );
    await client.query(
      `update accounts a set user_count = (select count(*) from users u where u.account_id = a.id) where a.id in ($1, $2)`,
      [inputs.bigAccountId, accountId],
    );
    await client.query('commit');
    await client.query('analyze users');
    return { accountId, users: moved.rowCount ?? 0 };
  });
}

type Call = { ms: number; data: unknown };

async function call(base: string, cookie: string, procedure: string, input: unknown, method: 'GET' | 'POST') {
  const t0 = performance.now();
  const response =
    method === 'POST'
      ? await fetch(`${base}/trpc/${procedure}`, {
          method,
          headers: { 'content-type': 'application/json', cookie },
          body: JSON.stringify({ json: input }),
        })
      : await fetch(`${base}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, {
          headers: { cookie },
        });
  const text = await response.text();
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(`${procedure}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return { ms, data: (JSON.parse(text) as { result: { data: { json: unknown } } }).result.data.json } as Call;
}

type Preview = { total: number; affected: number; previewToken: string };
type Operation = { id: string; status: string; total: number; processed: number; done: number; skipped: number };

export type BulkResults = {
  previewMs: number[];
  preview: Preview;
  applyMs: number;
  /** The apply request itself (pinning the selection). */
  applyRequestMs: number;
  operation: Operation;
  baseline: ScenarioResult;
  during: ScenarioResult;
};

/**
 * Previews three times (the slowest counts), measures `getLoad` alone, then
 * applies and measures the same load while the server works through the batches.
 */
export async function runBulk(
  base: string,
  cookie: string,
  setup: BulkSetup,
  getLoad: Load,
  seconds: number,
  say: (line: string) => void,
): Promise<BulkResults> {
  const input = { selection: { search: { accountId: setup.accountId } }, action: 'deactivate' };
  const previewMs: number[] = [];
  let preview: Preview | undefined;
  for (let i = 0; i < 3; i++) {
    const result = await call(base, cookie, 'users.bulk', { ...input, dryRun: true }, 'POST');
    previewMs.push(result.ms);
    preview = (result.data as { preview: Preview }).preview;
  }
  if (!preview || preview.affected !== setup.users) {
    throw new Error(`bulk preview: expected ${setup.users} users, got ${JSON.stringify(preview)}`);
  }
  say(`  ${bulkNames.preview}: ${previewMs.map((ms) => Math.round(ms)).join(', ')} ms (${preview.affected} users)`);
  const load = { ...getLoad, connections: Math.min(getLoad.connections, 4) };
  const baseline = await drive({ ...load, name: bulkNames.baseline }, seconds);

  const started = performance.now();
  const applied = await call(
    base,
    cookie,
    'users.bulk',
    { ...input, dryRun: false, previewToken: preview.previewToken },
    'POST',
  );
  const first = (applied.data as { operation: Operation }).operation;
  const during = drive({ ...load, name: bulkNames.during }, seconds);
  let operation = first;
  let lastSaid = 0;
  while (operation.status !== 'done' && operation.status !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const status = await call(base, cookie, 'users.bulkStatus', { id: first.id, limit: 1 }, 'GET');
    operation = (status.data as { operation: Operation }).operation;
    if (performance.now() - lastSaid > 5_000) {
      say(`    ${operation.processed.toLocaleString('en')} of ${operation.total.toLocaleString('en')}`);
      lastSaid = performance.now();
    }
  }
  const applyMs = performance.now() - started;
  if (operation.status !== 'done') throw new Error(`bulk deactivate: ${JSON.stringify(operation)}`);
  return { previewMs, preview, applyMs, applyRequestMs: applied.ms, operation, baseline, during: await during };
}

type Target = { target: string; measured: string; met: boolean | null };

/** The targets: a 100k preview ≤ 2 s, a 100k deactivation ≤ 60 s, other requests at their usual latency. */
export function bulkTargets(results: BulkResults | null): Target[] {
  if (!results) {
    return [
      { target: `${bulkNames.preview} ≤ 2 s`, measured: 'not run', met: null },
      { target: `${bulkNames.apply} ≤ 60 s`, measured: 'not run', met: null },
    ];
  }
  const slowest = Math.max(...results.previewMs);
  const { baseline, during } = results;
  return [
    {
      target: `${bulkNames.preview} ≤ 2 s`,
      measured: `${Math.round(slowest)} ms (slowest of 3, ${results.preview.affected.toLocaleString('en')} users)`,
      met: slowest <= 2_000,
    },
    {
      target: `${bulkNames.apply} ≤ 60 s`,
      measured: `${(results.applyMs / 1000).toFixed(1)} s (${results.operation.done.toLocaleString('en')} done; the apply request ${Math.round(results.applyRequestMs)} ms)`,
      met: results.applyMs <= 60_000 && results.operation.done === results.preview.affected,
    },
    {
      // "Usual latency": p95 within 10 ms or twice of the same load alone (2 cores share the database and the server).
      target: `${bulkNames.during}: p95 ≤ max(2 × alone, alone + 10 ms), no errors`,
      measured: `${during.p95Ms} ms vs ${baseline.p95Ms} ms alone (p50 ${during.p50Ms} vs ${baseline.p50Ms})`,
      met: during.errors === 0 && during.p95Ms <= Math.max(2 * baseline.p95Ms, baseline.p95Ms + 10),
    },
  ];
}
