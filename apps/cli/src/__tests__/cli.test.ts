import { type TestOrg, testPassword, uniqueEmail } from '@roster/api/test';
import type { Database } from '@roster/db';
import type { buildTestApp } from '@roster/server/test';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, closedPort, type Run, runInProcess, runProcess } from './harness.js';
import { startTestServer } from './test-server.js';

// The CLI against a real HTTP server on a free port with its own database (the
// test worker's: PGlite, or a fresh one on DATABASE_URL). Commands run in this
// process through the program's `run(argv, runtime)`; those marked `process: true`
// run the built bundle as a child process, exactly as installed.

let db: Kysely<Database>;
let org: TestOrg;
let app: Awaited<ReturnType<typeof buildTestApp>>;
let serverUrl: string;
let fixtureKey: string;
let bundle: Awaited<ReturnType<typeof buildBundle>>;

beforeAll(async () => {
  bundle = await buildBundle();
  ({ db, org, key: fixtureKey, app, url: serverUrl } = await startTestServer('CLI Org', 'fixture'));
});

afterAll(async () => {
  await app?.close();
  bundle?.remove();
});

type CliOptions = { key?: string | null; input?: string; env?: Record<string, string>; process?: boolean };

/** `roster ...args` with the fixture administrator's key unless told otherwise. */
function roster(args: string[], options: CliOptions = {}): Promise<Run> {
  const key = options.key === undefined ? fixtureKey : options.key;
  const runOptions = {
    input: options.input,
    env: { ROSTER_URL: serverUrl, ...(key ? { ROSTER_API_KEY: key } : {}), ...options.env },
  };
  return options.process
    ? runProcess(process.execPath, [bundle.main, ...args], runOptions)
    : runInProcess(args, runOptions);
}

/** Runs, expects success, and parses --json output. */
async function json<T = Record<string, unknown>>(args: string[], options: CliOptions = {}): Promise<T> {
  const result = await roster([...args, '--json'], options);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

type Key = { id: string; name: string; status: string; prefix: string };
type User = { id: string; email: string; active: boolean; role: string };

const sessionsOf = async (userId: string) =>
  (await db.selectFrom('sessions').select('id').where('userId', '=', userId).execute()).length;

describe('roster api-keys', () => {
  it('creates a key only by signing in: with a key alone it is a usage error, and the API refuses it anyway', async () => {
    const withKey = await roster(['api-keys', 'create', '--name', 'ci', '--expires-in', '30d']);
    expect(withKey.code).toBe(2);
    expect(withKey.stdout).toBe('');
    expect(withKey.stderr).toContain('Creating an API key needs your password, not a key: pass --email');
    const direct = await fetch(`${serverUrl}/trpc/apiKeys.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fixtureKey}` },
      body: JSON.stringify({ json: { name: 'child' } }),
    });
    expect(direct.status).toBe(403);

    const created = await json<{ apiKey: Key & { expiresAt: string }; secret: string }>(
      ['api-keys', 'create', '--name', 'ci', '--expires-in', '30d', '--email', org.adminEmail],
      { key: null, input: `${testPassword}\n` },
    );
    expect(created.secret).toMatch(/^rk_[a-z0-9]{8}_[\w-]{43}$/);
    expect(created.apiKey).toMatchObject({ name: 'ci', status: 'active' });
    expect(new Date(created.apiKey.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    const listed = await json<{ items: Key[] }>(['api-keys', 'list'], { key: created.secret });
    expect(listed.items.map((k) => k.name)).toEqual(expect.arrayContaining(['ci', 'fixture']));
  });

  it('creates a first key by signing in with the password from stdin; only the key goes to stdout', async () => {
    const before = await sessionsOf(org.adminId);
    // As a real process: the password arrives on a piped standard input.
    const result = await roster(['api-keys', 'create', '--name', 'laptop', '--email', org.adminEmail], {
      key: null,
      input: `${testPassword}\n`,
      process: true,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^rk_[a-z0-9]{8}_[\w-]{43}\n$/);
    expect(result.stderr).toContain('shown only this once');
    // The sign-in was only the way to the key: its session is gone again.
    expect(await sessionsOf(org.adminId)).toBe(before);
    const found = await json<{ items: User[] }>(['users', 'search', org.adminEmail], { key: result.stdout.trim() });
    expect(found.items.map((u) => u.id)).toEqual([org.adminId]);

    const wrong = await roster(['api-keys', 'create', '--name', 'x', '--email', org.adminEmail], {
      key: null,
      input: 'not the password',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('The email or password is incorrect.');
    expect(wrong.stdout).toBe('');
  });

  it('uses a key made in the console, which signs in with a cookie', async () => {
    const post = (path: string, body: unknown, cookie?: string) =>
      fetch(`${serverUrl}/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ json: body }),
      });
    const login = await post('auth.login', { email: org.adminEmail, password: testPassword });
    const cookie = login.headers.getSetCookie()[0]?.split(';')[0];
    expect(cookie).toMatch(/^roster_session=/);
    const created = await post('apiKeys.create', { name: 'from the console' }, cookie);
    const secret = ((await created.json()) as { result: { data: { json: { secret: string } } } }).result.data.json
      .secret;
    const listed = await json<{ items: Key[] }>(['api-keys', 'list'], { key: secret });
    expect(listed.items.some((k) => k.name === 'from the console')).toBe(true);
  });

  it('revokes a key after confirmation; the key is then refused', async () => {
    const { apiKey, secret } = await org.admin.apiKeys.create({ name: 'to revoke' });
    const unconfirmed = await roster(['api-keys', 'revoke', apiKey.id]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');
    expect((await json<{ items: Key[] }>(['api-keys', 'list'], { key: secret })).items.length).toBeGreaterThan(0);

    const revoked = await roster(['api-keys', 'revoke', apiKey.id, '--yes']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked API key "to revoke" (${apiKey.prefix})`);
    const refused = await roster(['api-keys', 'list'], { key: secret });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: This API key was revoked.');
  });
});

describe('roster users', () => {
  it('searches users, as a table and as JSON', async () => {
    const ada = await org.addUser({ firstName: 'Ada', lastName: 'Lovelace', email: uniqueEmail('ada') });
    const table = await roster(['users', 'search', 'lovelace']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^EMAIL\s+NAME\s+ROLE\s+STATUS\s+LAST SIGN-IN\s+ID$/);
    expect(table.stdout).toContain(ada.email);
    expect(table.stdout).toContain('Ada Lovelace');
    const page = await json<{ items: User[]; nextCursor: string | null }>(['users', 'search', 'lovelace']);
    expect(page).toEqual({ items: [expect.objectContaining({ id: ada.id, email: ada.email })], nextCursor: null });
    const none = await roster(['users', 'search', 'no such person anywhere']);
    expect(none.stdout).toBe('No users match.\n');
  });

  it('searches in an order, by last sign-in, and moves a user to another account', async () => {
    const account = await org.addAccount(`Sorted ${uniqueEmail('x').slice(2, 10)}`);
    const names = [
      ['Carla', 'Zimmer'],
      ['Anton', 'Åberg'],
      ['Berta', 'Meyer'],
    ] as const;
    const made = [];
    for (const [firstName, lastName] of names) {
      made.push(await org.addUser({ accountId: account.id, firstName, lastName }));
    }
    await db
      .updateTable('users')
      .set({ lastLoginAt: new Date(Date.now() - 100 * 86_400_000) })
      .where('id', '=', made[0]?.id ?? '')
      .execute();
    /** The last names `roster users search --account <it> ...flags` lists, in its order. */
    const lastNames = async (...flags: string[]) =>
      (
        await json<{ items: Array<User & { lastName: string }> }>([
          'users',
          'search',
          '--account',
          account.id,
          ...flags,
        ])
      ).items.map((u) => u.lastName);

    expect(await lastNames('--sort', 'name')).toEqual(['Åberg', 'Meyer', 'Zimmer']);
    for (const flags of [['--desc'], ['--order', 'desc']]) {
      expect(await lastNames('--sort', 'name', ...flags)).toEqual(['Zimmer', 'Meyer', 'Åberg']);
    }
    expect(await lastNames('--sort', 'created', '--desc')).toEqual(['Meyer', 'Åberg', 'Zimmer']);
    expect((await lastNames('--never-signed-in', '--sort', 'last-sign-in')).sort()).toEqual(['Meyer', 'Åberg']);
    for (const since of ['90d', new Date(Date.now() - 95 * 86_400_000).toISOString().slice(0, 10)]) {
      expect(await lastNames('--inactive-since', since), since).toEqual(['Zimmer']);
    }
    expect(await lastNames('--inactive-since', '120d')).toEqual([]);

    const badSince = await roster(['users', 'search', '--inactive-since', 'last week']);
    expect(badSince.code).not.toBe(0);
    expect(badSince.stderr).toContain('Give a day (2026-01-31) or a number of days (90d).');
    const badSort = await roster(['users', 'search', '--sort', 'age']);
    expect(badSort.code).not.toBe(0);
    expect(badSort.stderr).toContain('name, email, last-sign-in, created');

    const target = await org.addAccount();
    const moved = await roster(['users', 'move', made[2]?.email ?? '', '--account', target.name]);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toBe(`Moved ${made[2]?.email} to account ${target.name}.\n`);
    expect((await json<User & { accountId: string }>(['users', 'get', made[2]?.email ?? ''])).accountId).toBe(
      target.id,
    );
    const admin = await roster(['users', 'move', org.adminEmail, '--account', target.name]);
    expect(admin.code).toBe(1);
    expect(admin.stderr).toContain('Administrators belong to the default account');
  });

  it('creates a user, whose key is refused as soon as they are deactivated', async () => {
    const email = uniqueEmail('grace');
    const password = 'grace-password-1';
    const user = await json<User>(
      [
        'users',
        'create',
        '--account',
        'Default',
        '--email',
        email,
        '--first-name',
        'Grace',
        '--last-name',
        'Hopper',
        '--password-stdin',
      ],
      { input: password },
    );
    expect(user).toMatchObject({ email, role: 'user', active: true });

    const graceKey = (
      await roster(['api-keys', 'create', '--name', 'grace script', '--email', email], { key: null, input: password })
    ).stdout.trim();
    expect(graceKey).toMatch(/^rk_/);
    const notAdmin = await roster(['users', 'search'], { key: graceKey });
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toContain('error: Not allowed: account management is for administrators.');
    expect((await json<{ items: Key[] }>(['api-keys', 'list'], { key: graceKey })).items).toHaveLength(1);

    const unconfirmed = await roster(['users', 'deactivate', email]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');
    // The question says what deactivating ends: Grace's key (made by sign-in, which left no session).
    expect(unconfirmed.stderr).toContain('This ends 0 sessions and revokes 1 API key.');
    expect((await json<User>(['users', 'get', email])).active).toBe(true);

    const done = await roster(['users', 'deactivate', email, '--yes']);
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`Deactivated ${email}.\n`);

    const refused = await roster(['api-keys', 'list'], { key: graceKey });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain("error: This API key's user is deactivated.");
    const refusedJson = await roster(['api-keys', 'list', '--json'], { key: graceKey });
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stderr)).toEqual({
      error: { code: 'UNAUTHORIZED', reason: 'USER_DEACTIVATED', message: "This API key's user is deactivated." },
    });
    const audit = await json<{ items: { action: string; changes: { after?: { reason?: string } } }[] }>([
      'audit',
      'list',
      '--user',
      email,
    ]);
    expect(audit.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['user.created', 'api_key.created', 'user.deactivated', 'api_key.refused']),
    );

    // Deactivation revoked the key for good: reactivating the user does not bring it back.
    await expect(json<User>(['users', 'reactivate', user.id])).resolves.toMatchObject({ active: true });
    const stillRefused = await roster(['api-keys', 'list'], { key: graceKey });
    expect(stillRefused.code).toBe(1);
    expect(stillRefused.stderr).toContain('error: This API key was revoked.');
  });

  it('sets a password read from stdin, never from an argument, signed in: never with a key', async () => {
    const user = await org.addUser({ password: testPassword });
    const setPassword = (input: string, extra: string[] = []) =>
      roster(['users', 'set-password', user.email, '--email', org.adminEmail, ...extra], { key: null, input });
    const set = await setPassword(`${testPassword}\na brand new password\n`);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`Set the password of ${user.email}`);
    const signIn = (password: string) =>
      fetch(`${serverUrl}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: user.email, password } }),
      });
    expect((await signIn('a brand new password')).status).toBe(200);
    expect((await signIn(testPassword)).status).toBe(401);

    // The sign-in was only the way to the change: no session of the administrator is left.
    const adminSessions = await sessionsOf(org.adminId);
    await setPassword(`${testPassword}\nyet another password\n`);
    expect(await sessionsOf(org.adminId)).toBe(adminSessions);

    const noEmail = await roster(['users', 'set-password', user.email], { input: 'x\ny\n' });
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toContain("required option '--email <email>'");
    const empty = await setPassword('');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('on standard input');
    const oneLine = await setPassword(`${testPassword}\n`);
    expect(oneLine.code).toBe(2);
    const wrong = await setPassword('not my password\nwhatever password\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('The email or password is incorrect.');
    const asArgument = await roster([
      'users',
      'set-password',
      user.email,
      'hunter22-password',
      '--email',
      org.adminEmail,
    ]);
    expect(asArgument.code).toBe(2);
    expect(asArgument.stderr).toContain('too many arguments');
  });

  it('asks before making an administrator a plain user, and before deleting', async () => {
    const user = await org.addUser();
    await expect(json<User>(['users', 'set-role', user.email, 'admin'])).resolves.toMatchObject({ role: 'admin' });
    expect((await roster(['users', 'set-role', user.email, 'user'])).code).toBe(2);
    await expect(json<User>(['users', 'set-role', user.email, 'user', '--yes'])).resolves.toMatchObject({
      role: 'user',
    });
    const badRole = await roster(['users', 'set-role', user.email, 'owner']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('Allowed choices are admin, account_admin, auditor, user');

    // The delegated roles: no question (nobody loses administrator rights), and the words say what they are.
    const other = await org.addUser();
    const asAccountAdmin = await roster(['users', 'set-role', other.email, 'account_admin']);
    expect(asAccountAdmin.code).toBe(0);
    expect(asAccountAdmin.stdout).toBe(`${other.email} is now an account administrator.\n`);
    await expect(json<User>(['users', 'set-role', other.email, 'auditor'])).resolves.toMatchObject({ role: 'auditor' });
    await expect(json<User>(['users', 'set-role', other.email, 'user'])).resolves.toMatchObject({ role: 'user' });

    expect((await roster(['users', 'delete', user.id])).code).toBe(2);
    expect((await roster(['users', 'delete', user.id, '--yes'])).stdout).toBe(`Deleted ${user.email}.\n`);
    const gone = await roster(['users', 'get', user.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('error: No such user.');
  });

  it('updates a user by email', async () => {
    const user = await org.addUser();
    const updated = await json<User & { firstName: string }>([
      'users',
      'update',
      user.email,
      '--first-name',
      'Renamed',
    ]);
    expect(updated.firstName).toBe('Renamed');
    const invalid = await roster(['users', 'update', user.email, '--email', 'not-an-email']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('email: Enter a valid email address');
  });
});

describe('roster accounts and audit', () => {
  it('creates, finds by name, updates, lists and deletes an account', async () => {
    const name = `Acme ${Date.now()}`;
    const created = await json<{ id: string; userCount: number }>([
      'accounts',
      'create',
      '--name',
      name,
      '--user',
      `${uniqueEmail('acme')},Wile,Coyote`,
    ]);
    expect(created.userCount).toBe(1);
    await expect(json(['accounts', 'get', name.toUpperCase()])).resolves.toMatchObject({ id: created.id });
    await expect(json(['accounts', 'update', name, '--description', 'Roadrunner catchers'])).resolves.toMatchObject({
      description: 'Roadrunner catchers',
    });
    const all = await json<{ items: { name: string }[]; nextCursor: null }>([
      'accounts',
      'list',
      '--all',
      '--limit',
      '1',
    ]);
    expect(all.items.map((a) => a.name)).toEqual(expect.arrayContaining(['Default', name]));
    expect(all.nextCursor).toBeNull();

    expect((await roster(['accounts', 'delete', name])).code).toBe(2);
    const deleted = await roster(['accounts', 'delete', name, '--yes']);
    expect(deleted.stdout).toBe(`Deleted account ${name} and its 1 user(s).\n`);
    const gone = await roster(['accounts', 'get', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`No account named "${name}"`);
    const defaultAccount = await roster(['accounts', 'delete', 'Default', '--yes']);
    expect(defaultAccount.code).toBe(1);
    expect(defaultAccount.stderr).toContain('The default account cannot be deleted');
  });

  it("lists a deleted user's history by the email they had", async () => {
    const user = await org.addUser({ email: uniqueEmail('leaver') });
    expect((await roster(['users', 'delete', user.email, '--yes'])).code).toBe(0);
    const history = await json<{ items: { action: string; targetEmail: string }[] }>([
      'audit',
      'list',
      '--user',
      user.email,
    ]);
    expect(history.items.map((e) => e.action)).toEqual(['user.deleted', 'user.created']);
    expect(history.items.every((e) => e.targetEmail === user.email)).toBe(true);
  });

  it('pages the audit log', async () => {
    const first = await json<{ items: { action: string }[]; nextCursor: string | null }>([
      'audit',
      'list',
      '--limit',
      '2',
    ]);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const table = await roster(['audit', 'list', '--limit', '2']);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+CHANGES$/);
    expect(table.stderr).toContain('More results: repeat with --cursor');
    const next = await json<{ items: unknown[] }>([
      'audit',
      'list',
      '--limit',
      '2',
      '--cursor',
      first.nextCursor ?? '',
    ]);
    expect(next.items).toHaveLength(2);
  });
});

describe('errors and exit codes', () => {
  it('says what is missing or wrong, with exit code 2 for usage and 1 for refusals', async () => {
    const noKey = await roster(['users', 'search'], { key: null });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('No API key: set ROSTER_API_KEY or pass --api-key.');

    const garbage = await roster(['users', 'search'], { key: 'rk_nonsense' });
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('error: The API key is not valid.');
    // --json says why by the server's stable reason, for scripts to switch on.
    const garbageJson = await roster(['users', 'search', '--json'], { key: 'rk_nonsense' });
    expect(JSON.parse(garbageJson.stderr)).toEqual({
      error: { code: 'UNAUTHORIZED', reason: 'API_KEY_INVALID', message: 'The API key is not valid.' },
    });

    const flag = await roster(['--api-key', fixtureKey, 'accounts', 'list'], { key: null });
    expect(flag.code).toBe(0);

    const port = await closedPort();
    const refused = await roster(['users', 'search', '--url', `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Cannot reach Roster at http://127.0.0.1:${port} (connection refused)`);

    const plain = await roster(['users', 'search'], { env: { ROSTER_URL: `${serverUrl}/nothing-here` } });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('did not answer like a Roster server');

    for (const args of [['bogus'], ['users', 'search', '--limit', 'ten'], ['users', 'get'], ['users']]) {
      const usage = await roster(args);
      expect(usage.code, args.join(' ')).toBe(2);
    }
    // The exit code a shell sees, from the installed bundle as a process.
    for (const [args, code] of [
      [['users', 'get'], 2],
      [['users', 'get', 'nobody@example.invalid'], 1],
    ] as const) {
      const usage = await roster([...args], { process: true });
      expect(usage.code, args.join(' ')).toBe(code);
    }
  });

  it('has --help everywhere, with exit code 0', async () => {
    for (const args of [[], ['users'], ['users', 'search'], ['api-keys', 'create'], ['org', 'create'], ['db']]) {
      const help = await roster([...args, '--help']);
      expect(help.code, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/^Usage: roster/);
    }
  });

  it('runs from source through the launcher, as `pnpm roster` does', async () => {
    const viaTsx = await runProcess(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'api-keys', 'list', '--json'],
      {
        env: { ROSTER_URL: serverUrl, ROSTER_API_KEY: fixtureKey },
      },
    );
    expect(viaTsx.code).toBe(0);
    expect(JSON.parse(viaTsx.stdout).items.length).toBeGreaterThan(0);
    const launcher = await runProcess(process.execPath, ['bin/roster.js', '--help']);
    expect(launcher.code).toBe(0);
    expect(launcher.stdout).toContain('Usage: roster');
  });
});
