// `pnpm test`: every package's vitest suite through turbo, one package at a time,
// then the console's browser suite.
//
// One after the other, each with the whole machine. They used to run side by
// side, the package suites at `nice -n 19` so the browser suite would never wait
// for a core. But the browser suite does not mostly wait: Chromium alone keeps
// 1.4 of the 2 cores busy (axe, layout, screenshots), so the niced suites got
// almost nothing, and on a slower machine a database test's setup waited past
// its 180 s timeout (CI on f88954c). Alone, the package suites take ~3.5 min
// and the browser suite ~7: no slower in all than side by side, and neither
// can starve the other.
//
// Arguments go to turbo (e.g. --summarize). Whether the browser suite runs is
// decided in one place (apps/web/scripts/browser-plan.mjs): ROSTER_SKIP_BROWSER=1
// skips it, ROSTER_REQUIRE_BROWSER=1 fails without Chromium; when it does not
// run, the console is not built for it and the summary says "not run". With
// ROSTER_BROWSER_DATABASE_URL, the browser suite's server uses a database of
// its own on that PostgreSQL server while the package suites use whatever
// DATABASE_URL says (unset: PGlite): .ci/run pairs the PGlite pass with the
// browser suite on the real server this way.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { browserSuitePlan } from '../apps/web/scripts/browser-plan.mjs';

const root = join(import.meta.dirname, '..');
const turbo = join(root, 'node_modules', '.bin', 'turbo');

/** Runs a command, its lines prefixed, and resolves with its exit code and seconds. */
function run(command, args, { prefix = '', env = process.env } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        to.write(`${prefix}${line}\n`),
      );
    }
    child.on('error', (error) => {
      process.stderr.write(`${prefix}could not start ${command}: ${error.message}\n`);
    });
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), seconds: Math.round((Date.now() - started) / 1000) }),
    );
  });
}

const { ROSTER_BROWSER_DATABASE_URL: browserDatabase, ...inherited } = process.env;
const browserEnv = browserDatabase ? { ...inherited, DATABASE_URL: browserDatabase } : inherited;
const plan = browserSuitePlan(browserEnv);

// The browser suite serves the built console (apps/web/dist; the build also checks its
// size budget): build it first, once, so nothing rebuilds it while the suite runs.
if (plan.run) {
  const build = await run(turbo, ['run', 'build', '--filter=@roster/web', '--output-logs=errors-only']);
  if (build.code !== 0) process.exit(build.code);
}

const suites = await run(turbo, ['run', 'test', '--concurrency=1', ...process.argv.slice(2)], { env: inherited });
let browser = { code: 0, seconds: 0 };
if (plan.run) {
  browser = await run(process.execPath, [join(root, 'apps', 'web', 'scripts', 'browser-tests.mjs')], {
    prefix: '@roster/web:browser: ',
    env: browserEnv,
  });
} else {
  (plan.fail ? console.error : console.warn)(`\n  ${plan.message}\n`);
  if (plan.fail) browser.code = 1;
}

const verdict = (code) => (code === 0 ? 'passed' : 'FAILED');
console.log(`\nPackage suites: ${verdict(suites.code)} in ${suites.seconds} s.`);
console.log(
  plan.run
    ? `Browser suite (after them): ${verdict(browser.code)} in ${browser.seconds} s.`
    : `Browser suite: ${plan.fail ? 'FAILED, ' : ''}not run (${plan.reason}).`,
);
process.exit(suites.code !== 0 ? suites.code : browser.code);
