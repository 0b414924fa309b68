import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { testDb } from '@roster/api/test';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers.js';
import { portOf } from './raw-http.js';

/**
 * Finding 4 as the review measured it: two clients sending 1 MB bodies of
 * 500,000 nested arrays took /healthz from 12 ms median to 668 ms. Benchmark-
 * style: a fixed number of hostile requests (so the load is the same however
 * busy the machine is), /healthz probed all the while, p95 over every probe.
 */
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = await buildTestApp(await testDb());
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = portOf(app);
});

afterAll(async () => {
  await app?.close();
});

/**
 * A hostile client, in a thread of its own: attackers are other machines, so
 * their work must not be counted as the server's (it would share the test's
 * event loop otherwise). Told a number, it sends that many requests one after
 * another, each on a connection of its own, and reports the statuses (0: closed
 * before an answer). A server that takes seconds over each is given 2.5 s a round.
 */
const hostileClient = `
const { request } = require('node:http');
const { workerData, parentPort } = require('node:worker_threads');
const { port, path, headers, depth } = workerData;
const body = Buffer.from('{"json":{"email":"a@example.com","password":' + '['.repeat(depth) + ']'.repeat(depth) + '}}');
function post() {
  return new Promise((resolve) => {
    const outgoing = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent: false,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
        response.on('error', () => resolve(response.statusCode));
      },
    );
    outgoing.on('error', () => resolve(0));
    outgoing.end(body);
  });
}
parentPort.on('message', async (count) => {
  const statuses = [];
  const stopAt = Date.now() + 2500;
  for (let i = 0; i < count && Date.now() < stopAt; i++) statuses.push(await post());
  parentPort.postMessage({ statuses, bytes: body.length });
});
`;

type HostileClient = { send(count: number): Promise<{ statuses: number[]; bytes: number }>; stop(): Promise<number> };

function hostileClientOf(data: { path: string; headers: Record<string, string>; depth: number }): HostileClient {
  const worker = new Worker(hostileClient, { eval: true, workerData: { port, ...data } });
  return {
    send: (count) =>
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage(count);
      }),
    stop: () => worker.terminate(),
  };
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    request({ host: '127.0.0.1', port, path: '/healthz', agent: keepAlive }, (response) => {
      response.resume();
      response.on('end', () => resolve(performance.now() - started));
    })
      .on('error', reject)
      .end();
  });
}

/** Probes /healthz one after another, 2 ms apart (as a health checker polls), until `done()`. */
async function probeUntil(done: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!done()) {
    latencies.push(await probe());
    await pause(2);
  }
  return latencies;
}

/** 40 probes without hostile load: the delay the shared machine itself adds at the moment. */
function quietProbes(): Promise<number[]> {
  let count = 0;
  return probeUntil(() => count++ >= 40);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hostile bodies before authentication', () => {
  it('keep /healthz under 50 ms p95 (plus the machine’s own delay) while two clients send 1 MB bodies of nested arrays', async () => {
    // 1 MB: 500,000 nested arrays in a sign-in's password, as in the review.
    const depth = 499_970;
    const requestsPerClient = 40;
    // The review's attack: two clients without credentials posting to the public sign-in.
    // (Deep bodies to procedures that need a session are refused by depth: hostile-json.test.ts.)
    const clients = [
      { path: '/trpc/auth.login', headers: {} as Record<string, string> },
      { path: '/trpc/auth.login', headers: { 'user-agent': 'second attacker' } as Record<string, string> },
    ];

    for (let i = 0; i < 5; i++) await probe(); // warm the keep-alive connection and the route
    // Rounds of quiet probing and probing under attack, so the shared machine's own bursts of delay
    // fall on both alike: 4 rounds of 40 quiet probes, then 10 hostile requests per client.
    const attackers = clients.map((client) => hostileClientOf({ ...client, depth }));
    const quiet: number[] = [];
    const sorted: number[] = [];
    const results = clients.map(() => ({ statuses: [] as number[], bytes: 0 }));
    let hostileMs = 0;
    let busyMs = 0;
    try {
      for (let round = 0; round < 4; round++) {
        quiet.push(...(await quietProbes()));
        let hostileDone = false;
        const probing = probeUntil(() => hostileDone);
        const started = performance.now();
        const loopBefore = performance.eventLoopUtilization();
        const sent = await Promise.all(attackers.map((attacker) => attacker.send(requestsPerClient / 4))).finally(
          () => {
            hostileDone = true;
          },
        );
        hostileMs += performance.now() - started;
        busyMs += performance.eventLoopUtilization(loopBefore).active;
        sorted.push(...(await probing));
        sent.forEach((result, i) => {
          results[i]?.statuses.push(...result.statuses);
          if (results[i]) results[i].bytes = result.bytes;
        });
      }
    } finally {
      await Promise.all(attackers.map((attacker) => attacker.stop()));
    }
    quiet.sort((a, b) => a - b);
    sorted.sort((a, b) => a - b);
    const hostileSeconds = hostileMs / 1000;
    // How busy the server's thread was (it also runs the probes): the server's own cost, apart from the machine's load.
    const loopBusy = busyMs / hostileMs;
    const statuses = results.map((result) => result.statuses);
    const bytes = results[0]?.bytes ?? 0;
    expect(bytes).toBeGreaterThan(999_000);

    // The machine is shared (2 cores, several test runs at once): its own delay, measured in the
    // quiet rounds, is allowed on top of the 50 ms. On a quiet machine that is about 1 ms.
    const quietP95 = percentile(quiet, 0.95);
    const p50 = percentile(sorted, 0.5);
    const p95 = percentile(sorted, 0.95);
    console.info(
      `hostile load: ${clients.length} clients, ${statuses.map((seen) => seen.length).join(' + ')} requests of ${bytes} bytes in ${hostileSeconds.toFixed(2)} s; ` +
        `/healthz over ${sorted.length} probes: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms; ` +
        `server thread busy ${(loopBusy * 100).toFixed(0)}% of the time; without hostile load p95 ${quietP95.toFixed(1)} ms; ` +
        `statuses ${JSON.stringify(statuses.map((seen) => [...new Set(seen)]))}`,
    );
    // Every hostile request was refused as too large for a call without a session (413), before
    // its body was read (or the connection closed once the refusal was sent).
    expect(statuses.flat().every((status) => status === 413 || status === 0)).toBe(true);
    expect(sorted.length).toBeGreaterThanOrEqual(20);
    expect(statuses.map((seen) => seen.length)).toEqual([requestsPerClient, requestsPerClient]);
    expect(p95).toBeLessThan(50 + quietP95);
    // And no probe waited as long as one hostile body used to cost (0.65 s to 0.93 s of CPU each).
    expect(sorted.at(-1)).toBeLessThan(500);
  }, 180_000);
});
