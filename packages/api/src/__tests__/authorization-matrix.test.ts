import { type inferRouterInputs, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { isAccess } from '../core/access.js';
import { type AppRouter, appRouter } from '../root.js';
import {
  callerAs,
  callerWithKey,
  callerWithToken,
  createTestOrg,
  mailedResetTokenOf,
  mailedTokenOf,
  type TestOrg,
  testDb,
  testPassword,
  uniqueEmail,
} from '../test/index.js';

/**
 * Who may call what: every procedure of the router, against every kind of
 * caller, signed in and with an API key of their own. A procedure added to the
 * router without a row here fails this file (and its types); one whose access
 * rule is not declared with it (its meta) fails it too.
 */

type Outcome = 'ok' | 'null' | TRPCError['code'];

/** Callers with a session (or none). */
const sessionPersonas = [
  'anonymous',
  /** An organization administrator, signed in (and holding a key) before being deactivated. */
  'deactivated',
  /** A plain user of the default account. */
  'plainUser',
  /** An account administrator of the account `accountId` (where the targets live). */
  'accountAdmin',
  /** An account administrator of another account of the same organization. */
  'otherAccountAdmin',
  /** An auditor (of another account than the default one: an auditor reads the whole organization from any). */
  'auditor',
  /** The administrator of another organization. */
  'otherOrgAdmin',
  /** An administrator of the organization. */
  'admin',
] as const;
type SessionPersona = (typeof sessionPersonas)[number];
/** The same callers with an API key of their own (`Authorization: Bearer`): anonymous has none. */
const keyPersonas = [
  'deactivatedKey',
  'plainUserKey',
  'accountAdminKey',
  'otherAccountAdminKey',
  'auditorKey',
  'otherOrgAdminKey',
  'adminKey',
] as const;
type KeyPersona = (typeof keyPersonas)[number];
type Persona = SessionPersona | KeyPersona;
const personas: readonly Persona[] = [...sessionPersonas, ...keyPersonas];

/** Outcomes in the order of `sessionPersonas`. */
type Outcomes = readonly [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome];

/** Everything a row's inputs may point at: ids of the organization under test. */
type World = {
  org: TestOrg;
  /** A non-default account: the account administrator's, with the targets. */
  accountId: string;
  /** A plain user of that account. */
  userId: string;
  /** A plain user of the default account (can be promoted). */
  defaultUserId: string;
  /** A deactivated plain user of `accountId` (can be reactivated). */
  inactiveUserId: string;
  /** A user whose password is `testPassword`, to sign in as. */
  signInEmail: string;
  /** An API key of the plain user `userId`. */
  apiKeyId: string;
  /** A SCIM connection to the account `accountId`. */
  scimConnectionId: string;
  /** A CSV import into `accountId` (one user to create), previewed by the administrator. */
  importId: string;
  /** A bulk action of the administrator (ending `userId`'s sessions). */
  bulkOperationId: string;
  /** The mailed invitation link's token of `userId` (created without a password: invited). */
  invitationToken: string;
  /** The token of another invited user of `accountId`, for the one caller per world who accepts it. */
  acceptToken: string;
  /** A mailed reset link's token of a user of `accountId` (only built for auth.resetPassword's row). */
  resetToken: string;
};

type Inputs = inferRouterInputs<AppRouter>;
type ScimInputs = Inputs['scim']['connections'];
type ProcedurePath =
  | {
      [R in Exclude<keyof Inputs, 'scim'>]: { [P in keyof Inputs[R]]: `${R & string}.${P & string}` }[keyof Inputs[R]];
    }[Exclude<keyof Inputs, 'scim'>]
  // The one nested router: scim.connections.*
  | { [P in keyof ScimInputs]: `scim.connections.${P & string}` }[keyof ScimInputs];
type InputOf<Path> = Path extends `scim.connections.${infer P extends keyof ScimInputs}`
  ? ScimInputs[P]
  : Path extends `${infer R extends keyof Inputs}.${infer P}`
    ? P extends keyof Inputs[R]
      ? Inputs[R][P]
      : never
    : never;
type Row<P> = {
  input: (w: World) => InputOf<P>;
  /** Signed in (in the order of `sessionPersonas`). */
  expect: Outcomes;
  /**
   * With a key: what the same caller gets signed in, unless said here (a
   * deactivated user's keys were revoked with them: UNAUTHORIZED).
   */
  keys?: Partial<Record<KeyPersona, Outcome>>;
  /** A change that may succeed several times in one organization (it changes only the caller's own things). */
  repeatable?: true;
};

const U = 'UNAUTHORIZED';
const F = 'FORBIDDEN';
const N = 'NOT_FOUND';
// In the order: anonymous, deactivated, plainUser, accountAdmin, otherAccountAdmin, auditor, otherOrgAdmin, admin.
/** Organization administrators only, on ids of this organization. */
const orgAdminOnIds: Outcomes = [U, U, F, F, F, F, N, 'ok'];
/** Organization administrators only, without ids of this organization: another organization's works in its own. */
const orgAdminInOwnOrg: Outcomes = [U, U, F, F, F, F, 'ok', 'ok'];
/** Administrators and auditors, reading the whole organization. */
const orgReadInOwnOrg: Outcomes = [U, U, F, F, F, 'ok', 'ok', 'ok'];
/** Reads of an object of the account `accountId`: its account administrator too; another account's finds nothing. */
const accountReadOnIds: Outcomes = [U, U, F, 'ok', N, 'ok', N, 'ok'];
/** Reads without ids: everyone who reads users, each in their scope. */
const accountReadInOwnOrg: Outcomes = [U, U, F, 'ok', 'ok', 'ok', 'ok', 'ok'];
/** Changes to a plain user of `accountId`: its account administrator too; auditors change nothing. */
const accountManageOnIds: Outcomes = [U, U, F, 'ok', N, F, N, 'ok'];
/** Sessions are the console's: a key never signs in or out. */
const noKeys: Partial<Record<KeyPersona, Outcome>> = Object.fromEntries(keyPersonas.map((key) => [key, F]));
/** Passwords and keys are made while signed in: with a key, FORBIDDEN (a revoked key aside). */
const noKeysSignedIn: Partial<Record<KeyPersona, Outcome>> = { ...noKeys, deactivatedKey: U };

const matrix: { [P in ProcedurePath]: Row<P> } = {
  'auth.login': {
    input: (w) => ({ email: w.signInEmail, password: testPassword }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
    repeatable: true,
  },
  'auth.logout': {
    input: () => undefined,
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
    repeatable: true,
  },
  'auth.me': { input: () => undefined, expect: ['null', 'null', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'] },
  'auth.changePassword': {
    input: () => ({ currentPassword: testPassword, newPassword: 'a new password' }),
    expect: [U, U, 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeysSignedIn,
    repeatable: true,
  },
  // Public: whoever holds the link (the token is the credential), signed in or not; console flows, so no keys.
  'auth.invitation': {
    input: (w) => ({ token: w.invitationToken }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
    repeatable: true,
  },
  // Each caller who succeeds has a world (and an invitation) of their own: a link works once.
  'auth.acceptInvitation': {
    input: (w) => ({ token: w.acceptToken, password: 'a chosen password' }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
  },
  // Public, and the same answer for every email: anyone may ask.
  'auth.requestPasswordReset': {
    input: (w) => ({ email: w.signInEmail }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
    repeatable: true,
  },
  'auth.resetPassword': {
    input: (w) => ({ token: w.resetToken, password: 'a reset password' }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeys,
  },
  'accounts.list': { input: () => ({}), expect: accountReadInOwnOrg },
  'accounts.get': { input: (w) => ({ id: w.accountId }), expect: accountReadOnIds },
  // Ids outside the caller's scope find nothing (an empty list; delegated-access.test.ts checks it).
  'accounts.names': { input: (w) => ({ ids: [w.accountId] }), expect: accountReadInOwnOrg },
  'accounts.create': {
    input: () => ({ name: 'Matrix', users: [{ email: uniqueEmail(), firstName: 'Ann', lastName: 'Lee' }] }),
    expect: orgAdminInOwnOrg,
  },
  'accounts.update': { input: (w) => ({ id: w.accountId, name: 'Renamed' }), expect: orgAdminOnIds },
  'accounts.delete': { input: (w) => ({ id: w.accountId }), expect: orgAdminOnIds },
  'users.list': { input: (w) => ({ accountId: w.accountId }), expect: accountReadOnIds },
  // Another organization's admin finds nobody there (an empty page); another account's administrator is refused it.
  'users.search': { input: (w) => ({ accountId: w.accountId }), expect: [U, U, F, 'ok', N, 'ok', 'ok', 'ok'] },
  'users.get': { input: (w) => ({ id: w.userId }), expect: accountReadOnIds },
  'users.create': {
    input: (w) => ({ accountId: w.accountId, email: uniqueEmail(), firstName: 'New', lastName: 'User' }),
    expect: accountManageOnIds,
  },
  'users.update': { input: (w) => ({ id: w.userId, firstName: 'Changed' }), expect: accountManageOnIds },
  'users.setPassword': {
    input: (w) => ({ id: w.userId, password: 'another password' }),
    expect: accountManageOnIds,
    keys: noKeysSignedIn,
  },
  'users.deactivate': { input: (w) => ({ id: w.userId }), expect: accountManageOnIds },
  'users.reactivate': { input: (w) => ({ id: w.inactiveUserId }), expect: accountManageOnIds },
  'users.delete': { input: (w) => ({ id: w.userId }), expect: accountManageOnIds },
  'users.setRole': { input: (w) => ({ id: w.defaultUserId, role: 'admin' }), expect: orgAdminOnIds },
  // `userId` was created without a password: invited.
  'users.resendInvitation': { input: (w) => ({ id: w.userId }), expect: accountManageOnIds },
  'users.cancelInvitation': { input: (w) => ({ id: w.userId }), expect: accountManageOnIds },
  'users.unlock': { input: (w) => ({ id: w.userId }), expect: accountManageOnIds },
  'users.sessions': { input: (w) => ({ id: w.userId }), expect: accountReadOnIds },
  'users.endSessions': { input: (w) => ({ id: w.userId, revokeApiKeys: true }), expect: accountManageOnIds },
  'users.deactivationPreview': { input: (w) => ({ id: w.userId }), expect: accountReadOnIds },
  // A fresh user is at version 1.
  'users.move': { input: (w) => ({ id: w.defaultUserId, accountId: w.accountId, version: 1 }), expect: orgAdminOnIds },
  // A preview by ids: whoever may not see them selects nobody (their ids are "not found"), and learns nothing.
  'users.bulk': {
    input: (w) => ({ selection: { ids: [w.userId] }, action: 'deactivate', dryRun: true }),
    expect: [U, U, F, 'ok', 'ok', F, 'ok', 'ok'],
  },
  // The administrator's operation: an account administrator sees only those started within their account.
  'users.bulkStatus': { input: (w) => ({ id: w.bulkOperationId }), expect: [U, U, F, N, N, 'ok', N, 'ok'] },
  'users.bulkList': { input: () => ({}), expect: accountReadInOwnOrg },
  // Every filter at once; another organization's admin finds nothing of this one (an empty page).
  'audit.list': {
    input: (w) => ({
      userId: w.userId,
      email: w.signInEmail,
      query: 'a',
      action: 'user.created',
      accountId: w.accountId,
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 3_600_000),
    }),
    expect: orgReadInOwnOrg,
  },
  // Anyone signed in holds keys of their own (made while signed in, never with a key).
  'apiKeys.create': {
    input: () => ({ name: 'Matrix key' }),
    expect: [U, U, 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    keys: noKeysSignedIn,
    repeatable: true,
  },
  'apiKeys.list': { input: (w) => ({ userId: w.userId }), expect: [U, U, F, 'ok', N, 'ok', N, 'ok'] },
  // Another user's key is NOT_FOUND to a plain user, as a missing one is: nothing to probe. An auditor sees it, changes nothing.
  'apiKeys.revoke': { input: (w) => ({ id: w.apiKeyId }), expect: [U, U, N, 'ok', N, F, N, 'ok'] },
  'scim.connections.create': { input: (w) => ({ accountId: w.accountId, name: 'Okta' }), expect: orgAdminOnIds },
  'scim.connections.list': { input: () => ({}), expect: orgReadInOwnOrg },
  'scim.connections.revoke': { input: (w) => ({ id: w.scimConnectionId }), expect: orgAdminOnIds },
  // The plain user was created in the console, by no connection: null.
  'scim.connections.get': { input: (w) => ({ userId: w.userId }), expect: [U, U, F, F, F, 'null', N, 'null'] },
  'imports.get': { input: (w) => ({ id: w.importId }), expect: accountReadOnIds },
  'imports.rows': { input: (w) => ({ id: w.importId }), expect: accountReadOnIds },
  // Previewed by the administrator: its account's administrator sees it, but applies only previews of their own.
  'imports.commit': { input: (w) => ({ id: w.importId }), expect: [U, U, F, F, N, F, N, 'ok'] },
};

/** What the persona is expected to get for the row. */
function expectedOf(row: Row<unknown>, persona: Persona): Outcome {
  const index = sessionPersonas.indexOf(persona as SessionPersona);
  if (index >= 0) return row.expect[index] as Outcome;
  const key = persona as KeyPersona;
  const override = row.keys?.[key];
  if (override) return override;
  if (key === 'deactivatedKey') return U;
  return row.expect[sessionPersonas.indexOf(key.replace(/Key$/, '') as SessionPersona)] as Outcome;
}

type Caller = ReturnType<typeof callerWithToken>;

const userKeys =
  'accountId active createdAt email firstName hasPassword id invitationExpiresAt invited lastLoginAt lastName lockedUntil role updatedAt version'.split(
    ' ',
  );
const accountKeys = 'createdAt description id isDefault name updatedAt userCount'.split(' ');

/**
 * Whatever a procedure returns: a user has exactly the documented keys, an
 * account too, and no secret appears anywhere (audit `changes` hold field values,
 * not entities, and are checked in audit.test.ts).
 */
function expectDocumentedShapes(value: unknown, where: string): void {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) expectDocumentedShapes(item, `${where}[${index}]`);
    return;
  }
  if (!value || typeof value !== 'object' || value instanceof Date) return;
  const keys = Object.keys(value).sort();
  expect(keys, where).not.toContain('passwordHash');
  expect(keys, where).not.toContain('tokenHash');
  if (keys.includes('email') && keys.includes('accountId')) expect(keys, `${where} is a user`).toEqual(userKeys);
  if (keys.includes('isDefault')) expect(keys, `${where} is an account`).toEqual(accountKeys);
  for (const [key, child] of Object.entries(value)) {
    if (key !== 'changes') expectDocumentedShapes(child, `${where}.${key}`);
  }
}

function callPath(caller: Caller, path: string, input: unknown): Promise<unknown> {
  const procedure = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller);
  return (procedure as (input: unknown) => Promise<unknown>)(input);
}

async function outcomeOf(call: Promise<unknown>): Promise<{ outcome: Outcome; value?: unknown }> {
  try {
    const value = await call;
    return { outcome: value === null ? 'null' : 'ok', value };
  } catch (error) {
    // AppError (the catalog's errors) is a TRPCError named 'AppError': test the class, not the name.
    if (error instanceof TRPCError) {
      return { outcome: error.code };
    }
    throw error;
  }
}

/** A caller with a key of the user: made while signed in, as keys are. */
async function keyCallerOf(db: Awaited<ReturnType<typeof testDb>>, session: Caller) {
  const { secret } = await session.apiKeys.create({ name: 'Matrix persona' });
  return callerWithKey(db, secret);
}

/** A fresh organization per row (and per successful change), so one call never decides another's outcome. */
async function buildWorld(path: string) {
  const db = await testDb();
  const org = await createTestOrg(db, 'Matrix Org');
  const other = await createTestOrg(db, 'Other Org');
  const account = await org.addAccount();
  const account2 = await org.addAccount();
  const user = await org.addUser({ accountId: account.id, invite: true });
  const defaultUser = await org.addUser();
  const signInUser = await org.addUser({ canSignIn: true });
  const inactiveTarget = await org.addUser({ accountId: account.id });
  await org.admin.users.deactivate({ id: inactiveTarget.id });
  const inactive = await org.addUser({ role: 'admin' });
  const inactiveCaller = await callerAs(db, inactive.id);
  const inactiveKey = await keyCallerOf(db, inactiveCaller);
  await org.admin.users.deactivate({ id: inactive.id });
  const plain = await org.addUser({ canSignIn: true });
  const accountAdmin = await org.addUser({ accountId: account.id, role: 'account_admin', canSignIn: true });
  const otherAccountAdmin = await org.addUser({ accountId: account2.id, role: 'account_admin', canSignIn: true });
  const auditor = await org.addUser({ accountId: account2.id, role: 'auditor', canSignIn: true });
  const { apiKey } = await (await callerAs(db, user.id)).apiKeys.create({ name: 'Script' });
  const { connection } = await org.admin.scim.connections.create({ accountId: account.id, name: 'Identity provider' });

  const importPreview = await org.previewImport(
    `email,first name,last name\n${uniqueEmail()},Imported,User\n`,
    account.id,
  );
  const bulkInput = { selection: { ids: [user.id] }, action: 'end_sessions' as const };
  const { preview } = await org.admin.users.bulk({ ...bulkInput, dryRun: true });
  const { operation } = await org.admin.users.bulk({
    ...bulkInput,
    dryRun: false,
    previewToken: preview?.previewToken ?? '',
  });

  const world: World = {
    org,
    accountId: account.id,
    userId: user.id,
    defaultUserId: defaultUser.id,
    inactiveUserId: inactiveTarget.id,
    signInEmail: signInUser.email,
    apiKeyId: apiKey.id,
    scimConnectionId: connection.id,
    importId: importPreview.id,
    bulkOperationId: operation?.id ?? '',
    invitationToken: await mailedTokenOf(db, user.id),
    acceptToken:
      path === 'auth.acceptInvitation'
        ? await mailedTokenOf(db, (await org.addUser({ accountId: account.id, invite: true })).id)
        : '',
    resetToken:
      path === 'auth.resetPassword'
        ? await mailedResetTokenOf(db, await org.addUser({ accountId: account.id, canSignIn: true }))
        : '',
  };
  const sessions = {
    plainUser: await callerAs(db, plain.id),
    accountAdmin: await callerAs(db, accountAdmin.id),
    otherAccountAdmin: await callerAs(db, otherAccountAdmin.id),
    auditor: await callerAs(db, auditor.id),
    otherOrgAdmin: other.admin,
    admin: org.admin,
  };
  const callers: Record<Persona, Caller> = {
    anonymous: callerWithToken(db, null),
    deactivated: inactiveCaller,
    ...sessions,
    deactivatedKey: inactiveKey,
    plainUserKey: await keyCallerOf(db, sessions.plainUser),
    accountAdminKey: await keyCallerOf(db, sessions.accountAdmin),
    otherAccountAdminKey: await keyCallerOf(db, sessions.otherAccountAdmin),
    auditorKey: await keyCallerOf(db, sessions.auditor),
    otherOrgAdminKey: await keyCallerOf(db, sessions.otherOrgAdmin),
    adminKey: await keyCallerOf(db, sessions.admin),
  };
  const orgSecrets = [org.organizationId, org.defaultAccountId, org.adminId, account.id, user.id, defaultUser.id];
  /** What another account's administrator must never be shown of the account `accountId`. */
  const accountSecrets = [account.id, user.id, inactiveTarget.id, accountAdmin.id];
  return { world, callers, orgSecrets, accountSecrets };
}

/** The router's procedures by path, with what tRPC keeps of each: its type and meta. */
const procedureDefs = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { type: string; meta?: { access?: unknown } } }
>;

const succeeds = (outcome: Outcome) => outcome === 'ok' || outcome === 'null';

describe('authorization matrix', () => {
  const procedures = Object.keys(appRouter._def.procedures);

  it('covers the whole router', () => {
    expect(procedures.length).toBeGreaterThanOrEqual(20);
    const stale = Object.keys(matrix).filter((path) => !procedures.includes(path));
    expect(stale, 'rows for procedures that no longer exist').toEqual([]);
  });

  it('every procedure declares its access rule with it', () => {
    const undeclared = procedures.filter((path) => !isAccess(procedureDefs[path]?._def.meta?.access));
    expect(undeclared).toEqual([]);
  });

  it.each(procedures)('%s', async (path) => {
    const row = (matrix as Record<string, Row<unknown> | undefined>)[path];
    if (!row) expect.fail(`add an entry for ${path} to the authorization matrix`);
    // A change that succeeds gets an organization of its own: it may delete or change the target.
    const isolate = procedureDefs[path]?._def.type === 'mutation' && !row.repeatable;
    let built = await buildWorld(path);
    let fresh = true;

    const actual: Record<string, Outcome> = {};
    const expected: Record<string, Outcome> = {};
    // Those refused first, on one organization; then each who succeeds.
    const ordered = [
      ...personas.filter((p) => !succeeds(expectedOf(row, p))),
      ...personas.filter((p) => succeeds(expectedOf(row, p))),
    ];
    for (const persona of ordered) {
      if (isolate && succeeds(expectedOf(row, persona))) {
        if (!fresh) built = await buildWorld(path);
        fresh = false;
      }
      const { world, callers, orgSecrets, accountSecrets } = built;
      const { outcome, value } = await outcomeOf(callPath(callers[persona], path, row.input(world)));
      actual[persona] = outcome;
      expected[persona] = expectedOf(row, persona);
      expectDocumentedShapes(value, `${path} as ${persona}`);
      expect(JSON.stringify(value ?? null)).not.toContain('$argon2');
      if (outcome !== 'ok' || path.startsWith('auth.')) continue;
      const seen = JSON.stringify(value);
      // What another organization's admin gets back never shows this organization,
      if (persona.startsWith('otherOrgAdmin')) for (const secret of orgSecrets) expect(seen).not.toContain(secret);
      // nor what another account's administrator gets back the account under test.
      if (persona.startsWith('otherAccountAdmin')) {
        for (const secret of accountSecrets) expect(seen, `${path} as ${persona}`).not.toContain(secret);
      }
    }
    expect(actual).toEqual(expected);
  });
});
