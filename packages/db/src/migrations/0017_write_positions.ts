import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Read-your-writes with a read replica (DATABASE_READ_URL). After a caller's
// change commits, the server notes the primary's WAL position on the
// credential that made it: the session, or the API key. Authentication reads
// that row at every request anyway, so the next request on any server process
// knows, without another query, whether the replica has replayed the caller's
// last write. Null: no write noted (no replica, or none since signing in).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table sessions add column write_lsn pg_lsn`.execute(db);
  await sql`alter table api_keys add column write_lsn pg_lsn`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop column write_lsn`.execute(db);
  await sql`alter table sessions drop column write_lsn`.execute(db);
}
