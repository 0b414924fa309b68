import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Names this run's Postgres databases and drops them at the end.
    globalSetup: ['../../packages/api/src/test/global-setup.ts'],
    pool: 'forks',
    // Most tests run the CLI in process (run(argv, runtime)) against a server in the
    // same worker; a few start the installed bundle as a child. Two workers, as in the
    // other packages: measured on PGlite, 28 s instead of 47 s for the same CPU time.
    maxWorkers: 2,
    // A few tests run the CLI as child processes against a real server.
    // Generous: on a busy 2-core machine (CI's runs vary severalfold in speed) a test can wait a minute for a core.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
