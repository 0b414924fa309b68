// Whether the browser suite runs, in one place: browser-tests.mjs (which runs it)
// and scripts/test.mjs (which builds the console for it and reports it) both ask here.
import { existsSync } from 'node:fs';

export const chromiumPath = '/usr/bin/chromium';

/**
 * `run`: Chromium is here and nothing says skip. `skip`: the suite is not run, and
 * `message` says why; `fail` when that is an error (ROSTER_REQUIRE_BROWSER=1 without
 * Chromium, or contradicting ROSTER_SKIP_BROWSER=1).
 *
 * @param {NodeJS.ProcessEnv} env
 * @param {{ chromiumInstalled?: boolean }} [machine] whether Chromium is installed (looked up by default)
 * @returns {{ run: true } | { run: false, fail: boolean, reason: string, message: string }}
 */
export function browserSuitePlan(env, { chromiumInstalled = existsSync(chromiumPath) } = {}) {
  const required = env.ROSTER_REQUIRE_BROWSER === '1';
  // .ci/run's PostgreSQL pass runs the package suites only: the browser suite ran with the PGlite pass.
  if (env.ROSTER_SKIP_BROWSER === '1') {
    if (required) {
      const reason = 'ROSTER_SKIP_BROWSER=1 and ROSTER_REQUIRE_BROWSER=1 contradict each other';
      return { run: false, fail: true, reason, message: `${reason}; set one.` };
    }
    const reason = 'ROSTER_SKIP_BROWSER=1';
    return { run: false, fail: false, reason, message: `Browser tests were NOT run in this pass: ${reason}.` };
  }
  if (!chromiumInstalled) {
    const reason = `Chromium not found at ${chromiumPath}`;
    const message = `Browser tests were NOT run: ${reason} (install it with: apt-get install chromium).`;
    return required
      ? { run: false, fail: true, reason, message: `${message}\nROSTER_REQUIRE_BROWSER=1, so this fails.` }
      : { run: false, fail: false, reason, message };
  }
  return { run: true };
}
