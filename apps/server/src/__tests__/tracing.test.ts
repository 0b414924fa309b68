import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestOrg, testPassword, testServerUrl } from '@roster/api/test';
import { createDb, migrateToLatest } from '@roster/db';
import { createTestDatabase } from '@roster/db/server-databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../app.js';
import { readEnv } from '../env.js';
import { startTracing, type Tracing } from '../tracing.js';
import { buildTestApp, queryUrl, uniqueRemoteAddress } from './helpers.js';

type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
};

// A collector of our own: OTLP over HTTP with JSON bodies, as the exporter sends them.
let collector: Server;
const received: string[] = [];
let tracing: Tracing;

beforeAll(async () => {
  collector = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      if (request.url === '/v1/traces') received.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  tracing = await startTracing({
    endpoint: `http://127.0.0.1:${port}`,
    serviceName: 'roster-test',
    version: '9.9.9',
    immediate: true,
  });
});

afterAll(async () => {
  await tracing.shutdown();
  collector.close();
});

const spansOf = (): OtlpSpan[] =>
  received.flatMap((body) => {
    const parsed = JSON.parse(body) as {
      resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
    };
    return parsed.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  });

const attribute = (span: OtlpSpan | undefined, key: string) => {
  const value = span?.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('sends a span for each request, with its statements as children, and never a value or a secret', async () => {
    const url = testServerUrl ? await createTestDatabase(testServerUrl) : undefined;
    // Statements are traced from the first request on: the migrations and fixtures before it would
    // send a few hundred spans, each posted at once (immediate), and on a busy machine the exporter
    // dropped the request's own span past its limit of exports in flight (CI saw it).
    let traced = false;
    const { db } = createDb({ url, onQuery: (query) => traced && tracing.onQuery(query) });
    await migrateToLatest(db);
    const org = await createTestOrg(db, 'Traced Org');
    const app = await buildTestApp(db, { tracing });
    traced = true;
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/trpc/auth.login',
        remoteAddress: uniqueRemoteAddress(),
        headers: { 'content-type': 'application/json' },
        payload: { json: { email: org.adminEmail, password: testPassword } },
      });
      expect(login.statusCode).toBe(200);
      const cookie = `${sessionCookieName}=${login.cookies.find((c) => c.name === sessionCookieName)?.value}`;
      const search = await app.inject({
        url: queryUrl('users.search', { query: 'secret-looking-text' }),
        headers: { cookie, 'x-request-id': 'traced-request-1' },
      });
      expect(search.statusCode).toBe(200);
      // The exporter posts as spans end; give it time (2.5 s was too little on a busy machine: CI saw none yet).
      const deadline = Date.now() + 20_000;
      while (
        Date.now() < deadline &&
        !spansOf().some((s) => attribute(s, 'roster.request_id') === 'traced-request-1')
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const spans = spansOf();
      const request = spans.find((s) => attribute(s, 'roster.request_id') === 'traced-request-1');
      expect(request?.name).toBe('GET users.search');
      expect(attribute(request, 'http.response.status_code')).toBe(200);
      const statements = spans.filter((s) => s.parentSpanId === request?.spanId);
      expect(statements.length).toBeGreaterThanOrEqual(2);
      expect(statements.every((s) => s.traceId === request?.traceId)).toBe(true);
      expect(statements.every((s) => attribute(s, 'db.system') === 'postgresql')).toBe(true);
      expect(statements.some((s) => String(attribute(s, 'db.statement')).includes('from "users"'))).toBe(true);

      const everything = received.join('\n');
      expect(everything).toContain('roster-test');
      for (const secret of [testPassword, 'secret-looking-text', org.adminEmail, cookie.split('=')[1] ?? '']) {
        expect(everything).not.toContain(secret);
      }
    } finally {
      await app.close();
      await db.destroy();
    }
  });

  it('is off unless the endpoint is set, and the endpoint must be a URL', () => {
    expect(readEnv({}).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://collector:4318',
    );
    expect(() => readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
