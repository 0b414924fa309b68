import type { Db } from '@roster/db';
import { defaultMailConfig, type MailConfig } from '../shared/config.js';
import { authenticateConnection, type ScimActor } from './connections-service.js';
import { resourceType, resourceTypes, schemaById, schemas, serviceProviderConfig } from './discovery.js';
import type { ConnectionRateLimiter } from './rate-limit.js';
import { etagOf, project, type ScimUser } from './resource.js';
import { ScimError, toScimError } from './scim-error.js';
import { changeScimUser, createScimUser, deleteScimUser, getUser, listUsers } from './users-service.js';

/** A SCIM request as the host hands it over, whatever the HTTP framework. */
export type ScimRequest = {
  method: string;
  /** The path after the SCIM base, e.g. `/Users/…`. */
  path: string;
  query: Record<string, string | undefined>;
  authorization: string | undefined;
  ifMatch: string | undefined;
  /** The parsed JSON body, when there is one. */
  body: unknown;
  /** The SCIM base URL as clients reach it (for meta.location). */
  baseUrl: string;
};

export type ScimResponse = { status: number; headers: Record<string, string>; body: unknown };

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScimResponse => ({
  status,
  headers,
  body,
});

const withEtag = (status: number, user: ScimUser, query: ScimRequest['query']): ScimResponse =>
  json(status, project(user, query), { etag: user.meta.version, location: user.meta.location });

export function scimErrorResponse(error: ScimError): ScimResponse {
  const headers: Record<string, string> =
    error.status === 401
      ? { 'www-authenticate': 'Bearer realm="SCIM"' }
      : error.status === 429
        ? { 'retry-after': String(error.retryAfterSeconds ?? 1) }
        : {};
  return json(error.status, error.toJSON(), headers);
}

const unauthorized = () =>
  new ScimError(401, 'The bearer token is not a valid provisioning connection token, or it was revoked.');

async function actorOf(db: Db, authorization: string | undefined): Promise<ScimActor> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) throw unauthorized();
  const actor = await authenticateConnection(db, match[1]);
  if (!actor) throw unauthorized();
  return actor;
}

const methodNotAllowed = (method: string, path: string) => new ScimError(405, `${method} is not supported on ${path}.`);

/** Requests one connection may have running at once; more are 429 (a runaway sync cannot take every database connection). */
export const maxConcurrentPerConnection = 32;
const running = new Map<string, number>();

/** How the host limits SCIM traffic; the server builds it from its settings. */
export type ScimOptions = {
  /** Requests a second per connection (SCIM_RATE_LIMIT); none: unlimited. */
  rateLimiter?: ConnectionRateLimiter;
  /** Links in mails (an invitation for a user created without a password). */
  mail?: MailConfig;
};

async function route(db: Db, request: ScimRequest, options: ScimOptions): Promise<ScimResponse> {
  const actor = await actorOf(db, request.authorization);
  const wait = options.rateLimiter?.take(actor.connectionId) ?? 0;
  if (wait > 0) {
    const { perSecond } = options.rateLimiter?.limit ?? { perSecond: 0 };
    throw new ScimError(
      429,
      `This connection sends more than ${perSecond} requests a second; retry after ${wait} s.`,
      undefined,
      wait,
    );
  }
  const now = running.get(actor.connectionId) ?? 0;
  if (now >= maxConcurrentPerConnection) {
    throw new ScimError(
      429,
      `This connection already has ${maxConcurrentPerConnection} requests running; retry when they have finished.`,
    );
  }
  running.set(actor.connectionId, now + 1);
  try {
    return await routeAs(db, actor, request, options.mail ?? defaultMailConfig);
  } finally {
    const left = (running.get(actor.connectionId) ?? 1) - 1;
    if (left > 0) running.set(actor.connectionId, left);
    else running.delete(actor.connectionId);
  }
}

async function routeAs(db: Db, actor: ScimActor, request: ScimRequest, mail: MailConfig): Promise<ScimResponse> {
  const { method, baseUrl } = request;
  let segments: string[];
  try {
    segments = request.path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ScimError(404, 'No resource at that address.');
  }
  const [resource, id, extra] = segments;
  if (extra !== undefined) throw new ScimError(404, `No resource at ${request.path}.`);
  switch (resource) {
    case 'ServiceProviderConfig':
      if (method !== 'GET') throw methodNotAllowed(method, request.path);
      if (id !== undefined) throw new ScimError(404, `No resource at ${request.path}.`);
      return json(200, serviceProviderConfig(baseUrl));
    case 'ResourceTypes': {
      if (method !== 'GET') throw methodNotAllowed(method, request.path);
      if (id === undefined) return json(200, resourceTypes(baseUrl));
      const found = resourceType(baseUrl, id);
      if (!found) throw new ScimError(404, `No resource type "${id}".`);
      return json(200, found);
    }
    case 'Schemas': {
      if (method !== 'GET') throw methodNotAllowed(method, request.path);
      if (id === undefined) return json(200, schemas(baseUrl));
      const found = schemaById(baseUrl, id);
      if (!found) throw new ScimError(404, `No schema "${id}".`);
      return json(200, found);
    }
    case 'Users':
      return users(db, actor, request, id, mail);
    default:
      if (resource === 'Groups' || resource === 'Bulk' || resource === 'Me' || resource === '.search') {
        throw new ScimError(501, `${resource} is not supported by Roster's SCIM endpoint; see ServiceProviderConfig.`);
      }
      throw new ScimError(404, `No resource at ${request.path}.`);
  }
}

async function users(
  db: Db,
  actor: ScimActor,
  request: ScimRequest,
  id: string | undefined,
  mail: MailConfig,
): Promise<ScimResponse> {
  const { method, baseUrl, query, body, ifMatch } = request;
  if (id === undefined) {
    if (method === 'GET') {
      const list = await listUsers(db, actor, query, baseUrl);
      return json(200, { ...list, Resources: list.Resources.map((user) => project(user, query)) });
    }
    if (method === 'POST') return withEtag(201, await createScimUser(db, actor, body, baseUrl, mail), query);
    throw methodNotAllowed(method, '/Users');
  }
  switch (method) {
    case 'GET':
      return withEtag(200, await getUser(db, actor, id, baseUrl), query);
    case 'PUT':
    case 'PATCH':
      return withEtag(200, await changeScimUser(db, actor, method, id, body, ifMatch, baseUrl, mail), query);
    case 'DELETE':
      await deleteScimUser(db, actor, id, ifMatch);
      return { status: 204, headers: {}, body: undefined };
    default:
      throw methodNotAllowed(method, '/Users/{id}');
  }
}

/**
 * Answers one SCIM request. Every refusal is a SCIM error; an error nobody
 * anticipated is handed to `onUnexpected` (the host logs it) and answered as
 * a 500 without details.
 */
export async function handleScimRequest(
  db: Db,
  request: ScimRequest,
  onUnexpected: (error: unknown) => void,
  options: ScimOptions = {},
): Promise<ScimResponse> {
  try {
    return await route(db, request, options);
  } catch (error) {
    const scimError = toScimError(error);
    if (scimError) return scimErrorResponse(scimError);
    onUnexpected(error);
    return scimErrorResponse(new ScimError(500, 'Something went wrong on our side. It has been logged; try again.'));
  }
}

export { etagOf };
