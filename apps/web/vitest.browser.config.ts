import { defineConfig } from 'vitest/config';

// The browser suite: one server, one browser at a time, files one after another
// (the machine has two cores; Chromium and the server share them).
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
