import { testDb } from '@roster/api/test';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';
import { buildTestApp } from './helpers.js';

describe('database settings for a pooler', () => {
  it('sends named prepared statements unless DB_PREPARED_STATEMENTS=false', () => {
    expect(readEnv({}).DB_PREPARED_STATEMENTS).toBe(true);
    expect(readEnv({ DB_PREPARED_STATEMENTS: 'false' }).DB_PREPARED_STATEMENTS).toBe(false);
    expect(readEnv({ DB_PREPARED_STATEMENTS: 'true' }).DB_PREPARED_STATEMENTS).toBe(true);
    expect(() => readEnv({ DB_PREPARED_STATEMENTS: 'no' })).toThrow(/DB_PREPARED_STATEMENTS/);
  });

  it('takes DATABASE_DIRECT_URL for migrations, as a URL', () => {
    expect(readEnv({}).DATABASE_DIRECT_URL).toBeUndefined();
    expect(readEnv({ DATABASE_DIRECT_URL: 'postgres://roster@db:5432/roster' }).DATABASE_DIRECT_URL).toBe(
      'postgres://roster@db:5432/roster',
    );
    expect(() => readEnv({ DATABASE_DIRECT_URL: 'not a url' })).toThrow(/DATABASE_DIRECT_URL/);
  });
});

describe('read replica settings', () => {
  it('takes DATABASE_READ_URL as a URL (unset: no replica) and REPLICA_MAX_LAG_MS (default 10 s, up to an hour)', () => {
    expect(readEnv({}).DATABASE_READ_URL).toBeUndefined();
    expect(readEnv({ DATABASE_READ_URL: '' }).DATABASE_READ_URL).toBeUndefined();
    expect(readEnv({ DATABASE_READ_URL: 'postgres://roster@replica:5432/roster' }).DATABASE_READ_URL).toBe(
      'postgres://roster@replica:5432/roster',
    );
    for (const bad of ['replica:5432', 'not a url', 'http://replica/']) {
      expect(() => readEnv({ DATABASE_READ_URL: bad })).toThrow(/DATABASE_READ_URL/);
    }
    expect(readEnv({}).REPLICA_MAX_LAG_MS).toBe(10_000);
    expect(readEnv({ REPLICA_MAX_LAG_MS: '2500' }).REPLICA_MAX_LAG_MS).toBe(2_500);
    for (const bad of ['-1', '1.5', 'soon', '3600001']) {
      expect(() => readEnv({ REPLICA_MAX_LAG_MS: bad })).toThrow(/REPLICA_MAX_LAG_MS/);
    }
  });
});

describe('draining for a load balancer', () => {
  it('answers /readyz 503 "draining" once shutting down, and still answers everything else', async () => {
    const lifecycle = { draining: false };
    const app = await buildTestApp(await testDb(), { lifecycle });
    try {
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
      lifecycle.draining = true;
      const readyz = await app.inject({ url: '/readyz' });
      expect(readyz.statusCode).toBe(503);
      expect(readyz.json()).toMatchObject({ status: 'draining' });
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/trpc/auth.me' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('waits SHUTDOWN_DELAY_MS (default 0, at most 2 minutes) before it stops listening', () => {
    expect(readEnv({}).SHUTDOWN_DELAY_MS).toBe(0);
    expect(readEnv({ SHUTDOWN_DELAY_MS: '5000' }).SHUTDOWN_DELAY_MS).toBe(5000);
    expect(() => readEnv({ SHUTDOWN_DELAY_MS: '-1' })).toThrow(/SHUTDOWN_DELAY_MS/);
  });
});
