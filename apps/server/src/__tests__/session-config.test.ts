import { createTestOrg, testDb } from '@roster/api/test';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { buildTestApp, queryUrl, signInCookie } from './helpers.js';

let org: Awaited<ReturnType<typeof createTestOrg>>;

beforeAll(async () => {
  org = await createTestOrg(await testDb());
});

describe('session timeouts are configurable', () => {
  it('reads SESSION_IDLE_MINUTES (default 30) and SESSION_ABSOLUTE_HOURS (default 12)', () => {
    expect(readEnv({})).toMatchObject({ SESSION_IDLE_MINUTES: 30, SESSION_ABSOLUTE_HOURS: 12 });
    expect(readEnv({ SESSION_IDLE_MINUTES: '5', SESSION_ABSOLUTE_HOURS: '1' })).toMatchObject({
      SESSION_IDLE_MINUTES: 5,
      SESSION_ABSOLUTE_HOURS: 1,
    });
    expect(() => readEnv({ SESSION_IDLE_MINUTES: '0' })).toThrow(/SESSION_IDLE_MINUTES/);
  });

  it('takes an empty variable as unset: PORT= is the default port, not port 0', () => {
    const env = readEnv({ PORT: '', HOST: '', SESSION_IDLE_MINUTES: '', DATABASE_URL: '' });
    expect(env).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', SESSION_IDLE_MINUTES: 30 });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('ends a session over HTTP after the configured idle time', async () => {
    const db = await testDb();
    const app = await buildTestApp(db, { sessions: { idleTimeoutMs: 5 * 60_000, absoluteTimeoutMs: 3_600_000 } });
    try {
      const cookie = await signInCookie(app, org.adminEmail);
      const me = async () => (await app.inject({ url: queryUrl('auth.me'), headers: { cookie } })).json();
      expect((await me()).result.data.json).not.toBeNull();
      await db
        .updateTable('sessions')
        .set({ lastSeenAt: sql<Date>`now() - interval '6 minutes'` })
        .where('userId', '=', org.adminId)
        .execute();
      expect((await me()).result.data.json).toBeNull();
    } finally {
      await app.close();
    }
  });
});
