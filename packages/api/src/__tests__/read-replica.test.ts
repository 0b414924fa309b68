import { createDb, type Database, type ReadReplica } from '@roster/db';
import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { listAccounts } from '../accounts/queries.js';
import { onReader, replicaFault } from '../core/read-replica.js';
import { appError } from '../errors.js';
import type { Actor } from '../shared/actor.js';
import { createTestOrg, type TestOrg, testDb } from '../test/index.js';

// Which failures of a read on the replica send it to the primary (core/read-replica.ts). The
// replica here is a real pool on a port nobody listens on; the streaming replica itself is
// apps/server's read-replica.test.ts (PostgreSQL only).

const adminOf = (org: TestOrg): Actor => ({
  id: org.adminId,
  organizationId: org.organizationId,
  accountId: org.defaultAccountId,
  email: org.adminEmail,
  role: 'admin',
  via: 'session',
  sessionId: '00000000-0000-4000-8000-000000000000',
});

const serverError = (code: string) => Object.assign(new Error(`error ${code}`), { code, severity: 'ERROR' });

describe('a failed read on the replica', () => {
  it('counts as the replica’s fault when the connection failed, the server is shutting down or out of resources, or replay cancelled it', () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      new Error('Connection terminated unexpectedly'),
      serverError('08006'),
      serverError('57P01'),
      serverError('57P03'),
      serverError('53300'),
      serverError('40001'),
    ]) {
      expect(replicaFault(error), error.message).toBe(true);
    }
  });

  it('is the answer when the read itself failed (a statement timeout, bad data, a missing row)', () => {
    for (const code of ['57014', '22P02', '23505', '42P01']) expect(replicaFault(serverError(code)), code).toBe(false);
  });

  const unreachable = createDb({ url: 'postgres://postgres@127.0.0.1:1/none', poolSize: 1 }).db;
  afterAll(() => unreachable.destroy());
  const failures: unknown[] = [];
  const replicaOn = (db: Kysely<Database>): ReadReplica => ({
    db,
    readerFor: () => db,
    failed: (error) => failures.push(error),
    state: () => ({ status: 'ok', lagMs: 0, reason: null }),
    reads: () => ({ replica: 0, recent_write: 0, unavailable: 0, failed: 0 }),
    pool: () => ({ total: 0, idle: 0, waiting: 0 }),
    check: async () => ({ status: 'ok', lagMs: 0, reason: null }),
    close: async () => {},
  });

  it('runs again on the primary when the replica cannot be reached, and tells the replica', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'Replica Fallback Org');
    const actor = adminOf(org);
    const before = failures.length;
    const page = await onReader({ db, replica: replicaOn(unreachable), actor }, (reader) =>
      listAccounts(reader, org.organizationId, { limit: 5 }),
    );
    expect(page.items.map((account) => account.id)).toContain(org.defaultAccountId);
    expect(failures.length).toBe(before + 1);
  });

  it('does not run a read again when the read failed on its own, nor a refusal', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'Replica Refusal Org');
    const actor = adminOf(org);
    const replica = replicaOn(db);
    const before = failures.length;
    let runs = 0;
    await expect(
      onReader({ db, replica, actor }, async () => {
        runs += 1;
        throw serverError('57014');
      }),
    ).rejects.toMatchObject({ code: '57014' });
    await expect(
      onReader({ db, replica, actor }, async () => {
        runs += 1;
        throw appError('NOT_FOUND', 'No such account.');
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(runs).toBe(2);
    expect(failures.length).toBe(before);
  });

  it('reads the primary when there is no replica', async () => {
    const db = await testDb();
    const org = await createTestOrg(db, 'No Replica Reader Org');
    const actor = adminOf(org);
    expect(await onReader({ db, replica: null, actor }, async (reader) => reader === db)).toBe(true);
  });
});
