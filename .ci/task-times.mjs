// Prints how long each package's tests took in the newest turbo run summary
// (`pnpm test --summarize` writes .turbo/runs/<id>.json).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = '.turbo/runs';
let files = [];
try {
  files = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
} catch {
  // no summary: nothing to print
}
if (files.length === 0) {
  console.log(`${process.argv[2] ?? 'tests'}: no turbo run summary found`);
  process.exit(0);
}
const summary = JSON.parse(readFileSync(files[0], 'utf8'));
const rows = (summary.tasks ?? [])
  .filter((task) => task.task === 'test' && task.execution)
  .map((task) => ({
    name: task.package,
    seconds: (task.execution.endTime - task.execution.startTime) / 1000,
    exit: task.execution.exitCode,
  }))
  .sort((a, b) => b.seconds - a.seconds);
console.log(`${process.argv[2] ?? 'tests'}: time per package`);
for (const row of rows) {
  console.log(
    `  ${row.name.padEnd(16)} ${row.seconds.toFixed(1).padStart(7)} s${row.exit ? `  (exit ${row.exit})` : ''}`,
  );
}
