import { createDb } from '../connect.js';
import { migrateToLatest } from '../migrate.js';
import { defaultDataDir } from '../paths.js';

// Operator entry point (`pnpm db:migrate`): the only env read in this package.
const { db, location } = createDb({
  url: process.env.DATABASE_URL || undefined,
  dataDir: process.env.DATA_DIR || defaultDataDir,
});
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `Applied ${applied.join(', ')} to ${location}` : `${location} is up to date`);
} finally {
  await db.destroy();
}
