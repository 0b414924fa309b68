import { describe, expect, it } from 'vitest';
import { formatDateTime, formatLockTime } from './format';

describe('time formats', () => {
  it('writes a lock time exactly as the time of any other date and time', () => {
    const now = new Date();
    const later = new Date(now.getTime());
    later.setHours(18, 26, 0, 0);
    expect(formatDateTime(later)).toContain(formatLockTime(later, now));
    const tomorrow = new Date(later.getTime() + 24 * 3600_000);
    expect(formatLockTime(tomorrow, now)).toBe(formatDateTime(tomorrow));
  });
});
