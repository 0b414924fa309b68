import type { Db } from '@roster/db';
import { diff, recordAccountUsersDeleted, recordAudit } from '../audit/queries.js';
import { assertNotCommonPassword } from '../auth/common-passwords.js';
import { appError, emailTakenAt } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import type { MailConfig } from '../shared/config.js';
import type { AccountOutput } from '../shared/outputs.js';
import { createUserIn, hashOptional } from '../users/service.js';
import { deleteAccountRow, findAccount, insertAccount, lockAccount, updateAccountRow } from './queries.js';

const notFound = () => appError('NOT_FOUND', 'No such account.');

export type CreateAccountInput = {
  name: string;
  description?: string | undefined;
  users: { email: string; firstName: string; lastName: string; password?: string | undefined }[];
};

/** The account and all of its users in one transaction: all or nothing. */
export async function createAccount(
  db: Db,
  actor: Actor,
  input: CreateAccountInput,
  mail: MailConfig,
): Promise<AccountOutput> {
  input.users.forEach((user, index) => {
    assertNotCommonPassword(user.password, ['users', index, 'password']);
  });
  // One caller for the whole batch: it takes turns with others rather than holding every hashing thread.
  const hashes = await Promise.all(input.users.map((user) => hashOptional(user.password, actor.id)));
  return db.transaction().execute(async (tx) => {
    const account = await insertAccount(tx, actor.organizationId, {
      name: input.name,
      description: input.description ?? '',
    });
    await recordAudit(tx, {
      actor,
      action: 'account.created',
      targetType: 'account',
      targetId: account.id,
      targetLabel: input.name,
      after: { name: input.name, description: input.description ?? '', users: input.users.length },
    });
    for (const [index, user] of input.users.entries()) {
      await createUserIn(
        tx,
        actor,
        { ...user, accountId: account.id, passwordHash: hashes[index] ?? null },
        { isDefault: false },
        mail,
      ).catch((error: unknown) => {
        // Which row of the form has the taken email.
        throw emailTakenAt(error, ['users', index, 'email']);
      });
    }
    const created = await findAccount(tx, actor.organizationId, account.id);
    if (!created) throw notFound();
    return created;
  });
}

export async function updateAccount(
  db: Db,
  actor: Actor,
  input: { id: string; name?: string | undefined; description?: string | undefined },
): Promise<AccountOutput> {
  return db.transaction().execute(async (tx) => {
    const account = await lockAccount(tx, actor.organizationId, input.id);
    if (!account) throw notFound();
    const changes = diff(account, { name: input.name, description: input.description });
    if (!changes) return account;
    const updated = await updateAccountRow(tx, actor.organizationId, account.id, changes.after);
    await recordAudit(tx, {
      actor,
      action: 'account.updated',
      targetType: 'account',
      targetId: account.id,
      targetLabel: updated.name,
      ...changes,
    });
    return updated;
  });
}

/**
 * Removes an account and its users. Administrators live only in the default
 * account, which cannot be deleted, so this never removes the last administrator.
 */
export async function deleteAccount(db: Db, actor: Actor, id: string): Promise<AccountOutput> {
  return db.transaction().execute(async (tx) => {
    const account = await lockAccount(tx, actor.organizationId, id);
    if (!account) throw notFound();
    if (account.isDefault) {
      throw appError('DEFAULT_ACCOUNT', 'The default account cannot be deleted: it holds the administrators.');
    }
    // Each user it removes has a row of their own, as when deleted one by one.
    await recordAccountUsersDeleted(tx, actor, account.id);
    await deleteAccountRow(tx, actor.organizationId, account.id);
    await recordAudit(tx, {
      actor,
      action: 'account.deleted',
      targetType: 'account',
      targetId: account.id,
      targetLabel: account.name,
      before: { name: account.name, description: account.description, userCount: account.userCount },
    });
    return account;
  });
}
