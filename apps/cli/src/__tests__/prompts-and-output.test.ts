import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CookieJar, trpcUrl } from '../client.js';
import { parseDate, parseDuration } from '../commands/api-keys.js';
import { CliError, exitCodes } from '../errors.js';
import { table } from '../output.js';
import { confirm, readSecret } from '../prompt.js';

/** A stand-in terminal: what the test types arrives as raw keystrokes. */
function terminal() {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(raw: boolean) {
      input.rawModes.push(raw);
      return input;
    },
  });
  let shown = '';
  const output = { write: (text: string) => (shown += text) };
  return { input, output, shown: () => shown, type: (text: string) => setImmediate(() => input.write(text)) };
}

function pipe(text: string) {
  const input = new PassThrough();
  input.end(text);
  return input;
}

const sink = { write: () => true };

describe('confirm', () => {
  it('is yes only for y or yes', async () => {
    for (const [answer, expected] of [
      ['y\n', true],
      ['YES\r', true],
      ['\n', false],
      ['n\n', false],
      ['yep\n', false],
    ] as const) {
      const tty = terminal();
      tty.type(answer);
      expect(await confirm('Delete it?', tty.input, tty.output)).toBe(expected);
      expect(tty.shown()).toBe('Delete it? [y/N] ');
    }
  });

  it('refuses without a terminal to ask', async () => {
    await expect(confirm('Delete it?', pipe('y\n'), sink)).rejects.toMatchObject({
      exitCode: exitCodes.usage,
      message: expect.stringContaining('pass --yes'),
    });
  });
});

describe('readSecret', () => {
  it('reads a typed password without echoing it, in raw mode, and restores the terminal', async () => {
    const tty = terminal();
    tty.type('hunter2x\u007f2\r');
    await expect(readSecret('password', tty.input, tty.output)).resolves.toBe('hunter22');
    expect(tty.shown()).toBe('Password: \n');
    expect(tty.input.rawModes).toEqual([true, false]);
  });

  it('asks twice when told, and refuses two different answers', async () => {
    const same = terminal();
    same.type('first one\r');
    setTimeout(() => same.input.write('first one\r'), 20);
    await expect(readSecret('new password', same.input, same.output, { repeat: true })).resolves.toBe('first one');
    expect(same.shown()).toBe('New password: \nRepeat the new password: \n');

    const differ = terminal();
    differ.type('first one\r');
    setTimeout(() => differ.input.write('second one\r'), 20);
    await expect(readSecret('new password', differ.input, differ.output, { repeat: true })).rejects.toThrow('differ');
  });

  it('stops on Ctrl-C', async () => {
    const tty = terminal();
    tty.type('abc\u0003');
    await expect(readSecret('password', tty.input, tty.output)).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('reads a pipe whole, less one final line break; an empty pipe is an error', async () => {
    await expect(readSecret('password', pipe('with spaces  \n'), sink)).resolves.toBe('with spaces  ');
    await expect(readSecret('password', pipe('two\nlines\r\n'), sink)).resolves.toBe('two\nlines');
    await expect(readSecret('password', pipe(''), sink)).rejects.toBeInstanceOf(CliError);
  });
});

describe('output and parsing', () => {
  it('aligns table columns, counting characters rather than bytes', () => {
    const text = table(
      [
        { a: 'Zoë', b: 'one\ntwo' },
        { a: 'x', b: '' },
      ],
      [
        { header: 'NAME', value: (r) => r.a },
        { header: 'NOTE', value: (r) => r.b },
      ],
    );
    expect(text).toBe('NAME  NOTE\nZoë   one two\nx');
  });

  it('reads durations and dates for key expiry', () => {
    const now = Date.now();
    expect(parseDuration('90d').getTime() - now).toBeGreaterThanOrEqual(90 * 86_400_000 - 1000);
    expect(parseDuration('12h').getTime() - now).toBeLessThanOrEqual(12 * 3_600_000 + 1000);
    expect(() => parseDuration('soon')).toThrow('30m, 12h, 90d or 2w');
    expect(() => parseDuration('0d')).toThrow();
    expect(parseDate('2030-01-31').toISOString()).toBe('2030-01-31T00:00:00.000Z');
    expect(parseDate('2030-01-31T18:00Z').toISOString()).toBe('2030-01-31T18:00:00.000Z');
    expect(() => parseDate('next tuesday')).toThrow('2030-01-31');
    expect(() => parseDate('2030-13-45')).toThrow();
  });

  it('finds the tRPC endpoint from the server address', () => {
    expect(trpcUrl('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000/trpc');
    expect(trpcUrl('https://roster.example.com/base/')).toBe('https://roster.example.com/base/trpc');
    expect(trpcUrl('http://h/trpc/')).toBe('http://h/trpc');
    expect(trpcUrl('localhost:3000')).toBe('http://localhost:3000/trpc');
    expect(() => trpcUrl('ftp://example.com')).toThrow('Not an http(s) URL');
    expect(() => trpcUrl('http://')).toThrow('Not a URL');
  });

  it('keeps and forgets cookies as the server says', () => {
    const jar = new CookieJar();
    expect(jar.header()).toBeUndefined();
    jar.store(['roster_session=abc; Path=/; HttpOnly; SameSite=Lax', 'other=1']);
    expect(jar.header()).toBe('roster_session=abc; other=1');
    jar.store(['roster_session=; Max-Age=0; Path=/']);
    expect(jar.header()).toBe('other=1');
  });
});
