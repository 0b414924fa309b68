import { describe, expect, it } from 'vitest';
import { browserSuitePlan } from './browser-plan.mjs';

describe('whether the browser suite runs (pnpm test and browser-tests.mjs both ask)', () => {
  it('runs when Chromium is installed and nothing says skip', () => {
    expect(browserSuitePlan({}, { chromiumInstalled: true })).toEqual({ run: true });
    expect(browserSuitePlan({ ROSTER_REQUIRE_BROWSER: '1' }, { chromiumInstalled: true })).toEqual({ run: true });
  });

  it('skips on ROSTER_SKIP_BROWSER=1 and says so, as a skip, not a pass', () => {
    const plan = browserSuitePlan({ ROSTER_SKIP_BROWSER: '1' }, { chromiumInstalled: true });
    expect(plan).toMatchObject({ run: false, fail: false, reason: 'ROSTER_SKIP_BROWSER=1' });
    expect(plan.run ? '' : plan.message).toMatch(/NOT run.*ROSTER_SKIP_BROWSER=1/);
  });

  it('fails when told both to skip and to require', () => {
    const plan = browserSuitePlan(
      { ROSTER_SKIP_BROWSER: '1', ROSTER_REQUIRE_BROWSER: '1' },
      { chromiumInstalled: true },
    );
    expect(plan).toMatchObject({ run: false, fail: true, reason: expect.stringContaining('contradict') });
  });

  it('without Chromium: skips with the install command, or fails when required (CI)', () => {
    const optional = browserSuitePlan({}, { chromiumInstalled: false });
    expect(optional).toMatchObject({ run: false, fail: false, reason: 'Chromium not found at /usr/bin/chromium' });
    expect(optional.run ? '' : optional.message).toContain('apt-get install chromium');
    expect(browserSuitePlan({ ROSTER_REQUIRE_BROWSER: '1' }, { chromiumInstalled: false })).toMatchObject({
      run: false,
      fail: true,
    });
  });
});
