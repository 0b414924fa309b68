import { userSchema } from './resource.js';
import { defaultPageSize, maxPageSize } from './users-service.js';

// The discovery resources (RFC 7644 §4): what this endpoint supports, exactly.

const listOf = (resources: unknown[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: maxPageSize },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    // RFC 9865: cursor paging besides startIndex/count.
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize,
      maxPageSize,
      cursorTimeout: 0,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'The token of a provisioning connection (Security Settings → Provisioning).',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

const userResourceType = (baseUrl: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: 'A user of the connection’s account',
  schema: userSchema,
  meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
});

export const resourceTypes = (baseUrl: string) => listOf([userResourceType(baseUrl)]);
export const resourceType = (baseUrl: string, id: string) => (id === 'User' ? userResourceType(baseUrl) : null);

const attribute = (
  name: string,
  options: {
    type?: string;
    required?: boolean;
    caseExact?: boolean;
    mutability?: string;
    returned?: string;
    uniqueness?: string;
    multiValued?: boolean;
    subAttributes?: unknown[];
    description: string;
  },
) => ({
  name,
  type: options.type ?? 'string',
  multiValued: options.multiValued ?? false,
  description: options.description,
  required: options.required ?? false,
  caseExact: options.caseExact ?? false,
  mutability: options.mutability ?? 'readWrite',
  returned: options.returned ?? 'default',
  uniqueness: options.uniqueness ?? 'none',
  ...(options.subAttributes ? { subAttributes: options.subAttributes } : {}),
});

const userSchemaResource = (baseUrl: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
  id: userSchema,
  name: 'User',
  description: 'A Roster user. Attributes not listed here are accepted and ignored.',
  attributes: [
    attribute('userName', {
      required: true,
      uniqueness: 'server',
      description: 'The user’s email address, unique across Roster whatever its case.',
    }),
    attribute('externalId', { caseExact: true, description: 'The identity provider’s id, unique within the account.' }),
    attribute('name', {
      type: 'complex',
      description: 'The user’s name.',
      subAttributes: [
        attribute('givenName', { description: 'First name (1–100 characters).' }),
        attribute('familyName', { description: 'Last name (1–100 characters).' }),
        attribute('formatted', { mutability: 'readOnly', description: 'First and last name.' }),
      ],
    }),
    attribute('displayName', { mutability: 'readOnly', description: 'First and last name.' }),
    attribute('emails', {
      type: 'complex',
      multiValued: true,
      description: 'One work email, the userName.',
      subAttributes: [
        attribute('value', { description: 'The email address.' }),
        attribute('type', { mutability: 'readOnly', description: 'Always "work".' }),
        attribute('primary', { type: 'boolean', mutability: 'readOnly', description: 'Always true.' }),
      ],
    }),
    attribute('active', {
      type: 'boolean',
      description: 'false deactivates the user (sessions end); true reactivates.',
    }),
  ],
  meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${userSchema}` },
});

export const schemas = (baseUrl: string) => listOf([userSchemaResource(baseUrl)]);
export const schemaById = (baseUrl: string, id: string) => (id === userSchema ? userSchemaResource(baseUrl) : null);
