// Runs the browser suite (vitest + playwright-core) when Debian's Chromium is
// installed. Without it, says so plainly and passes, unless ROSTER_REQUIRE_BROWSER=1
// (CI sets it), where a missing browser fails the run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const chromium = '/usr/bin/chromium';
const required = process.env.ROSTER_REQUIRE_BROWSER === '1';

// .ci/run runs the suites twice, on PGlite and on PostgreSQL; the browser suite needs
// to run once, in the PostgreSQL pass (where it is required), so the first pass says it skips it.
if (process.env.ROSTER_SKIP_BROWSER === '1') {
  if (required) {
    console.error('ROSTER_SKIP_BROWSER=1 and ROSTER_REQUIRE_BROWSER=1 contradict each other; set one.');
    process.exit(1);
  }
  console.warn(
    '\n  Browser tests were NOT run in this pass: ROSTER_SKIP_BROWSER=1 (CI runs them in its PostgreSQL pass).\n',
  );
  process.exit(0);
}

if (!existsSync(chromium)) {
  const message = `Browser tests were NOT run: Chromium not found at ${chromium} (install it with: apt-get install chromium).`;
  if (required) {
    console.error(`${message}\nROSTER_REQUIRE_BROWSER=1, so this fails.`);
    process.exit(1);
  }
  console.warn(`\n  ${message}\n`);
  process.exit(0);
}

const webDir = join(import.meta.dirname, '..');
const started = Date.now();
const result = spawnSync('vitest', ['run', '--config', 'vitest.browser.config.ts', ...process.argv.slice(2)], {
  cwd: webDir,
  stdio: 'inherit',
  shell: false,
  env: { ...process.env, PATH: `${join(webDir, 'node_modules', '.bin')}:${process.env.PATH}` },
});
console.log(`Browser suite took ${Math.round((Date.now() - started) / 1000)} s.`);
process.exit(result.status ?? 1);
