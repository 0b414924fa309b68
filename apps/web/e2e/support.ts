import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import {
  type APIRequestContext,
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';
import { expect, inject } from 'vitest';
import { must } from './api';

export { api, defaultAccountIdOf, must } from './api';

export const chromiumPath = '/usr/bin/chromium';

// Debian's Chromium, headless, with nothing that reaches the network on its own.
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const baseURL = () => inject('baseURL');
/**
 * The administrator this file signs in as: each parallel worker has its own
 * (e2e/global-setup.ts says why), so within a file it is always the same one.
 */
export const admin = () => {
  const admins = inject('workerAdmins');
  // Vitest numbers its workers from 1 (VITEST_POOL_ID).
  const worker = Number(process.env.VITEST_POOL_ID);
  if (!Number.isInteger(worker) || worker < 1)
    throw new Error('VITEST_POOL_ID is not set: run the browser suite with vitest.');
  const chosen = admins[(worker - 1) % admins.length];
  if (!chosen) throw new Error('The browser suite provided no administrator.');
  return { ...chosen };
};

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
}

export async function newPage(browser: Browser, width = 1280): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: baseURL(),
    viewport: { width, height: width < 600 ? 844 : 900 },
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the sign-in page and waits to leave it. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  if (!page.url().includes('/login')) await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/** A new page signed in as the administrator through the sign-in page: the start of most tests. */
export async function adminPage(browser: Browser, width?: number): Promise<{ context: BrowserContext; page: Page }> {
  const opened = await newPage(browser, width);
  await signIn(opened.page, admin().email, admin().password);
  return opened;
}

/** A unique suffix, so tests sharing the server never collide. */
export const unique = () => Math.random().toString(36).slice(2, 8);

const screenshotDir = join(import.meta.dirname, '..', 'test-results', 'screenshots');

/**
 * Saves a screenshot under apps/web/test-results/screenshots/: the whole page,
 * or only the viewport when a dialog or menu floats over it.
 */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(screenshotDir, `${name}-${width}.png`), fullPage, animations: 'disabled' });
}

/** An axe violation, as axe reports it. */
type Violation = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number];

/**
 * What axe finds serious or critical on what the page shows now.
 *
 * Run in the page itself (legacy mode) and asked for violations only: the
 * default opens a blank page per check to merge per-frame results, and lists
 * every node that passed. The console has no frames, and we read only the
 * violations, so both cost without telling us anything; together they halved
 * axe's time (53 s to 26 s over the 32 checks of pages.test.ts).
 * first-visit.test.ts checks that planted violations are still found.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  const results = await new AxeBuilder({ page })
    .setLegacyMode(true)
    .options({ resultTypes: ['violations'] })
    .analyze();
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** axe finds no serious or critical violation on what the page shows now. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const lines = (await seriousViolations(page)).map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
  );
  expect(lines, `axe on ${what}`).toEqual([]);
}

/** Waits until the locator is on screen (playwright-core has no `expect`; this and `expect.poll` stand in). */
export async function visible(locator: Locator): Promise<Locator> {
  await locator.waitFor({ state: 'visible' });
  return locator;
}

export async function gone(locator: Locator): Promise<void> {
  await locator.waitFor({ state: 'hidden' });
}

/** The accessible name of whatever has keyboard focus. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element) return '';
    const label = element instanceof HTMLInputElement ? element.labels?.[0]?.textContent : null;
    return (element.getAttribute('aria-label') ?? label ?? element.textContent ?? '').trim();
  });
}

/**
 * The accessible name of what has focus once it is `expected`, or after 3 s
 * whatever has it then. A closing dialog hands focus back a moment after it is
 * gone (Radix moves it in a timeout), so a check right away can see the page.
 */
export async function focusedOn(page: Page, expected: string): Promise<string> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const name = await focused(page);
    if (name === expected || Date.now() > deadline) return name;
    await page.waitForTimeout(25);
  }
}

/** Whether keyboard focus is inside the open dialog. */
export function focusInDialog(page: Page): Promise<boolean> {
  return page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"], [role="alertdialog"]')));
}

/** Clicks "Show more" until the whole list is on the page. */
export async function showAll(page: Page): Promise<void> {
  await page.getByRole('table').first().waitFor();
  const more = page.getByRole('button', { name: 'Show more' });
  while (await more.isVisible()) {
    const rows = await page.getByRole('row').count();
    await more.click();
    await page.waitForFunction((before) => document.querySelectorAll('tr').length > before, rows);
  }
}

/** A browser, and a context signed in as the administrator through the API: the setup most files begin with. */
export async function launchAsAdmin(): Promise<{
  browser: Browser;
  adminContext: BrowserContext;
  adminRequest: APIRequestContext;
}> {
  const browser = await launchBrowser();
  const { context } = await newPage(browser);
  await must(context.request, 'mutation', 'auth.login', admin());
  return { browser, adminContext: context, adminRequest: context.request };
}

/** A browser, and a page signed in as the administrator through the sign-in page, kept for a whole file. */
export async function launchWithAdminPage(): Promise<{
  browser: Browser;
  context: BrowserContext;
  page: Page;
  request: APIRequestContext;
}> {
  const browser = await launchBrowser();
  const { context, page } = await adminPage(browser);
  return { browser, context, page, request: context.request };
}
