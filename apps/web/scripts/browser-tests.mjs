// Runs the browser suite (vitest + playwright-core) when Debian's Chromium is
// installed. Without it, says so plainly and passes, unless ROSTER_REQUIRE_BROWSER=1
// (CI sets it), where a missing browser fails the run; ROSTER_SKIP_BROWSER=1 skips
// it (browser-plan.mjs holds these rules).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { browserSuitePlan } from './browser-plan.mjs';

const plan = browserSuitePlan(process.env);
if (!plan.run) {
  if (plan.fail) {
    console.error(plan.message);
    process.exit(1);
  }
  console.warn(`\n  ${plan.message}\n`);
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
