import { type Command, InvalidArgumentError } from 'commander';
import type { Account } from '../client.js';
import { type Column, fields, when, yesNo } from '../output.js';
import { findAccount } from '../resolve.js';
import { type PageOptions, pages, printPage, type Runtime, withPaging } from '../runtime.js';

const accountColumns: Column<Account>[] = [
  { header: 'NAME', value: (a) => a.name },
  { header: 'USERS', value: (a) => String(a.userCount) },
  { header: 'DEFAULT', value: (a) => yesNo(a.isDefault) },
  { header: 'CREATED', value: (a) => when(a.createdAt) },
  { header: 'ID', value: (a) => a.id },
];

const showAccount = (account: Account) =>
  fields([
    ['Name', account.name],
    ['Description', account.description || '-'],
    ['Users', String(account.userCount)],
    ['Default', yesNo(account.isDefault)],
    ['Created', when(account.createdAt)],
    ['Updated', when(account.updatedAt)],
    ['ID', account.id],
  ]);

type NewUser = { email: string; firstName: string; lastName: string };

/** `--user "ada@example.com,Ada,Lovelace"`, repeatable. */
function collectUser(value: string, previous: NewUser[] = []): NewUser[] {
  const [email, firstName, lastName, ...rest] = value.split(',').map((part) => part.trim());
  if (!email || !firstName || !lastName || rest.length) {
    throw new InvalidArgumentError('Write a user as "email,First,Last".');
  }
  return [...previous, { email, firstName, lastName }];
}

const accountArgument = ['<account>', "the account's id or name"] as const;

export function registerAccounts(program: Command, runtime: Runtime): void {
  const accounts = program.command('accounts').description("the organization's accounts (administrators)");

  withPaging(
    accounts
      .command('list')
      .description('list accounts by name')
      .argument('[text...]', 'only accounts whose name contains this'),
  ).action(async (words: string[], options: PageOptions, command: Command) => {
    const client = runtime.client(command);
    const query = words.join(' ').trim() || undefined;
    const page = await pages(options, (cursor, limit) => client.accounts.list.query({ query, cursor, limit }));
    printPage(runtime, command, page, accountColumns, 'No accounts match.');
  });

  accounts
    .command('get')
    .description('show one account')
    .argument(...accountArgument)
    .action(async (ref: string, _options: unknown, command: Command) => {
      runtime.print(command, await findAccount(runtime.client(command), ref), showAccount);
    });

  accounts
    .command('create')
    .description('create an account, with its first users if given (all or nothing)')
    .requiredOption('--name <name>', 'its name (unique in the organization)')
    .option('--description <text>', 'what it is for')
    .option('--user <email,first,last>', 'a user to add with it (repeat for more)', collectUser)
    .action(async (options: { name: string; description?: string; user?: NewUser[] }, command: Command) => {
      const account = await runtime.client(command).accounts.create.mutate({
        name: options.name,
        description: options.description,
        users: options.user ?? [],
      });
      runtime.print(command, account, (a) => `Created account ${a.name}.\n${showAccount(a)}`);
    });

  accounts
    .command('update')
    .description("change an account's name or description")
    .argument(...accountArgument)
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .action(async (ref: string, options: { name?: string; description?: string }, command: Command) => {
      const client = runtime.client(command);
      const account = await findAccount(client, ref);
      const updated = await client.accounts.update.mutate({ id: account.id, ...options });
      runtime.print(command, updated, (a) => `Updated account ${a.name}.\n${showAccount(a)}`);
    });

  accounts
    .command('delete')
    .description('delete an account and all of its users (never the default account)')
    .argument(...accountArgument)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      const account = await findAccount(client, ref);
      await runtime.confirm(
        `Delete account ${account.name} and its ${account.userCount} user(s) for good? This cannot be undone.`,
        options.yes,
      );
      const deleted = await client.accounts.delete.mutate({ id: account.id });
      runtime.print(command, deleted, (a) => `Deleted account ${a.name} and its ${a.userCount} user(s).`);
    });
}
