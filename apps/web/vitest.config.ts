import { defineConfig } from 'vitest/config';

// Unit tests of the console's plain functions; the browser suite has its own config.
export default defineConfig({
  test: { include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'], environment: 'node' },
});
