import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Names this run's Postgres databases and drops them at the end.
    globalSetup: ['../../packages/api/src/test/global-setup.ts'],
    pool: 'forks',
    // The files start servers and databases in child processes: in parallel on two
    // cores they would only slow each other down.
    maxWorkers: 1,
    // Each test runs the CLI as child processes against a real server.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
