import type { AddressInfo } from 'node:net';
import { createTestOrg, testDb } from '@roster/api/test';
import { buildTestApp } from '@roster/server/test';

/**
 * The server the CLI tests talk to: the app on a free loopback port over the
 * test worker's database (PGlite, or a fresh one on DATABASE_URL), with an
 * organization of its own and an API key of its administrator. Close `app` afterwards.
 */
export async function startTestServer(orgName: string, keyName: string) {
  const db = await testDb();
  const org = await createTestOrg(db, orgName);
  const key = (await org.admin.apiKeys.create({ name: keyName })).secret;
  const app = await buildTestApp(db);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { db, org, key, app, url };
}
