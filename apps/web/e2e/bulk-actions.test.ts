import type { APIRequestContext, Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  expectAccessible,
  focusInDialog,
  gone,
  launchAsAdmin,
  must,
  newPage,
  screenshot,
  signIn,
  unique,
  visible,
} from './support';

type Account = { id: string; name: string; isDefault: boolean };
type User = { id: string; email: string; active: boolean };

describe('bulk actions', () => {
  let browser: Browser;
  let request: APIRequestContext;
  const tag = unique();

  beforeAll(async () => {
    ({ browser, adminRequest: request } = await launchAsAdmin());
  });

  afterAll(async () => {
    await browser?.close();
  });

  const usersOf = async (accountId: string) =>
    (await must<{ items: User[] }>(request, 'query', 'users.list', { accountId, limit: 100 })).items;

  it('selects all users matching a search, previews, shows progress and results, and finds them again later', async () => {
    // 30 users: more than a page of 25, so "all matching" means more than the rows on screen.
    const account = await must<Account>(request, 'mutation', 'accounts.create', {
      name: `Bulk ${tag}`,
      users: Array.from({ length: 30 }, (_, i) => ({
        email: `bulk${String(i).padStart(2, '0')}.${tag}@example.com`,
        firstName: 'Bulk',
        lastName: `Person ${i}`,
      })),
    });
    const { page } = await newPage(browser);
    await signIn(page, admin().email, admin().password);
    await page.goto(`/accounts/${account.id}`);
    const table = await visible(page.getByRole('table', { name: `Users of Bulk ${tag}` }));
    expect(await table.getByRole('row').count()).toBe(26);

    // Keyboard: a row's checkbox takes Space.
    const first = table.getByRole('checkbox', { name: /^Select Bulk Person 0 / });
    await first.focus();
    await page.keyboard.press('Space');
    expect(await first.isChecked()).toBe(true);
    const bar = await visible(page.getByRole('region', { name: 'Bulk actions' }));
    await visible(bar.getByText('1 user selected.'));
    await expectAccessible(page, 'a users table with a row selected');

    await (await visible(bar.getByRole('button', { name: 'Select all 30 users matching this search' }))).click();
    await visible(bar.getByText('All 30 users matching this search are selected.'));
    expect(await table.getByRole('checkbox', { name: /^Select Bulk Person 7 / }).isChecked()).toBe(true);
    await screenshot(page, 'bulk-selection');

    await bar.getByLabel('Action').selectOption('deactivate');
    await bar.getByRole('button', { name: 'Preview…' }).click();
    const dialog = await visible(page.getByRole('alertdialog', { name: 'Deactivate users?' }));
    await visible(dialog.getByText('Deactivate 30 users of the 30 users selected.'));
    expect(await focusInDialog(page)).toBe(true);
    await expectAccessible(page, 'the bulk preview');
    await screenshot(page, 'bulk-preview', false);
    // Nothing has changed yet.
    expect((await usersOf(account.id)).every((user) => user.active)).toBe(true);

    await dialog.getByRole('button', { name: 'Deactivate 30 users' }).click();
    await page.waitForURL(/\/bulk-actions\/[0-9a-f-]{36}$/);
    const operationUrl = page.url();
    await visible(page.getByRole('heading', { name: 'Deactivate 30 users', level: 1 }));
    const progress = await visible(page.getByRole('progressbar'));
    await visible(page.getByRole('heading', { name: 'Done', level: 2 }));
    expect(await progress.getAttribute('value')).toBe('30');
    expect(await progress.getAttribute('max')).toBe('30');
    await visible(page.getByText('30 of 30 users (100%): 30 done, 0 skipped.'));
    const results = await visible(page.getByRole('table', { name: /What deactivate did to each user/ }));
    expect(await results.getByRole('row').count()).toBe(31);
    await visible(results.getByRole('cell', { name: `bulk00.${tag}@example.com` }));
    await expectAccessible(page, 'a finished bulk action');
    await screenshot(page, 'bulk-results');
    expect((await usersOf(account.id)).every((user) => !user.active)).toBe(true);

    // Closed and opened again: the list of bulk actions has it, and its page its results.
    await page.close();
    const { page: later } = await newPage(browser);
    await signIn(later, admin().email, admin().password);
    await later.goto('/users');
    await later.getByRole('link', { name: 'Bulk actions' }).click();
    await visible(later.getByRole('heading', { name: 'Bulk actions', level: 1 }));
    const link = later.getByRole('link', { name: 'Deactivate 30 users' }).first();
    await visible(link);
    await expectAccessible(later, 'the bulk actions list');
    await link.click();
    await later.waitForURL(operationUrl);
    await visible(later.getByText('30 of 30 users (100%): 30 done, 0 skipped.'));
    await later.close();
  });

  it('says who it skips and why, and that deleting cannot be undone; Cancel changes nothing', async () => {
    const account = await must<Account>(request, 'mutation', 'accounts.create', {
      name: `Skips ${tag}`,
      users: [
        { email: `keep1.${tag}@example.com`, firstName: 'Keep', lastName: 'One' },
        { email: `keep2.${tag}@example.com`, firstName: 'Keep', lastName: 'Two' },
      ],
    });
    const [one] = await usersOf(account.id);
    if (!one) throw new Error('no user');
    await must(request, 'mutation', 'users.deactivate', { id: one.id });

    const { page } = await newPage(browser);
    await signIn(page, admin().email, admin().password);
    await page.goto(`/accounts/${account.id}`);
    const table = await visible(page.getByRole('table', { name: `Users of Skips ${tag}` }));
    await table.getByRole('checkbox', { name: 'Select every user shown' }).check();
    const bar = await visible(page.getByRole('region', { name: 'Bulk actions' }));
    await visible(bar.getByText('2 users selected.'));
    // Every row is on the page: there is no "all matching" to choose.
    expect(await bar.getByRole('button', { name: /^Select all/ }).count()).toBe(0);

    await bar.getByRole('button', { name: 'Preview…' }).click();
    let dialog = await visible(page.getByRole('alertdialog', { name: 'Deactivate users?' }));
    await visible(dialog.getByText('Deactivate 1 user of the 2 users selected.'));
    await visible(dialog.getByText(/Skipped: 1 user \(already deactivated\)/));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await gone(dialog);

    await bar.getByLabel('Action').selectOption('delete');
    await bar.getByRole('button', { name: 'Preview…' }).click();
    dialog = await visible(page.getByRole('alertdialog', { name: 'Delete users?' }));
    await visible(dialog.getByText('Deleting cannot be undone.'));
    await visible(dialog.getByRole('button', { name: 'Delete 2 users' }));
    await page.keyboard.press('Escape');
    await gone(dialog);
    expect(await usersOf(account.id)).toHaveLength(2);
    await page.close();
  });
});
