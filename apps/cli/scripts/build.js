// Bundles the CLI into dist/ (or the folder given as the first argument): one
// small entry for the API commands, and the database code in chunks loaded only
// by the operator commands. Packages with native code or wasm files stay outside
// the bundle and load from node_modules.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? 'dist';
const external = ['@node-rs/argon2', '@electric-sql/pglite', 'pg-native'].flatMap((name) => [name, `${name}/*`]);

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: true,
  // Bundled CommonJS (pg) calls require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as rosterCreateRequire } from 'node:module'; const require = rosterCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
