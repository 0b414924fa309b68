import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that fill the shared server with data (a thousand users) run after the others,
 * and the check of the server's log after everything.
 */
const runLast = ['show-more-timing.test.ts', 'server-log.test.ts'];

class DataHeavyLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (file: TestSpecification) => runLast.some((name) => file.moduleId.endsWith(name));
    const lastOnes = runLast.flatMap((name) => sorted.filter((file) => file.moduleId.endsWith(name)));
    return [...sorted.filter((file) => !last(file)), ...lastOnes];
  }
}

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
    sequence: { sequencer: DataHeavyLast },
  },
});
