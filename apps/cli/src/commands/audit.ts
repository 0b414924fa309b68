import type { Command } from 'commander';
import type { AuditEntry } from '../client.js';
import { type Column, when } from '../output.js';
import { isId } from '../resolve.js';
import { type PageOptions, pages, printPage, type Runtime, withPaging } from '../runtime.js';

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
  withPaging(
    audit
      .command('list')
      .description('what changed, newest first')
      .option('--user <user>', 'only what this user did or underwent (id, or the email they had: deleted users too)'),
  ).action(async (options: PageOptions & { user?: string }, command: Command) => {
    const client = runtime.client(command);
    const who = options.user ? (isId(options.user) ? { userId: options.user } : { email: options.user }) : {};
    const page = await pages(options, (cursor, limit) => client.audit.list.query({ ...who, cursor, limit }));
    printPage(runtime, command, page, auditColumns, 'Nothing recorded.');
  });
}
