import type { ErrorReason } from '@roster/api/error-reasons';
import { TRPCClientError } from '@trpc/client';

/** Exit codes: 0 done, 1 the server (or the network, or the database) said no, 2 the command line was wrong. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI explains itself; `code` names it in --json output. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failed,
    readonly code: string = 'FAILED',
    /** What to do about it, for people (not in --json output). */
    readonly hint?: string,
    /** The server's reason (error catalog), for --json output and for code that must tell refusals apart. */
    readonly reason?: ErrorReason,
  ) {
    super(message);
  }
}

/** Wrong or missing arguments, a missing key, a missing --yes. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, exitCodes.usage, 'USAGE');
  }
}

type NetworkCause = { code?: unknown; message?: unknown; cause?: unknown };

/** The system error code (ECONNREFUSED, ...) somewhere down a fetch failure's causes. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as NetworkCause).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as NetworkCause).cause;
  }
  return undefined;
}

const networkMessages: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name does not resolve',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
};

const keyHint = 'Check ROSTER_API_KEY (or --api-key); `roster api-keys create --help` tells how to get a new key.';

/** What to do about a refusal, by its reason (never by its wording). */
const hints: Partial<Record<ErrorReason, string>> = {
  USER_DEACTIVATED: 'An administrator can reactivate the user.',
  ACCESS_CHANGED: 'Run the command again: it then acts with your access as it is now.',
  API_KEY_INVALID: keyHint,
  API_KEY_REVOKED: keyHint,
  API_KEY_EXPIRED: keyHint,
};

/** The server's refusal (its message, code and catalog reason), with what to do about it. */
export function refusal(message: string, code: string, reason?: ErrorReason): CliError {
  return new CliError(message, exitCodes.failed, code, reason && hints[reason], reason);
}

const unreachable = (serverUrl: string, code: string) =>
  new CliError(
    `Cannot reach Roster at ${serverUrl} (${networkMessages[code] ?? code}). Is the server running? Set ROSTER_URL or pass --url.`,
    exitCodes.failed,
    'UNREACHABLE',
  );

/** Turns whatever went wrong into one CliError with a message a person can act on. */
export function explain(error: unknown, serverUrl: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof TRPCClientError) {
    const data = error.data as { code?: string; reason?: ErrorReason; httpStatus?: number } | undefined;
    if (data?.code) {
      return new CliError(error.message, exitCodes.failed, data.code, data.reason && hints[data.reason], data.reason);
    }
    const code = networkCode(error.cause);
    if (code) {
      const why = networkMessages[code] ?? code;
      return new CliError(
        `Cannot reach Roster at ${serverUrl} (${why}). Is the server running? Set ROSTER_URL or pass --url.`,
        exitCodes.failed,
        'UNREACHABLE',
      );
    }
    if ((error.cause as { name?: unknown } | undefined)?.name === 'TimeoutError') {
      return new CliError(`No answer from Roster at ${serverUrl} in time; try again.`, exitCodes.failed, 'TIMEOUT');
    }
    const status = (error.meta?.response as { status?: number } | undefined)?.status;
    return new CliError(
      `${serverUrl} did not answer like a Roster server${status ? ` (HTTP ${status})` : ''}: ${error.message}. Check ROSTER_URL or --url.`,
      exitCodes.failed,
      'BAD_RESPONSE',
    );
  }
  // A plain fetch (the CSV download) fails with the system's code among its causes.
  const code = networkCode(error);
  if (code) return unreachable(serverUrl, code);
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') {
    return new CliError(`No answer from Roster at ${serverUrl} in time; try again.`, exitCodes.failed, 'TIMEOUT');
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(message);
}
