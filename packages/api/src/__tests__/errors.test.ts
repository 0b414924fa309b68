import { describe, expect, it } from 'vitest';
import { mapDatabaseError } from '../errors.js';

const pgError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`database error ${code}`), { code, ...extra });

describe('database errors as tRPC errors', () => {
  it('maps every data exception (SQLSTATE class 22) to BAD_REQUEST, never a 500', () => {
    for (const code of ['22001', '22003', '22007', '22008', '22021', '22P02', '22P05', '22023']) {
      expect(mapDatabaseError(pgError(code))?.code, code).toBe('BAD_REQUEST');
    }
  });

  it('maps a database that is away to SERVICE_UNAVAILABLE', () => {
    for (const error of [
      pgError('ECONNREFUSED'),
      pgError('57P01'),
      pgError('57P03'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('Query read timeout'),
    ]) {
      expect(mapDatabaseError(error)?.code, error.message).toBe('SERVICE_UNAVAILABLE');
    }
  });

  it('leaves errors it does not know alone (they stay a logged 500)', () => {
    expect(mapDatabaseError(new Error('something else'))).toBeUndefined();
    expect(mapDatabaseError(pgError('XX000'))).toBeUndefined();
  });
});
