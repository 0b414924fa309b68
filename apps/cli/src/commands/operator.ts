import type { Command } from 'commander';
import { table, toJson, when } from '../output.js';
import type { Runtime } from '../runtime.js';

const databaseHelp = [
  '',
  'These work on the database directly, not through the server: DATABASE_URL names a PostgreSQL',
  "database; without it, the embedded one in DATA_DIR (default: the repository's .data/, as the",
  'server). The embedded database allows one process at a time: stop the server first.',
].join('\n');

export function registerOperator(program: Command, runtime: Runtime): void {
  const db = program.command('db').description('operator: the database itself').addHelpText('after', databaseHelp);
  db.command('migrate')
    .description('bring the database schema up to date')
    .addHelpText('after', databaseHelp)
    .action(async (_options: unknown, command: Command) => {
      const { migrate } = await import('../operator.js');
      const done = await migrate(runtime.env);
      runtime.print(command, done, (d) =>
        d.applied.length ? `Applied ${d.applied.join(', ')} to ${d.location}.` : `${d.location} is up to date.`,
      );
    });

  const org = program.command('org').description('operator: organizations').addHelpText('after', databaseHelp);
  org
    .command('create')
    .description('create an organization with its default account and first administrator; prints them as JSON')
    .requiredOption('--name <name>', "the organization's name")
    .requiredOption('--admin-email <email>', 'its first administrator')
    .option('--admin-password <password>', 'their password (8-256 characters); generated and printed once if not given')
    .addHelpText('after', databaseHelp)
    .action(async (options: { name: string; adminEmail: string; adminPassword?: string }) => {
      const { createOrg } = await import('../operator.js');
      const created = await createOrg(runtime.env, options);
      runtime.io.stdout.write(`${toJson(created)}\n`);
    });

  const mail = program.command('mail').description('operator: the mail outbox').addHelpText('after', databaseHelp);
  mail
    .command('list')
    .description(
      'list queued and sent mail, newest first; without SMTP_URL mail stays here (status logged) with its link',
    )
    .option('--status <status>', 'only pending, sent, failed or logged mail')
    .option('--limit <n>', 'at most this many (default 50)', (value) => Number(value), 50)
    .addHelpText('after', databaseHelp)
    .action(async (options: { status?: string; limit: number }, command: Command) => {
      const { listOutbox } = await import('../operator.js');
      const rows = await listOutbox(runtime.env, options);
      runtime.print(command, rows, (list) =>
        list.length
          ? table(list, [
              { header: 'Queued', value: (m) => when(m.createdAt) },
              {
                header: 'Status',
                value: (m) => (m.lastError ? `${m.status} (${m.attempts}: ${m.lastError})` : m.status),
              },
              { header: 'Organization', value: (m) => m.organization },
              { header: 'To', value: (m) => m.toAddress },
              { header: 'Subject', value: (m) => m.subject },
              { header: 'Link', value: (m) => (m.link ? `${m.link} (until ${when(m.linkExpiresAt)})` : '-') },
            ])
          : 'The outbox is empty.',
      );
    });
}
