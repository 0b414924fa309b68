import { fileURLToPath } from 'node:url';

/** The repository root, so `.data/` lands in one place whichever app starts. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Default folder of the embedded database. */
export const defaultDataDir = fileURLToPath(new URL('../../../.data/', import.meta.url));
