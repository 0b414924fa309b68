import { type Command, InvalidArgumentError } from 'commander';
import { CookieJar, createClient, type RosterClient } from './client.js';
import type { CliEnv } from './env.js';
import { UsageError } from './errors.js';
import { type Column, table, toJson } from './output.js';
import { Cancelled, confirm, type Input, type Output, readSecret, readSecrets } from './prompt.js';

/** Options every command takes (given before or after the command's name). */
export type GlobalOptions = { url?: string; apiKey?: string; json?: boolean };

export type Io = { stdin: Input; stdout: Output; stderr: Output };

/** What a command needs beyond its own arguments: where, who, how to print and ask. */
export class Runtime {
  constructor(
    readonly env: CliEnv,
    readonly io: Io,
  ) {}

  options(command: Command): GlobalOptions {
    return command.optsWithGlobals<GlobalOptions>();
  }

  serverUrl(command: Command): string {
    return this.options(command).url ?? this.env.url;
  }

  /** A client authenticated by the API key of --api-key or ROSTER_API_KEY. */
  client(command: Command): RosterClient {
    return createClient({ url: this.serverUrl(command), apiKey: this.apiKey(command) });
  }

  /** The API key of --api-key or ROSTER_API_KEY, or a usage error saying how to get one. */
  apiKey(command: Command): string {
    const apiKey = this.options(command).apiKey ?? this.env.apiKey;
    if (!apiKey) {
      throw new UsageError(
        'No API key: set ROSTER_API_KEY or pass --api-key. ' +
          'Create one with `roster api-keys create --name NAME --email YOUR_EMAIL` (it asks your password), ' +
          'or in the console on your profile.',
      );
    }
    return apiKey;
  }

  /** A client without a key that keeps the session cookie of a password sign-in. */
  sessionClient(command: Command): RosterClient {
    return createClient({ url: this.serverUrl(command), cookies: new CookieJar() });
  }

  /** Prints the result: as JSON with --json, else as `human` renders it. */
  print<T>(command: Command, data: T, human: (data: T) => string): void {
    const text = this.options(command).json ? toJson(data) : human(data);
    if (text) this.io.stdout.write(`${text}\n`);
  }

  /** A remark for people (hints, "more results"), on stderr so stdout stays data; silent with --json. */
  note(command: Command, text: string): void {
    if (!this.options(command).json) this.io.stderr.write(`${text}\n`);
  }

  /** Goes on only when confirmed: by --yes, or by answering y on the terminal. */
  async confirm(question: string, yes: boolean | undefined): Promise<void> {
    if (yes) return;
    if (!(await confirm(question, this.io.stdin, this.io.stderr))) throw new Cancelled();
  }

  readSecret(what: string, options: { repeat?: boolean } = {}): Promise<string> {
    return readSecret(what, this.io.stdin, this.io.stderr, options);
  }

  /** Several secrets: asked one after the other at a terminal, else one line each from the pipe. */
  readSecrets(asks: { what: string; repeat?: boolean }[]): Promise<string[]> {
    return readSecrets(asks, this.io.stdin, this.io.stderr);
  }
}

/** Option parser for --limit and the like. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Give a positive whole number.');
  return n;
}

export type Page<T> = { items: T[]; nextCursor: string | null };

/** Options of every list command. */
export type PageOptions = { limit?: number; cursor?: string; all?: boolean };

/** One page (from --cursor), or with --all every page, gathered into one. */
export async function pages<T>(options: PageOptions, fetchPage: (cursor?: string, limit?: number) => Promise<Page<T>>) {
  if (!options.all) return fetchPage(options.cursor, options.limit);
  const items: T[] = [];
  let cursor = options.cursor;
  do {
    const page = await fetchPage(cursor, 100);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return { items, nextCursor: null };
}

/** Adds the options of every list command: --limit, --cursor and --all. */
export function withPaging(command: Command): Command {
  return command
    .option('--limit <n>', 'at most this many (1-100, default 25)', parsePositiveInt)
    .option('--cursor <cursor>', 'continue after the page that gave this cursor')
    .option('--all', 'every page');
}

/** Prints a page as a table (or `none` when empty), and tells people how to get the next one. */
export function printPage<T>(runtime: Runtime, command: Command, page: Page<T>, columns: Column<T>[], none: string) {
  runtime.print(command, page, (p) => (p.items.length ? table(p.items, columns) : none));
  if (page.nextCursor) runtime.note(command, `More results: repeat with --cursor ${page.nextCursor}, or pass --all.`);
}
