import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Names this run's Postgres databases and drops them at the end.
    globalSetup: ['../../packages/api/src/test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Each test runs the CLI as child processes against a real server.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
