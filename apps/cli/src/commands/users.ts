import { userCsvColumns, usersExportUrl } from '@roster/api/schemas';
import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import type { User } from '../client.js';
import { download } from '../download.js';
import { type Column, fields, when } from '../output.js';
import { findAccount, findUser } from '../resolve.js';
import { type PageOptions, pages, printPage, type Runtime, withPaging } from '../runtime.js';
import { registerBulk } from './bulk.js';
import { registerImport } from './import.js';

const fullName = (user: User) => `${user.firstName} ${user.lastName}`;
const plural = (count: number, one: string) => `${count} ${count === 1 ? one : `${one}s`}`;
const status = (user: User) => (user.active ? 'active' : 'deactivated');

export const userColumns: Column<User>[] = [
  { header: 'EMAIL', value: (u) => u.email },
  { header: 'NAME', value: fullName },
  { header: 'ROLE', value: (u) => u.role },
  { header: 'STATUS', value: status },
  { header: 'LAST SIGN-IN', value: (u) => when(u.lastLoginAt, 'never') },
  { header: 'ID', value: (u) => u.id },
];

export const showUser = (user: User) =>
  fields([
    ['Email', user.email],
    ['Name', fullName(user)],
    ['Role', user.role],
    ['Status', status(user)],
    ['Account', user.accountId],
    ['Last sign-in', when(user.lastLoginAt, 'never')],
    ['Created', when(user.createdAt)],
    ['Updated', when(user.updatedAt)],
    ['Version', String(user.version)],
    ['ID', user.id],
  ]);

const userArgument = ['<user>', "the user's id or email"] as const;

const sortNames = { name: 'name', email: 'email', 'last-sign-in': 'lastSignIn', created: 'created' } as const;

/** --inactive-since: a day (2026-01-31) or a number of days back from now (90d). */
export function parseSince(value: string, now = Date.now()): Date {
  const days = /^(\d{1,5})d$/.exec(value.trim());
  if (days) return new Date(now - Number(days[1]) * 86_400_000);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
    const date = new Date(`${value.trim()}T00:00:00`);
    if (!Number.isNaN(date.getTime()) && date.getDate() === Number(value.trim().slice(8))) return date;
  }
  throw new InvalidArgumentError('Give a day (2026-01-31) or a number of days (90d).');
}

export function registerUsers(program: Command, runtime: Runtime): void {
  const users = program
    .command('users')
    .description('find, create, change and remove users (administrators)')
    .addHelpText('after', '\nA <user> is an id or an email address.');
  registerImport(users, runtime);

  withPaging(
    users
      .command('search')
      .description('find users of the organization by name or email')
      .argument('[text...]', 'what to look for (3+ characters match anywhere; shorter ones match the start)')
      .option('--account <account>', "only this account's users (id or name)")
      .addOption(new Option('--role <role>', 'only this role').choices(['admin', 'account_admin', 'auditor', 'user']))
      .addOption(new Option('--active', 'only active users').conflicts('inactive'))
      .option('--inactive', 'only deactivated users')
      .addOption(new Option('--never-signed-in', 'only users who never signed in').conflicts('inactiveSince'))
      .addOption(
        new Option(
          '--inactive-since <when>',
          'only users whose last sign-in was before a day (2026-01-31) or that many days ago (90d); not those who never signed in',
        ).argParser((value) => parseSince(value)),
      )
      .addOption(new Option('--sort <field>', 'the order (default: email)').choices(Object.keys(sortNames)))
      .addOption(new Option('--order <direction>', 'ascending or descending').choices(['asc', 'desc']))
      .addOption(new Option('--desc', 'descending (same as --order desc)').conflicts('order')),
  ).action(
    async (
      words: string[],
      options: PageOptions & {
        account?: string;
        role?: 'admin' | 'account_admin' | 'auditor' | 'user';
        active?: boolean;
        inactive?: boolean;
        neverSignedIn?: boolean;
        inactiveSince?: Date;
        sort?: keyof typeof sortNames;
        order?: 'asc' | 'desc';
        desc?: boolean;
      },
      command: Command,
    ) => {
      const client = runtime.client(command);
      const accountId = options.account ? (await findAccount(client, options.account)).id : undefined;
      const active = options.active ? true : options.inactive ? false : undefined;
      const query = words.join(' ').trim() || undefined;
      const lastSignIn = options.neverSignedIn
        ? ({ never: true } as const)
        : options.inactiveSince
          ? { before: options.inactiveSince }
          : undefined;
      const direction = options.desc ? 'desc' : options.order;
      const sort =
        options.sort || direction
          ? { by: sortNames[options.sort ?? 'email'], direction: direction ?? 'asc' }
          : undefined;
      const page = await pages(options, (cursor, limit) =>
        client.users.search.query({ query, accountId, active, role: options.role, lastSignIn, sort, cursor, limit }),
      );
      printPage(runtime, command, page, userColumns, 'No users match.');
    },
  );

  users
    .command('export')
    .description('write the users of a search as CSV to standard output: roster users export [filters] > users.csv')
    .argument('[text...]', 'what to look for, as in `users search`')
    .option('--account <account>', "only this account's users (id or name)")
    .addOption(new Option('--role <role>', 'only this role').choices(['admin', 'account_admin', 'auditor', 'user']))
    .addOption(new Option('--active', 'only active users').conflicts('inactive'))
    .option('--inactive', 'only deactivated users')
    .option('--locked', 'only users locked out after failed sign-ins')
    .option('--bom', 'start with a UTF-8 byte order mark (for Excel)')
    .addHelpText(
      'after',
      `\nColumns: ${userCsvColumns.join(', ')}. The server streams the file; the export is in the audit log.`,
    )
    .action(
      async (
        words: string[],
        options: {
          account?: string;
          role?: 'admin' | 'account_admin' | 'auditor' | 'user';
          active?: boolean;
          inactive?: boolean;
          locked?: boolean;
          bom?: boolean;
        },
        command: Command,
      ) => {
        const apiKey = runtime.apiKey(command);
        const accountId = options.account
          ? (await findAccount(runtime.client(command), options.account)).id
          : undefined;
        const path = usersExportUrl(
          {
            query: words.join(' ').trim() || undefined,
            accountId,
            active: options.active ? true : options.inactive ? false : undefined,
            role: options.role,
            locked: options.locked ? true : undefined,
          },
          { bom: options.bom },
        );
        await download(runtime.serverUrl(command), path, apiKey, runtime.io.stdout);
      },
    );

  users
    .command('get')
    .description('show one user')
    .argument(...userArgument)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const user = await findUser(runtime.client(command), ref);
      runtime.print(command, user, showUser);
    });

  users
    .command('create')
    .description('add a user to an account')
    .requiredOption('--account <account>', 'the account (id or name)')
    .requiredOption('--email <email>', 'their email address (unique)')
    .requiredOption('--first-name <name>', 'first name')
    .requiredOption('--last-name <name>', 'last name')
    .addOption(
      new Option('--role <role>', 'their role').choices(['admin', 'account_admin', 'auditor', 'user']).default('user'),
    )
    .option('--password-stdin', 'read an initial password from standard input (else they have none yet)')
    .action(
      async (
        options: {
          account: string;
          email: string;
          firstName: string;
          lastName: string;
          role: 'admin' | 'account_admin' | 'auditor' | 'user';
          passwordStdin?: boolean;
        },
        command: Command,
      ) => {
        const client = runtime.client(command);
        const password = options.passwordStdin ? await runtime.readSecret('password', { repeat: true }) : undefined;
        const account = await findAccount(client, options.account);
        const user = await client.users.create.mutate({
          accountId: account.id,
          email: options.email,
          firstName: options.firstName,
          lastName: options.lastName,
          role: options.role,
          password,
        });
        runtime.print(command, user, (u) => `Created user ${u.email} in account ${account.name}.\n${showUser(u)}`);
      },
    );

  users
    .command('update')
    .description("change a user's name or email")
    .argument(...userArgument)
    .option('--first-name <name>', 'new first name')
    .option('--last-name <name>', 'new last name')
    .option('--email <email>', 'new email address')
    .action(
      async (ref: string, options: { firstName?: string; lastName?: string; email?: string }, command: Command) => {
        const client = runtime.client(command);
        const user = await findUser(client, ref);
        const updated = await client.users.update.mutate({ id: user.id, version: user.version, ...options });
        runtime.print(command, updated, (u) => `Updated user ${u.email}.\n${showUser(u)}`);
      },
    );

  users
    .command('deactivate')
    .description('stop a user from signing in; their sessions end and their API keys stop at once')
    .argument(...userArgument)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      const ends = await client.users.deactivationPreview.query({ id: user.id });
      await runtime.confirm(
        `Deactivate ${user.email} (${fullName(user)})? This ends ${plural(ends.sessions, 'session')} and revokes ${plural(ends.apiKeys, 'API key')}.`,
        options.yes,
      );
      const updated = await client.users.deactivate.mutate({ id: user.id, version: user.version });
      runtime.print(command, updated, (u) => `Deactivated ${u.email}.`);
    });

  users
    .command('move')
    .description('move a user to another account of the organization (administrators stay in the default account)')
    .argument(...userArgument)
    .requiredOption('--account <account>', 'the account to move them to (id or name)')
    .action(async (ref: string, options: { account: string }, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      const account = await findAccount(client, options.account);
      const moved = await client.users.move.mutate({ id: user.id, accountId: account.id, version: user.version });
      runtime.print(command, moved, (u) => `Moved ${u.email} to account ${account.name}.`);
    });

  users
    .command('reactivate')
    .description('let a deactivated user sign in again')
    .argument(...userArgument)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      const updated = await client.users.reactivate.mutate({ id: user.id, version: user.version });
      runtime.print(command, updated, (u) => `Reactivated ${u.email}.`);
    });

  users
    .command('delete')
    .description('remove a user for good (deactivating keeps them)')
    .argument(...userArgument)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      await runtime.confirm(`Delete ${user.email} (${fullName(user)}) for good? This cannot be undone.`, options.yes);
      const deleted = await client.users.delete.mutate({ id: user.id });
      runtime.print(command, deleted, (u) => `Deleted ${u.email}.`);
    });

  users
    .command('set-password')
    .description("set a user's password, read from standard input; ends their sessions")
    .argument(...userArgument)
    .requiredOption('--email <email>', 'sign in with this email and your password: an API key sets no password')
    .addHelpText(
      'after',
      [
        '',
        'Passwords are never arguments, and an API key cannot set one (a stolen key must not take over',
        'anyone): you sign in for this command. At a terminal your password and then the new one (twice)',
        'are asked, unseen; else both are piped in, yours on the first line:',
        '  printf \'%s\\n%s\' "$MY_PASSWORD" "$NEW_PASSWORD" | roster users set-password ada@example.com --email you@example.com',
      ].join('\n'),
    )
    .action(async (ref: string, options: { email: string }, command: Command) => {
      const [own = '', password = ''] = await runtime.readSecrets([
        { what: `password for ${options.email}` },
        { what: `new password for ${ref}`, repeat: true },
      ]);
      const client = runtime.sessionClient(command);
      await client.auth.login.mutate({ email: options.email, password: own });
      try {
        const user = await findUser(client, ref);
        const updated = await client.users.setPassword.mutate({ id: user.id, password });
        runtime.print(command, updated, (u) => `Set the password of ${u.email}; their sessions ended.`);
      } finally {
        // The session was only the way to the change: end it at once.
        await client.auth.logout.mutate().catch(() => undefined);
      }
    });

  type Role = 'admin' | 'account_admin' | 'auditor' | 'user';
  const roleWords: Record<Role, string> = {
    admin: 'an administrator',
    account_admin: 'an account administrator',
    auditor: 'an auditor',
    user: 'a plain user',
  };
  users
    .command('set-role')
    .description("give a user a role: admin, account_admin (their account's users), auditor (reads only) or user")
    .argument(...userArgument)
    .addArgument(new Argument('<role>', 'the new role').choices(['admin', 'account_admin', 'auditor', 'user']))
    .option('-y, --yes', 'do not ask for confirmation (needed to make an administrator a plain user)')
    .action(async (ref: string, role: Role, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      if (user.role === 'admin' && role !== 'admin') {
        await runtime.confirm(`Make ${user.email} ${roleWords[role]}? They lose administrator rights.`, options.yes);
      }
      const updated = await client.users.setRole.mutate({ id: user.id, role });
      runtime.print(command, updated, (u) => `${u.email} is now ${roleWords[u.role]}.`);
    });

  registerBulk(users, runtime);
}
