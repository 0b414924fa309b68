import { isErrorReason } from '@roster/api/error-reasons';
import { requestTimeoutMs, serverRouteUrl } from './client.js';
import { CliError, exitCodes, refusal as refusalError } from './errors.js';
import type { Output } from './prompt.js';

type Refusal = { message?: unknown; code?: unknown; reason?: unknown };

/** Writes a chunk, waiting when the output says it is full (a pipe to a slow reader). */
async function write(out: Output, text: string): Promise<void> {
  const ok = out.write(text);
  const stream = out as Output & { once?: (event: string, listener: () => void) => unknown };
  if (ok === false && typeof stream.once === 'function') {
    await new Promise<void>((resolve) => stream.once?.('drain', resolve));
  }
}

/**
 * GETs a file route of the server (the users CSV) with the API key and copies
 * it to `out` as it arrives, so a million rows never sit in memory. Only the
 * wait for the answer to start is bounded (`requestTimeoutMs`): a long download
 * is not cut off. A refusal (the server's JSON) becomes a CliError with its
 * message and reason, as for API calls.
 */
export async function download(
  serverUrl: string,
  pathAndQuery: string,
  apiKey: string,
  out: Output,
): Promise<{ bytes: number }> {
  const url = serverRouteUrl(serverUrl, pathAndQuery);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('timed out', 'TimeoutError')), requestTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${apiKey}`, 'user-agent': 'roster-cli' },
      signal: controller.signal,
    });
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  clearTimeout(timer);
  if (!response.ok) {
    let body: Refusal = {};
    try {
      body = (await response.json()) as Refusal;
    } catch {
      // Not our JSON: said below.
    }
    if (typeof body.message !== 'string') {
      throw new CliError(
        `${serverUrl} did not answer like a Roster server (HTTP ${response.status}). Check ROSTER_URL or --url.`,
        exitCodes.failed,
        'BAD_RESPONSE',
      );
    }
    throw refusalError(
      body.message,
      typeof body.code === 'string' ? body.code : 'FAILED',
      isErrorReason(body.reason) ? body.reason : undefined,
    );
  }
  if (!response.body) return { bytes: 0 };
  // ignoreBOM keeps a byte order mark the server was asked for (--bom): it is the file's, not the decoder's.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let bytes = 0;
  try {
    for await (const chunk of response.body) {
      bytes += chunk.byteLength;
      await write(out, decoder.decode(chunk, { stream: true }));
    }
  } catch {
    // The server stops a file it cannot finish (the database went away) by cutting the connection.
    throw new CliError(
      `The download stopped after ${bytes.toLocaleString('en')} bytes: what was written is incomplete. Try again.`,
      exitCodes.failed,
      'INCOMPLETE',
    );
  }
  const rest = decoder.decode();
  if (rest) await write(out, rest);
  return { bytes };
}
