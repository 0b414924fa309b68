import type { AuditChanges, Database, Db } from '@roster/db';
import { sql, type Transaction } from 'kysely';
import type { Actor } from '../context.js';
import { decodeCursor, toPage } from '../shared/cursor.js';

export type AuditRecord = {
  /** Who acted; id and email are null for a request nobody authenticated (a refused API key). */
  actor: Pick<Actor, 'organizationId'> & { id: string | null; email: string | null; via?: Actor['via'] };
  action: string;
  targetType: 'user' | 'account' | 'organization' | 'api_key';
  targetId: string | null;
  targetLabel: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
};

/** Writes one audit row. Call it with the transaction of the change it records. */
export async function recordAudit(tx: Transaction<Database>, entry: AuditRecord): Promise<void> {
  const changes: AuditChanges = { before: entry.before ?? null, after: entry.after ?? null };
  await tx
    .insertInto('auditLog')
    .values({
      organizationId: entry.actor.organizationId,
      // A SCIM connection acts as no user: the row names it by its label (actorEmail) alone.
      actorId: 'via' in entry.actor && entry.actor.via === 'scim' ? null : entry.actor.id,
      actorEmail: entry.actor.email,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      targetLabel: entry.targetLabel,
      changes: JSON.stringify(changes),
    })
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

export async function listAudit(
  db: Db,
  organizationId: string,
  input: { userId?: string | undefined; cursor?: string | undefined; limit: number },
) {
  const after = decodeCursor(input.cursor, ['timestamp', 'uuid']);
  let query = db
    .selectFrom('auditLog')
    .select(['id', 'actorId', 'actorEmail', 'action', 'targetType', 'targetId', 'targetLabel', 'changes', 'createdAt'])
    .where('organizationId', '=', organizationId);
  if (input.userId) {
    const userId = input.userId;
    query = query.where((eb) => eb.or([eb('targetId', '=', userId), eb('actorId', '=', userId)]));
  }
  if (after) {
    const [createdAt, id] = after as [string, string];
    query = query.where(sql<boolean>`(created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`);
  }
  const rows = await query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(input.limit + 1)
    .execute();
  return toPage(rows, input.limit, (row) => [row.createdAt.toISOString(), row.id]);
}
