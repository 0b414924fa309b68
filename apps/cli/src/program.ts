import { Command, CommanderError } from 'commander';
import { registerAccounts } from './commands/accounts.js';
import { registerApiKeys } from './commands/api-keys.js';
import { registerAudit } from './commands/audit.js';
import { registerOperator } from './commands/operator.js';
import { registerScim } from './commands/scim.js';
import { registerUsers } from './commands/users.js';
import { defaultUrl } from './env.js';
import { exitCodes, explain } from './errors.js';
import { toJson } from './output.js';
import type { Runtime } from './runtime.js';

const programHelp = [
  '',
  'Environment:',
  `  ROSTER_URL       the server (default ${defaultUrl})`,
  '  ROSTER_API_KEY   your API key; `roster api-keys create --help` tells how to get one',
  '  DATABASE_URL, DATA_DIR   the database, for the operator commands `db`, `org` and `mail`',
  '',
  'Exit codes: 0 done; 1 refused or failed (the message says why); 2 wrong usage, no API key,',
  'or a destructive command without --yes when not at a terminal.',
  '',
  'Examples:',
  '  roster users search ada',
  '  roster users deactivate ada@example.com --yes',
  '  roster accounts list --all --json | jq -r ".items[].name"',
].join('\n');

/** The whole command line; settings given here before the commands are inherited by every one. */
export function buildProgram(runtime: Runtime): Command {
  const program = new Command('roster')
    .description('Roster from the command line: the same API as the console, for scripts and administrators.')
    .option('--url <url>', `the server (default: ROSTER_URL, else ${defaultUrl})`)
    .option('--api-key <key>', 'your API key (default: ROSTER_API_KEY, which keeps it out of the process list)')
    .option('--json', 'print JSON for scripts instead of tables')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => runtime.io.stdout.write(text),
      writeErr: (text) => runtime.io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', programHelp);
  registerAccounts(program, runtime);
  registerUsers(program, runtime);
  registerAudit(program, runtime);
  registerApiKeys(program, runtime);
  registerScim(program, runtime);
  registerOperator(program, runtime);
  return program;
}

/** Runs one command line; resolves to the exit code. Errors are printed, never thrown. */
export async function run(argv: readonly string[], runtime: Runtime): Promise<number> {
  const program = buildProgram(runtime);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    const options = program.opts<{ url?: string; json?: boolean }>();
    const explained = explain(error, options.url ?? runtime.env.url);
    runtime.io.stderr.write(
      options.json
        ? `${toJson({ error: { code: explained.code, reason: explained.reason, message: explained.message } })}\n`
        : `error: ${explained.message}\n${explained.hint ? `${explained.hint}\n` : ''}`,
    );
    return explained.exitCode;
  }
}
