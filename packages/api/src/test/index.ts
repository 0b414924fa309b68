import { randomInt, randomUUID } from 'node:crypto';
import { createDb, type Database, migrateToLatest, type Role } from '@roster/db';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createSession } from '../auth/sessions.js';
import { createContext, type SessionConfig, type SessionCookies } from '../context.js';
import { createOrganization } from '../organizations/service.js';
import { appRouter } from '../root.js';
import { createCallerFactory } from '../trpc.js';

/**
 * Test fixtures. One database per test worker, shared by its files: on PGlite
 * an in-memory instance; with DATABASE_URL a fresh database on that server,
 * created here and dropped by the global teardown. Tests isolate themselves by
 * working in organizations (and emails) of their own.
 */
let shared: Promise<Kysely<Database>> | undefined;

export function testDb(): Promise<Kysely<Database>> {
  shared ??= openTestDb();
  return shared;
}

/** The server URL tests run against, or undefined for PGlite. */
export const testServerUrl = process.env.DATABASE_URL || undefined;

/** Prefix of every database the test run creates, so teardown finds them all. */
export const testDatabasePrefix = 'roster_test_';

export async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `${testDatabasePrefix}${process.env.ROSTER_TEST_RUN ?? 'adhoc'}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabases(serverUrl: string, runId?: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const pattern = `${testDatabasePrefix}${runId ?? ''}%`;
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [
      pattern,
    ]);
    for (const { datname } of rows) {
      await admin.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}

async function openTestDb(): Promise<Kysely<Database>> {
  const url = testServerUrl ? await createTestDatabase(testServerUrl) : undefined;
  const { db } = createDb({ url, poolSize: 25 });
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
  options: { cookies?: SessionCookies; sessions?: SessionConfig; clientAddress?: string | null } = {},
) {
  return createCaller(
    createContext({ db, sessionToken, clientAddress: uniqueClientAddress(), userAgent: 'vitest', ...options }),
  );
}

/** A caller signed in as the user, through a real session row. */
export async function callerAs(db: Kysely<Database>, userId: string) {
  const { token } = await createSession(db, {
    userId,
    clientAddress: '127.0.0.1',
    userAgent: 'vitest',
    absoluteTimeoutMs: 60 * 60_000,
  });
  return Object.assign(callerWithToken(db, token), { token });
}

export const uniqueEmail = (label = 'user') => `${label}-${randomUUID().slice(0, 12)}@example.test`;

export const testPassword = 'correct horse battery staple';

export type TestOrg = Awaited<ReturnType<typeof createTestOrg>>;

/** An organization with its default account and an administrator signed in as `admin`. */
export async function createTestOrg(db: Kysely<Database>, name = 'Test Org') {
  const created = await createOrganization(db, {
    name,
    adminEmail: uniqueEmail('admin'),
    adminPassword: testPassword,
  });
  const admin = await callerAs(db, created.admin.id);
  return {
    organizationId: created.organization.id,
    defaultAccountId: created.account.id,
    adminId: created.admin.id,
    adminEmail: created.admin.email,
    admin,
    /** Adds a user straight through the API as the administrator. */
    async addUser(
      options: {
        accountId?: string;
        role?: Role;
        password?: string;
        email?: string;
        firstName?: string;
        lastName?: string;
      } = {},
    ) {
      return admin.users.create({
        accountId: options.accountId ?? created.account.id,
        email: options.email ?? uniqueEmail(),
        firstName: options.firstName ?? 'Test',
        lastName: options.lastName ?? 'User',
        role: options.role,
        password: options.password,
      });
    },
    async addAccount(name = `Account ${randomUUID().slice(0, 8)}`) {
      return admin.accounts.create({ name, users: [] });
    },
  };
}
