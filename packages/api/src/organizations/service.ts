import type { Database } from '@roster/db';
import type { Kysely, Transaction } from 'kysely';
import { recordAudit } from '../audit/queries.js';
import { commonPasswordMessage, isCommonPassword } from '../auth/common-passwords.js';
import { hashPassword } from '../auth/passwords.js';
import { insertUser } from '../users/queries.js';
import { anyOrganizationExists, insertDefaultAccount, insertOrganization, lockInstallation } from './queries.js';

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
  return db.transaction().execute((tx) => createOrganizationIn(tx, input, passwordHash));
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
export async function createOrganizationIn(
  tx: Transaction<Database>,
  input: CreateOrganizationInput,
  passwordHash: string,
): Promise<CreatedOrganization> {
  const organization = await insertOrganization(tx, input.name);
  const account = await insertDefaultAccount(tx, organization.id);
  const admin = await insertUser(tx, {
    organizationId: organization.id,
    accountId: account.id,
    email: input.adminEmail.trim().toLowerCase(),
    firstName: input.adminFirstName ?? 'Organization',
    lastName: input.adminLastName ?? 'Administrator',
    role: 'admin',
    passwordHash,
  });
  await recordAudit(tx, {
    actor: { id: null, email: 'system', organizationId: organization.id },
    action: 'organization.created',
    targetType: 'organization',
    targetId: organization.id,
    targetLabel: organization.name,
    after: { name: organization.name, admin: admin.email },
  });
  return { organization, account, admin: { id: admin.id, email: admin.email } };
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
  if (await anyOrganizationExists(db)) return null;
  assertUsableAdminPassword(input.adminPassword);
  const passwordHash = await hashPassword(input.adminPassword);
  return db.transaction().execute(async (tx) => {
    await lockInstallation(tx);
    if (await anyOrganizationExists(tx)) return null;
    return createOrganizationIn(tx, input, passwordHash);
  });
}
