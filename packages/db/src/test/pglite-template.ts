import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, openPglite } from '../connect.js';
import { migrateToLatest } from '../migrate.js';

// Booting PGlite means running initdb inside WebAssembly: seconds on a quiet
// machine, a minute on a busy one, paid by every test worker and every fresh
// database. Instead the first one builds a migrated database once, keeps its
// dump in node_modules/.cache keyed by the migrations' source, and every
// later one starts from that dump.

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const migrationsDir = join(packageDir, 'src/migrations');
const cacheDir = join(packageDir, 'node_modules/.cache/roster-pglite');

/** Changes whenever a migration is added or edited (and with PGlite's version), so a stale template is never used. */
function templateKey(): string {
  const hash = createHash('sha256');
  hash.update(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).dependencies['@electric-sql/pglite']);
  for (const name of readdirSync(migrationsDir).sort()) {
    hash.update(name);
    hash.update(readFileSync(join(migrationsDir, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

let template: Promise<Blob> | undefined;

async function buildTemplate(path: string): Promise<Blob> {
  // Migrated exactly as the app migrates (createDb's plugins and dialect), in a
  // folder of its own, then dumped.
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-pglite-template-'));
  try {
    const { db } = createDb({ dataDir });
    await migrateToLatest(db);
    await db.destroy();
    const pglite = await openPglite(dataDir);
    const dump = await pglite.dumpDataDir('none');
    await pglite.close();
    await save(path, dump);
    return dump;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function save(path: string, dump: Blob): Promise<void> {
  mkdirSync(cacheDir, { recursive: true });
  // Written aside and renamed: a worker never reads half a file.
  const partial = `${path}.${randomUUID()}.partial`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, path);
}

/** A dump of a migrated, empty database, for `createDb({ loadDataDir })`. */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const path = join(cacheDir, `template-${templateKey()}.tar`);
    try {
      return new Blob([readFileSync(path)]);
    } catch {
      return buildTemplate(path);
    }
  })();
  return template;
}
