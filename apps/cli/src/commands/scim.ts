import type { Command } from 'commander';
import type { RosterClient } from '../client.js';
import { type Column, table, when } from '../output.js';
import { findAccount } from '../resolve.js';
import type { Runtime } from '../runtime.js';

type Connection = Awaited<ReturnType<RosterClient['scim']['connections']['revoke']['mutate']>>;

const connectionColumns: Column<Connection>[] = [
  { header: 'NAME', value: (c) => c.name },
  { header: 'ACCOUNT', value: (c) => c.accountName },
  { header: 'PREFIX', value: (c) => c.prefix },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'CREATED', value: (c) => when(c.createdAt) },
  { header: 'LAST USED', value: (c) => when(c.lastUsedAt, 'never') },
  { header: 'ID', value: (c) => c.id },
];

export function registerScim(program: Command, runtime: Runtime): void {
  const scim = program
    .command('scim')
    .description('SCIM provisioning connections: how an identity provider (Okta, Entra ID) manages an account’s users')
    .addHelpText(
      'after',
      '\nA connection gives an identity provider a token for the SCIM 2.0 endpoint <server>/scim/v2, bound to\n' +
        'one account: it creates, updates, deactivates and deletes that account’s users (never administrators).',
    );

  scim
    .command('create')
    .description('connect an identity provider to an account; its token is shown only this once')
    .requiredOption('--account <account>', 'the account (id or exact name) whose users it provisions')
    .requiredOption('--name <name>', 'what it is, e.g. "Okta"')
    .action(async (options: { account: string; name: string }, command: Command) => {
      const client = runtime.client(command);
      const account = await findAccount(client, options.account);
      const created = await client.scim.connections.create.mutate({ accountId: account.id, name: options.name });
      const baseUrl = `${runtime.serverUrl(command).replace(/\/+$/, '')}/scim/v2`;
      runtime.note(
        command,
        `Created SCIM connection "${created.connection.name}" for account "${account.name}".\n` +
          `SCIM base URL: ${baseUrl}\nIts token is shown only this once: paste it into your identity provider now.`,
      );
      runtime.print(command, { ...created, baseUrl }, (c) => c.token);
    });

  scim
    .command('list')
    .description('every connection of the organization, newest first')
    .action(async (_options: unknown, command: Command) => {
      const connections = await runtime.client(command).scim.connections.list.query();
      runtime.print(command, connections, (list) =>
        list.length ? table(list, connectionColumns) : 'No SCIM connections.',
      );
    });

  scim
    .command('revoke')
    .description('end a connection at once: its next request is refused')
    .argument('<id>', "the connection's id (see `roster scim list`)")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      await runtime.confirm(
        `Revoke SCIM connection ${id}? The identity provider stops provisioning at once.`,
        options.yes,
      );
      const revoked = await client.scim.connections.revoke.mutate({ id });
      runtime.print(command, revoked, (c) => `Revoked SCIM connection "${c.name}" (${c.prefix}).`);
    });
}
