import { appRouter } from '@roster/api';
import type { TestOrg } from '@roster/api/test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInApp } from './helpers.js';

// The transport under generated input: raw bodies and query strings that are
// JSON or not, superjson envelopes with made-up type annotations, batches.
// Whatever arrives, the answer is a tRPC error (4xx, or 503 when the database
// is away) or a result: never a 500, never a crash.

let app: FastifyInstance;
let org: TestOrg;
let cookie: string;

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>);
const mutations = procedures.filter(([, p]) => p._def.type === 'mutation').map(([path]) => path);
const queries = procedures.filter(([, p]) => p._def.type === 'query').map(([path]) => path);

beforeAll(async () => {
  ({ org, app, cookie } = await signedInApp({ orgName: 'HTTP Fuzz Org' }));
});

afterAll(async () => {
  await app.close();
});

const superjsonMeta = fc.record(
  {
    values: fc.oneof(
      fc.constantFrom('Date', 'bigint', 'undefined', 'set', 'map', 'regexp', 'symbol', 'Infinity', 'NaN', '-0', 'URL'),
      fc.dictionary(
        fc.constantFrom('name', 'id', 'email', 'users', 'users.0', '__proto__', 'constructor.prototype', ''),
        fc.oneof(
          fc.constantFrom(['Date'], ['bigint'], ['set'], ['map'], ['class', 'X'], ['custom', 'nope'], ['Error']),
          fc.anything({ maxDepth: 1 }),
        ),
      ),
    ),
    referentialEqualities: fc.anything({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

const envelope = fc.oneof(
  fc.record({ json: fc.anything({ maxDepth: 3 }) }, { requiredKeys: [] }),
  fc.record({ json: fc.anything({ maxDepth: 2 }), meta: superjsonMeta }, { requiredKeys: [] }),
  fc.anything({ maxDepth: 2 }),
);

const rawBody = fc.oneof(
  { weight: 4, arbitrary: envelope.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.json() },
);

function expectClean(response: { statusCode: number; body: string }, what: string) {
  expect(response.statusCode, `${what}: ${response.body.slice(0, 300)}`).not.toBe(500);
  expect(response.statusCode, what).toBeLessThan(500);
  if (response.statusCode >= 400 && response.body.startsWith('{"error"')) {
    expect(JSON.parse(response.body).error.json.data.code, what).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

describe('HTTP transport under generated input', () => {
  it('mutations: raw POST bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...mutations.filter((p) => p !== 'auth.logout')),
        rawBody,
        async (path, body) => {
          const response = await app.inject({
            method: 'POST',
            url: `/trpc/${path}`,
            headers: { cookie, 'content-type': 'application/json' },
            payload: body,
          });
          expectClean(response, `${path} ${body.slice(0, 200)}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('queries: GET input strings, single and batched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...queries), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        rawBody,
        async (paths, batch, input) => {
          const url = batch
            ? `/trpc/${paths.join(',')}?batch=1&input=${encodeURIComponent(`{"0":${input}}`)}`
            : `/trpc/${paths[0]}?input=${encodeURIComponent(input)}`;
          if (url.length > 8000) return;
          const response = await app.inject({ url, headers: { cookie } });
          expectClean(response, url.slice(0, 300));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('still serves normally afterwards', async () => {
    const response = await app.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(200);
    const me = await app.inject({ url: '/trpc/auth.me', headers: { cookie } });
    expect(me.json().result.data.json.email).toBe(org.adminEmail);
  });
});
