// Prints the gzipped size of the JavaScript a first visit downloads: the entry
// chunk and everything it imports statically (lazy pages are not counted).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = join(import.meta.dirname, '..', 'dist');
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));
const budgetKb = 150;

const entry = Object.values(manifest).find((chunk) => chunk.isEntry);
if (!entry) throw new Error('No entry chunk in the Vite manifest');

const seen = new Set();
const visit = (key) => {
  if (seen.has(key)) return;
  seen.add(key);
  for (const imported of manifest[key]?.imports ?? []) visit(imported);
};
const entryKey = Object.keys(manifest).find((key) => manifest[key] === entry);
visit(entryKey);

let raw = 0;
let gzipped = 0;
for (const key of seen) {
  const bytes = readFileSync(join(dist, manifest[key].file));
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
const css = (entry.css ?? []).reduce((sum, file) => sum + gzipSync(readFileSync(join(dist, file))).length, 0);
const kb = (n) => (n / 1024).toFixed(1);
console.log(
  `Initial JavaScript: ${kb(gzipped)} kB gzipped (${kb(raw)} kB raw, ${seen.size} file${seen.size === 1 ? '' : 's'}); ` +
    `CSS ${kb(css)} kB gzipped. Budget: ${budgetKb} kB.`,
);
if (gzipped > budgetKb * 1024) {
  console.error(`The initial JavaScript is over the ${budgetKb} kB budget.`);
  process.exit(1);
}
