#!/usr/bin/env node
// The `roster` command. Runs the bundle that `pnpm --filter @roster/cli build` writes to
// dist/ when there is one (it starts faster), else the TypeScript source through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
