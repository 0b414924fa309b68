import type { TestOrg } from '@roster/api/test';
import type { buildTestApp } from '@roster/server/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from './harness.js';
import { startTestServer } from './test-server.js';

let org: TestOrg;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let serverUrl: string;
let key: string;

beforeAll(async () => {
  ({ org, key, app, url: serverUrl } = await startTestServer('CLI SCIM Org', 'fixture'));
});

afterAll(async () => {
  await app?.close();
});

const roster = (args: string[], input?: string) =>
  runInProcess(args, { input, env: { ROSTER_URL: serverUrl, ROSTER_API_KEY: key } });

describe('roster scim', () => {
  it('creates a connection (token once, with the base URL), lists it, and revokes it so its token stops working', async () => {
    const account = await org.addAccount('Provisioned');
    const created = await roster(['scim', 'create', '--account', 'Provisioned', '--name', 'Okta', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const output = JSON.parse(created.stdout) as {
      token: string;
      baseUrl: string;
      connection: { id: string; accountId: string; status: string };
    };
    expect(output.token).toMatch(/^rsc_[a-z0-9]{8}_/);
    expect(output.baseUrl).toBe(`${serverUrl}/scim/v2`);
    expect(output.connection).toMatchObject({ accountId: account.id, status: 'active' });

    const plain = await roster(['scim', 'create', '--account', account.id, '--name', 'Entra ID']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^rsc_/);
    expect(plain.stderr).toContain('/scim/v2');

    const scimGet = () => app.inject({ url: '/scim/v2/Users', headers: { authorization: `Bearer ${output.token}` } });
    expect((await scimGet()).statusCode).toBe(200);

    const listed = await roster(['scim', 'list']);
    expect(listed.stdout).toContain('Okta');
    expect(listed.stdout).toContain('Provisioned');

    const refused = await roster(['scim', 'revoke', output.connection.id]);
    expect(refused.code).toBe(2);
    const revoked = await roster(['scim', 'revoke', output.connection.id, '--yes']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('Revoked SCIM connection "Okta"');
    expect((await scimGet()).statusCode).toBe(401);
  });
});
