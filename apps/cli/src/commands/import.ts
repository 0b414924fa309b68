import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ErrorReason } from '@roster/api/error-reasons';
import type { Command } from 'commander';
import { CliError, UsageError } from '../errors.js';
import { type Column, table } from '../output.js';
import { findAccount } from '../resolve.js';
import type { Runtime } from '../runtime.js';

type Summary = {
  total: number;
  create: number;
  update: number;
  unchanged: number;
  error: number;
  unknownColumns: string[];
  notes: string[];
};
type ErrorRow = { line: number; email: string; error: string | null };

const errorColumns: Column<ErrorRow>[] = [
  { header: 'LINE', value: (r) => String(r.line) },
  { header: 'EMAIL', value: (r) => r.email },
  { header: 'ERROR', value: (r) => r.error ?? '' },
];

/** Uploads the file to POST /import/users, as the console does: the preview's id and counts. */
async function upload(serverUrl: string, apiKey: string, accountId: string, fileName: string, bytes: Buffer) {
  const base = serverUrl.replace(/\/+$/, '');
  const url = `${base}/import/users?accountId=${encodeURIComponent(accountId)}&fileName=${encodeURIComponent(fileName)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/csv', 'user-agent': 'roster-cli' },
      body: bytes,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    throw new CliError(
      `Cannot reach Roster at ${serverUrl} (${(error as Error).message}). Is the server running? Set ROSTER_URL or pass --url.`,
      1,
      'UNREACHABLE',
    );
  }
  const text = await response.text();
  let body: {
    import?: { id: string; summary: Summary };
    error?: { code: string; reason: ErrorReason; message: string };
  };
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(
      `${serverUrl} did not answer like a Roster server (HTTP ${response.status}).`,
      1,
      'BAD_RESPONSE',
    );
  }
  if (!response.ok || !body.import) {
    const error = body.error;
    throw new CliError(
      error?.message ?? `HTTP ${response.status}`,
      1,
      error?.code ?? 'FAILED',
      undefined,
      error?.reason,
    );
  }
  return body.import;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

export function registerImport(users: Command, runtime: Runtime): void {
  users
    .command('import')
    .description('create and update an account’s users from a CSV file (preview, then apply)')
    .argument('<file>', 'a CSV file (UTF-8): a header row naming email, first name, last name, active, role')
    .requiredOption('--account <account>', 'the account (id or name)')
    .option('--dry-run', 'only preview: print what would change, change nothing')
    .option('--skip-errors', 'apply the rows without errors, skipping the others')
    .option('--yes', 'apply without asking')
    .addHelpText(
      'after',
      '\nMatches users by email (any case) within the account; never deletes. Rows with errors stop the\n' +
        'import unless --skip-errors. Passwords are never imported. At most 20 MB.',
    )
    .action(
      async (
        file: string,
        options: { account: string; dryRun?: boolean; skipErrors?: boolean; yes?: boolean },
        command: Command,
      ) => {
        const client = runtime.client(command);
        const apiKey = runtime.options(command).apiKey ?? runtime.env.apiKey ?? '';
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (error) {
          throw new UsageError(
            `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`,
          );
        }
        const account = await findAccount(client, options.account);
        const preview = await upload(runtime.serverUrl(command), apiKey, account.id, basename(file), bytes);
        const s = preview.summary;
        const errors = s.error
          ? (await client.imports.rows.query({ id: preview.id, verdict: 'error', limit: 20 })).items
          : [];
        const json = runtime.options(command).json;
        if (!json) {
          runtime.io.stdout.write(
            `Preview of ${basename(file)} into ${account.name}: ${plural(s.total, 'row')}: ` +
              `${s.create.toLocaleString('en')} to create, ${s.update.toLocaleString('en')} to update, ` +
              `${s.unchanged.toLocaleString('en')} unchanged, ${plural(s.error, 'error')}.\n`,
          );
          for (const note of s.notes) runtime.io.stderr.write(`note: ${note}\n`);
          if (errors.length) {
            runtime.io.stdout.write(`${table(errors, errorColumns)}\n`);
            if (s.error > errors.length)
              runtime.io.stdout.write(`… and ${plural(s.error - errors.length, 'more error')}.\n`);
          }
        }
        const done = (result: unknown) => {
          if (json)
            runtime.io.stdout.write(
              `${JSON.stringify({ import: { id: preview.id, accountId: account.id, summary: s }, errors, result }, null, 2)}\n`,
            );
        };
        if (options.dryRun) {
          done(null);
          return;
        }
        if (s.error > 0 && !options.skipErrors) {
          done(null);
          throw new CliError(
            `${plural(s.error, 'row has', 'rows have')} errors: nothing was imported. Fix them and run again, or pass --skip-errors.`,
            1,
            'IMPORT_HAS_ERRORS',
            undefined,
            'IMPORT_HAS_ERRORS',
          );
        }
        if (s.create + s.update === 0) {
          if (!json) runtime.io.stdout.write('Nothing to change.\n');
          done(null);
          return;
        }
        await runtime.confirm(
          `Apply to ${account.name}: create ${plural(s.create, 'user')}, update ${plural(s.update, 'user')}` +
            `${s.error ? `, skip ${plural(s.error, 'row')} with errors` : ''}?`,
          options.yes,
        );
        const result = await client.imports.commit.mutate({ id: preview.id, skipErrors: Boolean(options.skipErrors) });
        if (!json) {
          runtime.io.stdout.write(
            `Imported into ${account.name}: ${result.created.toLocaleString('en')} created, ${result.updated.toLocaleString('en')} updated` +
              ` (${result.deactivated} deactivated, ${result.reactivated} reactivated, ${result.roleChanged} role changes), ` +
              `${result.unchanged.toLocaleString('en')} unchanged, ${result.skipped.toLocaleString('en')} skipped.\n`,
          );
        }
        done(result);
      },
    );
}
