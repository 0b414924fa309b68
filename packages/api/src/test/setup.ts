import { beforeAll } from 'vitest';
import { testDb } from './index.js';

// Opening the worker's database (booting PGlite and migrating takes seconds on a
// busy machine) belongs to setup, under hookTimeout, not to a file's first test.
beforeAll(async () => {
  await testDb();
});
