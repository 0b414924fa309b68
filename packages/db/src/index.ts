export { type CreateDbOptions, createDb, type DbHandle, type PoolUse, type QueryEvent } from './connect.js';
export { migrateToLatest, migrations } from './migrate.js';
export { defaultDataDir, repoRoot } from './paths.js';
export { isPreparedPlaceholder, preparedPlaceholder, preparedQuery, statementNameOf } from './prepared.js';
export {
  createReadReplica,
  parseLsn,
  type ReadReplica,
  type ReadReplicaOptions,
  type ReadRoute,
  type ReplicaState,
  type ReplicaStatus,
} from './replica.js';
export * from './schema.js';
