// The scenarios: their requests, and one check of each before the load.
import type { Inputs } from './inputs.js';
import type { Load } from './load.js';
import { names } from './report.js';
import { adminEmail, adminPassword, userPassword } from './seed.js';

/** A tRPC query URL, as the console's client makes it without batching. */
const queryUrl = (base: string, procedure: string, input: unknown, meta?: unknown) =>
  `${base}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(meta ? { json: input, meta } : { json: input }))}`;

const cursorFor = (email: string) => Buffer.from(JSON.stringify([email])).toString('base64url');
/** A cursor of another order than email ascending: its tag, then the sort key (see users/queries.ts). */
const sortCursorFor = (tag: string, ...values: string[]) =>
  Buffer.from(JSON.stringify([tag, ...values])).toString('base64url');
const byName = { by: 'name', direction: 'asc' } as const;
const bySignIn = { by: 'lastSignIn', direction: 'desc' } as const;
/** Ninety days before the start of today (as the console's preset: the same all day). */
const ninetyDaysAgo = () => {
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  return new Date(day.getTime() - 90 * 86_400_000).toISOString();
};

export async function signIn(base: string): Promise<string> {
  const response = await fetch(`${base}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { email: adminEmail, password: adminPassword } }),
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('roster_session='));
  if (!response.ok || !cookie) throw new Error(`Signing in failed: ${response.status} ${await response.text()}`);
  return cookie.split(';')[0] ?? '';
}

type Page = { items: Array<{ email: string }>; nextCursor: string | null };

/** One request before the load, so a wrong input fails loudly rather than measuring errors. */
async function check<T>(url: string, cookie: string, what: string, accept: (data: T) => string | null): Promise<T> {
  const response = await fetch(url, { headers: { cookie } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  const data = (JSON.parse(text) as { result: { data: { json: T } } }).result.data.json;
  const problem = accept(data);
  if (problem) throw new Error(`${what}: ${problem}`);
  return data;
}

export function buildLoads(base: string, headers: Record<string, string>, inputs: Inputs, connections: number) {
  const get = (name: string, procedure: string, input: unknown, meta?: unknown): Load => ({
    name,
    url: queryUrl(base, procedure, input, meta),
    headers,
    connections,
  });
  const getLoad = get(names.get, 'users.get', { email: inputs.email });
  const plain: Load[] = [
    get(names.substring, 'users.search', { query: inputs.substring }),
    get(names.commonSubstring, 'users.search', { query: inputs.commonSubstring }),
    get(names.noneSubstring, 'users.search', { query: inputs.noneSubstring }),
    get(names.emailPrefix, 'users.search', { query: inputs.emailPrefix }),
    get(names.accountActive, 'users.search', { accountId: inputs.bigAccountId, active: true }),
    getLoad,
    get(names.firstPage, 'users.list', { accountId: inputs.bigAccountId }),
    get(names.deepPage, 'users.list', { accountId: inputs.bigAccountId, cursor: cursorFor(inputs.deepAfterEmail) }),
    get(names.accounts, 'accounts.list', {}),
    get(names.byNameFirst, 'users.search', { sort: byName }),
    get(names.byNameDeep, 'users.search', {
      sort: byName,
      cursor: sortCursorFor('name:asc', inputs.deepAfterName.last, inputs.deepAfterName.first, inputs.deepAfterName.id),
    }),
    get(names.bySignInFirst, 'users.search', { sort: bySignIn }),
    get(names.bySignInDeep, 'users.search', {
      sort: bySignIn,
      cursor: sortCursorFor('lastSignIn:desc', inputs.deepAfterSignIn.at, inputs.deepAfterSignIn.id),
    }),
    // superjson: the date travels as a string, marked as a Date.
    get(
      names.dormant,
      'users.search',
      { lastSignIn: { before: ninetyDaysAgo() } },
      { values: { 'lastSignIn.before': ['Date'] } },
    ),
    get(names.neverByName, 'users.search', { lastSignIn: { never: true }, sort: byName }),
  ];
  let next = 0;
  const login: Load = {
    name: names.login,
    url: `${base}/trpc/auth.login`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections,
    requests: [
      {
        method: 'POST',
        setupRequest(request) {
          const email = inputs.signInEmails[next++ % inputs.signInEmails.length];
          return { ...request, body: JSON.stringify({ json: { email, password: userPassword } }) };
        },
      },
    ],
  };
  return { plain, get: getLoad, login };
}

export async function verify(cookie: string, inputs: Inputs, loads: ReturnType<typeof buildLoads>) {
  const byName = new Map(loads.plain.map((l) => [l.name, l.url]));
  const url = (name: string) => byName.get(name) ?? '';
  const nonEmpty = (page: Page) => (page.items.length > 0 ? null : 'no users found');
  await check<Page>(url(names.substring), cookie, names.substring, nonEmpty);
  await check<Page>(url(names.commonSubstring), cookie, names.commonSubstring, (page) =>
    page.items.length === 25 && page.nextCursor ? null : 'expected a full page and more',
  );
  await check<Page>(url(names.noneSubstring), cookie, names.noneSubstring, (page) =>
    page.items.length === 0 ? null : 'expected no users',
  );
  await check<Page>(url(names.emailPrefix), cookie, names.emailPrefix, (page) =>
    page.items.every((u) => u.email.startsWith(inputs.emailPrefix)) && page.items.length > 0
      ? null
      : 'expected users whose email starts with the prefix',
  );
  await check<Page>(url(names.accountActive), cookie, names.accountActive, nonEmpty);
  await check<{ email: string }>(url(names.get), cookie, names.get, (user) =>
    user.email === inputs.email ? null : 'a different user came back',
  );
  // The deep cursor is built as the API builds its cursors: check that on the first page.
  const first = await check<Page>(url(names.firstPage), cookie, names.firstPage, (page) =>
    page.items.length === 25 && page.nextCursor ? null : 'expected a full first page with a next cursor',
  );
  const last = first.items.at(-1)?.email ?? '';
  if (first.nextCursor !== cursorFor(last)) {
    throw new Error('The API’s cursor format changed: update cursorFor() in bench/src/scenarios.ts');
  }
  await check<Page>(url(names.deepPage), cookie, names.deepPage, (page) =>
    page.items.length === 25 && (page.items[0]?.email ?? '') > inputs.deepAfterEmail ? null : 'the deep page is wrong',
  );
  // The sorted deep cursors are built as the API builds them: check that on a first page.
  const byNamePage = await check<{ items: Array<{ id: string }>; nextCursor: string | null }>(
    url(names.byNameFirst),
    cookie,
    names.byNameFirst,
    (page) => (page.items.length === 25 && page.nextCursor ? null : 'expected a full first page'),
  );
  const decoded = JSON.parse(Buffer.from(byNamePage.nextCursor ?? '', 'base64url').toString()) as string[];
  if (decoded[0] !== 'name:asc' || decoded.length !== 4 || decoded[3] !== byNamePage.items.at(-1)?.id) {
    throw new Error('The API’s sorted cursor format changed: update sortCursorFor() in bench/src/scenarios.ts');
  }
  for (const name of [names.byNameDeep, names.bySignInFirst, names.bySignInDeep, names.neverByName]) {
    await check<Page>(url(name), cookie, name, (page) => (page.items.length === 25 ? null : 'expected a full page'));
  }
  await check<{ items: Array<{ lastLoginAt: string | null }> }>(url(names.dormant), cookie, names.dormant, (page) =>
    page.items.length === 25 && page.items.every((u) => u.lastLoginAt !== null && u.lastLoginAt < ninetyDaysAgo())
      ? null
      : 'expected a full page of users last signed in over 90 days ago',
  );
  await check<{ items: unknown[] }>(url(names.accounts), cookie, names.accounts, (page) =>
    page.items.length > 0 ? null : 'no accounts',
  );
  const response = await fetch(loads.login.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { email: inputs.signInEmails[0], password: userPassword } }),
  });
  if (!response.ok) throw new Error(`A seeded user cannot sign in: HTTP ${response.status} ${await response.text()}`);
}

export async function checkFloor(floorBase: string, inputs: Inputs) {
  const rows = (await (await fetch(`${floorBase}/users.get`)).json()) as Array<{ email: string }>;
  if (rows[0]?.email !== inputs.email) throw new Error('The floor’s users.get did not find the user');
  const found = (await (await fetch(`${floorBase}/users.search`)).json()) as unknown[];
  if (found.length === 0) throw new Error('The floor’s search found nothing');
  const common = (await (await fetch(`${floorBase}/users.search.common`)).json()) as unknown[];
  if (common.length !== 26) throw new Error('The floor’s common search did not find a page and more');
  const none = (await (await fetch(`${floorBase}/users.search.none`)).json()) as unknown[];
  if (none.length !== 0) throw new Error('The floor’s search for no one found someone');
}
