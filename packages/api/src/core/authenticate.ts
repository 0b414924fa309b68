import type { Database, Db } from '@roster/db';
import type { Kysely } from 'kysely';
import { claimRefusalAudit, findApiKeyBySecretHash, touchApiKey } from '../api-keys/queries.js';
import { recordAudit } from '../audit/queries.js';
import { endSession, sessionByTokenHash, touchSession } from '../auth/queries.js';
import { appError, type ErrorReason } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import type { SessionConfig } from '../shared/config.js';
import { hashSecret } from './tokens.js';

// Who is calling: the one authentication every procedure builder (trpc.ts)
// runs. It sits below the domains' services and routers and above their
// queries: it reads and writes through queries only, and knows nothing of tRPC.

/** What authentication looks at: the context carries these (context.ts). */
export type Credentials = {
  db: Kysely<Database>;
  sessionToken: string | null;
  /** The credential of an `Authorization` header; when present, the only one considered. */
  bearerToken: string | null;
  sessions: SessionConfig;
  clientAddress: string | null;
  userAgent: string | null;
};

// Refreshing last_seen_at on every request would make every read a write. It
// is refreshed at most once a minute, and at least every quarter of the idle
// time: a session in use must never look idle (with a one-minute idle time, a
// once-a-minute refresh would end every session a minute after sign-in).
const touchSessionEveryMs = 60_000;
// Writing an API key's last_used_at at every request would make every read a write.
const touchKeyEveryMs = 60_000;
// A script looping on a refused key writes one audit row a minute, not one per request.
const refusalAuditWindowSeconds = 60;

/** `rk_` + 8-character prefix + `_` + 256 random bits in base64url (core/tokens.ts `generatePrefixedSecret`). */
const keyPattern = /^rk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;

/** How the audit log names an API key. */
export const apiKeyLabel = (key: { name: string; prefix: string }) => `${key.name} (${key.prefix})`;

/**
 * The actor behind the credentials, or null. With an Authorization header,
 * that is its API key, and only it: a key that does not work throws
 * UNAUTHORIZED rather than falling back to a cookie or to anonymous. Otherwise
 * the session cookie: a session of a deactivated or deleted user, or one past
 * its idle or absolute expiry, is no session.
 */
export async function authenticate(credentials: Credentials): Promise<Actor | null> {
  if (credentials.bearerToken !== null) return authenticateApiKey(credentials, credentials.bearerToken);
  const { db, sessionToken, sessions } = credentials;
  if (!sessionToken || sessionToken.length > 200) return null;
  const [row] = await sessionByTokenHash(db, hashSecret(sessionToken));
  if (!row) return null;
  const now = Date.now();
  const idleExpired = now - row.lastSeenAt.getTime() > sessions.idleTimeoutMs;
  if (!row.active || idleExpired || row.expiresAt.getTime() <= now) {
    await endSession(db, row.sessionId);
    return null;
  }
  if (now - row.lastSeenAt.getTime() > Math.min(touchSessionEveryMs, sessions.idleTimeoutMs / 4)) {
    await touchSession(db, row.sessionId);
  }
  return {
    id: row.id,
    organizationId: row.organizationId,
    accountId: row.accountId,
    email: row.email,
    role: row.role,
    writeLsn: row.writeLsn,
    via: 'session',
    sessionId: row.sessionId,
  };
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
export async function authenticateApiKey(
  credentials: Pick<Credentials, 'db' | 'clientAddress' | 'userAgent'>,
  key: string,
): Promise<Actor> {
  const db: Db = credentials.db;
  if (!keyPattern.test(key)) throw refused('invalid');
  const row = await findApiKeyBySecretHash(db, hashSecret(key));
  if (!row) throw refused('invalid');
  const now = Date.now();
  const reason = refusalReasonOf(row, now);
  if (reason) {
    await credentials.db.transaction().execute(async (tx) => {
      if (!(await claimRefusalAudit(tx, row.id, refusalAuditWindowSeconds))) return;
      await recordAudit(tx, {
        actor: { id: null, email: null, organizationId: row.keyOrganizationId },
        action: 'api_key.refused',
        ...(row.userId
          ? { targetType: 'user', targetId: row.userId, targetLabel: row.email }
          : { targetType: 'api_key', targetId: row.id, targetLabel: apiKeyLabel(row) }),
        after: {
          apiKeyId: row.id,
          name: row.name,
          prefix: row.prefix,
          reason,
          clientAddress: credentials.clientAddress,
          userAgent: credentials.userAgent,
        },
      });
    });
    throw refused(reason);
  }
  if (!row.userId || !row.organizationId || !row.accountId || !row.email || !row.role) throw refused('invalid');
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > touchKeyEveryMs) await touchApiKey(db, row.id);
  return {
    id: row.userId,
    organizationId: row.organizationId,
    accountId: row.accountId,
    email: row.email,
    role: row.role,
    writeLsn: row.writeLsn,
    via: 'apiKey',
    apiKeyId: row.id,
  };
}
