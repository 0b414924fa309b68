import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  expectAccessible,
  launchWithAdminPage,
  must,
  newPage,
  screenshot,
  signIn,
  unique,
  visible,
} from './support';

type Account = { id: string; name: string };
type User = { id: string; email: string; firstName: string; lastName: string; active: boolean };

describe('Import users', () => {
  let browser: Browser;
  let page: Page;
  let request: APIRequestContext;
  let account: Account;
  const tag = unique();

  beforeAll(async () => {
    ({ browser, page, request } = await launchWithAdminPage());
    account = await must<Account>(request, 'mutation', 'accounts.create', {
      name: `Imported ${tag}`,
      users: [
        { email: `kept.${tag}@example.com`, firstName: 'Kept', lastName: 'Same' },
        { email: `renamed.${tag}@example.com`, firstName: 'Rena', lastName: 'Old' },
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  const csvFile = (name: string, text: string) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });

  it('previews a file (errors first, filters, diffs), applies it after confirming, and shows the result', async () => {
    await page.goto(`/accounts/${account.id}`);
    await page.getByRole('link', { name: 'Import users' }).click();
    await page.waitForURL(`**/accounts/${account.id}/import`);
    await visible(page.getByRole('heading', { name: 'Import users', level: 1 }));
    await expectAccessible(page, 'the import page');

    // A bad file: a clear message, nothing previewed.
    await page.getByLabel('CSV file').setInputFiles(csvFile('bad.csv', 'name,first name\nx,y\n'));
    await page.getByRole('button', { name: 'Preview' }).click();
    await visible(page.getByRole('alert').filter({ hasText: 'The header has no "email" column' }));

    const creates = Array.from({ length: 250 }, (_, i) => `new${i}.${tag}@example.com,New,Person ${i},true,`);
    const file = [
      'Email,First Name,Last Name,Active,Shoe size',
      `kept.${tag}@example.com,Kept,Same,true,`,
      `renamed.${tag}@example.com,Rena,New,true,`,
      'not an email,A,B,true,',
      ...creates,
    ].join('\n');
    await page.getByLabel('CSV file').setInputFiles(csvFile('people.csv', file));
    await page.getByRole('button', { name: 'Preview' }).click();
    await visible(page.getByRole('heading', { name: '2. Preview of people.csv' }));
    const counts = page.getByRole('definition');
    expect(await counts.allTextContents()).toEqual(['253', '250', '1', '1', '1']);
    await visible(page.getByText('Unknown column ignored: "Shoe size".'));
    // The first row shown is the error.
    const firstRow = page.getByRole('row').nth(1);
    await visible(firstRow.getByText('Bad email "not an email"'));
    expect(await firstRow.getByRole('cell').first().textContent()).toBe('4');
    // Only part of the 253 rows is in the page at once.
    expect(await page.locator('tbody tr[aria-rowindex]').count()).toBeLessThan(100);
    await expectAccessible(page, 'the preview');
    await screenshot(page, 'import-preview');

    await page.getByLabel('Show').selectOption('update');
    await visible(page.getByRole('cell', { name: 'Last name: Old → New' }));
    await page.getByLabel('Show').selectOption('all');

    const apply = page.getByRole('button', { name: 'Apply', exact: true });
    expect(await apply.isDisabled()).toBe(true);
    await page.getByLabel('Skip the 1 row with errors').check();
    await apply.click();
    const dialog = page.getByRole('alertdialog', { name: 'Apply this import?' });
    await visible(dialog.getByText(`create 250 users and update 1 user, skipping 1 row with errors`));
    await expectAccessible(page, 'the apply confirmation');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await visible(page.getByText('Import applied.'));
    await visible(page.getByText('250 users created, 1 user updated'));
    await screenshot(page, 'import-applied');

    const users = await must<{ items: User[] }>(request, 'query', 'users.search', {
      accountId: account.id,
      limit: 100,
      query: `renamed.${tag}`,
    });
    expect(users.items[0]).toMatchObject({ lastName: 'New' });
    const all = await must<{ userCount: number }>(request, 'query', 'accounts.get', { id: account.id });
    expect(all.userCount).toBe(252);

    // The address keeps the preview: a reload shows it applied, not applicable again.
    await page.reload();
    await visible(page.getByText('Import applied.'));
    expect(await page.getByRole('button', { name: 'Apply', exact: true }).count()).toBe(0);
  });

  it('refuses to apply when someone changed a user since the preview, and offers a new preview', async () => {
    const team = await must<Account>(request, 'mutation', 'accounts.create', {
      name: `Stale ${tag}`,
      users: [{ email: `stale.${tag}@example.com`, firstName: 'Stale', lastName: 'Before' }],
    });
    await page.goto(`/accounts/${team.id}/import`);
    const file = csvFile('stale.csv', `email,first name,last name\nstale.${tag}@example.com,Stale,Imported\n`);
    await page.getByLabel('CSV file').setInputFiles(file);
    await page.getByRole('button', { name: 'Preview' }).click();
    await visible(page.getByRole('cell', { name: 'Last name: Before → Imported' }));
    // Another administrator edits the user meanwhile.
    const user = await must<User>(request, 'query', 'users.get', { email: `stale.${tag}@example.com` });
    await must(request, 'mutation', 'users.update', { id: user.id, lastName: 'Other' });
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Apply' }).click();
    await visible(
      page.getByRole('alert').filter({ hasText: 'changed or deleted since the preview: nothing was imported' }),
    );
    await page.getByRole('button', { name: 'Choose the file again' }).click();
    await page.getByRole('button', { name: 'Preview' }).click();
    await visible(page.getByRole('cell', { name: 'Last name: Other → Imported' }));
    const after = await must<User>(request, 'query', 'users.get', { id: user.id });
    expect(after.lastName).toBe('Other');
  });

  it('a keyboard user can choose, preview and reach the rows', async () => {
    const other = await must<Account>(request, 'mutation', 'accounts.create', { name: `Keyboard ${tag}`, users: [] });
    await page.goto(`/accounts/${other.id}/import`);
    await page
      .getByLabel('CSV file')
      .setInputFiles(csvFile('k.csv', `email,first name,last name\nk.${tag}@example.com,Kay,Board\n`));
    await page.getByLabel('CSV file').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await visible(page.getByRole('heading', { name: '2. Preview of k.csv' }));
    await page.getByLabel('Show').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Preview rows (scrolls)',
    );
  });

  it('fits a phone: nothing scrolls sideways, axe finds nothing', async () => {
    const phone = await newPage(browser, 390);
    await signIn(phone.page, admin().email, admin().password);
    await phone.page.goto(`/accounts/${account.id}/import`);
    await phone.page
      .getByLabel('CSV file')
      .setInputFiles(
        csvFile('phone.csv', `email,first name,last name\nnot-an-email,A,B\nphone.${tag}@example.com,Pho,Ne\n`),
      );
    await phone.page.getByRole('button', { name: 'Preview' }).click();
    await visible(phone.page.getByRole('heading', { name: '2. Preview of phone.csv' }));
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(phone.page, 'the preview on a phone');
    await screenshot(phone.page, 'import-preview');
    await phone.context.close();
  });
});
