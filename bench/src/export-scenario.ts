// `export 1M` (named after the number of users): the whole organization
// downloaded as CSV from GET /export/users.csv, as the console's link asks for
// it, while a few clients keep calling users.get. Measures the time to the
// first byte, the total time, rows/s, the server's peak RSS during the
// download, and users.get's latency during it against just before it.
import { request } from 'node:http';
import { cpuSecondsOf, memoryOf } from './processes.js';
import type { Target } from './report.js';

export type ExportResult = {
  name: string;
  rows: number;
  bytes: number;
  ttfbMs: number;
  totalMs: number;
  rowsPerSec: number;
  /** The largest RSS of the server sampled (every 25 ms) during the download, in MB. */
  serverPeakRssMb: number;
  /** The server's RSS just before the download, in MB. */
  serverRssBeforeMb: number;
  /** CPU seconds the server process spent during the download (users.get beside it included): moves less than time on a shared machine. */
  serverCpuS: number;
  /** users.get by the same few clients just before the download, and during it. */
  other: { before: Latency; during: Latency };
};

type Latency = { requests: number; p50Ms: number; p95Ms: number; p99Ms: number; errors: number };

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** "1M", "100k", "2.5M": the scenario's name says how many users it exports. */
export function exportName(users: number): string {
  if (users >= 1_000_000) return `export ${round(users / 1_000_000, 1)}M`;
  if (users >= 1_000) return `export ${round(users / 1_000, 1)}k`;
  return `export ${users}`;
}

/** Calls `url` from `clients` clients, one request after another each, until `stop` resolves. */
async function callUntil(url: string, headers: Record<string, string>, clients: number, stop: Promise<unknown>) {
  const latencies: number[] = [];
  let errors = 0;
  let stopped = false;
  const halt = () => {
    stopped = true;
  };
  stop.then(halt, halt);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stopped) {
        const started = performance.now();
        try {
          const response = await fetch(url, { headers });
          await response.arrayBuffer();
          if (!response.ok) errors += 1;
        } catch {
          errors += 1;
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN, 2);
  return { requests: latencies.length, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), errors };
}

/** Downloads the export, counting rows (lines after the header) and bytes; resolves when it has all of it. */
function download(url: string, headers: Record<string, string>) {
  return new Promise<{ rows: number; bytes: number; ttfbMs: number; totalMs: number }>((resolve, reject) => {
    const started = performance.now();
    let ttfbMs = Number.NaN;
    let bytes = 0;
    let lines = 0;
    const req = request(url, { headers }, (response) => {
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        response.on('end', () => reject(new Error(`export: HTTP ${response.statusCode}: ${body.slice(0, 300)}`)));
        return;
      }
      response.on('data', (chunk: Buffer) => {
        if (Number.isNaN(ttfbMs)) ttfbMs = performance.now() - started;
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
      });
      response.on('end', () => resolve({ rows: lines - 1, bytes, ttfbMs, totalMs: performance.now() - started }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function measureExport(options: {
  name: string;
  base: string;
  cookie: string;
  serverPid: number;
  /** A users.get URL: the "other requests" measured beside the download. */
  otherUrl: string;
  expectedRows: number;
  say: (line: string) => void;
}): Promise<ExportResult> {
  const { base, cookie, serverPid } = options;
  const headers = { cookie };
  const clients = 4;
  const before = await callUntil(options.otherUrl, headers, clients, new Promise((r) => setTimeout(r, 5_000)));

  const serverRssBeforeMb = memoryOf(serverPid)?.rssMb ?? Number.NaN;
  const cpuBefore = cpuSecondsOf(serverPid);
  let peak = serverRssBeforeMb;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryOf(serverPid)?.rssMb ?? 0);
  }, 25);
  // What the console's link sends: the session cookie, from the server's own page.
  const downloading = download(`${base}/export/users.csv`, {
    cookie,
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
  });
  let result: Awaited<typeof downloading>;
  let during: Latency;
  try {
    [result, during] = await Promise.all([downloading, callUntil(options.otherUrl, headers, clients, downloading)]);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, memoryOf(serverPid)?.rssMb ?? 0);
  const serverCpuS = round(cpuSecondsOf(serverPid) - cpuBefore, 2);
  if (result.rows < options.expectedRows) {
    throw new Error(`export: ${result.rows} rows, expected at least ${options.expectedRows}`);
  }
  return {
    name: options.name,
    rows: result.rows,
    bytes: result.bytes,
    ttfbMs: round(result.ttfbMs),
    totalMs: round(result.totalMs, 0),
    rowsPerSec: Math.round(result.rows / (result.totalMs / 1000)),
    serverPeakRssMb: round(peak),
    serverRssBeforeMb: round(serverRssBeforeMb),
    serverCpuS,
    other: { before, during },
  };
}

export function renderExport(result: ExportResult): string {
  const { before, during } = result.other;
  return [
    `  ${result.name}: ${result.rows.toLocaleString('en')} rows, ${round(result.bytes / 1_048_576)} MB: ` +
      `first byte ${result.ttfbMs} ms, total ${round(result.totalMs / 1000, 2)} s, ` +
      `${result.rowsPerSec.toLocaleString('en')} rows/s, server peak RSS ${result.serverPeakRssMb} MB ` +
      `(${result.serverRssBeforeMb} MB before), server CPU ${result.serverCpuS} s`,
    `    users.get beside it (4 clients): p50 ${during.p50Ms} ms, p95 ${during.p95Ms} ms, p99 ${during.p99Ms} ms, ` +
      `${during.errors} errors, ${during.requests} requests; just before: p50 ${before.p50Ms} ms, ` +
      `p95 ${before.p95Ms} ms, p99 ${before.p99Ms} ms`,
  ].join('\n');
}

/**
 * The targets, which it sets for a million users: ≤ 15 s in all, the
 * first bytes within a second, the server under 250 MB, and other requests
 * answered in their usual times (here: users.get's p95 during the download at
 * most twice, or 25 ms more than, its p95 just before, and no errors).
 */
export function exportTargets(result: ExportResult | undefined, users: number): Target[] {
  if (!result) return [];
  const perMillion = (result.totalMs / 1000) * (1_000_000 / Math.max(1, result.rows));
  const { before, during } = result.other;
  const usual = Math.max(before.p95Ms * 2, before.p95Ms + 25);
  return [
    {
      // At ten million the same rate: 15 s a million (150 s in all), not 15 s in all.
      target: `${result.name}: 1,000,000 users in ≤ 15 s`,
      measured:
        result.rows <= 1_000_001
          ? `${round(result.totalMs / 1000, 2)} s`
          : `${round(result.totalMs / 1000, 2)} s for ${result.rows.toLocaleString('en')} (≈ ${round(perMillion, 1)} s per million)`,
      met: users >= 1_000_000 ? perMillion <= 15 : null,
    },
    { target: `${result.name}: first byte ≤ 1 s`, measured: `${result.ttfbMs} ms`, met: result.ttfbMs <= 1_000 },
    {
      target: `${result.name}: server RSS < 250 MB during it`,
      measured: `${result.serverPeakRssMb} MB peak`,
      met: result.serverPeakRssMb < 250,
    },
    {
      target: `${result.name}: users.get p95 beside it ≤ max(2×, +25 ms) its p95 before`,
      measured: `${during.p95Ms} ms vs ${before.p95Ms} ms before, ${during.errors} errors`,
      met: during.p95Ms <= usual && during.errors === 0,
    },
  ];
}
