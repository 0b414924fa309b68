import { CliError, exitCodes, UsageError } from './errors.js';

/** Standard input as the prompts need it: a pipe, or a terminal that can stop echoing. */
export type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
export type Output = { write(text: string): unknown };

export class Cancelled extends CliError {
  constructor() {
    super('Cancelled: nothing was changed.', exitCodes.failed, 'CANCELLED');
  }
}

/** Reads one line typed on the terminal, echoing it. */
function readLine(input: Input): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const end = text.search(/[\r\n]/);
      if (end >= 0) finish(() => resolve(text.slice(0, end)));
    };
    const onEnd = () => finish(() => reject(new Cancelled()));
    const finish = (then: () => void) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      then();
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/**
 * Asks a yes/no question on the terminal; only "y" or "yes" is yes. Without a
 * terminal there is nobody to ask: the caller must have passed --yes.
 */
export async function confirm(question: string, input: Input, output: Output): Promise<boolean> {
  if (!input.isTTY) {
    throw new UsageError(`${question} Not confirmed: pass --yes to confirm when not at a terminal.`);
  }
  output.write(`${question} [y/N] `);
  const answer = await readLine(input);
  return /^\s*y(es)?\s*$/i.test(answer);
}

/** Reads a line from the terminal without echoing it (raw mode), as passwords are typed. */
function readHidden(prompt: string, input: Input, output: Output): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    output.write(prompt);
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish(() => resolve(value));
        if (char === '\u0003') return finish(() => reject(new Cancelled())); // Ctrl-C
        if (char === '\u0004') return finish(() => (value ? resolve(value) : reject(new Cancelled()))); // Ctrl-D
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    const finish = (then: () => void) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      then();
    };
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}

/** All of a piped standard input, less the one line break `echo` adds. */
async function readAll(input: Input): Promise<string> {
  let text = '';
  for await (const chunk of input) text += chunk.toString();
  return text.replace(/\r?\n$/, '');
}

/**
 * A secret (a password) from standard input: typed without echo on a terminal,
 * twice when `repeat` is set; otherwise read whole from the pipe. Never from an
 * argument, where it would land in the shell history and the process list.
 */
export async function readSecret(
  what: string,
  input: Input,
  output: Output,
  options: { repeat?: boolean } = {},
): Promise<string> {
  if (!input.isTTY) {
    const secret = await readAll(input);
    if (!secret)
      throw new UsageError(`No ${what} on standard input: pipe it in, e.g. printf '%s' "$PASSWORD" | roster ...`);
    return secret;
  }
  const secret = await readHidden(`${what[0]?.toUpperCase()}${what.slice(1)}: `, input, output);
  if (!secret) throw new UsageError(`No ${what} given.`);
  if (options.repeat && (await readHidden(`Repeat the ${what}: `, input, output)) !== secret) {
    throw new UsageError(`The two ${what}s differ; nothing was changed.`);
  }
  return secret;
}

/**
 * Secrets in turn: asked at a terminal (each as readSecret does), or one line
 * each from a piped standard input, in the order asked.
 */
export async function readSecrets(
  asks: { what: string; repeat?: boolean }[],
  input: Input,
  output: Output,
): Promise<string[]> {
  if (input.isTTY) {
    const secrets: string[] = [];
    for (const ask of asks) secrets.push(await readSecret(ask.what, input, output, { repeat: ask.repeat }));
    return secrets;
  }
  const lines = (await readAll(input)).split(/\r?\n/);
  if (lines.length > asks.length) {
    throw new UsageError(`Standard input has ${lines.length} lines; pipe exactly ${asks.length}, one for each secret.`);
  }
  return asks.map((ask, index) => {
    const secret = lines[index];
    if (!secret) {
      throw new UsageError(`No ${ask.what} on standard input: pipe one line for each, e.g. printf '%s\\n%s' ...`);
    }
    return secret;
  });
}
