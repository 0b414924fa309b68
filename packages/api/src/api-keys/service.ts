import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Database, Db } from '@roster/db';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import type { Actor, ApiKeyConfig, Context } from '../context.js';
import { appError, type ErrorReason, fieldError } from '../errors.js';
import type { ApiKeyOutput } from '../shared/outputs.js';
import { findUserById } from '../users/queries.js';
import {
  claimRefusalAudit,
  countUsableApiKeys,
  findApiKeyBySecretHash,
  insertApiKey,
  listApiKeys,
  lockApiKey,
  revokeApiKeyRow,
  revokeLiveApiKeysOf,
  touchApiKey,
} from './queries.js';

/** Usable keys one user may hold at once; a leaked script cannot mint keys without end. */
export const maxUsableKeysPerUser = 25;
// Writing last_used_at at every request would make every read a write.
const touchEveryMs = 60_000;
// A script looping on a refused key writes one audit row a minute, not one per request.
const refusalAuditWindowSeconds = 60;

const prefixAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** `rk_` + 8-character prefix + `_` + 256 random bits in base64url. */
const keyPattern = /^rk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;

/**
 * A new key: its prefix (stored, shown later to tell keys apart, not secret),
 * the whole key (returned once), and the hash that is stored instead of it.
 * A 256-bit random secret needs no slow hash: sha256 cannot be reversed and
 * guessing is hopeless, so lookups stay one indexed equality.
 */
export function generateApiKey(): { prefix: string; key: string; secretHash: string } {
  let suffix = '';
  for (let i = 0; i < 8; i += 1) suffix += prefixAlphabet[randomInt(prefixAlphabet.length)];
  const prefix = `rk_${suffix}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { prefix, key, secretHash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

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

const keyLabel = (key: { name: string; prefix: string }) => `${key.name} (${key.prefix})`;

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
  const { prefix, key, secretHash } = generateApiKey();
  return db.transaction().execute(async (tx) => {
    // Serializes this user's key creations (and a deactivation), so the limit holds.
    const owner = await tx
      .selectFrom('users')
      .select(['id', 'active'])
      .where('id', '=', actor.id)
      .forUpdate()
      .executeTakeFirst();
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
 * A user's keys: anyone's own; an administrator's for any user of the organization.
 */
export async function listKeysOf(
  db: Db,
  actor: Actor,
  input: { userId?: string | undefined; includeRevoked: boolean; cursor?: string | undefined; limit: number },
) {
  const userId = input.userId ?? actor.id;
  if (userId !== actor.id) {
    if (actor.role !== 'admin') {
      throw appError('NOT_ADMIN', "Not allowed: only administrators see other users' API keys.");
    }
    if (!(await findUserById(db, actor.organizationId, userId))) {
      throw appError('NOT_FOUND', 'No such user.');
    }
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
    // missing one, so ids cannot be probed for what exists.
    if (key.userId !== actor.id && actor.role !== 'admin') {
      throw appError('NOT_FOUND', 'No such API key.');
    }
    if (key.revokedAt) return withStatus(key);
    const revoked = await revokeApiKeyRow(tx, key.id);
    await recordAudit(tx, {
      actor,
      action: 'api_key.revoked',
      ...(key.userId
        ? { targetType: 'user', targetId: key.userId, targetLabel: userEmail ?? null }
        : { targetType: 'api_key', targetId: key.id, targetLabel: keyLabel(key) }),
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

type RefusalReason = 'revoked' | 'expired' | 'user_deactivated' | 'user_deleted';

const refusals: Record<RefusalReason | 'invalid', { reason: ErrorReason; message: string }> = {
  invalid: { reason: 'API_KEY_INVALID', message: 'The API key is not valid.' },
  revoked: { reason: 'API_KEY_REVOKED', message: 'This API key was revoked.' },
  expired: { reason: 'API_KEY_EXPIRED', message: 'This API key has expired.' },
  user_deactivated: { reason: 'USER_DEACTIVATED', message: "This API key's user is deactivated." },
  user_deleted: { reason: 'USER_DELETED', message: "This API key's user no longer exists." },
};

function refusalReasonOf(
  row: { revokedAt: Date | null; expiresAt: Date; userId: string | null; active: boolean | null },
  now: number,
): RefusalReason | null {
  // The user first: deactivating revokes the keys too, and "the user is
  // deactivated" tells the script's owner what to ask for.
  if (!row.userId) return 'user_deleted';
  if (!row.active) return 'user_deactivated';
  if (row.revokedAt) return 'revoked';
  if (row.expiresAt.getTime() <= now) return 'expired';
  return null;
}

const refused = (why: RefusalReason | 'invalid') => appError(refusals[why].reason, refusals[why].message);

/**
 * The actor behind an API key. Checked against the database at every request
 * (no cache), so a revoked or expired key, or one whose user is deactivated or
 * deleted, fails on the very next request. Throws UNAUTHORIZED rather than
 * returning null: a request that presents a key must never run as anonymous.
 * A refused use of a real key is audited (throttled per key); a string that is
 * no key at all writes nothing, so garbage cannot flood the audit log.
 */
export async function authenticateApiKey(ctx: Context, key: string): Promise<Actor> {
  if (!keyPattern.test(key)) throw refused('invalid');
  const row = await findApiKeyBySecretHash(ctx.db, hashApiKey(key));
  if (!row) throw refused('invalid');
  const now = Date.now();
  const reason = refusalReasonOf(row, now);
  if (reason) {
    await ctx.db.transaction().execute(async (tx) => {
      if (!(await claimRefusalAudit(tx, row.id, refusalAuditWindowSeconds))) return;
      await recordAudit(tx, {
        actor: { id: null, email: null, organizationId: row.keyOrganizationId },
        action: 'api_key.refused',
        ...(row.userId
          ? { targetType: 'user', targetId: row.userId, targetLabel: row.email }
          : { targetType: 'api_key', targetId: row.id, targetLabel: keyLabel(row) }),
        after: {
          apiKeyId: row.id,
          name: row.name,
          prefix: row.prefix,
          reason,
          clientAddress: ctx.clientAddress,
          userAgent: ctx.userAgent,
        },
      });
    });
    throw refused(reason);
  }
  if (!row.userId || !row.organizationId || !row.accountId || !row.email || !row.role) throw refused('invalid');
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > touchEveryMs) await touchApiKey(ctx.db, row.id);
  return {
    id: row.userId,
    organizationId: row.organizationId,
    accountId: row.accountId,
    email: row.email,
    role: row.role,
    via: 'apiKey',
    apiKeyId: row.id,
  };
}
