import { type inferRouterInputs, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { type AppRouter, appRouter } from '../root.js';
import {
  callerAs,
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
 * Who may call what: every procedure of the router, against five callers. A
 * procedure added to the router without a row here fails this file (and its types).
 */

type Outcome = 'ok' | 'null' | TRPCError['code'];
/** Outcomes for: anonymous, deactivated user, plain user of the default account, admin of another org, admin. */
type Outcomes = readonly [Outcome, Outcome, Outcome, Outcome, Outcome];
const personas = ['anonymous', 'deactivated', 'plainUser', 'otherOrgAdmin', 'admin'] as const;

/** Everything a row's inputs may point at: ids of the organization under test. */
type World = {
  org: TestOrg;
  /** A non-default account with one user. */
  accountId: string;
  /** A plain user of that account. */
  userId: string;
  /** A plain user of the default account (can be promoted). */
  defaultUserId: string;
  /** The deactivated persona (can be reactivated). */
  inactiveUserId: string;
  /** A user whose password is `testPassword`, to sign in as. */
  signInEmail: string;
  /** An API key of the plain user `userId`. */
  apiKeyId: string;
  /** A SCIM connection to the account `accountId`. */
  scimConnectionId: string;
  /** A previewed CSV import into `accountId` (one user to create). */
  importId: string;
  /** A bulk action (ending `userId`'s sessions). */
  bulkOperationId: string;
  /** The mailed invitation token of an invited user, and one each for the personas who accept one. */
  invitationToken: string;
  acceptTokens: string[];
  /** Reset tokens, one per persona (only built for auth.resetPassword's row). */
  resetTokens: string[];
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
type Row<P> = { input: (w: World) => InputOf<P>; expect: Outcomes };

const U = 'UNAUTHORIZED';
const F = 'FORBIDDEN';
const N = 'NOT_FOUND';
/** An admin procedure taking ids of this organization: the other organization's admin must not find them. */
const adminOnIds: Outcomes = [U, U, F, N, 'ok'];
/** An admin procedure without ids of this organization: the other admin works in its own organization. */
const adminInOwnOrg: Outcomes = [U, U, F, 'ok', 'ok'];

const matrix: { [P in ProcedurePath]: Row<P> } = {
  'auth.login': {
    input: (w) => ({ email: w.signInEmail, password: testPassword }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok'],
  },
  'auth.logout': { input: () => undefined, expect: ['ok', 'ok', 'ok', 'ok', 'ok'] },
  'auth.me': { input: () => undefined, expect: ['null', 'null', 'ok', 'ok', 'ok'] },
  'auth.changePassword': {
    input: () => ({ currentPassword: testPassword, newPassword: 'a new password' }),
    expect: [U, U, 'ok', 'ok', 'ok'],
  },
  // Public: whoever holds the link (the token is the credential), signed in or not.
  'auth.invitation': { input: (w) => ({ token: w.invitationToken }), expect: ['ok', 'ok', 'ok', 'ok', 'ok'] },
  'auth.acceptInvitation': {
    input: (w) => ({ token: w.acceptTokens.shift() ?? '', password: 'a chosen password' }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok'],
  },
  // Public, and the same answer for every email: anyone may ask.
  'auth.requestPasswordReset': { input: (w) => ({ email: w.signInEmail }), expect: ['ok', 'ok', 'ok', 'ok', 'ok'] },
  'auth.resetPassword': {
    input: (w) => ({ token: w.resetTokens.shift() ?? '', password: 'a reset password' }),
    expect: ['ok', 'ok', 'ok', 'ok', 'ok'],
  },
  'accounts.list': { input: () => ({}), expect: adminInOwnOrg },
  'accounts.get': { input: (w) => ({ id: w.accountId }), expect: adminOnIds },
  // Another organization's ids find nothing (an empty list; accounts.test.ts checks it).
  'accounts.names': { input: (w) => ({ ids: [w.accountId] }), expect: adminInOwnOrg },
  'accounts.create': {
    input: () => ({ name: 'Matrix', users: [{ email: uniqueEmail(), firstName: 'Ann', lastName: 'Lee' }] }),
    expect: adminInOwnOrg,
  },
  'accounts.update': { input: (w) => ({ id: w.accountId, name: 'Renamed' }), expect: adminOnIds },
  'accounts.delete': { input: (w) => ({ id: w.accountId }), expect: adminOnIds },
  'users.list': { input: (w) => ({ accountId: w.accountId }), expect: adminOnIds },
  'users.search': { input: (w) => ({ accountId: w.accountId }), expect: adminInOwnOrg },
  'users.get': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.create': {
    input: (w) => ({ accountId: w.accountId, email: uniqueEmail(), firstName: 'New', lastName: 'User' }),
    expect: adminOnIds,
  },
  'users.update': { input: (w) => ({ id: w.userId, firstName: 'Changed' }), expect: adminOnIds },
  'users.setPassword': { input: (w) => ({ id: w.userId, password: 'another password' }), expect: adminOnIds },
  'users.deactivate': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.reactivate': { input: (w) => ({ id: w.inactiveUserId }), expect: adminOnIds },
  'users.delete': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.setRole': { input: (w) => ({ id: w.defaultUserId, role: 'admin' }), expect: adminOnIds },
  // `userId` was created without a password: invited.
  'users.resendInvitation': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.cancelInvitation': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.unlock': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.sessions': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  'users.endSessions': { input: (w) => ({ id: w.userId, revokeApiKeys: true }), expect: adminOnIds },
  'users.deactivationPreview': { input: (w) => ({ id: w.userId }), expect: adminOnIds },
  // A fresh user is at version 1.
  'users.move': { input: (w) => ({ id: w.defaultUserId, accountId: w.accountId, version: 1 }), expect: adminOnIds },
  // A preview by ids: another organization's admin selects nobody (its ids are "not found"), and learns nothing.
  'users.bulk': {
    input: (w) => ({ selection: { ids: [w.userId] }, action: 'deactivate', dryRun: true }),
    expect: adminInOwnOrg,
  },
  'users.bulkStatus': { input: (w) => ({ id: w.bulkOperationId }), expect: adminOnIds },
  'users.bulkList': { input: () => ({}), expect: adminInOwnOrg },
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
    expect: adminInOwnOrg,
  },
  // Anyone signed in holds keys of their own; only administrators see or end other users' keys.
  'apiKeys.create': { input: () => ({ name: 'Matrix key' }), expect: [U, U, 'ok', 'ok', 'ok'] },
  'apiKeys.list': { input: (w) => ({ userId: w.userId }), expect: [U, U, F, N, 'ok'] },
  // Another user's key is NOT_FOUND to a plain user, as a missing one is: nothing to probe.
  'apiKeys.revoke': { input: (w) => ({ id: w.apiKeyId }), expect: [U, U, N, N, 'ok'] },
  'scim.connections.create': { input: (w) => ({ accountId: w.accountId, name: 'Okta' }), expect: adminOnIds },
  'scim.connections.list': { input: () => ({}), expect: adminInOwnOrg },
  'scim.connections.revoke': { input: (w) => ({ id: w.scimConnectionId }), expect: adminOnIds },
  // The plain user was created in the console, by no connection: null.
  'scim.connections.get': { input: (w) => ({ userId: w.userId }), expect: [U, U, F, N, 'null'] },
  'imports.get': { input: (w) => ({ id: w.importId }), expect: adminOnIds },
  'imports.rows': { input: (w) => ({ id: w.importId }), expect: adminOnIds },
  'imports.commit': { input: (w) => ({ id: w.importId }), expect: adminOnIds },
};

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

/** A fresh organization per row, so one row's mutations never decide another's outcome. */
async function buildWorld(path: string) {
  const db = await testDb();
  const org = await createTestOrg(db, 'Matrix Org');
  const other = await createTestOrg(db, 'Other Org');
  const account = await org.addAccount();
  const user = await org.addUser({ accountId: account.id, invite: true });
  const defaultUser = await org.addUser();
  const signInUser = await org.addUser({ canSignIn: true });
  // The deactivated persona is an administrator signed in before being deactivated.
  const inactive = await org.addUser({ role: 'admin' });
  const inactiveCaller = await callerAs(db, inactive.id);
  await org.admin.users.deactivate({ id: inactive.id });
  const plain = await org.addUser({ canSignIn: true });
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
    inactiveUserId: inactive.id,
    signInEmail: signInUser.email,
    apiKeyId: apiKey.id,
    scimConnectionId: connection.id,
    importId: importPreview.id,
    bulkOperationId: operation?.id ?? '',
    invitationToken: await mailedTokenOf(db, user.id),
    resetTokens:
      path === 'auth.resetPassword'
        ? await Promise.all(
            personas.map(async () =>
              mailedResetTokenOf(db, await org.addUser({ accountId: account.id, canSignIn: true })),
            ),
          )
        : [],
    acceptTokens: await Promise.all(
      personas.map(async () => mailedTokenOf(db, (await org.addUser({ accountId: account.id, invite: true })).id)),
    ),
  };
  const callers: Record<(typeof personas)[number], Caller> = {
    anonymous: callerWithToken(db, null),
    deactivated: inactiveCaller,
    plainUser: await callerAs(db, plain.id),
    otherOrgAdmin: other.admin,
    admin: org.admin,
  };
  const orgSecrets = [org.organizationId, org.defaultAccountId, org.adminId, account.id, user.id, defaultUser.id];
  return { world, callers, orgSecrets };
}

describe('authorization matrix', () => {
  const procedures = Object.keys(appRouter._def.procedures);

  it('covers the whole router', () => {
    expect(procedures.length).toBeGreaterThanOrEqual(20);
    const stale = Object.keys(matrix).filter((path) => !procedures.includes(path));
    expect(stale, 'rows for procedures that no longer exist').toEqual([]);
  });

  it.each(procedures)('%s', async (path) => {
    const row = (matrix as Record<string, Row<unknown> | undefined>)[path];
    if (!row) expect.fail(`add an entry for ${path} to the authorization matrix`);
    const { world, callers, orgSecrets } = await buildWorld(path);

    const actual: Record<string, Outcome> = {};
    const expected: Record<string, Outcome> = {};
    // In this order: the administrator, who succeeds and may delete the target, goes last.
    for (const [index, persona] of personas.entries()) {
      const { outcome, value } = await outcomeOf(callPath(callers[persona], path, row.input(world)));
      actual[persona] = outcome;
      expectDocumentedShapes(value, `${path} as ${persona}`);
      expect(JSON.stringify(value ?? null)).not.toContain('$argon2');
      expected[persona] = row.expect[index] as Outcome;
      if (persona === 'otherOrgAdmin' && outcome === 'ok' && !path.startsWith('auth.')) {
        // What another organization's admin gets back never shows this organization.
        const seen = JSON.stringify(value);
        for (const secret of orgSecrets) expect(seen).not.toContain(secret);
      }
    }
    expect(actual).toEqual(expected);
  });
});
