// `pnpm test`: every package's vitest suite through turbo, one package at a time
// (they are CPU-bound and share the database server's connections), and beside
// them the console's browser suite, which mostly waits on Chromium and the
// server it starts. Both run to the end; the command fails if either failed.
//
// Arguments go to turbo (e.g. --summarize). The browser suite keeps its own rules
// (apps/web/scripts/browser-tests.mjs): ROSTER_SKIP_BROWSER=1 skips it and says so,
// ROSTER_REQUIRE_BROWSER=1 fails without Chromium.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..');
const turbo = join(root, 'node_modules', '.bin', 'turbo');

/** Runs a command, its lines prefixed (when given), and resolves with its exit code and seconds. */
function run(command, args, prefix) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        to.write(`${prefix}${line}\n`),
      );
    }
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), seconds: Math.round((Date.now() - started) / 1000) }),
    );
  });
}

// The browser suite serves the built console (apps/web/dist; the build also checks its
// size budget): build it first, once, so nothing rebuilds it while the suite runs.
const build = await run(turbo, ['run', 'build', '--filter=@roster/web', '--output-logs=errors-only'], '');
if (build.code !== 0) process.exit(build.code);

const [suites, browser] = await Promise.all([
  run(turbo, ['run', 'test', '--concurrency=1', ...process.argv.slice(2)], ''),
  run(process.execPath, [join(root, 'apps', 'web', 'scripts', 'browser-tests.mjs')], '@roster/web:browser: '),
]);

console.log(`\nPackage suites: ${suites.code === 0 ? 'passed' : 'FAILED'} in ${suites.seconds} s.`);
console.log(`Browser suite (beside them): ${browser.code === 0 ? 'passed' : 'FAILED'} in ${browser.seconds} s.`);
process.exit(suites.code !== 0 ? suites.code : browser.code);
