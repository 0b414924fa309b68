import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, expectAccessible, launchAsAdmin, must, newPage, screenshot, unique, visible } from './support';

type Account = { id: string; isDefault: boolean };

/**
 * Every page at a laptop's and a phone's width: nothing overflows sideways and
 * a screenshot is kept for people to look at; axe (slow on two cores, and blind
 * to width) checks each page at 1280 px, in the light and the dark colour scheme,
 * and finds nothing serious.
 */
describe('every page, at 1280 and 390 pixels', () => {
  let browser: Browser;
  const tag = unique();
  let accountId = '';
  const plain = { email: `reader.${tag}@example.com`, password: `reader password ${tag}` };

  beforeAll(async () => {
    const launched = await launchAsAdmin();
    browser = launched.browser;
    const context = launched.adminContext;
    const account = await must<Account>(context.request, 'mutation', 'accounts.create', {
      name: `Northwind Traders ${tag}`,
      description: 'Wholesale orders and the warehouse team',
      users: [
        { email: `nancy.davolio.${tag}@example.com`, firstName: 'Nancy', lastName: 'Davolio' },
        { email: `andrew.fuller.${tag}@example.com`, firstName: 'Andrew', lastName: 'Fuller' },
        { email: plain.email, firstName: 'Janet', lastName: 'Leverling', password: plain.password },
      ],
    });
    accountId = account.id;
    const nancy = await must<{ id: string; version: number }>(context.request, 'query', 'users.get', {
      email: `nancy.davolio.${tag}@example.com`,
    });
    await must(context.request, 'mutation', 'users.update', { id: nancy.id, lastName: 'Davolio-Smith' });
    await must(context.request, 'mutation', 'users.deactivate', { id: nancy.id });
    await context.close();
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function check(page: Page, name: string, floating = false) {
    const width = page.viewportSize()?.width ?? 0;
    if (width >= 1280) {
      // In both colour schemes: dark mode follows the system setting and keeps the same contrast.
      await expectAccessible(page, name);
      await page.emulateMedia({ colorScheme: 'dark' });
      await expectAccessible(page, `${name} (dark)`);
      await screenshot(page, `${name}-dark`, !floating);
      await page.emulateMedia({ colorScheme: 'light' });
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
    await screenshot(page, name, !floating);
  }

  for (const width of [1280, 390]) {
    it(`shows the administrator's pages well at ${width} px`, async () => {
      const { context, page } = await newPage(browser, width);
      await page.goto('/login?reason=expired&next=%2Fusers');
      await visible(page.getByRole('button', { name: 'Sign in' }));
      await check(page, 'login');

      await must(context.request, 'mutation', 'auth.login', admin());
      await page.goto('/security/accounts');
      await visible(page.getByRole('row').filter({ hasText: `Northwind Traders ${tag}` }));
      await check(page, 'security-accounts');

      await page.getByRole('searchbox', { name: 'Search accounts' }).fill('no such account anywhere');
      await visible(page.getByText('No account matches'));
      await check(page, 'security-accounts-empty');

      await page.getByRole('tab', { name: 'Administrators' }).click();
      await page.keyboard.press('Enter');
      await page.waitForURL('**/security/administrators');
      await visible(page.getByRole('row').filter({ hasText: admin().email }));
      await check(page, 'security-administrators');

      await page.goto('/accounts/new');
      await visible(page.getByRole('heading', { name: 'Add account', level: 1 }));
      await page.getByRole('button', { name: 'Create account' }).click();
      await visible(page.getByText('Enter an account name'));
      await check(page, 'account-new');

      await page.goto(`/accounts/${accountId}`);
      await visible(page.getByRole('row').filter({ hasText: 'Andrew Fuller' }));
      await check(page, 'account');

      await page.getByRole('button', { name: `Edit andrew.fuller.${tag}@example.com` }).click();
      await visible(page.getByRole('dialog'));
      await check(page, 'account-edit-user', true);
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: `Delete andrew.fuller.${tag}@example.com` }).click();
      await visible(page.getByRole('alertdialog'));
      await check(page, 'account-delete-user', true);
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: `More actions for andrew.fuller.${tag}@example.com` }).click();
      await visible(page.getByRole('menu'));
      await check(page, 'account-user-menu', true);
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: 'Add user' }).click();
      await visible(page.getByRole('dialog', { name: 'Add user' }));
      await check(page, 'account-add-user', true);
      await page.keyboard.press('Escape');

      await page.goto('/users');
      await visible(page.getByRole('row').filter({ hasText: 'Andrew Fuller' }));
      await check(page, 'users');

      // Searched for this file's users: other files, running at the same time, add entries of their own.
      await page.goto(`/audit?q=${encodeURIComponent(`nancy.davolio.${tag}`)}`);
      await visible(page.getByRole('row').filter({ hasText: 'Deactivated user' }).first());
      await check(page, 'audit');

      await page.goto('/profile');
      await visible(page.getByRole('heading', { name: 'Change password' }));
      await check(page, 'profile');

      await page.goto('/accounts/00000000-0000-4000-8000-000000000000');
      await visible(page.getByText('This account does not exist, or it was deleted.'));
      await check(page, 'account-missing');

      await page.goto('/no/such/page');
      await visible(page.getByRole('heading', { name: 'Page not found' }));
      await check(page, 'not-found');
      await context.close();
      // axe runs twice per page at 1280 px (light and dark): slow on two shared cores.
    }, 360_000);

    it(`shows a plain user's page well at ${width} px`, async () => {
      const { context, page } = await newPage(browser, width);
      await must(context.request, 'mutation', 'auth.login', plain);
      await page.goto('/security/accounts');
      await visible(page.getByRole('heading', { name: 'Account management is for administrators' }));
      await check(page, 'plain-user');
      await context.close();
    });
  }
});
