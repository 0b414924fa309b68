import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ApiKey, CreatedApiKey } from '../client.js';
import { UsageError } from '../errors.js';
import { type Column, when } from '../output.js';
import { findUser, isId } from '../resolve.js';
import { type PageOptions, pages, printPage, type Runtime, withPaging } from '../runtime.js';

const keyColumns: Column<ApiKey>[] = [
  { header: 'NAME', value: (k) => k.name },
  { header: 'PREFIX', value: (k) => k.prefix },
  { header: 'STATUS', value: (k) => k.status },
  { header: 'CREATED', value: (k) => when(k.createdAt) },
  { header: 'LAST USED', value: (k) => when(k.lastUsedAt, 'never') },
  { header: 'EXPIRES', value: (k) => when(k.expiresAt, 'never') },
  { header: 'ID', value: (k) => k.id },
];

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90d`, `12h`, `30m`, `2w` from now. */
export function parseDuration(value: string): Date {
  const match = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  const amount = Number(match?.[1]);
  const unit = units[match?.[2] ?? ''];
  if (!match || !unit || amount < 1) throw new InvalidArgumentError('Write a duration like 30m, 12h, 90d or 2w.');
  return new Date(Date.now() + amount * unit);
}

/** An ISO 8601 date (`2030-01-31`, midnight UTC) or date and time. */
export function parseDate(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? new Date(value.trim())
    : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('Write a date like 2030-01-31 or 2030-01-31T18:00Z.');
  return date;
}

export function registerApiKeys(program: Command, runtime: Runtime): void {
  const keys = program
    .command('api-keys')
    .description('API keys: how scripts (and this command) act as a user')
    .addHelpText(
      'after',
      '\nA request with a key acts as its user, with their role. A key stops working when revoked, when it\n' +
        'expires (every key does, within API_KEY_MAX_DAYS), and as soon as its user is deactivated or deleted;\n' +
        'deactivating revokes it for good.',
    );

  withPaging(
    keys
      .command('list')
      .description('your keys; administrators: any user of the organization with --user')
      .option('--user <user>', 'whose keys (id or email); yours when not given')
      .option('--include-revoked', 'show revoked keys too'),
  ).action(async (options: PageOptions & { user?: string; includeRevoked?: boolean }, command: Command) => {
    const client = runtime.client(command);
    const userId = options.user && !isId(options.user) ? (await findUser(client, options.user)).id : options.user;
    const page = await pages(options, (cursor, limit) =>
      client.apiKeys.list.query({ userId, includeRevoked: options.includeRevoked ?? false, cursor, limit }),
    );
    printPage(runtime, command, page, keyColumns, 'No API keys.');
  });

  keys
    .command('create')
    .description('create a key for yourself; its secret is shown only this once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "nightly sync"')
    .addOption(new Option('--expires-at <date>', 'stop working at this date (ISO 8601)').argParser(parseDate))
    .addOption(
      new Option('--expires-in <duration>', 'stop working after this long: 30m, 12h, 90d, 2w')
        .argParser(parseDuration)
        .conflicts('expiresAt'),
    )
    .option('--email <email>', 'sign in with this email and your password (from standard input): keys are made only so')
    .addHelpText(
      'after',
      [
        '',
        'A key is made by signing in with your password, asked at a terminal or read from standard input',
        '(never with another key, so that no key outlives its own expiry or revocation through a child):',
        '  export ROSTER_API_KEY=$(roster api-keys create --name laptop --email you@example.com)',
        '  printf \'%s\' "$PASSWORD" | roster api-keys create --name ci --email you@example.com --json',
        'Without --expires-in/--expires-at a key gets the longest lifetime the server allows (365 days by default).',
        '',
        'Only the key goes to standard output (all of it, with --json); store it like a password.',
      ].join('\n'),
    )
    .action(async (options: { name: string; expiresAt?: Date; expiresIn?: Date; email?: string }, command: Command) => {
      const input = { name: options.name, expiresAt: options.expiresAt ?? options.expiresIn };
      let created: CreatedApiKey;
      if (options.email) {
        const password = await runtime.readSecret(`password for ${options.email}`);
        const client = runtime.sessionClient(command);
        await client.auth.login.mutate({ email: options.email, password });
        try {
          created = await client.apiKeys.create.mutate(input);
        } finally {
          // The session was only the way to the key: end it at once.
          await client.auth.logout.mutate().catch(() => undefined);
        }
      } else {
        throw new UsageError(
          'Creating an API key needs your password, not a key: pass --email you@example.com (the password is asked, or read from standard input).',
        );
      }
      const { apiKey } = created;
      runtime.note(
        command,
        `Created API key "${apiKey.name}" (${apiKey.prefix}), valid until ${when(apiKey.expiresAt)}. Its secret is shown only this once: store it like a password.`,
      );
      runtime.print(command, created, (c) => c.secret);
    });

  keys
    .command('revoke')
    .description('end a key at once: yours, or (administrators) any of the organization')
    .argument('<id>', "the key's id (see `roster api-keys list`)")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      const client = runtime.client(command);
      await runtime.confirm(`Revoke API key ${id}? Scripts using it stop at once.`, options.yes);
      const revoked = await client.apiKeys.revoke.mutate({ id });
      runtime.print(command, revoked, (k) => `Revoked API key "${k.name}" (${k.prefix}).`);
    });
}
