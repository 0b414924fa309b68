import type { Command } from 'commander';
import type { AuditEntry } from '../client.js';
import { type Column, table, when } from '../output.js';
import { findUser } from '../resolve.js';
import { morePages, type PageOptions, pages, parsePositiveInt, type Runtime } from '../runtime.js';

/** `field: before -> after` for each changed field. */
function summary(entry: AuditEntry): string {
  const before = entry.changes.before ?? {};
  const after = entry.changes.after ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const show = (value: unknown) => (value === undefined ? '' : JSON.stringify(value));
  return keys
    .map((key) =>
      key in before && key in after
        ? `${key}: ${show(before[key])} -> ${show(after[key])}`
        : `${key}: ${show(key in after ? after[key] : before[key])}`,
    )
    .join(', ');
}

const auditColumns: Column<AuditEntry>[] = [
  { header: 'TIME', value: (e) => when(e.createdAt) },
  { header: 'ACTOR', value: (e) => e.actorEmail ?? '-' },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => e.targetLabel ?? e.targetId ?? '-' },
  { header: 'CHANGES', value: summary },
];

export function registerAudit(program: Command, runtime: Runtime): void {
  const audit = program.command('audit').description('the audit log (administrators)');
  audit
    .command('list')
    .description('what changed, newest first')
    .option('--user <user>', 'only what this user did or underwent (id or email)')
    .option('--limit <n>', 'at most this many (1-100, default 25)', parsePositiveInt)
    .option('--cursor <cursor>', 'continue after the page that gave this cursor')
    .option('--all', 'every page')
    .action(async (options: PageOptions & { user?: string }, command: Command) => {
      const client = runtime.client(command);
      const userId = options.user ? (await findUser(client, options.user)).id : undefined;
      const page = await pages(options, (cursor, limit) => client.audit.list.query({ userId, cursor, limit }));
      runtime.print(command, page, (p) => (p.items.length ? table(p.items, auditColumns) : 'Nothing recorded.'));
      morePages(runtime, command, page);
    });
}
