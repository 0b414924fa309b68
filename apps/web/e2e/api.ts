// Calling the API over HTTP as the console does (tRPC's JSON, superjson's
// envelope), with a Playwright request context's cookies. No vitest here: the
// global setup uses it too, outside any test.
import type { APIRequestContext } from 'playwright-core';

type Envelope<T> = { result?: { data: { json: T } }; error?: { json: { message: string; data: { code: string } } } };

/** Calls a procedure over HTTP with the context's cookies, as the console would. */
export async function api<T = unknown>(
  request: APIRequestContext,
  kind: 'query' | 'mutation',
  path: string,
  input?: unknown,
): Promise<{ status: number; data?: T; error?: { message: string; code: string } }> {
  const response =
    kind === 'mutation'
      ? await request.post(`/trpc/${path}`, { data: { json: input ?? null } })
      : await request.get(`/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input ?? null }))}`);
  const body = (await response.json()) as Envelope<T>;
  return {
    status: response.status(),
    data: body.result?.data.json,
    error: body.error ? { message: body.error.json.message, code: body.error.json.data.code } : undefined,
  };
}

/** Like `api`, but the call must succeed. */
export async function must<T>(request: APIRequestContext, kind: 'query' | 'mutation', path: string, input?: unknown) {
  const result = await api<T>(request, kind, path, input);
  if (result.status !== 200 || result.data === undefined) {
    throw new Error(`${path} failed with ${result.status}: ${result.error?.message}`);
  }
  return result.data;
}

/** The id of the organization's default account, asked as the administrator. */
export async function defaultAccountIdOf(request: APIRequestContext): Promise<string> {
  const accounts = await must<{ items: { id: string; isDefault: boolean }[] }>(request, 'query', 'accounts.list', {
    limit: 100,
  });
  const found = accounts.items.find((account) => account.isDefault);
  if (!found) throw new Error('no default account');
  return found.id;
}
