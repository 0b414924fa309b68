import type { RosterClient } from './client.js';
import { CliError } from './errors.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isId = (text: string) => uuidPattern.test(text);

/** A user named by id or by email, as people know them. */
export function findUser(client: RosterClient, ref: string) {
  return client.users.get.query(isId(ref) ? { id: ref } : { email: ref });
}

/** An account named by id or by its exact name (any case). */
export async function findAccount(client: RosterClient, ref: string) {
  if (isId(ref)) return client.accounts.get.query({ id: ref });
  const wanted = ref.trim().toLowerCase();
  let cursor: string | undefined;
  do {
    const page = await client.accounts.list.query({ query: ref.trim(), cursor, limit: 100 });
    const match = page.items.find((account) => account.name.toLowerCase() === wanted);
    if (match) return match;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  throw new CliError(`No account named "${ref}".`, 1, 'NOT_FOUND');
}
