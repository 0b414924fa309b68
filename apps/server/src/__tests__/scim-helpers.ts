import type { TestOrg } from '@roster/api/test';
import type { FastifyInstance, InjectOptions } from 'fastify';

/** A SCIM client of one connection: requests as identity providers send them, over the real HTTP stack. */
export function scimClient(app: FastifyInstance, token: string) {
  return async function scim(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const options: InjectOptions = {
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/scim+json',
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json; charset=utf-8' }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    };
    const response = await app.inject(options);
    const text = response.body;
    let json: Record<string, unknown> & { Resources?: Record<string, unknown>[] } = {};
    if (text) json = JSON.parse(text);
    return { status: response.statusCode, headers: response.headers, json, text };
  };
}

export type ScimClient = ReturnType<typeof scimClient>;

/** A connection to a fresh account of the organization, and a client holding its token. */
export async function connectionTo(app: FastifyInstance, org: TestOrg, accountId?: string) {
  const account = accountId ?? (await org.addAccount()).id;
  const { connection, token } = await org.admin.scim.connections.create({ accountId: account, name: 'Test IdP' });
  return { connection, token, accountId: account, scim: scimClient(app, token) };
}

export const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const patchOp = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const errorSchema = 'urn:ietf:params:scim:api:messages:2.0:Error';
