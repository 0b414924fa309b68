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

/**
 * Drives one load for `seconds` with autocannon (no pipelining) and measures
 * every response's latency itself, for exact percentiles. Anything that is not
 * a 2xx, a socket error or a time-out is an error.
 */
export async function drive(load: Load, seconds: number, serverPid?: number): Promise<ScenarioResult> {
  const latencies = new Latencies();
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
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.add(responseTime));
  });
  const requests = latencies.length;
  const cpuMs = serverPid ? (cpuSecondsOf(serverPid) - cpuBefore) * 1000 : Number.NaN;
  const [p50, p95, p99] = latencies.percentiles(50, 95, 99);
  return {
    name: load.name,
    requests,
    reqPerSec: round(requests / (result.duration || seconds), 1),
    p50Ms: round(p50 ?? Number.NaN),
    p95Ms: round(p95 ?? Number.NaN),
    p99Ms: round(p99 ?? Number.NaN),
    errors: result.errors + result.non2xx + result.mismatches,
    ...(Number.isFinite(cpuMs) && requests > 0 ? { serverCpuMsPerRequest: round(cpuMs / requests, 3) } : {}),
  };
}

/** A warm-up (discarded), then the measured run. */
export async function measure(
  load: Load,
  options: { warmup: number; duration: number },
  serverPid?: number,
): Promise<ScenarioResult> {
  await drive(load, options.warmup);
  return drive(load, options.duration, serverPid);
}
