import { defineConfig } from 'vitest/config';
import { parallelFiles } from './e2e/parallel.ts';

/**
 * Files that must run alone, after all the others: one fills the shared server
 * with a thousand users (which would push other files' users off the first page
 * of a list), and one checks the server's log of the whole run.
 */
const runLast = ['e2e/show-more-timing.test.ts', 'e2e/server-log.test.ts'];

// The browser suite: one server (e2e/global-setup.ts) for every file. Its steps
// mostly wait (on Chromium, on the server), so two files run at a time, each
// with a browser and an administrator of its own (alone, one file at a time
// used 64% of the machine). Files work in accounts and users of their own, and
// look up what they made by name, so two never trip over each other's changes.
// Then the files of `runLast`, one after the other.
/**
 * A browser's steps on a busy machine: both projects (inline projects do not inherit the root's).
 * expect.poll waits as long as Playwright's waitFor does (30 s), not vitest's default 1 s: on a
 * starved 2-core machine a page can take longer than that to show what a filter asked for.
 */
const timeouts = { testTimeout: 120_000, hookTimeout: 120_000, expect: { poll: { timeout: 30_000 } } };

export default defineConfig({
  test: {
    globalSetup: ['e2e/global-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'browser',
          include: ['e2e/**/*.test.ts'],
          exclude: runLast,
          maxWorkers: parallelFiles,
          ...timeouts,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'browser, last',
          include: runLast,
          maxWorkers: 1,
          ...timeouts,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
