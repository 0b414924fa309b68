import { randomUUID } from 'node:crypto';
import type { Database } from '@roster/db';
import { type Kysely, sql } from 'kysely';

/**
 * Makes every audit insert of this organization fail at the database, with a
 * plpgsql `raise exception` of `message` (SQLSTATE P0001, which no error
 * mapping knows), for the duration of `run`: a trigger of its own, dropped afterwards.
 */
export async function withAuditFailing<T>(
  db: Kysely<Database>,
  organizationId: string,
  message: string,
  run: () => Promise<T>,
): Promise<T> {
  const name = `test_audit_down_${randomUUID().replaceAll('-', '')}`;
  await sql
    .raw(`
      create function ${name}() returns trigger language plpgsql as $$
      begin
        if new.organization_id = '${organizationId}' then raise exception '${message}'; end if;
        return new;
      end $$`)
    .execute(db);
  await sql
    .raw(`create trigger ${name} before insert on audit_log for each row execute function ${name}()`)
    .execute(db);
  try {
    return await run();
  } finally {
    await sql.raw(`drop trigger ${name} on audit_log`).execute(db);
    await sql.raw(`drop function ${name}()`).execute(db);
  }
}
