// `pnpm --filter @roster/bench floors BEFORE.json AFTER.json`: the floors of two
// builds side by side. Each file is a results/floor-config.json that `pnpm bench`
// wrote (copy it away after each build's run): the SQL each build ran for a
// scenario, on its own database. Both floors are started and driven in turns of
// 2 s, so a busy machine slows both alike; the ratio is what to read.
import { join } from 'node:path';
import type { FloorConfig } from './floor-server.js';
import { type Load, measureInTurns } from './load.js';
import { type Child, repoRoot, resultsDir, startNode } from './processes.js';

const [beforePath, afterPath, durationArg] = process.argv.slice(2).filter((arg) => arg !== '--');
if (!beforePath || !afterPath) throw new Error('usage: compare-floors.ts BEFORE.json AFTER.json [seconds]');
const duration = Number(durationArg ?? 10);

async function startFloor(configPath: string, port: number, label: string): Promise<Child> {
  return startNode({
    args: ['--import', 'tsx', 'src/floor-server.ts', String(port), configPath],
    cwd: join(repoRoot, 'bench'),
    env: {},
    logFile: join(resultsDir, `floor-${label}.log`),
    readyUrl: `http://127.0.0.1:${port}/ready`,
  });
}

async function main() {
  const { readFileSync } = await import('node:fs');
  const routes = (path: string) => Object.keys((JSON.parse(readFileSync(path, 'utf8')) as FloorConfig).routes);
  const afterRoutes = new Set(routes(afterPath as string));
  const shared = routes(beforePath as string).filter((route) => afterRoutes.has(route));
  const before = await startFloor(beforePath as string, 3412, 'before');
  const after = await startFloor(afterPath as string, 3413, 'after');
  try {
    const load = (name: string, port: number, route: string): Load => ({
      name,
      url: `http://127.0.0.1:${port}${route}`,
      connections: 16,
    });
    process.stdout.write('route                   before req/s  after req/s  after/before\n');
    for (const route of shared) {
      const [b, a] = await measureInTurns(
        [
          { load: load(`before ${route}`, 3412, route), pid: before.pid },
          { load: load(`after ${route}`, 3413, route), pid: after.pid },
        ],
        { warmup: 3, duration, turns: 5 },
      );
      if (!a || !b) continue;
      const errors = a.errors + b.errors ? ` (${a.errors + b.errors} errors)` : '';
      process.stdout.write(
        `${route.padEnd(22)}  ${String(b.reqPerSec).padStart(12)}  ${String(a.reqPerSec).padStart(11)}  ` +
          `${(a.reqPerSec / b.reqPerSec).toFixed(2).padStart(12)}${errors}\n`,
      );
    }
  } finally {
    await before.stop();
    await after.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
