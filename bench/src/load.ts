import autocannon from 'autocannon';
import { cpuSecondsOf } from './processes.js';

export type ScenarioResult = {
  name: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
  /** What the errors were: HTTP statuses ("409") and client-side failures ("timeout", "socket"). */
  errorKinds?: Record<string, number>;
  /**
   * CPU milliseconds the server process (all its threads) spent per request:
   * unlike latency, it hardly moves when other work shares the machine.
   */
  serverCpuMsPerRequest?: number;
  /** The server's largest RSS sampled during this scenario, in MB. */
  serverRssMb?: number;
};

export type Load = {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** For requests that differ from one to the next (e.g. sign-ins of different users). */
  requests?: autocannon.Request[];
  connections: number;
};

/** Growable list of latencies in milliseconds. */
class Latencies {
  #values = new Float64Array(1 << 16);
  #length = 0;
  get length() {
    return this.#length;
  }
  add(ms: number) {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = ms;
  }
  addAll(other: Latencies) {
    for (let i = 0; i < other.#length; i++) this.add(other.#values[i] ?? 0);
  }
  percentiles(...ps: number[]): number[] {
    const sorted = this.#values.slice(0, this.#length).sort();
    return ps.map((p) => {
      if (sorted.length === 0) return Number.NaN;
      const rank = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
      return sorted[Math.max(0, rank)] ?? Number.NaN;
    });
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

type Part = { latencies: Latencies; errors: number; errorKinds: Map<string, number>; seconds: number; cpuMs: number };

/**
 * Drives one load for `seconds` with autocannon (no pipelining) and measures
 * every response's latency itself, for exact percentiles. Anything that is not
 * a 2xx, a socket error or a time-out is an error.
 */
async function run(load: Load, seconds: number, serverPid?: number): Promise<Part> {
  const latencies = new Latencies();
  const errorKinds = new Map<string, number>();
  const count = (kind: string) => errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  const cpuBefore = serverPid ? cpuSecondsOf(serverPid) : Number.NaN;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: load.url,
        method: load.method ?? 'GET',
        headers: load.headers,
        body: load.body,
        requests: load.requests,
        connections: load.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      latencies.add(responseTime);
      if (status < 200 || status >= 300) count(String(status));
    });
    instance.on('reqError', (error: Error & { code?: string }) =>
      count(error.code === 'ETIMEDOUT' || /timed? ?out/i.test(error.message) ? 'timeout' : (error.code ?? 'socket')),
    );
  });
  return {
    latencies,
    errors: result.errors + result.non2xx + result.mismatches,
    errorKinds,
    seconds: result.duration || seconds,
    cpuMs: serverPid ? (cpuSecondsOf(serverPid) - cpuBefore) * 1000 : Number.NaN,
  };
}

function summarize(name: string, parts: Part[]): ScenarioResult {
  const latencies = new Latencies();
  for (const part of parts) latencies.addAll(part.latencies);
  const requests = latencies.length;
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0);
  const cpuMs = parts.reduce((sum, part) => sum + part.cpuMs, 0);
  const [p50, p95, p99] = latencies.percentiles(50, 95, 99);
  const errorKinds = new Map<string, number>();
  for (const part of parts) {
    for (const [kind, n] of part.errorKinds) errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + n);
  }
  return {
    name,
    requests,
    reqPerSec: round(requests / seconds, 1),
    p50Ms: round(p50 ?? Number.NaN),
    p95Ms: round(p95 ?? Number.NaN),
    p99Ms: round(p99 ?? Number.NaN),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    ...(errorKinds.size > 0 ? { errorKinds: Object.fromEntries(errorKinds) } : {}),
    ...(Number.isFinite(cpuMs) && requests > 0 ? { serverCpuMsPerRequest: round(cpuMs / requests, 3) } : {}),
  };
}

export async function drive(load: Load, seconds: number, serverPid?: number): Promise<ScenarioResult> {
  return summarize(load.name, [await run(load, seconds, serverPid)]);
}

/**
 * Measures loads that are compared with each other (a page and a deep page,
 * Roster and its floor) in turns, A B A B …, each for `duration` seconds in
 * all, after a warm-up of each: whatever else the machine is doing meanwhile
 * falls on all of them alike.
 */
export async function measureInTurns(
  entries: Array<{ load: Load; pid?: number | undefined }>,
  options: { warmup: number; duration: number; turns: number },
): Promise<ScenarioResult[]> {
  for (const entry of entries) await run(entry.load, options.warmup);
  const turns = entries.length > 1 ? options.turns : 1;
  const parts: Part[][] = entries.map(() => []);
  for (let turn = 0; turn < turns; turn++) {
    for (const [i, entry] of entries.entries()) {
      parts[i]?.push(await run(entry.load, options.duration / turns, entry.pid));
    }
  }
  return entries.map((entry, i) => summarize(entry.load.name, parts[i] ?? []));
}
