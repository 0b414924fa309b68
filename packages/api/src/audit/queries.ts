import type { AuditChanges, Database, Db, Role } from '@roster/db';
import { type RawBuilder, sql, type Transaction } from 'kysely';
import { appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import { decodeCursor, escapeLike, toPage } from '../shared/cursor.js';
import type { AuditAction } from '../shared/schemas.js';

/**
 * Who acted without being an authenticated caller of this request: nobody (id and
 * email null: a refused API key, a mailed link), the system, or a user proving
 * who they are as they act (signing in, following a mailed link).
 */
export type UnauthenticatedActor = { organizationId: string; id: string | null; email: string | null; via?: undefined };

export type AuditRecord = {
  /** Who acted: the request's authenticated caller (confirmed by confirmActor), or an UnauthenticatedActor. */
  actor: Actor | UnauthenticatedActor;
  action: AuditAction;
  targetType: 'user' | 'account' | 'organization' | 'api_key' | 'bulk_operation';
  targetId: string | null;
  targetLabel: string | null;
  /**
   * Snapshots of a target user (email, "first last") and of the account the row
   * is about. Read from the user's row when not given; give them when the row is
   * gone already (a deletion).
   */
  targetEmail?: string | null;
  targetName?: string | null;
  accountId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
};

/**
 * Confirms, in the transaction of a change, that its authenticated caller may
 * still make it: a user still there, active, with the role (and, for an
 * account administrator, the account) their request was authorized with; a
 * SCIM connection not revoked. Their row is locked FOR SHARE until the change
 * commits, so a deactivation, demotion or revocation either waits for it (the
 * change came first) or has committed before it, and this refuses it: a
 * request authorized just before its caller lost their access changes
 * nothing. Every audit writer calls it, so every audited change is covered.
 * Unauthenticated actors (sign-in, mailed links, the system) are not callers
 * with access to lose.
 */
async function confirmActor(tx: Transaction<Database>, actor: AuditRecord['actor']): Promise<void> {
  if (actor.via === undefined) return;
  if (actor.via === 'scim') {
    const connection = await tx
      .selectFrom('scimConnections')
      .select('revokedAt')
      .where('id', '=', actor.connectionId)
      .where('organizationId', '=', actor.organizationId)
      .forShare()
      .executeTakeFirst();
    if (!connection || connection.revokedAt !== null) {
      throw appError('UNAUTHENTICATED', 'This SCIM connection was revoked while the request ran; nothing was changed.');
    }
    return;
  }
  await confirmCaller(tx, actor);
}

/**
 * Confirms a user who acts (see confirmActor): still there, active, with `role`
 * (and, an account administrator, `accountId`), their row locked FOR SHARE
 * until the transaction ends. The bulk worker calls it for whoever started the
 * operation, at every batch.
 */
export async function confirmCaller(
  tx: Transaction<Database>,
  caller: { id: string | null; organizationId: string; role: Role; accountId: string | null },
): Promise<void> {
  const user = caller.id
    ? await tx
        .selectFrom('users')
        .select(['active', 'role', 'accountId'])
        .where('id', '=', caller.id)
        .where('organizationId', '=', caller.organizationId)
        .forShare()
        .executeTakeFirst()
    : undefined;
  if (!user) throw appError('USER_DELETED', 'Your user was deleted while this request ran; nothing was changed.');
  if (!user.active) {
    throw appError('USER_DEACTIVATED', 'Your user was deactivated while this request ran; nothing was changed.');
  }
  if (user.role !== caller.role || (caller.role === 'account_admin' && user.accountId !== caller.accountId)) {
    throw appError(
      'ACCESS_CHANGED',
      'Not allowed: your role or account changed while this request ran, so nothing was changed. Reload to continue with your access as it is now.',
    );
  }
}

/** A user's name as the audit log keeps it. */
export const auditName = (user: { firstName: string; lastName: string }) => `${user.firstName} ${user.lastName}`;

/**
 * Writes one audit row. Call it with the transaction of the change it records.
 * The actor's and a target user's email and name are written as they are now,
 * so the row still says who and whom after either is renamed or deleted.
 */
export async function recordAudit(tx: Transaction<Database>, entry: AuditRecord): Promise<void> {
  await confirmActor(tx, entry.actor);
  const changes: AuditChanges = { before: entry.before ?? null, after: entry.after ?? null };
  // A SCIM connection acts as no user: the row names it by its label (actorEmail) alone.
  const actorId = entry.actor.via === 'scim' ? null : entry.actor.id;
  const targetUserId = entry.targetType === 'user' ? entry.targetId : null;
  // Scalar reads of the target user's row (a primary-key lookup each), or null.
  const ofTarget = (id: string | null) =>
    id
      ? {
          email: sql<string>`(select email from users where id = ${id})`,
          name: sql<string>`(select first_name || ' ' || last_name from users where id = ${id})`,
          accountId: sql<string>`(select account_id from users where id = ${id})`,
        }
      : { email: null, name: null, accountId: entry.targetType === 'account' ? entry.targetId : null };
  const target = ofTarget(targetUserId);
  await tx
    .insertInto('auditLog')
    .values({
      organizationId: entry.actor.organizationId,
      actorId,
      actorEmail: entry.actor.email,
      actorName: actorId ? sql<string>`(select first_name || ' ' || last_name from users where id = ${actorId})` : null,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      targetLabel: entry.targetLabel,
      targetEmail: entry.targetEmail !== undefined ? entry.targetEmail : target.email,
      targetName: entry.targetName !== undefined ? entry.targetName : target.name,
      accountId: entry.accountId !== undefined ? entry.accountId : target.accountId,
      changes: JSON.stringify(changes),
    })
    .execute();
}

/**
 * Writes many audit rows of one actor at once (a bulk action's batch), in the
 * transaction of the change. Unlike recordAudit, each entry gives its target's
 * snapshots (email, name, account): the batch has read them already.
 */
export async function recordAuditMany(
  tx: Transaction<Database>,
  actor: AuditRecord['actor'],
  entries: ReadonlyArray<
    Omit<AuditRecord, 'actor' | 'targetEmail' | 'targetName' | 'accountId'> & {
      targetEmail: string | null;
      targetName: string | null;
      accountId: string | null;
    }
  >,
): Promise<void> {
  if (entries.length === 0) return;
  await confirmActor(tx, actor);
  const actorId = actor.via === 'scim' ? null : actor.id;
  const actorName = actorId
    ? ((
        await tx
          .selectFrom('users')
          .select(sql<string>`first_name || ' ' || last_name`.as('name'))
          .where('id', '=', actorId)
          .executeTakeFirst()
      )?.name ?? null)
    : null;
  // Eleven values a row: well under the 65,535 a statement may carry.
  for (let start = 0; start < entries.length; start += 2_000) {
    await tx
      .insertInto('auditLog')
      .values(
        entries.slice(start, start + 2_000).map((entry) => ({
          organizationId: actor.organizationId,
          actorId,
          actorEmail: actor.email,
          actorName,
          action: entry.action,
          targetType: entry.targetType,
          targetId: entry.targetId,
          targetLabel: entry.targetLabel,
          targetEmail: entry.targetEmail,
          targetName: entry.targetName,
          accountId: entry.accountId,
          changes: JSON.stringify({ before: entry.before ?? null, after: entry.after ?? null }),
        })),
      )
      .execute();
  }
}

/**
 * One audit row for each of the users (a bulk action's batch), written by one
 * INSERT ... SELECT from their rows: the snapshots (email, name, account) are
 * read as the rows are now, so call it before a change that would lose them (a
 * deletion, a move), with `changes` an SQL expression of the row's columns
 * (`users.…`) giving the { before, after } object.
 */
export async function recordUsersAudit(
  tx: Transaction<Database>,
  actor: AuditRecord['actor'],
  action: AuditAction,
  userIds: readonly string[],
  changes: RawBuilder<unknown>,
  accountId: RawBuilder<string> = sql<string>`users.account_id`,
): Promise<void> {
  if (userIds.length === 0) return;
  await confirmActor(tx, actor);
  const actorId = actor.via === 'scim' ? null : actor.id;
  await sql`
    insert into audit_log (organization_id, actor_id, actor_email, actor_name, action, target_type, target_id,
      target_label, target_email, target_name, account_id, changes)
    select ${actor.organizationId}::uuid, ${actorId}::uuid, ${actor.email}::text,
      (select a.first_name || ' ' || a.last_name from users a where a.id = ${actorId}::uuid),
      ${action}::text, 'user', users.id, users.email, users.email, users.first_name || ' ' || users.last_name,
      ${accountId}, ${changes}
    from users
    where users.organization_id = ${actor.organizationId}::uuid
      and users.id = any(string_to_array(${userIds.join(',')}, ',')::uuid[])
    order by users.id
  `.execute(tx);
}

/**
 * A `user.deleted` row for every user of the account, as `users.delete` writes
 * one: call it in the transaction that deletes the account, before the delete.
 * One statement, however many users the account holds.
 */
export async function recordAccountUsersDeleted(
  tx: Transaction<Database>,
  actor: AuditRecord['actor'],
  accountId: string,
): Promise<void> {
  await tx
    .insertInto('auditLog')
    .columns([
      'organizationId',
      'actorId',
      'actorEmail',
      'actorName',
      'action',
      'targetType',
      'targetId',
      'targetLabel',
      'targetEmail',
      'targetName',
      'accountId',
      'changes',
    ])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select([
          sql<string>`${actor.organizationId}::uuid`.as('organizationId'),
          sql<string | null>`${actor.id}::uuid`.as('actorId'),
          sql<string | null>`${actor.email}::text`.as('actorEmail'),
          (actor.id
            ? sql<string | null>`(select a.first_name || ' ' || a.last_name from users a where a.id = ${actor.id})`
            : sql<string | null>`null::text`
          ).as('actorName'),
          sql<string>`'user.deleted'`.as('action'),
          sql<string>`'user'`.as('targetType'),
          'users.id as targetId',
          'users.email as targetLabel',
          'users.email as targetEmail',
          sql<string>`users.first_name || ' ' || users.last_name`.as('targetName'),
          'users.accountId as accountId',
          sql<string>`jsonb_build_object(
            'before', jsonb_build_object(
              'email', users.email, 'firstName', users.first_name, 'lastName', users.last_name,
              'role', users.role, 'active', users.active, 'accountId', users.account_id),
            'after', null)`.as('changes'),
        ])
        .where('users.organizationId', '=', actor.organizationId)
        .where('users.accountId', '=', accountId)
        .orderBy('users.email'),
    )
    .execute();
}

/** The before/after of only the fields that differ. */
export function diff<T extends Record<string, unknown>, K extends keyof T>(
  before: T,
  after: { [P in K]?: T[P] | undefined },
): { before: Partial<Pick<T, K>>; after: Partial<Pick<T, K>> } | null {
  const b: Partial<Pick<T, K>> = {};
  const a: Partial<Pick<T, K>> = {};
  for (const key of Object.keys(after) as K[]) {
    if (after[key] !== undefined && after[key] !== before[key]) {
      b[key] = before[key];
      a[key] = after[key];
    }
  }
  return Object.keys(a).length ? { before: b, after: a } : null;
}

export type AuditFilter = {
  /** Rows by or about this user (by id: kept after the user is deleted). */
  userId?: string | undefined;
  /** Rows by or about whoever had this email then (exact, lower-cased): a deleted user's history. */
  email?: string | undefined;
  /** Part of an email or name of the actor or the target, or of the target's label. */
  query?: string | undefined;
  action?: AuditAction | undefined;
  /** Rows about this account or a user of it at the time. */
  accountId?: string | undefined;
  /** From this instant (inclusive) ... */
  from?: Date | undefined;
  /** ... to this one (exclusive). */
  to?: Date | undefined;
  cursor?: string | undefined;
  limit: number;
};

/**
 * One page of the organization's audit log, newest first, keyset-paged on
 * (created_at, id). Each filter has an index that ends in that order (0006), so
 * a page reads about as many rows as it shows; the substring search goes through
 * the trigram index of the snapshots. Whether the actor and a target user still
 * exist is read with the page, so the console links only to users it can open.
 */
export function auditQuery(db: Db, organizationId: string, input: AuditFilter) {
  const after = decodeCursor(input.cursor, ['timestamp', 'uuid']);
  let query = db
    .selectFrom('auditLog')
    .select([
      'auditLog.id',
      'auditLog.actorId',
      'auditLog.actorEmail',
      'auditLog.actorName',
      'auditLog.action',
      'auditLog.targetType',
      'auditLog.targetId',
      'auditLog.targetLabel',
      'auditLog.targetEmail',
      'auditLog.targetName',
      'auditLog.accountId',
      'auditLog.changes',
      'auditLog.createdAt',
      sql<boolean>`exists (select 1 from users u where u.id = audit_log.actor_id and u.organization_id = ${organizationId})`.as(
        'actorExists',
      ),
      sql<boolean>`(audit_log.target_type = 'user' and exists (
        select 1 from users u where u.id = audit_log.target_id and u.organization_id = ${organizationId}))`.as(
        'targetExists',
      ),
    ])
    .where('auditLog.organizationId', '=', organizationId);
  const { userId, email, action, accountId, from, to } = input;
  if (userId) {
    query = query.where((eb) => eb.or([eb('auditLog.targetId', '=', userId), eb('auditLog.actorId', '=', userId)]));
  }
  if (email) {
    query = query.where((eb) => eb.or([eb('auditLog.actorEmail', '=', email), eb('auditLog.targetEmail', '=', email)]));
  }
  const text = input.query?.trim().toLowerCase();
  if (text) query = query.where('auditLog.searchText', 'like', `%${escapeLike(text)}%`);
  if (action) query = query.where('auditLog.action', '=', action);
  if (accountId) query = query.where('auditLog.accountId', '=', accountId);
  if (from) query = query.where('auditLog.createdAt', '>=', from);
  if (to) query = query.where('auditLog.createdAt', '<', to);
  if (after) {
    const [createdAt, id] = after as [string, string];
    query = query.where(sql<boolean>`(audit_log.created_at, audit_log.id) < (${createdAt}::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('auditLog.createdAt', 'desc')
    .orderBy('auditLog.id', 'desc')
    .limit(input.limit + 1);
}

export async function listAudit(db: Db, organizationId: string, input: AuditFilter) {
  const rows = await auditQuery(db, organizationId, input).execute();
  // recordAudit writes only actions of the list.
  const items = rows.map((row) => ({ ...row, action: row.action as AuditAction }));
  return toPage(items, input.limit, (row) => [row.createdAt.toISOString(), row.id]);
}
