import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, seriousViolations, visible } from './support';

/** The sign-in page is the first page anyone opens: it must come quickly, on a phone too. */
describe('the first visit', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads the sign-in page with at most 150 kB of gzipped JavaScript, and no table, dialog or menu library', async () => {
    const { context, page } = await newPage(browser);
    const scripts = new Map<string, number>();
    const bodies: Promise<void>[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() !== 'script') return;
      bodies.push(
        response.body().then((body) => {
          scripts.set(new URL(response.url()).pathname, gzipSync(body, { level: 9 }).length);
        }),
      );
    });
    await page.goto('/login');
    await visible(page.getByRole('button', { name: 'Sign in' }));
    await page.waitForLoadState('networkidle');
    await Promise.all(bodies);
    const total = [...scripts.values()].reduce((sum, size) => sum + size, 0);
    const kB = total / 1024;
    console.log(`First visit of /login: ${kB.toFixed(1)} kB gzipped JavaScript in ${scripts.size} files.`);
    expect(kB, [...scripts.keys()].join(', ')).toBeLessThanOrEqual(150);
    // What the sign-in page has no use for is not downloaded for it.
    const source = (
      await Promise.all(
        [...scripts.keys()].map((path) => context.request.get(path).then((response) => response.text())),
      )
    ).join('\n');
    for (const library of ['@radix-ui', 'tanstack/table', 'react-hook-form', 'zod']) {
      const marker = {
        '@radix-ui': 'DismissableLayer',
        'tanstack/table': 'getHeaderGroups',
        'react-hook-form': '_formValues',
        zod: 'ZodError',
      }[library];
      expect(source.includes(marker ?? library), `${library} is loaded by the sign-in page`).toBe(false);
    }
    await context.close();
  });

  it('puts the cursor in Email', async () => {
    const { context, page } = await newPage(browser);
    await page.goto('/login');
    await visible(page.getByRole('button', { name: 'Sign in' }));
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type))
      .toBe('email');
    await context.close();
  });

  // Every axe check in this suite goes through seriousViolations: it must still see what axe sees.
  it('has an accessibility check that fails on a page with planted violations', async () => {
    const { context, page } = await newPage(browser);
    await page.setContent(
      '<html lang="en"><head><title>Planted</title></head><body><main><h1>Planted</h1>' +
        '<img src="/missing.png"><p style="color:#777;background:#888">Low contrast</p><button></button></main></body></html>',
    );
    const found = (await seriousViolations(page)).map((violation) => violation.id);
    expect(found.sort()).toEqual(['button-name', 'color-contrast', 'image-alt']);
    await page.setContent(
      '<html lang="en"><head><title>Clean</title></head><body><main><h1>Clean</h1></main></body></html>',
    );
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });
});
