import type { Database, ReadReplica } from '@roster/db';
import { TRPCError } from '@trpc/server';
import type { Kysely } from 'kysely';
import { noteWritePosition } from '../auth/queries.js';
import type { Actor } from '../shared/actor.js';
import { hashSecret } from './tokens.js';

// Reads on the read replica (DATABASE_READ_URL), with read-your-writes.
//
// The pure list reads (users.search, users.list, accounts.list, accounts.names,
// audit.list and the CSV export) run through `onReader`; everything else uses
// the primary. After a caller's change commits, `noteWrite` records the
// primary's WAL position on the credential that made it (its session or API
// key row), which authentication reads anyway: the caller's next read, on any
// server process, goes to the replica only once the replica has replayed that
// position. Without a replica, `replica` is null and neither does anything.

/** What a read needs to choose its database: the primary, the replica (or none), and who reads. */
export type Reading = { db: Kysely<Database>; replica: ReadReplica | null; actor: Actor };

/**
 * Whether a read failed for the replica's sake, not the read's own: no
 * connection (node-postgres' errors carry no SQLSTATE), class 08 (connection),
 * 57P0x (shut down, starting up), 53 and 58 (out of resources, system error),
 * and 40001, which a standby uses to cancel a query that conflicts with
 * replay. A statement timeout (57014) or bad data (22…) would fail on the
 * primary too: those are the answer.
 */
export function replicaFault(error: unknown): boolean {
  // The server's own errors carry a severity beside their SQLSTATE; a socket's (ECONNREFUSED, EPIPE) do not.
  const fromServer = typeof error === 'object' && error !== null && 'severity' in error && 'code' in error;
  if (!fromServer) return true;
  const code = String(error.code);
  return /^(08|57P|53|58)/.test(code) || code === '40001';
}

/**
 * Runs a read on the replica when it may serve this caller (up, within the lag
 * bound, and past the caller's last write), else on the primary. A read the
 * replica fails (it went away, or cancelled the query for a conflict with
 * recovery: replicaFault) runs again on the primary, and the next reads go
 * there until the replica answers a check again. A refusal (an AppError such
 * as NOT_FOUND) or the read's own failure (a statement timeout) is the answer,
 * wherever it came from.
 */
export async function onReader<T>(reading: Reading, read: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const replica = reading.replica?.readerFor(reading.actor.writeLsn);
  if (!replica) return read(reading.db);
  try {
    return await read(replica);
  } catch (error) {
    if (error instanceof TRPCError || !replicaFault(error)) throw error;
    reading.replica?.failed(error);
    return read(reading.db);
  }
}

/**
 * After a caller's change committed: the primary's WAL position on its session
 * or API key. A failure here is not the change's: it is kept (the change is
 * done), and at worst the caller's next reads may not show it for the
 * replica's lag.
 */
export async function noteWrite(db: Kysely<Database>, actor: Actor): Promise<void> {
  try {
    if (actor.via === 'session') await noteWritePosition(db, 'sessions', { id: actor.sessionId });
    else if (actor.via === 'apiKey') await noteWritePosition(db, 'api_keys', { id: actor.apiKeyId });
  } catch {
    // See above: the change stands.
  }
}

/** After signing in: the new session's position, so its first reads show the sign-in (its audit row). */
export async function noteSignInWrite(db: Kysely<Database>, sessionToken: string): Promise<void> {
  try {
    await noteWritePosition(db, 'sessions', { tokenHash: hashSecret(sessionToken) });
  } catch {
    // As in noteWrite.
  }
}
