import type { Database, Db, ImportVerdict, UserImportRowsTable } from '@roster/db';
import { type Insertable, sql, type Transaction } from 'kysely';
import type { Actor } from '../shared/actor.js';

// The SQL of CSV imports. Everything that touches many users is one set-based
// statement per batch of lines, driven by the stored preview rows.

/** The users of the installation with these (lower-case) emails, whatever their organization. */
export async function usersByEmails(db: Db, emails: readonly string[]) {
  if (emails.length === 0) return [];
  return db
    .selectFrom('users')
    .select([
      'users.id',
      'users.organizationId',
      'users.accountId',
      'users.email',
      'users.firstName',
      'users.lastName',
      'users.role',
      'users.active',
      'users.version',
    ])
    .where(sql<string>`lower(users.email)`, '=', sql<string>`any(${sql.val(emails)}::text[])`)
    .execute();
}

/** Names of these accounts of the organization, for the messages of rows that match a user elsewhere. */
export async function accountNames(db: Db, organizationId: string, ids: readonly string[]) {
  if (ids.length === 0) return new Map<string, string>();
  const rows = await db
    .selectFrom('accounts')
    .select(['id', 'name'])
    .where('organizationId', '=', organizationId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** A preview row as it is inserted: the table's columns but the import's id (changes as JSON text). */
export type ImportRowValues = Omit<Insertable<UserImportRowsTable>, 'importId'>;

export async function insertImport(
  tx: Transaction<Database>,
  values: {
    organizationId: string;
    accountId: string;
    createdBy: string | null;
    fileName: string | null;
    summary: Record<string, unknown>;
    expiresAt: Date;
  },
) {
  return tx
    .insertInto('userImports')
    .values({ ...values, summary: JSON.stringify(values.summary) })
    .returning(['id', 'createdAt'])
    .executeTakeFirstOrThrow();
}

/** Rows written per statement (their values sent as arrays). */
const statementRows = 10_000;

/** Stores preview rows: one statement per batch, the values sent as arrays. */
export async function insertImportRows(tx: Transaction<Database>, importId: string, rows: readonly ImportRowValues[]) {
  for (let start = 0; start < rows.length; start += statementRows) {
    const part = rows.slice(start, start + statementRows);
    const column = <K extends keyof ImportRowValues>(key: K) => part.map((row) => row[key]);
    await sql`
      insert into user_import_rows
        (import_id, line, verdict, email, user_id, user_version, first_name, last_name, role, active, changes, error)
      select ${importId}::uuid, r.line, r.verdict, r.email, r.user_id, r.user_version, r.first_name, r.last_name,
             r.role, r.active, r.changes::jsonb, r.error
      from unnest(
        ${column('line')}::int[], ${column('verdict')}::text[], ${column('email')}::text[], ${column('userId')}::uuid[],
        ${column('userVersion')}::int[], ${column('firstName')}::text[], ${column('lastName')}::text[],
        ${column('role')}::text[], ${column('active')}::boolean[], ${column('changes')}::text[], ${column('error')}::text[]
      ) as r(line, verdict, email, user_id, user_version, first_name, last_name, role, active, changes, error)
    `.execute(tx);
  }
}

/**
 * Turns stored preview rows into errors after the fact (a repeated email, the
 * last administrator): each line with its message, its values cleared.
 */
export async function markRowsAsErrors(
  tx: Transaction<Database>,
  importId: string,
  lines: readonly number[],
  messages: readonly string[],
) {
  for (let start = 0; start < lines.length; start += statementRows) {
    await sql`
      update user_import_rows r
      set verdict = 'error', error = m.error, user_id = null, user_version = null, first_name = null,
          last_name = null, role = null, active = null, changes = null
      from unnest(${lines.slice(start, start + statementRows)}::int[], ${messages.slice(start, start + statementRows)}::text[])
        as m(line, error)
      where r.import_id = ${importId} and r.line = m.line
    `.execute(tx);
  }
}

/** How many of the preview's rows have each verdict. */
export async function countVerdicts(tx: Transaction<Database>, importId: string) {
  const { rows } = await sql<{ verdict: ImportVerdict; n: string }>`
    select verdict, count(*) as n from user_import_rows where import_id = ${importId} group by verdict
  `.execute(tx);
  const counts: Record<ImportVerdict, number> = { create: 0, update: 0, unchanged: 0, error: 0 };
  for (const row of rows) counts[row.verdict] = Number(row.n);
  return counts;
}

export async function setImportSummary(tx: Transaction<Database>, id: string, summary: Record<string, unknown>) {
  await tx
    .updateTable('userImports')
    .set({ summary: JSON.stringify(summary) })
    .where('id', '=', id)
    .execute();
}

const importColumns = [
  'userImports.id',
  'userImports.organizationId',
  'userImports.accountId',
  'userImports.createdBy',
  'userImports.fileName',
  'userImports.status',
  'userImports.summary',
  'userImports.createdAt',
  'userImports.expiresAt',
  'userImports.appliedAt',
  'userImports.result',
] as const;

/** The import; with `scope` (an account administrator's account), only an import into that account. */
export async function findImport(db: Db, organizationId: string, id: string, scope?: string) {
  return db
    .selectFrom('userImports')
    .select(importColumns)
    .where('organizationId', '=', organizationId)
    .where('id', '=', id)
    .$if(scope !== undefined, (query) => query.where('accountId', '=', scope ?? ''))
    .executeTakeFirst();
}

/**
 * Serializes the import with the other changes that could leave the organization
 * without an administrator (they take `lockOrganization`'s FOR UPDATE, which
 * this waits for). NO KEY UPDATE rather than FOR UPDATE: an edit of one user
 * that runs meanwhile writes an audit row, whose foreign key takes KEY SHARE on
 * the organization; FOR UPDATE would make that edit and this import wait for
 * each other (a deadlock), where now the edit simply goes first or after.
 */
export async function lockOrganizationForImport(tx: Transaction<Database>, organizationId: string): Promise<void> {
  await tx.selectFrom('organizations').select('id').where('id', '=', organizationId).forNoKeyUpdate().execute();
}

/** Locks the import for the rest of the transaction: a second apply waits here, then finds it applied. */
export async function lockImport(tx: Transaction<Database>, organizationId: string, id: string, scope?: string) {
  return tx
    .selectFrom('userImports')
    .innerJoin('accounts', 'accounts.id', 'userImports.accountId')
    .select([...importColumns, 'accounts.name as accountName'])
    .where('userImports.organizationId', '=', organizationId)
    .where('userImports.id', '=', id)
    .$if(scope !== undefined, (query) => query.where('userImports.accountId', '=', scope ?? ''))
    .forUpdate(['userImports'])
    .executeTakeFirst();
}

const verdictRank = sql<number>`case verdict when 'error' then 0 when 'create' then 1 when 'update' then 2 else 3 end`;

/** A page of preview rows: errors first, then creates, updates and unchanged, each in file order. */
export async function importRowsPage(
  db: Db,
  importId: string,
  filter: { verdict?: ImportVerdict | undefined; after?: { rank: number; line: number } | undefined; limit: number },
) {
  let query = db
    .selectFrom('userImportRows')
    .select([
      'line',
      'verdict',
      'email',
      'userId',
      'firstName',
      'lastName',
      'role',
      'active',
      'changes',
      'error',
      verdictRank.as('rank'),
    ])
    .where('importId', '=', importId);
  if (filter.verdict) query = query.where('verdict', '=', filter.verdict);
  if (filter.after) {
    const { rank, line } = filter.after;
    query = query.where(sql<boolean>`(${verdictRank}, line) > (${rank}, ${line})`);
  }
  return query
    .orderBy(verdictRank)
    .orderBy('line')
    .limit(filter.limit + 1)
    .execute();
}

/** Rows previewed as update or unchanged whose user has changed, moved or gone since. */
export async function countStaleMatches(tx: Transaction<Database>, importId: string, accountId: string) {
  const row = await sql<{ n: string }>`
    select count(*) as n
    from user_import_rows r
    left join users u on u.id = r.user_id and u.account_id = ${accountId}
    where r.import_id = ${importId} and r.verdict in ('update', 'unchanged')
      and (u.id is null or u.version <> r.user_version)
  `.execute(tx);
  return Number(row.rows[0]?.n ?? 0);
}

/** Rows previewed as create whose email someone has taken since. */
export async function countTakenCreates(tx: Transaction<Database>, importId: string) {
  const row = await sql<{ n: string }>`
    select count(*) as n
    from user_import_rows r
    join users u on lower(u.email) = r.email
    where r.import_id = ${importId} and r.verdict = 'create'
  `.execute(tx);
  return Number(row.rows[0]?.n ?? 0);
}

export type LineRange = { from: number; to: number };

const inRange = (range: LineRange) => sql`r.line >= ${range.from} and r.line < ${range.to}`;

/** The audit columns of a row written by `actor`, for INSERT ... SELECT. */
function actorColumns(actor: Actor) {
  return sql`${actor.organizationId}::uuid, ${actor.id}::uuid, ${actor.email}::text,
    (select a.first_name || ' ' || a.last_name from users a where a.id = ${actor.id})`;
}

const auditInsert = sql`insert into audit_log (organization_id, actor_id, actor_email, actor_name, action,
  target_type, target_id, target_label, target_email, target_name, account_id, changes)`;

/**
 * Deactivations first, as `users.deactivate` does them: the users' sessions end
 * and their live API keys are revoked for good, each key with its audit row.
 */
export async function endAccessOfDeactivated(
  tx: Transaction<Database>,
  actor: Actor,
  importId: string,
  range: LineRange,
) {
  const targets = sql`select r.user_id from user_import_rows r
    where r.import_id = ${importId} and r.verdict = 'update' and r.active = false and ${inRange(range)}`;
  const sessions = await sql`delete from sessions where user_id in (${targets})`.execute(tx);
  const keys = await sql`
    with revoked as (
      update api_keys set revoked_at = date_trunc('milliseconds', now())
      where user_id in (${targets}) and revoked_at is null and expires_at > now()
      returning id, user_id, name, prefix, revoked_at, created_at
    )
    ${auditInsert}
    select ${actorColumns(actor)}, 'api_key.revoked', 'user', u.id, u.email, u.email,
      u.first_name || ' ' || u.last_name, u.account_id,
      jsonb_build_object('before', jsonb_build_object('revokedAt', null), 'after', jsonb_build_object(
        'apiKeyId', k.id, 'name', k.name, 'prefix', k.prefix,
        'revokedAt', to_char(k.revoked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'reason', 'user_deactivated'))
    from revoked k join users u on u.id = k.user_id
    order by k.created_at, k.id
  `.execute(tx);
  return { sessionsEnded: Number(sessions.numAffectedRows ?? 0), apiKeysRevoked: Number(keys.numAffectedRows ?? 0) };
}

/**
 * Applies the updates of these lines, each only if its user is still at the
 * version previewed; returns how many it changed (fewer means stale).
 */
export async function applyUpdates(tx: Transaction<Database>, importId: string, accountId: string, range: LineRange) {
  const result = await sql`
    update users u set
      first_name = coalesce(r.first_name, u.first_name),
      last_name = coalesce(r.last_name, u.last_name),
      role = coalesce(r.role, u.role),
      active = coalesce(r.active, u.active),
      version = u.version + 1
    from user_import_rows r
    where r.import_id = ${importId} and r.verdict = 'update' and ${inRange(range)}
      and u.id = r.user_id and u.account_id = ${accountId} and u.version = r.user_version
  `.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}

export async function countRows(tx: Transaction<Database>, importId: string, verdict: ImportVerdict, range: LineRange) {
  const row = await sql<{ n: string }>`
    select count(*) as n from user_import_rows r
    where r.import_id = ${importId} and r.verdict = ${verdict} and ${inRange(range)}
  `.execute(tx);
  return Number(row.rows[0]?.n ?? 0);
}

/** Creates the users of these lines (no password: they are invited to choose one); returns them. */
export async function insertCreates(
  tx: Transaction<Database>,
  actor: Actor,
  importId: string,
  accountId: string,
  range: LineRange,
) {
  const result = await sql<{
    id: string;
    accountId: string;
    email: string;
    firstName: string;
    lastName: string;
    active: boolean;
  }>`
    insert into users (organization_id, account_id, email, first_name, last_name, role, active)
    select ${actor.organizationId}::uuid, ${accountId}::uuid, r.email, r.first_name, r.last_name,
      coalesce(r.role, 'user'), coalesce(r.active, true)
    from user_import_rows r
    where r.import_id = ${importId} and r.verdict = 'create' and ${inRange(range)}
    order by r.line
    returning id, account_id as "accountId", email, first_name as "firstName", last_name as "lastName", active
  `.execute(tx);
  return result.rows;
}

/** The audit rows of these lines' changes: as users.create, users.update, setRole and setActive write them. */
export async function auditChanges(tx: Transaction<Database>, actor: Actor, importId: string, range: LineRange) {
  const target = sql`u.id, u.email, u.email, u.first_name || ' ' || u.last_name, u.account_id`;
  await sql`
    ${auditInsert}
    select ${actorColumns(actor)}, 'user.created', 'user', ${target},
      jsonb_build_object('before', null, 'after', jsonb_build_object(
        'email', u.email, 'firstName', u.first_name, 'lastName', u.last_name, 'role', u.role,
        'accountId', u.account_id, 'active', u.active, 'passwordSet', false))
    from user_import_rows r join users u on lower(u.email) = r.email
    where r.import_id = ${importId} and r.verdict = 'create' and ${inRange(range)}
    order by r.line
  `.execute(tx);
  await sql`
    ${auditInsert}
    select ${actorColumns(actor)}, 'user.updated', 'user', ${target},
      jsonb_build_object('before', (r.changes->'before') - '{role,active}'::text[],
                         'after', (r.changes->'after') - '{role,active}'::text[])
    from user_import_rows r join users u on u.id = r.user_id
    where r.import_id = ${importId} and r.verdict = 'update' and ${inRange(range)}
      and (r.first_name is not null or r.last_name is not null)
    order by r.line
  `.execute(tx);
  await sql`
    ${auditInsert}
    select ${actorColumns(actor)}, 'user.role_changed', 'user', ${target},
      jsonb_build_object('before', jsonb_build_object('role', r.changes->'before'->'role'),
                         'after', jsonb_build_object('role', r.role))
    from user_import_rows r join users u on u.id = r.user_id
    where r.import_id = ${importId} and r.verdict = 'update' and ${inRange(range)} and r.role is not null
    order by r.line
  `.execute(tx);
  await sql`
    ${auditInsert}
    select ${actorColumns(actor)}, case when r.active then 'user.reactivated' else 'user.deactivated' end, 'user',
      ${target},
      jsonb_build_object('before', jsonb_build_object('active', not r.active),
                         'after', jsonb_build_object('active', r.active))
    from user_import_rows r join users u on u.id = r.user_id
    where r.import_id = ${importId} and r.verdict = 'update' and ${inRange(range)} and r.active is not null
    order by r.line
  `.execute(tx);
}

/** How many of these lines deactivate, reactivate and change a role: for the result. */
export async function updateKinds(tx: Transaction<Database>, importId: string) {
  const row = await sql<{ deactivated: string; reactivated: string; role_changed: string; renamed: string }>`
    select count(*) filter (where active = false) as deactivated,
           count(*) filter (where active = true) as reactivated,
           count(*) filter (where role is not null) as role_changed,
           count(*) filter (where first_name is not null or last_name is not null) as renamed
    from user_import_rows where import_id = ${importId} and verdict = 'update'
  `.execute(tx);
  const r = row.rows[0];
  return {
    deactivated: Number(r?.deactivated ?? 0),
    reactivated: Number(r?.reactivated ?? 0),
    roleChanged: Number(r?.role_changed ?? 0),
    renamed: Number(r?.renamed ?? 0),
  };
}

export async function maxLine(tx: Transaction<Database>, importId: string) {
  const row = await sql<{
    n: number | null;
  }>`select max(line) as n from user_import_rows where import_id = ${importId}`.execute(tx);
  return Number(row.rows[0]?.n ?? 0);
}

export async function markApplied(
  tx: Transaction<Database>,
  id: string,
  actor: Actor,
  result: Record<string, unknown>,
) {
  await tx
    .updateTable('userImports')
    .set({ status: 'applied', appliedAt: sql<Date>`now()`, appliedBy: actor.id, result: JSON.stringify(result) })
    .where('id', '=', id)
    .execute();
}

/**
 * Removes imports a day past their expiry (their rows go with them), a few at a
 * time: one import may hold 100,000 rows. Several servers sweeping skip each other's.
 */
export async function deleteExpiredImports(db: Db, limit = 5) {
  const result = await sql`
    delete from user_imports where id in (
      select id from user_imports where expires_at < now() - interval '1 day'
      limit ${limit}::int for update skip locked)
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
