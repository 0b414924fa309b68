import type { Database } from '@roster/db';
import type { Kysely } from 'kysely';
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
  const passwordHash = await hashPassword(input.adminPassword);
  return db.transaction().execute(async (tx) => {
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
    await tx
      .insertInto('auditLog')
      .values({
        organizationId: organization.id,
        actorId: null,
        actorEmail: 'system',
        action: 'organization.created',
        targetType: 'organization',
        targetId: organization.id,
        targetLabel: organization.name,
        changes: JSON.stringify({ before: null, after: { name: organization.name, admin: admin.email } }),
      })
      .execute();
    return { organization, account, admin };
  });
}

/** True when no organization exists yet (a fresh installation). */
export async function isEmptyInstallation(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst();
  return !row;
}
