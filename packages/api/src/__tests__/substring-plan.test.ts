import { describe, expect, it } from 'vitest';
import { substringPlanOf } from '../users/queries.js';

// Which way a substring search starts, from the share of sampled search texts that hold the text and the
// table's size (search-plan.test.ts holds the plans each way gets).
describe('substringPlanOf', () => {
  it('starts with the trigram index without a sample, and for text the sample never saw', () => {
    expect(substringPlanOf(null, 25)).toEqual({ route: 'rare', headRows: 10_000 });
    expect(substringPlanOf({ share: 0, rows: 10_000_000 }, 25)).toEqual({ route: 'rare', headRows: 10_000 });
  });

  it('starts with the trigram index for text in fewer users than the candidate cap', () => {
    // 0.1% of a million: 1,000 candidates, sorted in a few milliseconds.
    expect(substringPlanOf({ share: 0.001, rows: 1_000_000 }, 25).route).toBe('rare');
    // 0.04% of ten million: 4,000.
    expect(substringPlanOf({ share: 0.0004, rows: 10_000_000 }, 25).route).toBe('rare');
  });

  it('starts with the head of the email order for text in at least 0.5% of users, whatever the size', () => {
    expect(substringPlanOf({ share: 0.005, rows: 20_000 }, 25)).toEqual({ route: 'common', headRows: 10_000 });
    expect(substringPlanOf({ share: 0.03, rows: 1_000_000 }, 25)).toEqual({ route: 'common', headRows: 10_000 });
  });

  it('reads a head big enough for the page of any text with more matches than the cap', () => {
    // 0.1% of ten million is 10,000 users, twice the cap: its page lies within about 26,000 users of the head,
    // and the least common text taken this way (0.05%) within 52,000.
    expect(substringPlanOf({ share: 0.001, rows: 10_000_000 }, 25)).toEqual({ route: 'common', headRows: 60_000 });
    expect(substringPlanOf({ share: 0.03, rows: 10_000_000 }, 25)).toEqual({ route: 'common', headRows: 60_000 });
    // A bigger page needs a bigger head, up to the most it may read.
    expect(substringPlanOf({ share: 0.001, rows: 10_000_000 }, 100)).toEqual({ route: 'common', headRows: 100_000 });
    expect(substringPlanOf({ share: 0.001, rows: 100_000_000 }, 25)).toEqual({ route: 'common', headRows: 100_000 });
  });
});
