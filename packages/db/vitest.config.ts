import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Names this run's Postgres databases and drops them at the end.
    globalSetup: ['./src/test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
