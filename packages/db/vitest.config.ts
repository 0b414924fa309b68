import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Names this run's Postgres databases and drops them at the end.
    globalSetup: ['./src/test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Generous: on a busy 2-core machine (CI's runs vary severalfold in speed) a test can wait a minute for a core.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
