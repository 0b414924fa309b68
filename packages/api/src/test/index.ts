import { randomInt, randomUUID } from 'node:crypto';
import { createDb, type Database, migrateToLatest, type Role } from '@roster/db';
import { pgliteTemplate } from '@roster/db/pglite-template';
import { createTestDatabase } from '@roster/db/server-databases';
import { TRPCError } from '@trpc/server';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import { type Kysely, sql } from 'kysely';
import { expect } from 'vitest';
import { hashPassword } from '../auth/passwords.js';
import { createSession } from '../auth/sessions.js';
import { createContext, type SessionCookies } from '../context.js';
import { applyUserImport, previewUserImport } from '../imports/service.js';
import { requestPasswordReset } from '../links/resets.js';
import { createOrganizationIn } from '../organizations/service.js';
import { appRouter } from '../root.js';
import type { Actor } from '../shared/actor.js';
import { defaultMailConfig, type MailConfig, type SessionConfig } from '../shared/config.js';
import type { ErrorReason } from '../shared/error-reasons.js';
import { createCallerFactory } from '../trpc.js';
import { setPasswordHash } from '../users/queries.js';

/**
 * Test fixtures. One database per test worker, shared by its files: on PGlite
 * an in-memory instance; with DATABASE_URL a fresh database on that server,
 * created here and dropped by the global teardown. Tests isolate themselves by
 * working in organizations (and emails) of their own.
 */
let shared: Promise<Kysely<Database>> | undefined;

/** The password check, for tests of the HTTP host that must hold a sign-in midway (spy on `verify`). */
export { passwordCheck } from '../auth/sign-in.js';

export function testDb(): Promise<Kysely<Database>> {
  shared ??= openTestDb();
  return shared;
}

/**
 * A database of the test's own, not shared with the worker's other files: for a test that
 * counts rows across the whole database (a sweep), where another file's rows would be counted too.
 * The caller destroys it; on a server it is dropped by the global teardown with the others.
 */
export function isolatedTestDb(): Promise<Kysely<Database>> {
  return openTestDb();
}

/** The server URL tests run against, or undefined for PGlite. */
export const testServerUrl = process.env.DATABASE_URL || undefined;

export { createTestDatabase, dropTestDatabases, testDatabasePrefix } from '@roster/db/server-databases';

async function openTestDb(): Promise<Kysely<Database>> {
  const url = testServerUrl ? await createTestDatabase(testServerUrl) : undefined;
  // PGlite starts from a migrated template instead of running initdb (packages/db/src/test/pglite-template.ts).
  const loadDataDir = url ? undefined : await pgliteTemplate();
  // DB_PREPARED_STATEMENTS=false: the suite as it runs behind PgBouncer in transaction mode (.ci/pgbouncer-suite).
  const preparedStatements = process.env.DB_PREPARED_STATEMENTS !== 'false';
  const { db } = createDb({ url, poolSize: 25, loadDataDir, preparedStatements });
  await migrateToLatest(db);
  return db;
}

export const createCaller = createCallerFactory(appRouter);

export type CookieRecorder = SessionCookies & { token: string | null; cleared: boolean };

export function recordCookies(): CookieRecorder {
  const jar: CookieRecorder = {
    token: null,
    cleared: false,
    set(token) {
      jar.token = token;
    },
    clear() {
      jar.token = null;
      jar.cleared = true;
    },
  };
  return jar;
}

/**
 * A loopback address of its own, so the per-address limit on failed sign-ins
 * (shared by every test in a worker's database) counts only this caller's failures.
 */
export const uniqueClientAddress = () => `127.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** A caller acting with the given session token (or none). */
export function callerWithToken(
  db: Kysely<Database>,
  sessionToken: string | null,
  options: {
    cookies?: SessionCookies;
    sessions?: SessionConfig;
    clientAddress?: string | null;
    mail?: MailConfig;
  } = {},
) {
  return createCaller(
    createContext({ db, sessionToken, clientAddress: uniqueClientAddress(), userAgent: 'vitest', ...options }),
  );
}

/** A caller sending `Authorization: Bearer <key>`, as a script does (and, if given, a session cookie too). */
export function callerWithKey(
  db: Kysely<Database>,
  key: string,
  options: { sessionToken?: string | null; cookies?: SessionCookies } = {},
) {
  return createCaller(
    createContext({ db, authorization: `Bearer ${key}`, clientAddress: '127.0.0.1', userAgent: 'vitest', ...options }),
  );
}

/** A session of the user (a real session row, valid for an hour) and its raw token. */
export async function sessionOf(
  db: Kysely<Database>,
  userId: string,
  options: { sessions?: SessionConfig; mail?: MailConfig } = {},
) {
  const { token } = await createSession(db, {
    userId,
    clientAddress: '127.0.0.1',
    userAgent: 'vitest',
    absoluteTimeoutMs: 60 * 60_000,
  });
  return { token, caller: callerWithToken(db, token, options) };
}

/**
 * A caller signed in as the user, through a real session row. (The caller is a
 * tRPC proxy: any property read on it is a procedure path, so use `sessionOf`
 * when the token itself is needed.)
 */
export async function callerAs(db: Kysely<Database>, userId: string, options: { mail?: MailConfig } = {}) {
  return (await sessionOf(db, userId, options)).caller;
}

export const uniqueEmail = (label = 'user') => `${label}-${randomUUID().slice(0, 12)}@example.test`;

export const testPassword = 'correct horse battery staple';

let testPasswordHashOnce: Promise<string> | undefined;

/**
 * The argon2 hash of `testPassword`, computed once per worker: fixtures give
 * users this password without paying ~50 ms of hashing each time.
 */
export function testPasswordHash(): Promise<string> {
  testPasswordHashOnce ??= hashPassword(testPassword);
  return testPasswordHashOnce;
}

/** Signs in through `auth.login`, as a browser would; returns the caller holding the new session. */
export async function signIn(
  db: Kysely<Database>,
  email: string,
  options: { password?: string; sessions?: SessionConfig } = {},
) {
  const cookies = recordCookies();
  const result = await callerWithToken(db, null, { cookies, sessions: options.sessions }).auth.login({
    email,
    password: options.password ?? testPassword,
  });
  if (!cookies.token) throw new Error('auth.login set no session cookie');
  return {
    user: result.user,
    token: cookies.token,
    caller: callerWithToken(db, cookies.token, { sessions: options.sessions }),
  };
}

/** Signs in through `auth.login` from a client address (a fresh one unless given), keeping no session: sign-in's limits. */
export async function signInFrom(email: string, password: string, clientAddress = uniqueClientAddress()) {
  return callerWithToken(await testDb(), null, { clientAddress }).auth.login({ email, password });
}

/** The active administrators of an organization (their ids). */
export async function activeAdminsOf(db: Kysely<Database>, organizationId: string) {
  return db
    .selectFrom('users')
    .select('id')
    .where('organizationId', '=', organizationId)
    .where('role', '=', 'admin')
    .where('active', '=', true)
    .execute();
}

/** The tRPC error a call failed with (fails the test when it did not fail); `expectTRPCError` also checks the code. */
export async function failure(promise: Promise<unknown>): Promise<TRPCError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error('Expected the call to fail');
}

/**
 * Awaits a call that must fail with the given tRPC code, and returns the error
 * so the test can look further (message, ZodError cause).
 */
export async function expectTRPCError(promise: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected ${code}, but the call succeeded with ${JSON.stringify(value)}`);
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const trpcError = error as TRPCError;
  expect({ code: trpcError.code, message: trpcError.message }).toMatchObject({ code });
  return trpcError;
}

/** The audit rows of an organization, oldest first. */
export async function auditRowsOf(db: Kysely<Database>, organizationId: string) {
  return db
    .selectFrom('auditLog')
    .selectAll()
    .where('organizationId', '=', organizationId)
    .orderBy('createdAt')
    .orderBy('id')
    .execute();
}

export type TestOrg = Awaited<ReturnType<typeof createTestOrg>>;

/**
 * An organization with its default account and an administrator signed in as
 * `admin` (whose password is `testPassword`). It is inserted by the same code as
 * `createOrganization`, with the password hash computed once per worker.
 */
export async function createTestOrg(db: Kysely<Database>, name = 'Test Org') {
  const passwordHash = await testPasswordHash();
  const created = await db
    .transaction()
    .execute((tx) =>
      createOrganizationIn(tx, { name, adminEmail: uniqueEmail('admin'), adminPassword: '' }, passwordHash),
    );
  const admin = await callerAs(db, created.admin.id);
  /** The administrator as the services see them, for the helpers that call a service directly. */
  const adminActor: Actor = {
    id: created.admin.id,
    organizationId: created.organization.id,
    accountId: created.account.id,
    email: created.admin.email,
    role: 'admin',
    via: 'session',
    sessionId: '00000000-0000-4000-8000-000000000000',
  };

  /**
   * Adds a user through the API as the administrator, without a password unless
   * one is given (argon2 is slow); `canSignIn` gives it `testPassword` cheaply.
   */
  async function addUser(options: AddUserOptions = {}) {
    const user = await admin.users.create({
      accountId: options.accountId ?? created.account.id,
      email: options.email ?? uniqueEmail(),
      firstName: options.firstName ?? 'Test',
      lastName: options.lastName ?? 'User',
      role: options.role,
      password: options.password,
      // Fixtures are not invited unless a test asks (invitations.test.ts): their audit rows stay those of a creation.
      sendInvitation: options.invite ?? false,
    });
    if (options.canSignIn) {
      await setPasswordHash(db, created.organization.id, user.id, await testPasswordHash());
    }
    return user;
  }

  return {
    organizationId: created.organization.id,
    defaultAccountId: created.account.id,
    adminId: created.admin.id,
    adminEmail: created.admin.email,
    admin,
    /** The administrator as the services see them (the actor their requests are authorized as). */
    adminActor,
    addUser,
    /** Adds a user with a live session (created now), returning the user and a caller on it. */
    async addSignedInUser(options: AddUserOptions = {}) {
      const user = await addUser(options);
      return { user, caller: await callerAs(db, user.id) };
    },
    async addAccount(name = `Account ${randomUUID().slice(0, 8)}`) {
      return admin.accounts.create({ name, users: [] });
    },
    /** The administrator previews a CSV file (text or bytes) into an account, as POST /import/users does. */
    async previewImport(csv: string | Uint8Array, accountId: string = created.account.id, fileName = 'users.csv') {
      return previewUserImport(db, adminActor, {
        accountId,
        fileName,
        bytes: typeof csv === 'string' ? Buffer.from(csv) : csv,
      });
    },
    /** The administrator applies a preview as imports.commit does, `batchLines` lines a step (the service's default otherwise). */
    async applyImport(importId: string, options: { batchLines?: number } = {}) {
      return applyUserImport(db, adminActor, { importId, skipErrors: false }, defaultMailConfig, options);
    },
  };
}

export type AddUserOptions = {
  accountId?: string;
  role?: Role;
  password?: string;
  canSignIn?: boolean;
  email?: string;
  firstName?: string;
  lastName?: string;
  /** Invite a user created without a password (by email, as the console does); fixtures are not invited by default. */
  invite?: boolean;
};

/** The `data` a client would get for the error: the router's own error formatter run on it, as the HTTP answer does. */
export function errorDataOf(error: TRPCError): {
  code: string;
  reason: ErrorReason;
  fieldErrors: Record<string, string[]> | null;
} {
  const shape = getErrorShape({
    config: appRouter._def._config,
    error,
    type: 'mutation',
    path: undefined,
    input: undefined,
    ctx: undefined,
  });
  return shape.data as { code: string; reason: ErrorReason; fieldErrors: Record<string, string[]> | null };
}

/** The `data.fieldErrors` a client would get for the error. */
export const fieldErrorsOf = (error: TRPCError) => errorDataOf(error).fieldErrors;

/** The export's page size, which tests make small to cross many pages with few users. */
export { exportLimits } from '../users/export.js';

/**
 * The token of the latest link mailed to a user (an invitation or a reset), read
 * from the outbox as the person would read it from the mail (it is the URL's fragment).
 */
export async function mailedTokenOf(
  db: Kysely<Database>,
  userId: string,
  kind: 'invitation' | 'password_reset' = 'invitation',
): Promise<string> {
  const mail = await db
    .selectFrom('mailOutbox')
    .select('link')
    .where('userId', '=', userId)
    .where('kind', '=', kind)
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const token = mail?.link?.split('#')[1];
  if (!token) throw new Error(`no ${kind} link was mailed to user ${userId}`);
  return token;
}

/** Asks for a password reset of the email as a browser would, without the answer's minimum duration; returns the mailed token. */
export async function mailedResetTokenOf(db: Kysely<Database>, user: { id: string; email: string }): Promise<string> {
  await requestPasswordReset(
    { db, clientAddress: uniqueClientAddress(), mail: { ...defaultMailConfig, resetAnswerMs: 0 } },
    { email: user.email },
  );
  return mailedTokenOf(db, user.id, 'password_reset');
}

/**
 * Loads many users at once as the benchmark's seed does: the users table's
 * indexes (those that back no constraint) are set aside, `load` runs, and each
 * is built again from its own definition (pg_get_indexdef), in one pass rather
 * than row by row. Only for a database of the caller's own (plan tests).
 */
export async function loadUsersInBulk(db: Kysely<Database>, load: () => Promise<void>): Promise<void> {
  const { rows } = await sql<{ name: string; definition: string }>`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    where i.indrelid = 'users'::regclass
      and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
    order by 1`.execute(db);
  for (const index of rows) await sql`drop index ${sql.id(index.name)}`.execute(db);
  await load();
  for (const index of rows) await sql.raw(index.definition).execute(db);
}
