import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { assertMayManageUser, assertUserInScope, refusalOf } from '../core/access.js';
import { apiKeyLabel } from '../core/authenticate.js';
import { generatePrefixedSecret } from '../core/tokens.js';
import { appError, fieldError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import type { ApiKeyConfig } from '../shared/config.js';
import type { ApiKeyOutput } from '../shared/outputs.js';
import { findUserById, lockUserActive } from '../users/queries.js';
import {
  countUsableApiKeys,
  insertApiKey,
  listApiKeys,
  lockApiKey,
  revokeApiKeyRow,
  revokeLiveApiKeysOf,
} from './queries.js';

/** Usable keys one user may hold at once; a leaked script cannot mint keys without end. */
export const maxUsableKeysPerUser = 25;

type KeyRow = { revokedAt: Date | null; expiresAt: Date };

function statusOf(row: KeyRow, now = Date.now()): ApiKeyOutput['status'] {
  if (row.revokedAt) return 'revoked';
  if (row.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

const withStatus = <T extends KeyRow>(row: T): T & { status: ApiKeyOutput['status'] } => ({
  ...row,
  status: statusOf(row),
});

const dayMs = 86_400_000;

/**
 * When a new key stops working: the asked expiry, or the longest allowed when
 * none is asked; beyond the longest allowed is a BAD_REQUEST on `expiresAt`.
 */
export function expiryOf(expiresAt: Date | undefined, config: ApiKeyConfig, now = Date.now()): Date {
  const latest = now + config.maxLifetimeMs;
  if (!expiresAt) return new Date(latest);
  if (expiresAt.getTime() > latest) {
    const days = Math.floor(config.maxLifetimeMs / dayMs);
    throw fieldError(
      'INVALID_INPUT',
      ['expiresAt'],
      `An API key works at most ${days} ${days === 1 ? 'day' : 'days'}: choose ${new Date(latest).toISOString().slice(0, 10)} or earlier.`,
    );
  }
  return expiresAt;
}

/**
 * A key for the actor, returned with its secret this once. The creation is audited.
 * Only a signed-in session creates keys: a key that could mint keys would outlive
 * its own revocation and expiry through its children.
 */
export async function createApiKey(
  db: Db,
  actor: Actor,
  input: { name: string; expiresAt?: Date | undefined },
  config: ApiKeyConfig,
): Promise<{ apiKey: ApiKeyOutput; secret: string }> {
  if (actor.via === 'apiKey') {
    throw appError(
      'NOT_WITH_API_KEY',
      'Not allowed with an API key: create keys while signed in (in the console, or with roster api-keys create --email).',
    );
  }
  const expiresAt = expiryOf(input.expiresAt, config);
  // A key: `rk_` + 8-character prefix + `_` + 256 random bits (core/tokens.ts).
  const { prefix, secret: key, hash: secretHash } = generatePrefixedSecret('rk');
  return db.transaction().execute(async (tx) => {
    // Serializes this user's key creations (and a deactivation), so the limit holds.
    const owner = await lockUserActive(tx, actor.organizationId, actor.id);
    if (!owner?.active) throw appError('UNAUTHENTICATED', 'Sign in to continue.');
    if ((await countUsableApiKeys(tx, actor.id)) >= maxUsableKeysPerUser) {
      throw appError(
        'API_KEY_LIMIT',
        `You already hold ${maxUsableKeysPerUser} working API keys, the most one user may: revoke one you no longer use.`,
      );
    }
    const row = await insertApiKey(tx, {
      organizationId: actor.organizationId,
      userId: actor.id,
      name: input.name,
      prefix,
      secretHash,
      expiresAt,
    });
    await recordAudit(tx, {
      actor,
      action: 'api_key.created',
      targetType: 'user',
      targetId: actor.id,
      targetLabel: actor.email,
      after: { apiKeyId: row.id, name: row.name, prefix: row.prefix, expiresAt: row.expiresAt.toISOString() },
    });
    return { apiKey: withStatus(row), secret: key };
  });
}

/**
 * A user's keys: anyone's own; an administrator's or an auditor's for any user
 * of the organization; an account administrator's for the users of their account.
 */
export async function listKeysOf(
  db: Db,
  actor: Actor,
  input: { userId?: string | undefined; includeRevoked: boolean; cursor?: string | undefined; limit: number },
) {
  const userId = input.userId ?? actor.id;
  if (userId !== actor.id) {
    if (actor.role === 'user') {
      throw appError('NOT_ADMIN', "Not allowed: only administrators see other users' API keys.");
    }
    const user = await findUserById(db, actor.organizationId, userId);
    if (!user) throw appError('NOT_FOUND', 'No such user.');
    assertUserInScope(actor, user);
  }
  const page = await listApiKeys(db, actor.organizationId, { ...input, userId });
  return { items: page.items.map(withStatus), nextCursor: page.nextCursor };
}

/** Ends a key: one's own, or any of the organization for an administrator. Audited; idempotent. */
export async function revokeApiKey(db: Db, actor: Actor, id: string): Promise<ApiKeyOutput> {
  return db.transaction().execute(async (tx) => {
    const locked = await lockApiKey(tx, actor.organizationId, id);
    if (!locked) throw appError('NOT_FOUND', 'No such API key.');
    const { userEmail, ...key } = locked;
    // Another user's key is none of a plain user's business: the same answer as a
    // missing one, so ids cannot be probed for what exists. An auditor sees keys
    // but changes nothing; an account administrator ends those of the users they manage.
    if (key.userId !== actor.id && actor.role !== 'admin') {
      if (actor.role === 'user') throw appError('NOT_FOUND', 'No such API key.');
      if (actor.role === 'auditor') throw refusalOf(actor.role, 'accountManage');
      const owner = key.userId ? await findUserById(tx, actor.organizationId, key.userId) : undefined;
      if (!owner) throw appError('NOT_FOUND', 'No such API key.');
      if (owner.accountId !== actor.accountId) throw appError('NOT_FOUND', 'No such API key.');
      assertMayManageUser(actor, owner);
    }
    if (key.revokedAt) return withStatus(key);
    const revoked = await revokeApiKeyRow(tx, key.id);
    await recordAudit(tx, {
      actor,
      action: 'api_key.revoked',
      ...(key.userId
        ? { targetType: 'user', targetId: key.userId, targetLabel: userEmail ?? null }
        : { targetType: 'api_key', targetId: key.id, targetLabel: apiKeyLabel(key) }),
      before: { revokedAt: null },
      after: { apiKeyId: key.id, name: key.name, prefix: key.prefix, revokedAt: revoked.revokedAt?.toISOString() },
    });
    return withStatus(revoked);
  });
}

/**
 * Revokes every key of the user that still works, for good, with an
 * `api_key.revoked` row each saying why; inside the caller's transaction.
 */
export async function revokeKeysOf(
  tx: Transaction<Database>,
  actor: Actor,
  user: { id: string; email: string },
  reason: 'user_deactivated' | 'sessions_ended',
): Promise<number> {
  const revoked = await revokeLiveApiKeysOf(tx, user.id);
  for (const key of revoked) {
    await recordAudit(tx, {
      actor,
      action: 'api_key.revoked',
      targetType: 'user',
      targetId: user.id,
      targetLabel: user.email,
      before: { revokedAt: null },
      after: { apiKeyId: key.id, name: key.name, prefix: key.prefix, revokedAt: key.revokedAt?.toISOString(), reason },
    });
  }
  return revoked.length;
}
