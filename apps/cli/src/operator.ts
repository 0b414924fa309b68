import {
  type CreatedOrganization,
  createOrganization,
  generatePassword,
  listMail,
  mapDatabaseError,
  reasonOf,
} from '@roster/api';
import { emailSchema, passwordSchema } from '@roster/api/schemas';
import { createDb, defaultDataDir, migrateToLatest } from '@roster/db';
import type { CliEnv } from './env.js';
import { CliError, UsageError } from './errors.js';

// Operator commands work on the database itself, not through the API: for the
// person who runs the installation. Loaded only when one of them runs.

type DbError = { code?: unknown; message?: unknown };

async function withDatabase<T>(env: CliEnv, work: (db: ReturnType<typeof createDb>['db']) => Promise<T>) {
  const handle = createDb({ url: env.databaseUrl, dataDir: env.dataDir ?? defaultDataDir });
  try {
    return { result: await work(handle.db), location: handle.location };
  } catch (error) {
    throw explainDatabaseError(error, handle.location);
  } finally {
    await handle.db.destroy();
  }
}

function explainDatabaseError(error: unknown, location: string): Error {
  if (error instanceof CliError) return error;
  // The API's catalog names what the database refused (a taken email, ...), as it does for the server.
  const known = mapDatabaseError(error);
  if (known && reasonOf(known) === 'EMAIL_TAKEN') {
    return new CliError(known.message, 1, known.code, undefined, 'EMAIL_TAKEN');
  }
  const { code, message } = (error ?? {}) as DbError;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '3D000' || code === '28P01') {
    return new CliError(
      `Cannot open the database at ${location}: ${String(message)}. Check DATABASE_URL.`,
      1,
      'UNREACHABLE',
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** `roster db migrate`: brings the schema up to date (safe while servers start). */
export async function migrate(env: CliEnv): Promise<{ applied: string[]; location: string }> {
  const { result, location } = await withDatabase(env, migrateToLatest);
  return { applied: result, location };
}

export type OrgInput = { name: string; adminEmail: string; adminPassword?: string | undefined };

/**
 * `roster org create`: a new organization with its default account and first
 * administrator, migrating first so it works on an empty database. Without a
 * password one is generated, and returned this once.
 */
export async function createOrg(
  env: CliEnv,
  input: OrgInput,
): Promise<CreatedOrganization & { generatedPassword?: string }> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new UsageError('An organization name has 1 to 200 characters.');
  const email = emailSchema.safeParse(input.adminEmail);
  if (!email.success) throw new UsageError(`--admin-email: ${email.error.issues[0]?.message}`);
  const generated = input.adminPassword === undefined ? generatePassword() : undefined;
  const password = passwordSchema.safeParse(input.adminPassword ?? generated);
  if (!password.success) throw new UsageError(`--admin-password: ${password.error.issues[0]?.message}`);
  const { result } = await withDatabase(env, async (db) => {
    await migrateToLatest(db);
    return createOrganization(db, { name, adminEmail: email.data, adminPassword: password.data });
  });
  return generated ? { ...result, generatedPassword: generated } : result;
}

export const mailStatuses = ['pending', 'sent', 'failed', 'logged'] as const;
export type MailStatusFilter = (typeof mailStatuses)[number];

/**
 * `roster mail list`: the outbox, newest first, with each unsent mail's link
 * (an invitation or reset: how to hand it over when the server has no SMTP_URL).
 */
export async function listOutbox(env: CliEnv, options: { status?: string | undefined; limit: number }) {
  const status = options.status;
  if (status !== undefined && !(mailStatuses as readonly string[]).includes(status)) {
    throw new UsageError(`--status: one of ${mailStatuses.join(', ')}.`);
  }
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1000) {
    throw new UsageError('--limit: a whole number from 1 to 1000.');
  }
  const { result } = await withDatabase(env, async (db) => {
    await migrateToLatest(db);
    return listMail(db, { status: status as MailStatusFilter | undefined, limit: options.limit });
  });
  return result;
}
