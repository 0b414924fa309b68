import { Argument, type Command, Option } from 'commander';
import type { User } from '../client.js';
import { type Column, fields, when } from '../output.js';
import { findAccount, findUser } from '../resolve.js';
import { type PageOptions, pages, printPage, type Runtime, withPaging } from '../runtime.js';
import { registerBulk } from './bulk.js';

const fullName = (user: User) => `${user.firstName} ${user.lastName}`;
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

export function registerUsers(program: Command, runtime: Runtime): void {
  const users = program
    .command('users')
    .description('find, create, change and remove users (administrators)')
    .addHelpText('after', '\nA <user> is an id or an email address.');

  withPaging(
    users
      .command('search')
      .description('find users of the organization by name or email')
      .argument('[text...]', 'what to look for (3+ characters match anywhere; shorter ones match the start)')
      .option('--account <account>', "only this account's users (id or name)")
      .addOption(new Option('--role <role>', 'only this role').choices(['admin', 'user']))
      .addOption(new Option('--active', 'only active users').conflicts('inactive'))
      .option('--inactive', 'only deactivated users'),
  ).action(
    async (
      words: string[],
      options: PageOptions & { account?: string; role?: 'admin' | 'user'; active?: boolean; inactive?: boolean },
      command: Command,
    ) => {
      const client = runtime.client(command);
      const accountId = options.account ? (await findAccount(client, options.account)).id : undefined;
      const active = options.active ? true : options.inactive ? false : undefined;
      const query = words.join(' ').trim() || undefined;
      const page = await pages(options, (cursor, limit) =>
        client.users.search.query({ query, accountId, active, role: options.role, cursor, limit }),
      );
      printPage(runtime, command, page, userColumns, 'No users match.');
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
    .addOption(new Option('--role <role>', 'their role').choices(['admin', 'user']).default('user'))
    .option('--password-stdin', 'read an initial password from standard input (else they have none yet)')
    .action(
      async (
        options: {
          account: string;
          email: string;
          firstName: string;
          lastName: string;
          role: 'admin' | 'user';
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
      await runtime.confirm(
        `Deactivate ${user.email} (${fullName(user)})? Their sessions end and their API keys stop working.`,
        options.yes,
      );
      const updated = await client.users.deactivate.mutate({ id: user.id, version: user.version });
      runtime.print(command, updated, (u) => `Deactivated ${u.email}.`);
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

  users
    .command('set-role')
    .description('make a user an administrator, or a plain user')
    .argument(...userArgument)
    .addArgument(new Argument('<role>', 'the new role').choices(['admin', 'user']))
    .option('-y, --yes', 'do not ask for confirmation (needed to make an administrator a plain user)')
    .action(async (ref: string, role: 'admin' | 'user', options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      const user = await findUser(client, ref);
      if (role === 'user' && user.role === 'admin') {
        await runtime.confirm(`Make ${user.email} a plain user? They lose administrator rights.`, options.yes);
      }
      const updated = await client.users.setRole.mutate({ id: user.id, role });
      runtime.print(
        command,
        updated,
        (u) => `${u.email} is now ${u.role === 'admin' ? 'an administrator' : 'a plain user'}.`,
      );
    });

  registerBulk(users, runtime);
}
