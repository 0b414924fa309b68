#!/usr/bin/env node
// The `roster` command. Runs the bundle that `pnpm --filter @roster/cli build` writes to
// dist/ (it starts faster) while that bundle is newer than the sources it was built from;
// otherwise the TypeScript source through tsx, so an edit never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const built = join(here, 'dist', 'main.js');
const sources = [join(here, 'src'), join(here, '../../packages/api/src'), join(here, '../../packages/db/src')];

function bundleIsCurrent() {
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  return sources.every(
    (dir) =>
      !existsSync(dir) ||
      readdirSync(dir, { recursive: true }).every((name) => statSync(join(dir, name)).mtimeMs <= builtAt),
  );
}

const source = join(here, 'src', 'main.ts');
if (bundleIsCurrent() || !existsSync(source)) {
  await import(new URL('../dist/main.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
