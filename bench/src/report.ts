import type { ScenarioResult } from './load.js';

/** Names of the scenarios, shared by main.ts and the targets below. */
export const names = {
  substring: 'users.search substring',
  commonSubstring: 'users.search substring (common)',
  noneSubstring: 'users.search substring (none)',
  emailPrefix: 'users.search email prefix',
  accountActive: 'users.search account+active',
  get: 'users.get by email',
  firstPage: 'users.list first page',
  deepPage: 'users.list deep page',
  byNameFirst: 'users.search by name first page',
  byNameDeep: 'users.search by name deep page',
  bySignInFirst: 'users.search by last sign-in (desc) first page',
  bySignInDeep: 'users.search by last sign-in (desc) deep page',
  dormant: 'users.search dormant (not in 90 days)',
  neverByName: 'users.search never signed in, by name',
  accounts: 'accounts.list',
  login: 'auth.login',
  getDuringBurst: 'users.get during sign-in burst',
  loginBurst: 'auth.login burst (beside it)',
  floorGet: 'floor: users.get by email',
  floorSubstring: 'floor: users.search substring',
  floorCommonSubstring: 'floor: users.search substring (common)',
  floorNoneSubstring: 'floor: users.search substring (none)',
} as const;

/** Each scenario with a floor (the same SQL, bare), and the share of its throughput Roster must reach. */
export const floorPairs: Array<[scenario: string, floor: string, share: number]> = [
  [names.substring, names.floorSubstring, 0.85],
  [names.commonSubstring, names.floorCommonSubstring, 0.85],
  [names.noneSubstring, names.floorNoneSubstring, 0.85],
  [names.get, names.floorGet, 0.9],
];

export type Target = { target: string; measured: string; met: boolean | null };

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en', { maximumFractionDigits: digits });

export function evaluateTargets(scenarios: ScenarioResult[], floor: ScenarioResult[], serverRssMb: number): Target[] {
  const find = (list: ScenarioResult[], name: string) => list.find((s) => s.name === name);
  const targets: Target[] = [];
  const p95At = (name: string, limit: number) => {
    const s = find(scenarios, name);
    targets.push({
      target: `${name}: p95 ≤ ${limit} ms`,
      measured: s ? `${fmt(s.p95Ms, 2)} ms` : 'not run',
      met: s ? s.p95Ms <= limit : null,
    });
  };
  p95At(names.substring, 50);
  p95At(names.commonSubstring, 50);
  p95At(names.noneSubstring, 50);
  p95At(names.emailPrefix, 10);
  p95At(names.get, 10);

  const first = find(scenarios, names.firstPage);
  const deep = find(scenarios, names.deepPage);
  targets.push({
    target: 'users.list deep page p95 within 20% of the first page’s',
    measured:
      first && deep
        ? `${fmt(deep.p95Ms, 2)} vs ${fmt(first.p95Ms, 2)} ms (×${fmt(deep.p95Ms / first.p95Ms, 2)})`
        : 'not run',
    met: first && deep ? deep.p95Ms <= first.p95Ms * 1.2 : null,
  });

  p95At(names.dormant, 50);
  p95At(names.neverByName, 50);
  for (const [firstName, deepName, what] of [
    [names.byNameFirst, names.byNameDeep, 'users.search by name'],
    [names.bySignInFirst, names.bySignInDeep, 'users.search by last sign-in'],
  ] as const) {
    const sortedFirst = find(scenarios, firstName);
    const sortedDeep = find(scenarios, deepName);
    targets.push({
      target: `${what} deep page p95 within 20% of the first page’s`,
      measured:
        sortedFirst && sortedDeep
          ? `${fmt(sortedDeep.p95Ms, 2)} vs ${fmt(sortedFirst.p95Ms, 2)} ms (×${fmt(sortedDeep.p95Ms / sortedFirst.p95Ms, 2)})`
          : 'not run',
      met: sortedFirst && sortedDeep ? sortedDeep.p95Ms <= sortedFirst.p95Ms * 1.2 : null,
    });
  }

  const errors = [...scenarios, ...floor].reduce((sum, s) => sum + s.errors, 0);
  targets.push({ target: 'zero errors', measured: `${errors} errors`, met: errors === 0 });

  for (const [name, floorName, share] of floorPairs) {
    const s = find(scenarios, name);
    const f = find(floor, floorName);
    targets.push({
      target: `${name} throughput ≥ ${share * 100}% of the floor’s`,
      measured: s && f ? `${fmt((100 * s.reqPerSec) / f.reqPerSec, 0)}%` : 'not run',
      met: s && f ? s.reqPerSec >= share * f.reqPerSec : null,
    });
  }

  const login = find(scenarios, names.login);
  targets.push({
    target: 'auth.login ≥ 15 sign-ins/s (argon2id 19 MiB, t=2)',
    measured: login ? `${fmt(login.reqPerSec)}/s` : 'not run',
    met: login ? login.reqPerSec >= 15 && login.errors === 0 : null,
  });
  const during = find(scenarios, names.getDuringBurst);
  targets.push({
    target: 'users.get p95 ≤ 10 ms during a sign-in burst',
    measured: during ? `${fmt(during.p95Ms, 2)} ms` : 'not run',
    met: during ? during.p95Ms <= 10 : null,
  });
  targets.push({
    target: 'server RSS < 200 MB throughout',
    measured: `${fmt(serverRssMb)} MB max`,
    met: serverRssMb > 0 ? serverRssMb < 200 : null,
  });
  return targets;
}

function table(headers: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderResults(scenarios: ScenarioResult[], floor: ScenarioResult[]): string {
  const rows = [...scenarios, ...floor].map((s) => [
    s.name,
    fmt(s.requests, 0),
    fmt(s.reqPerSec),
    fmt(s.p50Ms, 2),
    fmt(s.p95Ms, 2),
    fmt(s.p99Ms, 2),
    fmt(s.errors, 0),
    fmt(s.serverCpuMsPerRequest, 2),
  ]);
  return table(
    ['scenario', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'CPU ms/req'],
    rows,
    new Set([1, 2, 3, 4, 5, 6, 7]),
  );
}

export function renderTargets(targets: Target[]): string {
  const mark = (met: boolean | null) => (met === null ? '  –  ' : met ? ' met ' : ' MISS');
  return table(
    ['', 'target', 'measured'],
    targets.map((t) => [mark(t.met), t.target, t.measured]),
    new Set(),
  );
}
