import { randomUUID } from 'node:crypto';
import { dropTestDatabases } from '../server-databases.js';

/** Names this run's databases on a real server, and drops them all at the end. */
export default function setup() {
  const runId = randomUUID().slice(0, 8);
  process.env.ROSTER_TEST_RUN = runId;
  return async () => {
    const url = process.env.DATABASE_URL;
    if (url) await dropTestDatabases(url, runId);
  };
}
