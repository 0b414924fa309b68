import type { Database, Db, Role } from '@roster/db';
import type { Transaction } from 'kysely';
import { findAccountKind } from '../accounts/queries.js';
import { revokeKeysOf } from '../api-keys/service.js';
import { auditName, diff, recordAudit } from '../audit/queries.js';
import { assertNotCommonPassword } from '../auth/common-passwords.js';
import { hashPassword } from '../auth/passwords.js';
import { endSessions } from '../auth/queries.js';
import { accountScopeOf, assertAccountInScope, assertMayManageUser, assertUserInScope } from '../core/access.js';
import { appError, emailTakenAt } from '../errors.js';
import { afterEmailChange } from '../links/email-change.js';
import { inviteUsers } from '../links/invitations.js';
import { revokeOpenLinks } from '../links/queries.js';
import type { Actor } from '../shared/actor.js';
import type { MailConfig } from '../shared/config.js';
import type { UserOutput } from '../shared/outputs.js';
import {
  countActiveAdmins,
  countWhatDeactivationEnds,
  deleteUserRow,
  findUserById,
  insertUser,
  lockOrganization,
  lockUser,
  moveUserRow,
  setPasswordHash,
  updateUserRow,
} from './queries.js';

const notFound = () => appError('NOT_FOUND', 'No such user.');

const staleVersion = () =>
  appError(
    'STALE_VERSION',
    'This user was changed by someone else meanwhile. Reload to see the latest version, then try again.',
  );

const label = (user: { email: string }) => user.email;

/** Fails when the change would leave the organization without an active administrator. */
async function assertAnotherAdminRemains(
  tx: Transaction<Database>,
  actor: Actor,
  target: { id: string; role: Role; active: boolean },
  what: string,
) {
  if (target.role !== 'admin' || !target.active) return;
  if ((await countActiveAdmins(tx, actor.organizationId, target.id)) === 0) {
    throw appError(
      'LAST_ADMIN',
      `You cannot ${what} the last active administrator: make another user an administrator first.`,
    );
  }
}

function refuseSelf(actor: Actor, id: string, what: string) {
  if (actor.id === id) {
    throw appError('SELF_ACTION', `You cannot ${what} yourself; ask another administrator.`);
  }
}

/**
 * Locks and returns the target, checking that the actor may change them
 * (core/access.ts: an account administrator, only the plain users of their
 * account, themselves only with `self`), then its optimistic version when given.
 */
async function loadForChange(
  tx: Transaction<Database>,
  actor: Actor,
  id: string,
  version?: number,
  options: { self?: boolean } = {},
) {
  const user = await lockUser(tx, actor.organizationId, id);
  if (!user) throw notFound();
  assertMayManageUser(actor, user, options);
  if (version !== undefined && version !== user.version) throw staleVersion();
  return user;
}

/** The account, of the organization and within the actor's scope (another account is NOT_FOUND to an account administrator). */
export async function assertAccountInOrganization(db: Db, actor: Actor, accountId: string) {
  assertAccountInScope(actor, accountId);
  const account = await findAccountKind(db, actor.organizationId, accountId);
  if (!account) throw appError('NOT_FOUND', 'No such account.');
  return account;
}

export type CreateUserInput = {
  accountId: string;
  email: string;
  firstName: string;
  lastName: string;
  /** Hashed before the transaction opens, so no lock waits on argon2. */
  passwordHash: string | null;
  role?: Role | undefined;
};

/** Hashes an optional password (on the thread pool, taking turns with other callers by `caller`). */
export const hashOptional = (password: string | undefined, caller?: string) =>
  password ? hashPassword(password, caller) : Promise.resolve(null);

/** Inserts one user with its audit row; runs inside the caller's transaction. */
export async function createUserIn(
  tx: Transaction<Database>,
  actor: Actor,
  input: CreateUserInput,
  account: { isDefault: boolean },
  mail: MailConfig,
  /** False for a user created deactivated (SCIM `active: false`): no invitation until an administrator resends one. */
  invite = true,
): Promise<UserOutput> {
  const role = input.role ?? 'user';
  if (role !== 'user' && (actor.role !== 'admin' || accountScopeOf(actor) !== undefined)) {
    throw appError('OUTSIDE_DELEGATION', 'Not allowed: only organization administrators give roles.');
  }
  if (role === 'admin' && !account.isDefault) {
    throw appError('ADMIN_OUTSIDE_DEFAULT_ACCOUNT', 'Administrators belong to the default account; add them there.');
  }
  const user = await insertUser(tx, {
    organizationId: actor.organizationId,
    accountId: input.accountId,
    email: input.email,
    firstName: input.firstName,
    lastName: input.lastName,
    role,
    passwordHash: input.passwordHash,
  });
  await recordAudit(tx, {
    actor,
    action: 'user.created',
    targetType: 'user',
    targetId: user.id,
    targetLabel: label(user),
    after: {
      email: user.email,
      firstName: user.firstName,
      lastName: user.lastName,
      role: user.role,
      accountId: user.accountId,
      passwordSet: input.passwordHash !== null,
    },
  });
  // Without a password the user is invited: they choose one through the mailed link.
  if (input.passwordHash !== null || !invite) return user;
  const invited = await inviteUsers(tx, actor, mail, [user]);
  const expiresAt = invited.get(user.id) ?? null;
  return { ...user, invited: expiresAt !== null, invitationExpiresAt: expiresAt };
}

export async function createUser(
  db: Db,
  actor: Actor,
  input: Omit<CreateUserInput, 'passwordHash'> & {
    password?: string | undefined;
    sendInvitation?: boolean | undefined;
  },
  mail: MailConfig,
): Promise<UserOutput> {
  assertNotCommonPassword(input.password, ['password']);
  const passwordHash = await hashOptional(input.password);
  return db.transaction().execute(async (tx) => {
    const account = await assertAccountInOrganization(tx, actor, input.accountId);
    const { sendInvitation, ...values } = input;
    return createUserIn(tx, actor, { ...values, passwordHash }, account, mail, sendInvitation ?? true).catch(
      (error: unknown) => {
        throw emailTakenAt(error, ['email']);
      },
    );
  });
}

export async function updateUser(
  db: Db,
  actor: Actor,
  input: { id: string; firstName?: string; lastName?: string; email?: string; version?: number },
  mail: MailConfig,
): Promise<UserOutput> {
  return db.transaction().execute(async (tx) => {
    // Account administrators edit their own profile as anyone's they manage.
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, input.id, input.version, { self: true });
    const changes = diff(user, { firstName: input.firstName, lastName: input.lastName, email: input.email });
    if (!changes) return user;
    const updated = await updateUserRow(tx, actor.organizationId, user.id, changes.after).catch((error: unknown) => {
      throw emailTakenAt(error, ['email']);
    });
    await recordAudit(tx, {
      actor,
      action: 'user.updated',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(updated),
      ...changes,
    });
    if (updated.email !== user.email) {
      await afterEmailChange(tx, actor, mail, user.email, updated);
      return (await findUserById(tx, actor.organizationId, user.id)) ?? updated;
    }
    return updated;
  });
}

export async function setActive(
  db: Db,
  actor: Actor,
  input: { id: string; active: boolean; version?: number },
): Promise<UserOutput> {
  return db.transaction().execute(async (tx) => {
    if (!input.active) {
      refuseSelf(actor, input.id, 'deactivate');
      await lockOrganization(tx, actor.organizationId);
    }
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, input.id, input.version);
    if (user.active === input.active) return user;
    if (!input.active) {
      await assertAnotherAdminRemains(tx, actor, user, 'deactivate');
      // A deactivated user is out at once: their sessions end with this transaction,
      // and their keys are revoked for good (reactivating does not bring them back).
      await endSessions(tx, user.id);
      await revokeKeysOf(tx, actor, user, 'user_deactivated');
    }
    const updated = await updateUserRow(tx, actor.organizationId, user.id, { active: input.active });
    await recordAudit(tx, {
      actor,
      action: input.active ? 'user.reactivated' : 'user.deactivated',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(user),
      before: { active: user.active },
      after: { active: input.active },
    });
    return updated;
  });
}

export async function deleteUser(db: Db, actor: Actor, id: string): Promise<UserOutput> {
  refuseSelf(actor, id, 'delete');
  return db.transaction().execute(async (tx) => {
    await lockOrganization(tx, actor.organizationId);
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, id);
    await assertAnotherAdminRemains(tx, actor, user, 'delete');
    await deleteUserRow(tx, actor.organizationId, user.id);
    await recordAudit(tx, {
      actor,
      action: 'user.deleted',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(user),
      // The row is gone: its snapshots come from what was read before.
      targetEmail: user.email,
      targetName: auditName(user),
      accountId: user.accountId,
      before: {
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        role: user.role,
        active: user.active,
        accountId: user.accountId,
      },
    });
    return user;
  });
}

/**
 * Gives a user a role (organization administrators only, audited): the
 * organization's administrators live in the default account, account
 * administrators and auditors in any. Nobody takes their own administrator
 * role away, and the last active administrator keeps theirs.
 */
export async function setRole(db: Db, actor: Actor, input: { id: string; role: Role }): Promise<UserOutput> {
  if (input.role !== 'admin') refuseSelf(actor, input.id, 'demote');
  return db.transaction().execute(async (tx) => {
    await lockOrganization(tx, actor.organizationId);
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, input.id);
    if (user.role === input.role) return user;
    if (input.role === 'admin') {
      const account = await assertAccountInOrganization(tx, actor, user.accountId);
      if (!account.isDefault) {
        throw appError('ADMIN_OUTSIDE_DEFAULT_ACCOUNT', 'Only users of the default account can be administrators.');
      }
    } else {
      await assertAnotherAdminRemains(tx, actor, user, 'demote');
    }
    const updated = await updateUserRow(tx, actor.organizationId, user.id, { role: input.role });
    await recordAudit(tx, {
      actor,
      action: 'user.role_changed',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(user),
      before: { role: user.role },
      after: { role: input.role },
    });
    return updated;
  });
}

/**
 * Sets another user's password. Never one's own, with a session or a key: that
 * is auth.changePassword, which asks for the current password (so a stolen
 * session or key cannot take the account over).
 */
export async function setPassword(db: Db, actor: Actor, input: { id: string; password: string }): Promise<UserOutput> {
  if (actor.id === input.id) {
    throw appError(
      'SELF_ACTION',
      'You cannot set your own password here: use auth.changePassword (Change password on your profile), which asks for your current password.',
    );
  }
  // A key is for scripts: a stolen one must not take over anyone's sign-in.
  if (actor.via === 'apiKey') {
    throw appError(
      'NOT_WITH_API_KEY',
      'Not allowed with an API key: set passwords while signed in (in the console, or with roster users set-password --email YOUR_EMAIL).',
    );
  }
  assertNotCommonPassword(input.password, ['password']);
  const passwordHash = await hashPassword(input.password);
  return db.transaction().execute(async (tx) => {
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, input.id);
    await setPasswordHash(tx, actor.organizationId, user.id, passwordHash);
    // Whoever knew the old password is signed out everywhere, and mailed links (an invitation, a reset) stop working.
    await endSessions(tx, user.id);
    await revokeOpenLinks(tx, actor.organizationId, user.id);
    await recordAudit(tx, {
      actor,
      action: 'user.password_set',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(user),
    });
    return { ...user, hasPassword: true, invited: false, invitationExpiresAt: null };
  });
}

/**
 * Moves a user to another account of the organization. Administrators live in
 * the default account, so they cannot be moved out of it (make them a user
 * first). Moving a user to the account they are in changes (and audits) nothing.
 */
export async function moveUser(
  db: Db,
  actor: Actor,
  input: { id: string; accountId: string; version: number },
): Promise<UserOutput> {
  return db.transaction().execute(async (tx) => {
    const { passwordHash: _, ...user } = await loadForChange(tx, actor, input.id, input.version);
    const account = await assertAccountInOrganization(tx, actor, input.accountId);
    if (user.accountId === account.id) return user;
    if (user.role === 'admin' && !account.isDefault) {
      throw appError(
        'ADMIN_OUTSIDE_DEFAULT_ACCOUNT',
        'Administrators belong to the default account: make them a user first, then move them.',
      );
    }
    const moved = await moveUserRow(tx, actor.organizationId, user.id, account.id);
    await recordAudit(tx, {
      actor,
      action: 'user.moved',
      targetType: 'user',
      targetId: user.id,
      targetLabel: label(user),
      before: { accountId: user.accountId },
      after: { accountId: account.id },
    });
    return moved;
  });
}

/** What users.deactivate would end for this user, for its confirmation: live sessions and working API keys. */
export async function deactivationPreview(
  db: Db,
  actor: Actor,
  id: string,
  idleTimeoutMs: number,
): Promise<{ sessions: number; apiKeys: number }> {
  const user = await findUserById(db, actor.organizationId, id);
  if (!user) throw notFound();
  assertUserInScope(actor, user);
  return countWhatDeactivationEnds(db, user.id, idleTimeoutMs);
}
