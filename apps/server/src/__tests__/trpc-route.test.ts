import { createTestOrg, testDb } from '@roster/api/test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signInCookie, uniqueRemoteAddress } from './helpers.js';

/**
 * trpc-route.ts serves tRPC's wire format itself. These tests hold it to
 * tRPC's own Fastify adapter: the same requests go to an app of each kind,
 * on the same database, and the answers must be the same, byte for byte in
 * meaning: status, media type, the headers tRPC sets, and the JSON.
 */
let lean: FastifyInstance;
let stock: FastifyInstance;
let cookie: string;
let org: Awaited<ReturnType<typeof createTestOrg>>;

beforeAll(async () => {
  const db = await testDb();
  org = await createTestOrg(db);
  lean = await buildTestApp(db);
  stock = await buildTestApp(db, { trpcHandler: 'stock' });
  cookie = await signInCookie(lean, org.adminEmail);
});

afterAll(async () => {
  await lean?.close();
  await stock?.close();
});

const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));
const one = (value: unknown) => input({ json: value });
const batch = (...values: unknown[]) => input(Object.fromEntries(values.map((value, i) => [i, { json: value }])));

/** `stockSaysTextPlain`: tRPC's adapter labels this JSON answer text/plain; ours says application/json. */
type Case = { name: string; request: () => InjectOptions; stockSaysTextPlain?: true };

const get = (url: string, withCookie = true): InjectOptions => ({
  method: 'GET',
  url,
  headers: withCookie ? { cookie } : {},
  remoteAddress: '127.0.0.9',
});
const post = (url: string, payload: string, withCookie = true): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...(withCookie ? { cookie } : {}) },
  payload,
  // Sign-in attempts count per address: each request its own.
  remoteAddress: uniqueRemoteAddress(),
});

const cases: Case[] = [
  { name: 'a query', request: () => get(`/trpc/users.get?input=${one({ email: org.adminEmail })}`) },
  { name: 'a query without input', request: () => get('/trpc/accounts.list') },
  { name: 'a query with null input', request: () => get(`/trpc/auth.me?input=${one(null)}`) },
  {
    name: 'a batch',
    request: () => get(`/trpc/users.get,accounts.list?batch=1&input=${batch({ email: org.adminEmail }, {})}`),
  },
  {
    name: 'a batch where one call fails (207)',
    request: () => get(`/trpc/users.get,accounts.list?batch=1&input=${batch({ email: 'nobody@example.com' }, {})}`),
  },
  {
    name: 'a batch where every call fails alike',
    request: () =>
      get(`/trpc/users.get,users.get?batch=1&input=${batch({ email: 'a@example.com' }, { email: 'b@example.com' })}`),
  },
  {
    name: 'a batch with a call without input',
    request: () => get(`/trpc/accounts.list,auth.me?batch=1&input=${batch({})}`),
  },
  { name: 'a batch without any input', request: () => get('/trpc/accounts.list,auth.me?batch=1') },
  {
    name: 'invalid input (400 with the fields)',
    request: () => get(`/trpc/users.get?input=${one({ email: 'not an email' })}`),
  },
  { name: 'no session (401)', request: () => get(`/trpc/users.get?input=${one({ email: org.adminEmail })}`, false) },
  { name: 'an unknown procedure (404)', request: () => get(`/trpc/users.nothing?input=${one({})}`) },
  {
    name: 'an unknown procedure in a batch',
    request: () => get(`/trpc/users.nothing,accounts.list?batch=1&input=${batch({}, {})}`),
  },
  {
    name: 'a query sent by POST (405)',
    request: () => post('/trpc/users.get', JSON.stringify({ json: { email: org.adminEmail } })),
  },
  {
    name: 'a mutation sent by GET (405)',
    request: () => get(`/trpc/users.deactivate?input=${one({ id: org.adminId })}`),
  },
  {
    name: 'a mutation with invalid input',
    request: () => post('/trpc/users.create', JSON.stringify({ json: { email: 'x' } })),
  },
  {
    name: 'a batched mutation with invalid input',
    request: () => post('/trpc/users.create?batch=1', JSON.stringify({ 0: { json: { email: 'x' } } })),
  },
  {
    name: 'a failed sign-in',
    request: () =>
      post(
        '/trpc/auth.login',
        JSON.stringify({ json: { email: 'ghost@example.com', password: 'wrong wrong' } }),
        false,
      ),
  },
  { name: 'a mutation without a body', request: () => post('/trpc/auth.logout', '', false) },
  {
    name: 'a batch over the limit (400)',
    request: () => get(`/trpc/${Array(21).fill('auth.me').join(',')}?batch=1`),
    stockSaysTextPlain: true,
  },
  { name: 'batch input that is not an object', request: () => get(`/trpc/auth.me?batch=1&input=${input([1])}`) },
  {
    name: 'a query and a mutation in one batch',
    request: () => get(`/trpc/auth.me,auth.logout?batch=1&input=${batch(null, null)}`),
    stockSaysTextPlain: true,
  },
  { name: 'an escaped path', request: () => get(`/trpc/users%2Eget?input=${one({ email: org.adminEmail })}`) },
];

async function answer(app: FastifyInstance, request: InjectOptions) {
  const response = await app.inject(request);
  return {
    status: response.statusCode,
    // Fastify names the charset of JSON it sends (tRPC's adapter does not): the same media type.
    mediaType: String(response.headers['content-type']).split(';')[0],
    vary: response.headers.vary,
    retryAfter: response.headers['retry-after'],
    body: JSON.parse(response.body) as unknown,
  };
}

describe('the lean tRPC route answers as tRPC’s adapter does', () => {
  it.each(cases)('$name', async ({ request, stockSaysTextPlain }) => {
    const expected = await answer(stock, request());
    const actual = await answer(lean, request());
    if (stockSaysTextPlain) {
      expect(expected.mediaType).toBe('text/plain');
      expected.mediaType = 'application/json';
    }
    expect(actual).toEqual(expected);
  });
});
