import type { Db } from '@roster/db';
import { findAccount } from '../accounts/queries.js';
import { recordAudit } from '../audit/queries.js';
import { generatePrefixedSecret, hashSecret } from '../core/tokens.js';
import { appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import {
  connectionOfUser,
  findConnectionByTokenHash,
  insertConnection,
  listConnections,
  lockConnection,
  revokeConnectionRow,
  touchConnection,
} from './connections-queries.js';

/** `rsc_` + 8-character prefix + `_` + 256 random bits in base64url. */
const tokenPattern = /^rsc_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
// Writing last_used_at at every request would make every read a write.
const touchEveryMs = 60_000;

type ConnectionRow = { revokedAt: Date | null };
const withStatus = <T extends ConnectionRow>(row: T) => ({
  ...row,
  status: row.revokedAt ? ('revoked' as const) : ('active' as const),
});

const label = (c: { name: string; prefix: string }) => `${c.name} (${c.prefix})`;

/** A connection to one account of the organization; the token is returned this once. Audited. */
export async function createConnection(db: Db, actor: Actor, input: { accountId: string; name: string }) {
  // Like an API key: 256 random bits, stored as their sha256 (core/tokens.ts).
  const { prefix, secret: token, hash: tokenHash } = generatePrefixedSecret('rsc');
  return db.transaction().execute(async (tx) => {
    const account = await findAccount(tx, actor.organizationId, input.accountId);
    if (!account) throw appError('NOT_FOUND', 'No such account.');
    const row = await insertConnection(tx, {
      organizationId: actor.organizationId,
      accountId: input.accountId,
      name: input.name,
      prefix,
      tokenHash,
      createdBy: actor.id,
    });
    await recordAudit(tx, {
      actor,
      action: 'scim_connection.created',
      targetType: 'account',
      targetId: input.accountId,
      targetLabel: account.name,
      after: { scimConnectionId: row.id, name: row.name, prefix: row.prefix },
    });
    return { connection: withStatus({ ...row, accountName: account.name }), token };
  });
}

export async function listConnectionsOf(db: Db, actor: Actor) {
  return (await listConnections(db, actor.organizationId)).map(withStatus);
}

/** Ends a connection at once: its next request is 401. Audited; idempotent. */
export async function revokeConnection(db: Db, actor: Actor, id: string) {
  return db.transaction().execute(async (tx) => {
    const row = await lockConnection(tx, actor.organizationId, id);
    if (!row) throw appError('NOT_FOUND', 'No such SCIM connection.');
    if (row.revokedAt) return withStatus(row);
    const revoked = await revokeConnectionRow(tx, row.id);
    await recordAudit(tx, {
      actor,
      action: 'scim_connection.revoked',
      targetType: 'account',
      targetId: row.accountId,
      targetLabel: row.accountName,
      before: { revokedAt: null },
      after: {
        scimConnectionId: row.id,
        name: row.name,
        prefix: row.prefix,
        revokedAt: revoked.revokedAt?.toISOString(),
      },
    });
    return withStatus({ ...revoked, accountName: row.accountName });
  });
}

/** What a SCIM request acts as: the connection, scoped to its organization and account. */
export type ScimActor = Actor & { via: 'scim'; connectionId: string };

/**
 * The connection behind a bearer token, checked at every request; null for a
 * token that is not one, or revoked. The actor it returns is no user: services
 * audit it by its label, `SCIM: <name> (<prefix>)`.
 */
export async function authenticateConnection(db: Db, token: string): Promise<ScimActor | null> {
  if (!tokenPattern.test(token)) return null;
  const row = await findConnectionByTokenHash(db, hashSecret(token));
  if (!row || row.revokedAt) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > touchEveryMs) await touchConnection(db, row.id);
  return {
    id: row.id,
    organizationId: row.organizationId,
    accountId: row.accountId,
    email: `SCIM: ${label(row)}`,
    role: 'user',
    via: 'scim',
    connectionId: row.id,
  };
}

/** Which connection last created or changed the user, if any: the console shows it in the user's details. */
export async function connectionOfUserFor(db: Db, actor: Actor, userId: string) {
  const row = await connectionOfUser(db, actor.organizationId, userId);
  if (!row) throw appError('NOT_FOUND', 'No such user.');
  if (!row.id || !row.name || !row.prefix) return null;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    status: row.revokedAt ? ('revoked' as const) : ('active' as const),
  };
}
