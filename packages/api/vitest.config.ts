import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./src/test/global-setup.ts'],
    setupFiles: ['./src/test/setup.ts'],
    // One database per worker, shared by the files it runs (see src/test/index.ts).
    isolate: false,
    pool: 'forks',
    maxWorkers: 2,
    // Generous: on a busy 2-core machine (CI's runs vary severalfold in speed) a test can wait a minute for a core.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
