import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  }, 60_000);

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
  }, 60_000);

  it('allows the layers their own imports: queries on shared kinds, trpc.ts on core/', async () => {
    const output = await lintAs({
      'packages/api/src/users/queries.ts':
        "import type { Actor } from '../shared/actor.js';\n\nexport type A = Actor;\n",
      'packages/api/src/trpc.ts':
        "import { authenticate } from './core/authenticate.js';\n\nexport const a = authenticate;\n",
    });
    expect(output).toBe('');
  }, 60_000);

  it('allows what the console may import: the router type and the shared schemas', async () => {
    const output = await lint({
      'apps/web/src':
        "import type { AppRouter } from '@roster/api';\nimport { emailSchema } from '@roster/api/schemas';\n\nexport type R = AppRouter;\nexport const e = emailSchema;\n",
    });
    expect(output).toBe('');
  }, 60_000);
});
