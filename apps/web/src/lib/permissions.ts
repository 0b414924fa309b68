import type { User } from '../trpc';

// What the signed-in person may do, so the console offers only what the server
// would allow (packages/api/src/core/access.ts decides; this mirrors it, and
// the server refuses anyway). An organization administrator does everything;
// an auditor reads everything and changes nothing; an account administrator
// reads and manages the plain users of their own account; a plain user has
// their profile.

type Role = User['role'];
type Person = Pick<User, 'id' | 'role' | 'accountId'>;

/** The badge's class for a role: the roles with rights stand out. */
export const roleBadgeClass = (role: Role) =>
  role === 'admin'
    ? 'badge badge-role badge-purple'
    : role === 'user'
      ? 'badge badge-role'
      : 'badge badge-role badge-blue';

/** A role in a table's narrow column (the full name is the badge's title). */
export const roleShortLabel = (role: Role) =>
  ({ admin: 'Administrator', account_admin: 'Account admin', auditor: 'Auditor', user: 'User' })[role];

export type Permissions = {
  /** Any of the administration pages (users, accounts). */
  administers: boolean;
  /** The whole organization: Security Settings, the audit log, every account. */
  readsOrganization: boolean;
  /** Organization-wide changes: accounts, roles, moves, provisioning. */
  isOrgAdmin: boolean;
  /** The one account an account administrator is limited to. */
  scopeAccountId: string | null;
  /** Adding, importing and bulk-changing users of this account. */
  managesAccount(accountId: string): boolean;
  /** Editing, deactivating, deleting, setting the password of, unlocking this user. */
  managesUser(user: Person): boolean;
};

export function permissionsOf(me: Person): Permissions {
  const isOrgAdmin = me.role === 'admin';
  const isAccountAdmin = me.role === 'account_admin';
  return {
    administers: me.role !== 'user',
    readsOrganization: isOrgAdmin || me.role === 'auditor',
    isOrgAdmin,
    scopeAccountId: isAccountAdmin ? me.accountId : null,
    managesAccount: (accountId) => isOrgAdmin || (isAccountAdmin && accountId === me.accountId),
    managesUser: (user) =>
      isOrgAdmin || (isAccountAdmin && user.accountId === me.accountId && (user.role === 'user' || user.id === me.id)),
  };
}

/** Where the signed-in person starts. */
export function homeOf(
  me: Person,
): { to: '/security/accounts' | '/profile' } | { to: '/accounts/$accountId'; params: { accountId: string } } {
  if (me.role === 'admin' || me.role === 'auditor') return { to: '/security/accounts' };
  if (me.role === 'account_admin') return { to: '/accounts/$accountId', params: { accountId: me.accountId } };
  return { to: '/profile' };
}
