import type { Db } from '@roster/db';
import { sql } from 'kysely';

/** Sessions that could still be used now, across organizations (the host's metrics). */
export async function liveSessionCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('expiresAt', '>', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
