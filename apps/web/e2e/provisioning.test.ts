import type { APIRequestContext, Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseURL, expectAccessible, gone, launchWithAdminPage, must, screenshot, unique, visible } from './support';

type Account = { id: string; name: string };

/** A SCIM request with the connection's token, as an identity provider sends it. */
const scimUsers = (token: string) =>
  fetch(`${baseURL()}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

describe('Security Settings > Provisioning', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let request: APIRequestContext;
  let account: Account;
  const tag = unique();

  beforeAll(async () => {
    // The page's session serves the setup calls too.
    ({ browser, context, page, request } = await launchWithAdminPage());
    account = await must<Account>(request, 'mutation', 'accounts.create', { name: `Provisioned ${tag}`, users: [] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('adds a connection showing the base URL and token once with Copy, lists it, and revokes it after confirming', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL() });
    await page.goto('/security/accounts');
    await page.getByRole('tab', { name: 'Provisioning' }).click();
    await page.waitForURL('**/security/provisioning');
    await visible(page.getByRole('heading', { name: 'Provisioning' }));

    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = await visible(page.getByRole('dialog', { name: 'Add connection' }));
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await visible(dialog.getByText('Enter a name'));
    await dialog.getByLabel('Name').fill(`Okta ${tag}`);
    await dialog.getByLabel('Account').fill(account.name);
    await dialog.getByRole('button', { name: 'Add connection' }).click();

    const shown = await visible(page.getByRole('dialog', { name: 'Set up your identity provider' }));
    await visible(shown.getByText('You will not see this token again.'));
    expect(await shown.getByRole('textbox', { name: 'SCIM base URL' }).inputValue()).toBe(`${baseURL()}/scim/v2`);
    const token = await shown.getByRole('textbox', { name: 'Token' }).inputValue();
    expect(token).toMatch(/^rsc_/);
    await shown.getByRole('button', { name: 'Copy Token' }).click();
    await visible(shown.getByText('Copied to the clipboard.'));
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await screenshot(page, 'provisioning-token', false);
    await shown.getByRole('button', { name: 'Done' }).click();
    await gone(shown);
    expect(await scimUsers(token)).toBe(200);

    const row = await visible(page.getByRole('row').filter({ hasText: `Okta ${tag}` }));
    await visible(row.getByText(account.name));
    await visible(row.getByText('Active'));
    await expectAccessible(page, 'the Provisioning tab');
    await screenshot(page, 'provisioning');

    await row.getByRole('button', { name: `Revoke Okta ${tag}` }).click();
    const confirm = await visible(page.getByRole('alertdialog', { name: `Revoke connection “Okta ${tag}”?` }));
    await confirm.getByRole('button', { name: 'Revoke connection' }).click();
    await gone(confirm);
    await visible(row.getByText('Revoked'));
    expect(await scimUsers(token)).toBe(401);
  });
});
