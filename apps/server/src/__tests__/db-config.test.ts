import { describe, expect, it } from 'vitest';
import { readEnv } from '../env.js';

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
