import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestOrg, passwordCheck, testDb, testPassword } from '@roster/api/test';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp, uniqueRemoteAddress } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

describe('shutting down', () => {
  it('lets a procedure whose client has gone finish before close() resolves (main.ts destroys the database then)', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    // Behind a trusted proxy, so the sign-in counts under an address of its own.
    const app = await buildTestApp(db, { trustProxy: 1 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const clientAddress = uniqueRemoteAddress();

    // The password check holds until the test lets it go, so close() meets the sign-in midway.
    const verify = passwordCheck.verify;
    const inside = signal();
    const gate = signal();
    vi.spyOn(passwordCheck, 'verify').mockImplementationOnce(async (hash, password) => {
      inside.fire();
      await gate.promise;
      return verify(hash, password);
    });
    let closedEarly = false;
    try {
      const body = JSON.stringify({ json: { email: org.adminEmail, password: testPassword } });
      const socket = connect(port, '127.0.0.1');
      socket.write(
        [
          'POST /trpc/auth.login HTTP/1.1',
          'host: 127.0.0.1',
          'content-type: application/json',
          `content-length: ${Buffer.byteLength(body)}`,
          `x-forwarded-for: ${clientAddress}`,
          '',
          body,
        ].join('\r\n'),
      );
      await inside.promise;
      // The client gives up: no connection is left for the HTTP server to wait for.
      socket.destroy();
      let closed = false;
      const closing = app.close().then(() => {
        closed = true;
      });
      await sleep(300);
      closedEarly = closed;
      gate.fire();
      await closing;
    } finally {
      gate.fire();
    }
    expect(closedEarly).toBe(false);
    // When close() resolved, the sign-in had finished: its reservation given back, its session made.
    const { rows: attempts } = await sql<{ n: number }>`
      select count(*)::int as n from sign_in_attempts where client_key = ${clientAddress}
    `.execute(db);
    expect(attempts[0]?.n).toBe(0);
    const sessions = await db
      .selectFrom('sessions')
      .select('id')
      .where('userId', '=', org.adminId)
      .where('clientAddress', '=', clientAddress)
      .execute();
    expect(sessions).toHaveLength(1);
  });
});
