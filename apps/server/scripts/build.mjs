// Bundles the server for production: `node dist/main.mjs` instead of running
// TypeScript through tsx, whose loader thread and transpiler cost ~60 MB of RSS
// for the life of the process. Our workspace packages (@roster/*) and pure-JS
// libraries are bundled; the server's own dependencies and anything with native
// code or files of its own (argon2, PGlite's wasm) stay in node_modules.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@roster/')), 'pg-native'];

await build({
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/main.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  // CommonJS libraries inside an ES module bundle still call require().
  banner: {
    js: "import { createRequire as rosterCreateRequire } from 'node:module'; const require = rosterCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
