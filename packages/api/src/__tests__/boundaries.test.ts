import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The layers are kept by lint (biome.json), not by good intentions: plant a
// violation of each rule and `biome lint` must fail on it with its rule's name.

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const biome = join(root, 'node_modules/.bin/biome');

async function lint(files: Record<string, string>): Promise<string> {
  const id = randomUUID().slice(0, 8);
  const paths = Object.entries(files).map(([dir, text]) => {
    const path = join(root, dir, `planted-boundary-${id}.ts`);
    writeFileSync(path, text);
    return path;
  });
  try {
    await promisify(execFile)(biome, ['lint', ...paths], { cwd: root });
    return '';
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return `${stdout}${stderr}`;
  } finally {
    for (const path of paths) rmSync(path, { force: true });
  }
}

/**
 * Lints files as if they stood at these paths of the repository (which may
 * already exist: trpc.ts, a domain's queries.ts), in a scratch copy of the
 * root holding only biome.json, so the real files are never touched.
 */
async function lintAs(files: Record<string, string>): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'roster-boundaries-'));
  try {
    copyFileSync(join(root, 'biome.json'), join(scratch, 'biome.json'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
    await promisify(execFile)(biome, ['lint', '--vcs-enabled=false', ...Object.keys(files)], { cwd: scratch });
    return '';
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return `${stdout}${stderr}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe('layer boundaries, enforced by lint', () => {
  it('refuses server code in the console, apps in packages, and process.env outside env modules', async () => {
    const output = await lint({
      'apps/web/src': "import { createDb } from '@roster/db';\n\nexport const x = createDb;\n",
      'packages/api/src': "import { buildApp } from '@roster/server';\n\nexport const y = buildApp;\n",
      'packages/db/src': 'export const z = process.env.DATABASE_URL;\n',
    });
    expect(output).toMatch(/apps\/web\/src\/planted-boundary-\w+\.ts:1:\d+ lint\/style\/noRestrictedImports/);
    expect(output).toMatch(/packages\/api\/src\/planted-boundary-\w+\.ts:1:\d+ lint\/style\/noRestrictedImports/);
    expect(output).toMatch(/packages\/db\/src\/planted-boundary-\w+\.ts:1:\d+ lint\/style\/noProcessEnv/);
  }, 180_000);

  it('keeps queries, core/ and shared/ below tRPC, and trpc.ts and context.ts below the domains', async () => {
    const output = await lintAs({
      'packages/api/src/users/queries.ts':
        "import type { Context } from '../context.js';\n\nexport type C = Context;\n",
      'packages/api/src/scim/users-queries.ts': "import { router } from '../trpc.js';\n\nexport const r = router;\n",
      'packages/api/src/shared/kinds.ts': "import type { Context } from '../context.js';\n\nexport type C = Context;\n",
      'packages/api/src/core/authenticate.ts':
        "import { adminProcedure } from '../trpc.js';\n\nexport const a = adminProcedure;\n",
      'packages/api/src/trpc.ts':
        "import { authenticate } from './auth/sessions.js';\n\nexport const a = authenticate;\n",
      'packages/api/src/context.ts':
        "import { findUserById } from './users/queries.js';\n\nexport const f = findUserById;\n",
    });
    for (const path of [
      'users/queries.ts',
      'scim/users-queries.ts',
      'shared/kinds.ts',
      'core/authenticate.ts',
      'trpc.ts',
      'context.ts',
    ]) {
      expect(output).toMatch(new RegExp(`packages/api/src/${path}:1:\\d+ lint/style/noRestrictedImports`));
    }
  }, 180_000);

  it("refuses kysely's sql outside queries files", async () => {
    const sqlImport = "import { sql } from 'kysely';\n\nexport const q = sql`select 1`;\n";
    const output = await lintAs({
      'packages/api/src/users/service.ts': sqlImport,
      'packages/api/src/auth/sign-in.ts': sqlImport,
      'packages/api/src/core/authenticate.ts': sqlImport,
      'packages/api/src/users/queries.ts': sqlImport,
      'packages/api/src/scim/users-queries.ts': sqlImport,
    });
    for (const path of ['users/service.ts', 'auth/sign-in.ts', 'core/authenticate.ts']) {
      expect(output).toMatch(new RegExp(`packages/api/src/${path}:1:\\d+ lint/style/noRestrictedImports`));
    }
    expect(output).not.toMatch(/queries\.ts:\d+:\d+ lint/);
  }, 180_000);

  it('allows the layers their own imports: queries on shared kinds, trpc.ts on core/', async () => {
    const output = await lintAs({
      'packages/api/src/users/queries.ts':
        "import type { Actor } from '../shared/actor.js';\n\nexport type A = Actor;\n",
      'packages/api/src/trpc.ts':
        "import { authenticate } from './core/authenticate.js';\n\nexport const a = authenticate;\n",
    });
    expect(output).toBe('');
  }, 180_000);

  it('allows what the console may import: the router type and the shared schemas', async () => {
    const output = await lint({
      'apps/web/src':
        "import type { AppRouter } from '@roster/api';\nimport { emailSchema } from '@roster/api/schemas';\n\nexport type R = AppRouter;\nexport const e = emailSchema;\n",
    });
    expect(output).toBe('');
  }, 180_000);
});

// What lint cannot see (a method called on `db`), a scan of the source does.

const apiSource = fileURLToPath(new URL('../', import.meta.url));

/** The package's source files, but tests and test helpers, relative to src/. */
function sourceFiles(dir = apiSource): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '__tests__' || entry.name === 'test' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(apiSource, path)] : [];
  });
}

const isQueries = (path: string) => /(^|\/)([\w-]+-)?queries\.ts$/.test(path);

/** Lines of `text` that build SQL: a Kysely statement builder, or the `sql` template and its helpers. */
function sqlLines(text: string): string[] {
  const builds =
    /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|with)\(|\bsql(<[^>]*>)?`|\bsql\.\w+\(/;
  return text.split('\n').filter((line) => builds.test(line));
}

describe('SQL only in queries', () => {
  it('finds the SQL builders it looks for', () => {
    expect(sqlLines("await db.selectFrom('users').select('id').execute();")).toHaveLength(1);
    expect(sqlLines("  .updateTable('users')")).toHaveLength(1);
    expect(sqlLines('const x = sql<number>`1`;')).toHaveLength(1);
    expect(sqlLines('sql.ref(key)')).toHaveLength(1);
    expect(sqlLines('return db.transaction().execute(async (tx) => {')).toEqual([]);
  });

  it("has no SQL outside a domain's queries.ts (or <part>-queries.ts)", () => {
    const files = sourceFiles();
    expect(files.filter(isQueries).length).toBeGreaterThan(5);
    const offending = files
      .filter((path) => !isQueries(path))
      .flatMap((path) =>
        sqlLines(readFileSync(join(apiSource, path), 'utf8')).map((line) => `${path}: ${line.trim()}`),
      );
    expect(offending).toEqual([]);
  });

  it('writes password hashes in one place: users/queries.ts (setPasswordHash, and insertUser for a new user)', () => {
    const writes = /passwordHash\s*[,}]|passwordHash:|password_hash\s*=[^=]/;
    const offending = sourceFiles()
      .filter((path) => isQueries(path) && path !== join('users', 'queries.ts'))
      .flatMap((path) =>
        readFileSync(join(apiSource, path), 'utf8')
          .split('\n')
          .filter((line) => writes.test(line) && /\.set\(|\.values\(|update\s/.test(line))
          .map((line) => `${path}: ${line.trim()}`),
      );
    expect(offending).toEqual([]);
    expect(readFileSync(join(apiSource, 'users/queries.ts'), 'utf8')).toMatch(/\.set\(\{ passwordHash \}\)/);
  });
});

describe('one home for output schemas', () => {
  it('routers name an output of shared/outputs.ts in every .output(), and nothing else defines one', () => {
    const named = /\.output\(\s*(pageOf\(\w+Output\)|z\.array\(\w+Output\)|\w+Output(\.nullable\(\))?)\s*\)/g;
    const files = sourceFiles();
    const routers = files.filter((path) => path.endsWith('router.ts'));
    expect(routers.length).toBeGreaterThan(4);
    for (const path of routers) {
      const text = readFileSync(join(apiSource, path), 'utf8');
      const outputs = text.match(/\.output\(/g) ?? [];
      expect(text.match(named) ?? [], `${path}: an .output() not named from shared/outputs.ts`).toHaveLength(
        outputs.length,
      );
      if (outputs.length > 0) expect(text).toMatch(/from '\.\.\/shared\/outputs\.js'/);
    }
    const elsewhere = files
      .filter((path) => path !== join('shared', 'outputs.ts'))
      .filter((path) => /export const \w+Output\s*=/.test(readFileSync(join(apiSource, path), 'utf8')));
    expect(elsewhere).toEqual([]);
  });
});
