import type { Database, Db } from '@roster/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { commonPasswordMessage, isCommonPassword } from '../auth/common-passwords.js';
import { hashPassword } from '../auth/passwords.js';

export type CreateOrganizationInput = {
  name: string;
  adminEmail: string;
  adminPassword: string;
  adminFirstName?: string;
  adminLastName?: string;
};

export type CreatedOrganization = {
  organization: { id: string; name: string };
  account: { id: string; name: string };
  admin: { id: string; email: string };
};

/**
 * An organization with its default account and first administrator, in one
 * transaction. Operator-level: no actor, so the audit row names "system".
 */
export async function createOrganization(
  db: Kysely<Database>,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization> {
  assertUsableAdminPassword(input.adminPassword);
  const passwordHash = await hashPassword(input.adminPassword);
  return db.transaction().execute((tx) => insertOrganization(tx, input, passwordHash));
}

/** The first administrator's password obeys the same rules as any other. */
function assertUsableAdminPassword(password: string): void {
  if (password.length < 8 || password.length > 256) {
    throw new Error("The administrator's password must have 8 to 256 characters.");
  }
  if (isCommonPassword(password)) {
    throw new Error(`The administrator's password is refused. ${commonPasswordMessage}`);
  }
}

/** The inserts of `createOrganization`, for a caller that already holds the password hash. */
export async function insertOrganization(
  tx: Transaction<Database>,
  input: CreateOrganizationInput,
  passwordHash: string,
): Promise<CreatedOrganization> {
  {
    const organization = await tx
      .insertInto('organizations')
      .values({ name: input.name })
      .returning(['id', 'name'])
      .executeTakeFirstOrThrow();
    const account = await tx
      .insertInto('accounts')
      .values({ organizationId: organization.id, name: 'Default', isDefault: true })
      .returning(['id', 'name'])
      .executeTakeFirstOrThrow();
    const admin = await tx
      .insertInto('users')
      .values({
        organizationId: organization.id,
        accountId: account.id,
        email: input.adminEmail.trim().toLowerCase(),
        firstName: input.adminFirstName ?? 'Organization',
        lastName: input.adminLastName ?? 'Administrator',
        role: 'admin',
        passwordHash,
      })
      .returning(['id', 'email'])
      .executeTakeFirstOrThrow();
    await recordAudit(tx, {
      actor: { id: null, email: 'system', organizationId: organization.id },
      action: 'organization.created',
      targetType: 'organization',
      targetId: organization.id,
      targetLabel: organization.name,
      after: { name: organization.name, admin: admin.email },
    });
    return { organization, account, admin };
  }
}

/**
 * On a fresh installation (no organization yet) creates the first one; otherwise
 * does nothing and returns null. Two servers starting at once on one empty
 * database create exactly one: the check and the insert run under an advisory lock.
 */
export async function bootstrapInstallation(
  db: Kysely<Database>,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization | null> {
  const exists = async (q: Db) => Boolean(await q.selectFrom('organizations').select('id').limit(1).executeTakeFirst());
  if (await exists(db)) return null;
  assertUsableAdminPassword(input.adminPassword);
  const passwordHash = await hashPassword(input.adminPassword);
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(7450021)`.execute(tx);
    if (await exists(tx)) return null;
    return insertOrganization(tx, input, passwordHash);
  });
}
