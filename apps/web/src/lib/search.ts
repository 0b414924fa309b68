// Search-param parsers for the routes. Hand-written rather than zod so the
// first page's JavaScript stays small; each drops anything it does not expect.

const text = (value: unknown, max = 200): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.slice(0, max) : undefined;

export type LoginSearch = { next?: string; reason?: 'expired' | 'signed-out' };
export function parseLoginSearch(search: Record<string, unknown>): LoginSearch {
  const reason = search.reason === 'expired' || search.reason === 'signed-out' ? search.reason : undefined;
  return { next: text(search.next, 2000), reason };
}

export type QuerySearch = { q?: string };
export const parseQuerySearch = (search: Record<string, unknown>): QuerySearch => ({ q: text(search.q) });

/** A users table's order in the address: `sort` (absent: email) and `order` (absent: ascending). */
export type SortSearch = { sort?: 'name' | 'email' | 'lastSignIn' | 'created'; order?: 'desc' };
const sortFields = ['name', 'email', 'lastSignIn', 'created'] as const;
export function parseSortSearch(search: Record<string, unknown>): SortSearch {
  const sort = sortFields.find((field) => field === search.sort);
  return { sort: sort === 'email' ? undefined : sort, order: search.order === 'desc' ? 'desc' : undefined };
}

/** The order users.search takes for a table's address (undefined: the default, email ascending). */
export function userSortOf(search: SortSearch) {
  if (!search.sort && !search.order) return undefined;
  return { by: search.sort ?? 'email', direction: search.order ?? 'asc' } as const;
}

/** The Last sign-in filter's presets: never, or not in the last 30, 90 or 180 days. */
export const lastSignInPresets = ['never', '30d', '90d', '180d'] as const;
export type LastSignInPreset = (typeof lastSignInPresets)[number];

/**
 * The dormant filter users.search takes for a preset. A day's count is from
 * the start of today, so the filter (and the query's cache key) stays the same all day.
 */
export function lastSignInFilterOf(preset: LastSignInPreset | undefined, now = new Date()) {
  if (!preset) return undefined;
  if (preset === 'never') return { never: true } as const;
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  start.setDate(start.getDate() - Number.parseInt(preset, 10));
  return { before: start };
}

export type UsersSearch = SortSearch & {
  q?: string;
  active?: 'active' | 'inactive';
  role?: 'admin' | 'account_admin' | 'auditor' | 'user';
  account?: string;
  locked?: 'locked';
  lastSignIn?: LastSignInPreset;
};
export function parseUsersSearch(search: Record<string, unknown>): UsersSearch {
  return {
    q: text(search.q),
    active: search.active === 'active' || search.active === 'inactive' ? search.active : undefined,
    role:
      search.role === 'admin' || search.role === 'account_admin' || search.role === 'auditor' || search.role === 'user'
        ? search.role
        : undefined,
    account: text(search.account, 64),
    locked: search.locked === 'locked' ? 'locked' : undefined,
    lastSignIn: lastSignInPresets.find((preset) => preset === search.lastSignIn),
    ...parseSortSearch(search),
  };
}

/** An account's page: its users' search text and order. */
export type AccountSearch = QuerySearch & SortSearch;
export const parseAccountSearch = (search: Record<string, unknown>): AccountSearch => ({
  ...parseQuerySearch(search),
  ...parseSortSearch(search),
});

const day = (value: unknown): string | undefined =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;

/** The audit log's filters: a user (by id, or by the email they had), text, action, account, days. */
export type AuditSearch = {
  user?: string;
  email?: string;
  q?: string;
  action?: string;
  account?: string;
  from?: string;
  to?: string;
};
export const parseAuditSearch = (search: Record<string, unknown>): AuditSearch => ({
  user: text(search.user, 64),
  email: text(search.email, 254),
  q: text(search.q),
  action: text(search.action, 64),
  account: text(search.account, 64),
  from: day(search.from),
  to: day(search.to),
});

/**
 * Why a search of one or two letters may find less than people expect: the
 * server matches such short text only at the start of a first name, last name
 * or email (inside words it would match most of the organization).
 */
export function shortSearchHint(query: string | undefined): string | null {
  const length = [...(query ?? '').trim()].length;
  return length > 0 && length <= 2
    ? 'One or two letters match only the start of a first name, last name or email; type three or more to search inside names and emails.'
    : null;
}

/** An import's preview, by id, so a reload or a return to the page shows it again. */
export type ImportSearch = { id?: string };
export const parseImportSearch = (search: Record<string, unknown>): ImportSearch => ({
  id: typeof search.id === 'string' && /^[0-9a-f-]{36}$/i.test(search.id) ? search.id : undefined,
});
