import { type BulkActionName, type BulkSelection, bulkActionLabels, bulkActions } from '@roster/api/schemas';
import { Argument, type Command, Option } from 'commander';
import type { RosterClient } from '../client.js';
import { CliError, UsageError } from '../errors.js';
import { type Column, table } from '../output.js';
import { findAccount } from '../resolve.js';
import type { Runtime } from '../runtime.js';

type Client = RosterClient;
type Preview = NonNullable<Awaited<ReturnType<Client['users']['bulk']['mutate']>>['preview']>;
type Status = Awaited<ReturnType<Client['users']['bulkStatus']['query']>>;
type Result = Status['results']['items'][number];

type BulkOptions = {
  ids?: string;
  query?: string;
  account?: string;
  role?: 'admin' | 'account_admin' | 'auditor' | 'user';
  active?: boolean;
  inactive?: boolean;
  locked?: boolean;
  toAccount?: string;
  dryRun?: boolean;
  yes?: boolean;
  pollMs?: number;
};

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const n = (value: number) => value.toLocaleString('en');
const users = (count: number) => `${n(count)} user${count === 1 ? '' : 's'}`;

/** "Deactivate 1,234 users", "Move 3 users to Acme". */
function actionPhrase(action: BulkActionName, count: number, toAccountName?: string): string {
  const phrase = `${bulkActionLabels[action]} ${users(count)}`;
  return action === 'move' && toAccountName ? `${phrase} to ${toAccountName}` : phrase;
}

export function describePreview(preview: Preview): string {
  const lines = [
    `${users(preview.total)} selected: ${actionPhrase(preview.action, preview.affected, preview.toAccount?.name)}.`,
  ];
  for (const skip of preview.skipped) lines.push(`  skipped: ${n(skip.count)} (${skip.message})`);
  const ends: string[] = [];
  if (preview.ends.sessions)
    ends.push(`${n(preview.ends.sessions)} live session${preview.ends.sessions === 1 ? '' : 's'}`);
  if (preview.ends.apiKeys)
    ends.push(`${n(preview.ends.apiKeys)} working API key${preview.ends.apiKeys === 1 ? '' : 's'}`);
  if (ends.length) lines.push(`  it ends: ${ends.join(' and ')}`);
  if (preview.action === 'delete') lines.push('  Deleting cannot be undone.');
  return lines.join('\n');
}

const resultColumns: Column<Result>[] = [
  { header: 'EMAIL', value: (r) => r.email ?? '' },
  { header: 'OUTCOME', value: (r) => r.outcome },
  { header: 'REASON', value: (r) => r.message ?? '' },
  { header: 'ID', value: (r) => r.userId },
];

async function selectionOf(client: Client, options: BulkOptions): Promise<BulkSelection> {
  const filtered =
    options.query !== undefined ||
    options.account !== undefined ||
    options.role !== undefined ||
    options.active ||
    options.inactive ||
    options.locked;
  if (options.ids !== undefined && filtered) {
    throw new UsageError('Select users either with --ids or with --query and filters, not both.');
  }
  if (options.ids !== undefined) {
    const ids = options.ids
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    const bad = ids.find((id) => !uuid.test(id));
    if (bad) throw new UsageError(`Not a user id: ${bad}. --ids takes ids separated by commas.`);
    if (ids.length === 0) throw new UsageError('--ids needs at least one id.');
    return { ids };
  }
  if (!filtered) {
    throw new UsageError(
      'Say which users: --ids ID,ID,... or --query TEXT (and/or --account, --role, --active, --inactive, --locked).',
    );
  }
  return {
    search: {
      query: options.query?.trim() || undefined,
      accountId: options.account ? (await findAccount(client, options.account)).id : undefined,
      role: options.role,
      active: options.active ? true : options.inactive ? false : undefined,
      locked: options.locked ? true : undefined,
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerBulk(users: Command, runtime: Runtime): void {
  users
    .command('bulk')
    .description('one action on many users: by ids, or everyone a search matches; previews, asks, then applies')
    .addArgument(new Argument('<action>', 'what to do').choices([...bulkActions]))
    .option('--ids <ids>', 'the users: ids separated by commas')
    .option('--query <text>', 'the users a search finds (as roster users search), with the filters below')
    .option('--account <account>', "only this account's users (id or name)")
    .addOption(new Option('--role <role>', 'only this role').choices(['admin', 'account_admin', 'auditor', 'user']))
    .addOption(new Option('--active', 'only active users').conflicts('inactive'))
    .option('--inactive', 'only deactivated users')
    .option('--locked', 'only users locked out after failed sign-ins')
    .option('--to-account <account>', 'move: the account to move them to (id or name)')
    .option('--dry-run', 'only show what it would do')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(new Option('--poll-ms <ms>', 'how often to ask for progress').default(500).argParser(Number).hideHelp())
    .addHelpText(
      'after',
      '\nExamples:\n  roster users bulk deactivate --query @old-domain.com --dry-run\n' +
        '  roster users bulk move --account Acme --inactive --to-account Archive --yes\n' +
        '  roster users bulk end_sessions --ids 0b7c…,5e1d… --yes --json',
    )
    .action(async (action: BulkActionName, options: BulkOptions, command: Command) => {
      const client = runtime.client(command);
      if (action === 'move' && !options.toAccount) throw new UsageError('move needs --to-account ACCOUNT.');
      if (action !== 'move' && options.toAccount) throw new UsageError('--to-account is for move only.');
      const selection = await selectionOf(client, options);
      const toAccountId = options.toAccount ? (await findAccount(client, options.toAccount)).id : undefined;
      const request = { selection, action, toAccountId };
      const { preview } = await client.users.bulk.mutate({ ...request, dryRun: true });
      if (!preview) throw new CliError('The server sent no preview.');
      if (options.dryRun) {
        runtime.print(command, preview, describePreview);
        return;
      }
      runtime.note(command, describePreview(preview));
      if (preview.total === 0) throw new CliError('No users match this selection: there is nothing to do.');
      await runtime.confirm(
        `${actionPhrase(action, preview.affected, preview.toAccount?.name)}${action === 'delete' ? ' (this cannot be undone)' : ''}?`,
        options.yes,
      );
      const { operation } = await client.users.bulk.mutate({
        ...request,
        dryRun: false,
        previewToken: preview.previewToken,
      });
      if (!operation) throw new CliError('The server started no operation.');
      runtime.note(command, `Started bulk action ${operation.id}.`);
      let status: Status;
      let shown = -1;
      for (;;) {
        status = await client.users.bulkStatus.query({ id: operation.id, outcome: 'skipped', limit: 100 });
        const op = status.operation;
        if (op.processed !== shown) {
          const percent = op.total ? Math.floor((op.processed / op.total) * 100) : 100;
          runtime.note(command, `  ${n(op.processed)} of ${n(op.total)} (${percent}%)`);
          shown = op.processed;
        }
        if (op.status === 'done' || op.status === 'failed') break;
        await sleep(options.pollMs ?? 500);
      }
      const skipped = [...status.results.items];
      let cursor = status.results.nextCursor;
      while (cursor) {
        const page = await client.users.bulkStatus.query({ id: operation.id, outcome: 'skipped', cursor, limit: 100 });
        skipped.push(...page.results.items);
        cursor = page.results.nextCursor;
      }
      const op = status.operation;
      runtime.print(command, { operation: op, skipped }, () => {
        const head = `${op.status === 'done' ? 'Done' : 'Stopped'}: ${n(op.done)} done, ${n(op.skipped)} skipped (bulk action ${op.id}).`;
        return skipped.length ? `${head}\n${table(skipped, resultColumns)}` : head;
      });
      if (op.status === 'failed') throw new CliError(op.error ?? 'The bulk action stopped on an error.');
    });
}
