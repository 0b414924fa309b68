import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['../../packages/api/src/test/global-setup.ts'],
    setupFiles: ['../../packages/api/src/test/setup.ts'],
    isolate: false,
    pool: 'forks',
    maxWorkers: 2,
    // Generous: on a busy 2-core machine (CI's runs vary severalfold in speed) a test can wait a minute for a core.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
