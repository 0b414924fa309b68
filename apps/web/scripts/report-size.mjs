// Prints the gzipped size of the JavaScript the first visit really downloads, and
// fails the build over budget. The first page anyone opens is the sign-in page
// (everything else sends a stranger there), so the first visit is: the scripts and
// module preloads index.html names, everything they import statically, and the
// sign-in page's own chunk with its static imports (the router loads it at once).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = join(import.meta.dirname, '..', 'dist');
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const budgetKb = 150;
const firstPage = 'src/routes/login.tsx';

const keyByFile = new Map(Object.entries(manifest).map(([key, chunk]) => [`/${chunk.file}`, key]));

/** Every file index.html makes the browser fetch as a module: the entry and the modulepreloads. */
const named = [
  ...html.matchAll(/<script[^>]*\btype="module"[^>]*\bsrc="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"/g),
].map((match) => match[1]);
if (named.length === 0) throw new Error('index.html names no module script');

const files = new Map(); // file -> why it is loaded
const visit = (key, why) => {
  const chunk = manifest[key];
  if (!chunk) throw new Error(`${key} is not in the Vite manifest`);
  if (files.has(chunk.file)) return;
  files.set(chunk.file, why);
  for (const imported of chunk.imports ?? []) visit(imported, why);
};
for (const path of named) {
  const key = keyByFile.get(path);
  if (!key) throw new Error(`index.html loads ${path}, which the manifest does not know`);
  visit(key, 'index.html');
}
if (!manifest[firstPage]) throw new Error(`No chunk for ${firstPage}: is the sign-in page still lazily loaded?`);
visit(firstPage, 'sign-in page');

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
let raw = 0;
let gzipped = 0;
const byReason = {};
for (const [file, why] of files) {
  raw += readFileSync(join(dist, file)).length;
  const size = gz(file);
  gzipped += size;
  byReason[why] = (byReason[why] ?? 0) + size;
}
const entry = Object.values(manifest).find((chunk) => chunk.isEntry);
const css = (entry?.css ?? []).reduce((sum, file) => sum + gz(file), 0);
const kb = (n) => (n / 1024).toFixed(1);
console.log(
  `First visit (/login) JavaScript: ${kb(gzipped)} kB gzipped (${kb(raw)} kB raw, ${files.size} file${files.size === 1 ? '' : 's'}: ` +
    `${Object.entries(byReason)
      .map(([why, size]) => `${why} ${kb(size)} kB`)
      .join(', ')}); CSS ${kb(css)} kB gzipped. Budget: ${budgetKb} kB.`,
);
if (gzipped > budgetKb * 1024) {
  console.error(`The first visit's JavaScript is over the ${budgetKb} kB budget.`);
  process.exit(1);
}
