import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// A sign-in reserves its place under the per-address limit before the password
// is checked, and that reservation used to count as a failure until it was given
// back. Correct sign-ins in flight at once (an office behind one NAT) were then
// refused, and a reservation never given back (a shutdown mid-request) counted as
// a failure for the whole window. A reservation now says until when it may stay
// in flight: null is a settled failure (so every row written before this counts
// as one, as it did), a future time is a sign-in in flight, and a past time is a
// reservation its process abandoned, which counts as nothing.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table sign_in_attempts add column pending_until timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Without the column a reservation would read as a failure: forget them.
  await sql`delete from sign_in_attempts where pending_until is not null`.execute(db);
  await sql`alter table sign_in_attempts drop column pending_until`.execute(db);
}
