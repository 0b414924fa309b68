import type { Role } from '@roster/db';
import { appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';

// Who may call what. Every procedure declares one access rule with the
// procedure (trpc.ts: each builder sets `meta.access`, and one middleware
// enforces it); a procedure without a rule is refused to everyone, and a test
// fails for it (authorization-matrix.test.ts).
//
// The rules name roles. An account administrator's rules are further limited to
// their own account, in the query itself: `accountScopeOf(actor)` is the
// account predicate every search, export, bulk selection and import adds, and
// `assertUserInScope` / `assertMayManageUser` check single users.
//
// Outside their scope an account administrator gets NOT_FOUND for objects (a
// user, account, import or bulk action of another account is not there for
// them, as another organization's is not) and FORBIDDEN for actions (an action
// the role never has, or one on a user they can see but may not manage: an
// administrator, an auditor, another account administrator).

/** Every access rule, with the roles it admits (null: anyone, signed in or not). */
export const accessRules = {
  /** Anyone, signed in or not. */
  public: null,
  /** Any active signed-in user, acting on what is their own (the service decides the rest). */
  signedIn: ['admin', 'account_admin', 'auditor', 'user'],
  /** Organization administrators only. */
  orgAdmin: ['admin'],
  /** Organization administrators and auditors: reads of the whole organization. */
  orgRead: ['admin', 'auditor'],
  /** Reads of users and accounts: administrators and auditors (the whole organization), account administrators (their account). */
  accountRead: ['admin', 'auditor', 'account_admin'],
  /** Changes to users: administrators (the whole organization), account administrators (the plain users of their account). */
  accountManage: ['admin', 'account_admin'],
} as const satisfies Record<string, readonly Role[] | null>;

export type Access = keyof typeof accessRules;

/** What every procedure's `.meta()` holds. */
export type ProcedureMeta = { access: Access };

export const isAccess = (value: unknown): value is Access =>
  typeof value === 'string' && Object.hasOwn(accessRules, value);

/** The refusal of a role a rule does not admit: FORBIDDEN, with the reason that tells the caller why. */
export function refusalOf(role: Role, access: Access) {
  if (role === 'auditor') return appError('READ_ONLY', 'Not allowed: auditors read, they change nothing.');
  if (role === 'account_admin' && access !== 'signedIn') {
    return appError(
      'OUTSIDE_DELEGATION',
      'Not allowed: account administrators manage the users of their own account; ask an organization administrator.',
    );
  }
  return appError('NOT_ADMIN', 'Not allowed: account management is for administrators.');
}

/** Refuses (FORBIDDEN) an actor whose role the rule does not admit. */
export function assertAccess(actor: Pick<Actor, 'role'>, access: Access): void {
  const roles: readonly Role[] | null = accessRules[access];
  if (roles !== null && !roles.includes(actor.role)) throw refusalOf(actor.role, access);
}

/**
 * The one account an actor's reads and changes are limited to, or undefined
 * for the whole organization. Queries add `account_id = <this>` when it is set.
 */
export function accountScopeOf(actor: Pick<Actor, 'role' | 'accountId'>): string | undefined {
  return actor.role === 'account_admin' ? actor.accountId : undefined;
}

/** An account outside the actor's scope is not there for them (NOT_FOUND), as another organization's is not. */
export function assertAccountInScope(actor: Pick<Actor, 'role' | 'accountId'>, accountId: string): void {
  const scope = accountScopeOf(actor);
  if (scope !== undefined && scope !== accountId) throw appError('NOT_FOUND', 'No such account.');
}

/** A user outside the actor's scope is not there for them (NOT_FOUND). */
export function assertUserInScope(actor: Pick<Actor, 'role' | 'accountId'>, user: { accountId: string }): void {
  const scope = accountScopeOf(actor);
  if (scope !== undefined && scope !== user.accountId) throw appError('NOT_FOUND', 'No such user.');
}

/**
 * May the actor change this user? Organization administrators: anyone of their
 * organization (the services' own rules aside). Account administrators: only
 * the plain users of their account (another account's: NOT_FOUND; an
 * administrator, an auditor or another account administrator of theirs:
 * FORBIDDEN, since setting their password, say, would take their rights), and
 * themselves only where `self` allows it (their own profile, their own sessions).
 */
export function assertMayManageUser(
  actor: Pick<Actor, 'id' | 'role' | 'accountId'>,
  user: { id: string; accountId: string; role: Role },
  options: { self?: boolean } = {},
): void {
  assertUserInScope(actor, user);
  if (actor.role !== 'account_admin') return;
  if (user.id === actor.id && options.self) return;
  if (user.role !== 'user') {
    throw appError(
      'OUTSIDE_DELEGATION',
      user.id === actor.id
        ? 'Not allowed: account administrators cannot do this to themselves; ask an organization administrator.'
        : 'Not allowed: account administrators manage plain users only; ask an organization administrator.',
    );
  }
}

/**
 * A users filter within the actor's scope: an account administrator's is their
 * account (the query then says `account_id = <it>`); naming another account is NOT_FOUND.
 */
export function scopedFilter<F extends { accountId?: string | undefined }>(
  actor: Pick<Actor, 'role' | 'accountId'>,
  filter: F,
): F {
  const scope = accountScopeOf(actor);
  if (scope === undefined) return filter;
  if (filter.accountId !== undefined) assertAccountInScope(actor, filter.accountId);
  return { ...filter, accountId: scope };
}
