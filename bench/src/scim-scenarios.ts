// SCIM scenarios: what an identity provider's sync does at a million users.
// Lookups by userName and externalId and GET by id under load, and a full walk
// of the largest account with RFC 9865 cursors (sequential, as a client does).
import { performance } from 'node:perf_hooks';
import { withClient } from './database.js';
import type { Inputs } from './inputs.js';
import type { Load, ScenarioResult } from './load.js';

export const scimNames = {
  userName: 'SCIM filter userName eq',
  externalId: 'SCIM filter externalId eq',
  get: 'SCIM GET /Users/{id}',
  walk: 'SCIM cursor walk (1,000 a page)',
} as const;

export type ScimSetup = { token: string; userId: string; email: string; externalId: string };

/** A connection to the largest account, and one of its users given an externalId, as an IdP would. */
export async function setUpScim(base: string, cookie: string, url: string, inputs: Inputs): Promise<ScimSetup> {
  const response = await fetch(`${base}/trpc/scim.connections.create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ json: { accountId: inputs.bigAccountId, name: 'bench' } }),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`Creating the SCIM connection failed: HTTP ${response.status} ${text.slice(0, 300)}`);
  const token = (JSON.parse(text) as { result: { data: { json: { token: string } } } }).result.data.json.token;
  const externalId = `bench-${Date.now()}`;
  const user = await withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string; email: string }>(
      `update users set external_id = $2
       where id = (select id from users where account_id = $1 and role = 'user' order by email offset $3 limit 1)
       returning id, email`,
      [inputs.bigAccountId, externalId, Math.floor(inputs.bigAccountUsers / 2)],
    );
    const row = rows[0];
    if (!row) throw new Error('No user in the largest account');
    return row;
  });
  return { token, userId: user.id, email: user.email, externalId };
}

const filterUrl = (base: string, filter: string) => `${base}/scim/v2/Users?filter=${encodeURIComponent(filter)}`;

export function buildScimLoads(base: string, setup: ScimSetup, connections: number): Load[] {
  const headers = { authorization: `Bearer ${setup.token}`, accept: 'application/scim+json' };
  return [
    {
      name: scimNames.userName,
      url: filterUrl(base, `userName eq "${setup.email.toUpperCase()}"`),
      headers,
      connections,
    },
    { name: scimNames.externalId, url: filterUrl(base, `externalId eq "${setup.externalId}"`), headers, connections },
    { name: scimNames.get, url: `${base}/scim/v2/Users/${setup.userId}`, headers, connections },
  ];
}

/** One request of each lookup before the load, so a wrong input fails loudly. */
export async function verifyScim(loads: Load[], setup: ScimSetup) {
  for (const load of loads) {
    const response = await fetch(load.url, { headers: load.headers });
    const text = await response.text();
    if (!response.ok) throw new Error(`${load.name}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { id?: string; Resources?: Array<{ id: string }> };
    const id = body.Resources ? body.Resources[0]?.id : body.id;
    if (id !== setup.userId) throw new Error(`${load.name}: expected user ${setup.userId}, got ${text.slice(0, 200)}`);
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) : 0;

/**
 * Walks the account from the first page to the last by cursor, one request
 * after another (or until `maxSeconds`); reqPerSec is pages a second and
 * `usersPerSec` what the target is about.
 */
export async function walkWithCursors(
  base: string,
  setup: ScimSetup,
  maxSeconds: number,
): Promise<ScenarioResult & { usersPerSec: number; users: number; complete: boolean }> {
  const headers = { authorization: `Bearer ${setup.token}`, accept: 'application/scim+json' };
  const latencies: number[] = [];
  let users = 0;
  let errors = 0;
  let cursor: string | undefined = '';
  const started = performance.now();
  while (cursor !== undefined && performance.now() - started < maxSeconds * 1000) {
    const t0 = performance.now();
    const response = await fetch(`${base}/scim/v2/Users?count=1000&cursor=${encodeURIComponent(cursor)}`, { headers });
    const text = await response.text();
    latencies.push(performance.now() - t0);
    if (!response.ok) {
      errors += 1;
      break;
    }
    const page = JSON.parse(text) as { Resources: unknown[]; nextCursor?: string };
    users += page.Resources.length;
    cursor = page.nextCursor;
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    name: scimNames.walk,
    requests: latencies.length,
    reqPerSec: round(latencies.length / seconds),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    errors,
    usersPerSec: Math.round(users / seconds),
    users,
    complete: cursor === undefined && errors === 0,
  };
}

type Target = { target: string; measured: string; met: boolean | null };

/** The targets for SCIM: lookups at p95 ≤ 10 ms, a cursor walk at ≥ 20,000 users a second. */
export function scimTargets(scenarios: ScenarioResult[]): Target[] {
  const targets: Target[] = [];
  for (const name of [scimNames.userName, scimNames.externalId, scimNames.get]) {
    const s = scenarios.find((x) => x.name === name);
    targets.push({
      target: `${name}: p95 ≤ 10 ms`,
      measured: s ? `${s.p95Ms} ms` : 'not run',
      met: s ? s.p95Ms <= 10 && s.errors === 0 : null,
    });
  }
  const walk = scenarios.find((x) => x.name === scimNames.walk) as
    | (ScenarioResult & { usersPerSec: number; users: number; complete: boolean })
    | undefined;
  targets.push({
    target: 'SCIM cursor walk ≥ 20,000 users/s',
    measured: walk
      ? `${walk.usersPerSec.toLocaleString('en')} users/s (${walk.users.toLocaleString('en')} users${walk.complete ? ', whole account' : ', stopped early'})`
      : 'not run',
    met: walk ? walk.usersPerSec >= 20_000 && walk.errors === 0 : null,
  });
  return targets;
}
