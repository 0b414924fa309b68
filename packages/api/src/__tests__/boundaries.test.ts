import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  it('allows what the console may import: the router type and the shared schemas', async () => {
    const output = await lint({
      'apps/web/src':
        "import type { AppRouter } from '@roster/api';\nimport { emailSchema } from '@roster/api/schemas';\n\nexport type R = AppRouter;\nexport const e = emailSchema;\n",
    });
    expect(output).toBe('');
  }, 60_000);
});
