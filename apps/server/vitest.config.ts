import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['../../packages/api/src/test/global-setup.ts'],
    setupFiles: ['../../packages/api/src/test/setup.ts'],
    isolate: false,
    pool: 'forks',
    maxWorkers: 2,
    // Generous: beside the browser suite, at nice 19 on a busy 2-core machine, a suite can wait a minute for a core.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
