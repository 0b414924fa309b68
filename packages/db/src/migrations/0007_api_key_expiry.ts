import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Every API key expires. Keys created without an expiry get the longest
// lifetime a new key may have by default (365 days, API_KEY_MAX_DAYS), counted
// from now so that no script stops on the day of the upgrade.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update api_keys set expires_at = date_trunc('milliseconds', now()) + interval '365 days'
    where expires_at is null
  `.execute(db);
  await sql`alter table api_keys alter column expires_at set not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The expiries stay: which keys had none is not known any more, and a key that expires is the safer side.
  await sql`alter table api_keys alter column expires_at drop not null`.execute(db);
}
