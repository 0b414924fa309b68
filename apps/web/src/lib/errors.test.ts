import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { errorReason, isDuplicateEmail, isStaleVersion } from './errors';

/** An error as the tRPC client hands it over after the server refused a call. */
const refused = (data: Record<string, unknown>, message: string) =>
  TRPCClientError.from({ error: { code: -32009, message, data } });

describe('server refusals', () => {
  it('are told apart by their reason, not by their wording', () => {
    const stale = refused({ code: 'CONFLICT', reason: 'STALE_VERSION' }, 'Reworded: somebody else saved first.');
    expect(isStaleVersion(stale)).toBe(true);
    expect(isDuplicateEmail(stale)).toBe(false);
    const taken = refused({ code: 'CONFLICT', reason: 'EMAIL_TAKEN' }, 'Any text at all.');
    expect(isDuplicateEmail(taken)).toBe(true);
    expect(errorReason(taken)).toBe('EMAIL_TAKEN');
    // The old wording without the reason no longer counts.
    const oldText = refused({ code: 'CONFLICT' }, 'This user was changed by someone else meanwhile.');
    expect(isStaleVersion(oldText)).toBe(false);
  });

  it('have no reason when the server was not reached', () => {
    expect(errorReason(new Error('offline'))).toBeUndefined();
  });
});
