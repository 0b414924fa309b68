import type { APIRequestContext, Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPage, launchAsAdmin, must, unique, visible } from './support';

// Issue 18, bug 3: Show more must not slow down as the list grows. This file adds
// over a thousand users (and their audit entries) to the shared server, so the
// browser suite runs it last (see vitest.browser.config.ts).

const tag = unique();
const letters = (n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');

describe('Show more at a thousand rows', () => {
  let browser: Browser;
  let adminRequest: APIRequestContext;

  beforeAll(async () => {
    ({ browser, adminRequest } = await launchAsAdmin());
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows more rows as quickly at 1,000 rows as at 25', async () => {
    const word = `perf${letters(8)}`;
    for (let a = 0; a < 12; a++) {
      await must(adminRequest, 'mutation', 'accounts.create', {
        name: `Perf ${tag} ${a}`,
        users: Array.from({ length: 95 }, (_, i) => ({
          email: `p${a}.${i}.${tag}@example.com`,
          firstName: 'Many',
          lastName: `${word} ${a * 100 + i}`,
        })),
      });
    }
    const { context, page } = await adminPage(browser);
    await page.goto(`/users?q=${word}`);
    const rows = page.locator('tbody tr');
    await visible(rows.first());
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(25);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const scriptSeconds = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((metric) => metric.name === 'ScriptDuration')?.value ?? 0;
    };
    const click = async () => {
      const before = await rows.count();
      const start = await scriptSeconds();
      await page.getByRole('button', { name: 'Show more' }).click();
      await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length > n, before, { timeout: 30_000 });
      await page.waitForTimeout(50);
      return (await scriptSeconds()) - start;
    };
    const atStart = await click();
    const start = Date.now();
    while ((await rows.count()) < 1000) {
      const seconds = await click();
      if ((await rows.count()) % 250 === 0) {
        console.log(`${await rows.count()} rows: ${Math.round(seconds * 1000)} ms of script for the last click`);
      }
    }
    console.log(`Reached 1000 rows in ${Math.round((Date.now() - start) / 1000)} s`);
    const atThousand: number[] = [];
    for (let i = 0; i < 3; i++) atThousand.push(await click());
    const median = atThousand.sort((a, b) => a - b)[1] ?? 0;
    console.log(
      `Show more script time: ${Math.round(atStart * 1000)} ms at 25 rows, ${Math.round(median * 1000)} ms at ${await rows.count()} rows`,
    );
    expect(median).toBeLessThanOrEqual(Math.max(atStart * 2, atStart + 0.06));
    await context.close();
  }, 600_000);
});
