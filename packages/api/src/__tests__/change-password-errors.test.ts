import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { describe, expect, it } from 'vitest';
import { createSession } from '../auth/sessions.js';
import { createContext } from '../context.js';
import { appRouter } from '../root.js';
import { createTestOrg, testDb, testPassword } from '../test/index.js';

/** Calls a mutation over the fetch adapter, so the answer is what a browser gets. */
async function post(token: string, path: string, input: unknown) {
  const db = await testDb();
  const response = await fetchRequestHandler({
    endpoint: '/trpc',
    router: appRouter,
    req: new Request(`http://localhost/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: input }),
    }),
    createContext: () => createContext({ db, sessionToken: token }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      error: { json: { message: string; data: { code: string; fieldErrors: unknown } } };
    },
  };
}

describe('auth.changePassword errors', () => {
  it('names the current-password field when it is wrong, so the form shows it there', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const user = await org.addUser({ password: testPassword });
    const { token } = await createSession(db, {
      userId: user.id,
      clientAddress: null,
      userAgent: null,
      absoluteTimeoutMs: 60_000,
    });
    const { status, body } = await post(token, 'auth.changePassword', {
      currentPassword: 'not the password',
      newPassword: 'a brand new password',
    });
    expect(status).toBe(400);
    expect(body.error.json.data.code).toBe('BAD_REQUEST');
    expect(body.error.json.data.fieldErrors).toEqual({ currentPassword: ['The current password is incorrect.'] });
    expect(body.error.json.message).toBe('currentPassword: The current password is incorrect.');
  });
});
