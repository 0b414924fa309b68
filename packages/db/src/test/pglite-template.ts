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
// later one starts from that dump. The migration tests, which start from an
// empty database, likewise start from a dump of what initdb makes.

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const migrationsDir = join(packageDir, 'src/migrations');
const cacheDir = join(packageDir, 'node_modules/.cache/roster-pglite');

/** A template: migrated (for the suites), or just made by initdb (for the migration tests, which start from nothing). */
type TemplateKind = 'migrated' | 'empty';

/**
 * Changes with PGlite's version and, for the migrated template, whenever a
 * migration is added or edited, so a stale template is never used.
 */
function templateKey(kind: TemplateKind): string {
  const hash = createHash('sha256');
  hash.update(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).dependencies['@electric-sql/pglite']);
  if (kind === 'migrated') {
    for (const name of readdirSync(migrationsDir).sort()) {
      hash.update(name);
      hash.update(readFileSync(join(migrationsDir, name)));
    }
  }
  return `${kind === 'migrated' ? '' : 'empty-'}${hash.digest('hex').slice(0, 16)}`;
}

const templates = new Map<TemplateKind, Promise<Blob>>();

async function buildTemplate(path: string, kind: TemplateKind): Promise<Blob> {
  // Migrated exactly as the app migrates (createDb's plugins and dialect), in a
  // folder of its own, then dumped.
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-pglite-template-'));
  try {
    const { db } = createDb({ dataDir });
    if (kind === 'migrated') await migrateToLatest(db);
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

/** A dump of an empty database, migrated (the default) or not, for `createDb({ loadDataDir })`. */
export function pgliteTemplate(kind: TemplateKind = 'migrated'): Promise<Blob> {
  let template = templates.get(kind);
  if (!template) {
    template = (async () => {
      const path = join(cacheDir, `template-${templateKey(kind)}.tar`);
      try {
        return new Blob([readFileSync(path)]);
      } catch {
        return buildTemplate(path, kind);
      }
    })();
    templates.set(kind, template);
  }
  return template;
}
