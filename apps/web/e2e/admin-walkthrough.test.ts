import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  api,
  baseURL,
  focusedOn,
  focusInDialog,
  gone,
  launchBrowser,
  must,
  newPage,
  showAll,
  signIn,
  unique,
  visible,
} from './support';

// The administrator's day, in order: each step builds on the one before.
describe('the administrator walkthrough', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const tag = unique();
  const accountName = `Acme Research ${tag}`;
  const ada = { first: 'Ada', last: 'Lovelace', email: `ada.${tag}@example.com` };
  const grace = { first: 'Grace', last: 'Hopper', email: `grace.${tag}@example.com` };
  let accountPath = '';

  const toast = (text: string | RegExp) => page.getByRole('status', { name: 'Notifications' }).getByText(text);
  const row = (email: string) => page.getByRole('row').filter({ hasText: email });

  beforeAll(async () => {
    browser = await launchBrowser();
    ({ context, page } = await newPage(browser));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('signs in and lands on Security Settings', async () => {
    await page.goto('/');
    await page.waitForURL(/\/login\?next=/);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByText('Enter an email address.', { exact: true }));
    await visible(page.getByText('Enter your password.', { exact: true }));

    await page.getByLabel('Email', { exact: true }).fill(admin().email);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('alert').getByText('The email or password is incorrect.'));

    await signIn(page, admin().email, admin().password);
    await page.waitForURL('**/security/accounts');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const item of ['Security', 'Users', 'Audit log']) await visible(nav.getByRole('link', { name: item }));
    await visible(page.getByRole('banner').getByText(admin().email));
    await visible(page.getByRole('button', { name: 'Sign out' }));
  });

  it('opens Security > Accounts with the default account', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Security' }).click();
    await visible(page.getByRole('heading', { name: 'Security Settings', level: 1 }));
    expect(await page.getByRole('tab', { name: 'Accounts' }).getAttribute('aria-selected')).toBe('true');
    const defaultRow = await visible(page.getByRole('row').filter({ hasText: 'Default' }).first());
    expect(await defaultRow.getByText('Default', { exact: true }).count()).toBeGreaterThanOrEqual(1);
  });

  it('adds an account with two users, checking fields with the API’s own rules', async () => {
    await page.getByRole('link', { name: 'Add account' }).click();
    await page.waitForURL('**/accounts/new');
    await page.getByLabel('Name', { exact: true }).fill(accountName);
    await page.getByLabel('Description (optional)').fill('The research team');
    const first = page.getByRole('group', { name: 'User 1' });
    await first.getByLabel('First name').fill(ada.first);
    await first.getByLabel('Last name').fill(ada.last);
    await first.getByLabel('Email').fill(ada.email);
    await page.getByRole('button', { name: 'Add another user' }).click();
    const second = page.getByRole('group', { name: 'User 2' });
    await second.getByLabel('First name').fill(grace.first);
    await second.getByLabel('Last name').fill(grace.last);
    await second.getByLabel('Email').fill('grace at example');
    await page.getByRole('button', { name: 'Create account' }).click();
    await visible(second.getByText('Enter a valid email address, like name@example.com'));
    expect(page.url()).toContain('/accounts/new');

    // An email another user has: the server names the row, and nothing is created.
    await second.getByLabel('Email').fill(admin().email.toUpperCase());
    await page.getByRole('button', { name: 'Create account' }).click();
    await visible(second.getByText('A user with this email already exists.', { exact: true }));
    expect(await second.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    expect(page.url()).toContain('/accounts/new');

    await second.getByLabel('Email').fill(grace.email);
    await second.getByLabel('Password (optional)').fill('grace-password-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/accounts\/[0-9a-f-]{36}$/);
    accountPath = new URL(page.url()).pathname;
    await visible(page.getByRole('heading', { name: accountName, level: 1 }));
    await visible(toast(`Account “${accountName}” created with 2 users.`));
    await visible(row(ada.email));
    await visible(row(grace.email));
    expect(await row(ada.email).getByText('Active', { exact: true }).count()).toBe(1);
  });

  it('shows a duplicate email next to the Email field', async () => {
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = await visible(page.getByRole('dialog', { name: 'Add user' }));
    await dialog.getByLabel('First name').fill('Another');
    await dialog.getByLabel('Last name').fill('Ada');
    await dialog.getByLabel('Email').fill(ada.email.toUpperCase());
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await visible(dialog.getByText('A user with this email already exists.', { exact: true }));
    expect(await dialog.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await gone(dialog);
  });

  it('edits a user', async () => {
    await page.getByRole('button', { name: `Edit ${ada.email}` }).click();
    const dialog = await visible(page.getByRole('dialog', { name: `Edit ${ada.first} ${ada.last}` }));
    expect(await dialog.getByLabel('First name').inputValue()).toBe(ada.first);
    await dialog.getByLabel('Last name').fill('King');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(toast(`Ada King (${ada.email}) updated.`));
    await visible(row(ada.email).getByText('Ada King'));
    ada.last = 'King';
  });

  it('deactivates and reactivates with Active and Save', async () => {
    await page.getByRole('button', { name: `Edit ${ada.email}` }).click();
    let dialog = await visible(page.getByRole('dialog', { name: 'Edit Ada King' }));
    await dialog.getByRole('checkbox', { name: 'Active' }).uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(toast(`Ada King (${ada.email}) deactivated.`));
    await visible(row(ada.email).getByText('Inactive', { exact: true }));

    await page.getByRole('button', { name: `Edit ${ada.email}` }).click();
    dialog = await visible(page.getByRole('dialog', { name: 'Edit Ada King' }));
    expect(await dialog.getByRole('checkbox', { name: 'Active' }).isChecked()).toBe(false);
    await dialog.getByRole('checkbox', { name: 'Active' }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(toast(`Ada King (${ada.email}) reactivated.`));
    await visible(row(ada.email).getByText('Active', { exact: true }));
  });

  it('explains a change made by someone else meanwhile, and discards the typing on request', async () => {
    await page.getByRole('button', { name: `Edit ${grace.email}` }).click();
    // Named by the user: once reloaded, the title follows the new name.
    const dialog = await visible(page.getByRole('dialog', { name: /^Edit (Amazing )?Grace Hopper$/ }));
    // Another administrator renames Grace while the form is open.
    const current = await must<{ id: string; version: number }>(context.request, 'query', 'users.get', {
      email: grace.email,
    });
    await must(context.request, 'mutation', 'users.update', { id: current.id, firstName: 'Amazing Grace' });

    await dialog.getByLabel('Last name').fill('Hopper-Murray');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await visible(dialog.getByRole('alert').getByText(/changed by someone else meanwhile/));
    await dialog.getByRole('button', { name: 'Discard my changes' }).click();
    await gone(dialog.getByRole('alert'));
    expect(await dialog.getByLabel('First name').inputValue()).toBe('Amazing Grace');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(row(grace.email).getByText('Amazing Grace Hopper'));
    grace.first = 'Amazing Grace';
  });

  it('deletes a user: Cancel backs out, Delete confirms', async () => {
    await page.getByRole('button', { name: `Delete ${grace.email}` }).click();
    let dialog = await visible(page.getByRole('alertdialog', { name: 'Delete Amazing Grace Hopper?' }));
    const text = await dialog.textContent();
    expect(text).toContain(`Amazing Grace Hopper (${grace.email})`);
    expect(text).toContain('cannot be undone');
    expect(text).toContain('deactivate them instead');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await gone(dialog);
    await visible(row(grace.email));

    await page.getByRole('button', { name: `Delete ${grace.email}` }).click();
    dialog = await visible(page.getByRole('alertdialog', { name: 'Delete Amazing Grace Hopper?' }));
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await gone(dialog);
    await visible(toast(`Amazing Grace Hopper (${grace.email}) deleted.`));
    await gone(row(grace.email));
    await visible(page.getByText('1 user', { exact: true }));
  });

  it('works a dialog with the keyboard alone: focus is trapped and returned', async () => {
    const edit = page.getByRole('button', { name: `Edit ${ada.email}` });
    await edit.focus();
    await page.keyboard.press('Enter');
    await visible(page.getByRole('dialog', { name: 'Edit Ada King' }));
    expect(await focusedOn(page, 'First name')).toBe('First name');
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      expect(await focusInDialog(page)).toBe(true);
    }
    await page.keyboard.press('Shift+Tab');
    expect(await focusInDialog(page)).toBe(true);
    await page.keyboard.press('Escape');
    await gone(page.getByRole('dialog'));
    expect(await focusedOn(page, `Edit ${ada.email}`)).toBe(`Edit ${ada.email}`);

    // And a change made only with keys: open, type, submit with Enter.
    await page.keyboard.press('Enter');
    await visible(page.getByRole('dialog', { name: 'Edit Ada King' }));
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Augusta Ada');
    await page.keyboard.press('Enter');
    await gone(page.getByRole('dialog'));
    await visible(row(ada.email).getByText('Augusta Ada King'));
    expect(await focusedOn(page, `Edit ${ada.email}`)).toBe(`Edit ${ada.email}`);
    ada.first = 'Augusta Ada';
  });

  it('explains in plain words why changing your own role is not offered', async () => {
    await page.goto('/security/administrators');
    const me = await visible(row(admin().email));
    await me.getByRole('button', { name: `More actions for ${admin().email}` }).click();
    const item = await visible(page.getByRole('menuitem', { name: /^Change role \(you cannot change your own/ }));
    expect(await item.getAttribute('aria-disabled')).toBe('true');
    await page.keyboard.press('Escape');
    expect(await focusedOn(page, `More actions for ${admin().email}`)).toBe(`More actions for ${admin().email}`);
  });

  it('searches within an account and across the organization', async () => {
    await page.goto(accountPath);
    await visible(row(ada.email));
    await page.getByRole('searchbox', { name: 'Search users in this account' }).fill('augusta');
    await page.waitForURL(/q=augusta/);
    await visible(row(ada.email));
    await page.getByRole('searchbox', { name: 'Search users in this account' }).fill('nobody-like-this');
    await visible(page.getByText('No user of this account matches “nobody-like-this”.'));

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).focus();
    await page.keyboard.press('Enter');
    await visible(page.getByRole('heading', { name: 'Users', level: 1 }));
    // A new page: focus moves to its content.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.getByRole('searchbox', { name: 'Search users' }).fill(`augusta ada king`);
    await page.waitForURL(/q=augusta/);
    await visible(page.getByText('1 user', { exact: true }));
    await visible(row(ada.email).getByRole('link', { name: accountName }));
    await page.getByLabel('Role').selectOption('admin');
    await visible(page.getByText('No user matches these filters.'));
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Account').fill(accountName);
    await page.waitForURL(/account=/);
    await visible(row(ada.email));
    expect(await page.getByRole('row').filter({ hasText: '@' }).count()).toBe(1);
    await page.getByLabel('Status').selectOption('inactive');
    await visible(page.getByText('No user matches these filters.'));

    // Deep links and the back button keep the filters.
    const filtered = page.url();
    await page.goto(filtered);
    expect(await page.getByLabel('Status').inputValue()).toBe('inactive');
    await expect.poll(() => page.getByLabel('Account').inputValue()).toBe(accountName);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await visible(page.getByRole('heading', { name: 'Audit log', level: 1 }));
    await page.goBack();
    await page.waitForURL(filtered);
    expect(await page.getByLabel('Status').inputValue()).toBe('inactive');
  });

  it('shows the actions in the audit log, with before and after', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await visible(page.getByRole('heading', { name: 'Audit log', level: 1 }));
    await showAll(page);
    const entry = (what: string, target: string, detail = '') =>
      page.getByRole('row').filter({ hasText: what }).filter({ hasText: target }).filter({ hasText: detail }).first();
    await visible(entry('Created account', accountName));
    await visible(entry('Deleted user', grace.email));
    const renamed = await visible(entry('Edited user', ada.email, 'Lovelace'));
    expect(await renamed.textContent()).toMatch(/Last name:\s*Lovelace\s*→\s*changed to\s*King/);
    await visible(entry('Deactivated user', ada.email));
    await visible(entry('Reactivated user', ada.email));
    expect(await entry('Deactivated user', ada.email).textContent()).toContain(admin().email);

    await page.getByLabel('Filter by user').fill(ada.email);
    await page.getByRole('button', { name: 'Show activity' }).click();
    await page.waitForURL(/email=/);
    await visible(page.getByText(`Activity of ${ada.email}`));
    const rows = page.getByRole('row').filter({ hasText: '@' });
    await expect.poll(async () => (await rows.allTextContents()).every((text) => text.includes(ada.email))).toBe(true);
    expect(await rows.count()).toBeGreaterThanOrEqual(5);
  });

  // Issue 18 item 8: a deleted user's history, found by the email they had; filters by part
  // of a name, action, account and days; names link to users who still exist.
  it("finds a deleted user's history and filters the log by name, action, account and day", async () => {
    const rows = page.getByRole('row').filter({ hasText: '@' });
    const allRowsMention = (text: string) =>
      expect.poll(async () => (await rows.allTextContents()).every((row) => row.includes(text))).toBe(true);

    await page.getByRole('button', { name: 'Show everyone' }).click();
    await page.getByLabel('Filter by user').fill(grace.email.toUpperCase());
    await page.getByRole('button', { name: 'Show activity' }).click();
    await visible(page.getByText(`Activity of ${grace.email}`));
    // The heading comes with the address; the rows of everyone stay until her own arrive.
    await allRowsMention(grace.email);
    const deleted = await visible(rows.filter({ hasText: 'Deleted user' }));
    await visible(rows.filter({ hasText: 'Added user' }));
    // Grace is gone: her name is text, not a link, and says so.
    expect(await deleted.getByRole('link', { name: /Grace/ }).count()).toBe(0);
    await visible(deleted.getByText('(no longer a user)'));
    await page.getByRole('button', { name: 'Show everyone' }).click();
    await page.waitForURL((url) => !url.search.includes('email='));

    // Part of a name as it was then, any case: her creation, under the name she had.
    await page.getByLabel('Search the audit log').fill('LOVEL');
    await page.waitForURL(/q=LOVEL/);
    await visible(rows.filter({ hasText: 'Added user' }).filter({ hasText: ada.email }));
    await allRowsMention(ada.email);
    // Part of an email, then one action.
    await page.getByLabel('Search the audit log').fill(`ADA.${tag.toUpperCase()}`);
    await page.waitForURL(/q=ADA\./);
    await page.getByLabel('Action', { exact: true }).selectOption({ label: 'Deactivated user' });
    await page.waitForURL(/action=user\.deactivated/);
    await expect.poll(() => rows.count()).toBe(1);
    await allRowsMention(ada.email);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL((url) => url.search === '');

    // One account: its rows and its users' rows, nothing of the organization's own.
    await page.getByLabel('Account').fill(accountName);
    await page.waitForURL(/account=/);
    await visible(rows.filter({ hasText: 'Created account' }).filter({ hasText: accountName }));
    // (The rows before the filter stay on screen until the filtered page arrives.)
    await expect.poll(() => rows.filter({ hasText: 'Created organization' }).count()).toBe(0);

    // Days: nothing up to yesterday, today's rows from today.
    const day = (date: Date) =>
      `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
    await page.getByLabel('To', { exact: true }).fill(day(new Date(Date.now() - 86_400_000)));
    await visible(page.getByText('Nothing recorded matches these filters.'));
    await page.getByLabel('To', { exact: true }).fill(day(new Date()));
    await page.getByLabel('From', { exact: true }).fill(day(new Date()));
    await visible(rows.filter({ hasText: 'Created account' }));

    // Ada still exists: her name opens her page.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Search the audit log').fill(ada.email);
    await page.waitForURL(/q=/);
    await allRowsMention(ada.email);
    await rows.first().getByRole('link', { name: /Ada/ }).first().click();
    await page.waitForURL(/\/users\//);
    await visible(page.getByRole('heading', { name: /Ada/, level: 1 }));
  });

  it('pages through a long list with Show more', async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({
      email: `member${String(i).padStart(2, '0')}.${tag}@example.com`,
      firstName: 'Member',
      lastName: `Number ${i}`,
    }));
    const big = await must<{ id: string }>(context.request, 'mutation', 'accounts.create', {
      name: `Big Team ${tag}`,
      users: many,
    });
    await page.goto(`/accounts/${big.id}`);
    await visible(page.getByText('Showing 25 of 30 users'));
    expect(
      await page
        .getByRole('row')
        .filter({ hasText: `.${tag}@example.com` })
        .count(),
    ).toBe(25);
    await page.getByRole('button', { name: 'Show more' }).click();
    await visible(page.getByText('30 users', { exact: true }));
    expect(
      await page
        .getByRole('row')
        .filter({ hasText: `.${tag}@example.com` })
        .count(),
    ).toBe(30);
  });

  it('edits an account, then deletes it after confirming', async () => {
    // Still on the big account's page from the step before.
    await page.getByRole('button', { name: 'Edit account' }).click();
    const dialog = await visible(page.getByRole('dialog', { name: 'Edit account' }));
    await dialog.getByLabel('Name', { exact: true }).fill(`Bigger Team ${tag}`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(page.getByRole('heading', { name: `Bigger Team ${tag}`, level: 1 }));

    await page.getByRole('button', { name: 'Delete account' }).click();
    const confirm = await visible(page.getByRole('alertdialog', { name: `Delete account “Bigger Team ${tag}”?` }));
    expect(await confirm.textContent()).toContain('its 30 users will be removed. This cannot be undone.');
    // An account with users is deleted only once its name is typed.
    expect(await confirm.getByRole('button', { name: 'Delete account' }).isDisabled()).toBe(true);
    await confirm.getByLabel(/Type the account's name/).fill(`Bigger Team ${tag}`);
    await confirm.getByRole('button', { name: 'Delete account' }).click();
    await page.waitForURL('**/security/accounts');
    await visible(toast(`Account “Bigger Team ${tag}” deleted, with 30 users.`));
    await expect
      .poll(() =>
        page
          .getByRole('row')
          .filter({ hasText: `Bigger Team ${tag}` })
          .count(),
      )
      .toBe(0);

    // The default account has no Delete: it holds the administrators.
    await page.getByRole('link', { name: 'Default', exact: true }).click();
    await visible(page.getByText('The default account holds the organization', { exact: false }));
    expect(await page.getByRole('button', { name: 'Delete account' }).count()).toBe(0);
  });

  it('filters users by any account of many, not just the first hundred', async () => {
    // 120 accounts that sort after the others: the one wanted is far past the first hundred.
    const names = Array.from({ length: 120 }, (_, i) => `Zzz ${tag} ${String(i).padStart(3, '0')}`);
    for (const name of names.slice(0, 119)) {
      await must(context.request, 'mutation', 'accounts.create', { name, users: [] });
    }
    const last = names[119] ?? '';
    const email = `far.${tag}@example.com`;
    await must(context.request, 'mutation', 'accounts.create', {
      name: last,
      users: [{ email, firstName: 'Far', lastName: 'Away' }],
    });
    await page.goto('/users');
    const box = page.getByLabel('Account');
    await box.fill(`${tag} 11`);
    // The suggestions are the accounts whose names contain the text, asked of the server.
    await expect
      .poll(() => page.locator('datalist option').evaluateAll((options) => options.map((o) => o.getAttribute('value'))))
      .toEqual(names.slice(110, 120));
    await box.fill(last);
    await page.waitForURL(/account=/);
    await visible(row(email).getByRole('link', { name: last }));
    await expect.poll(() => page.getByRole('row').filter({ hasText: '@' }).count()).toBe(1);
    // Emptied, the filter lets every account's users back in.
    await box.fill('');
    await expect.poll(() => new URL(page.url()).searchParams.get('account')).toBeNull();
  });

  it('sets a password from the row menu', async () => {
    await page.goto(accountPath);
    await page.getByRole('button', { name: `More actions for ${ada.email}` }).click();
    await page.getByRole('menuitem', { name: 'Set password' }).click();
    const dialog = await visible(page.getByRole('dialog', { name: 'Set a password for Augusta Ada King' }));
    await dialog.getByLabel('New password').fill('short');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await visible(dialog.getByText('A password has at least 8 characters'));
    await dialog.getByLabel('New password').fill('ada has a new password');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await gone(dialog);
    await visible(toast(`New password set for ${ada.email}.`));
    expect(await focusedOn(page, `More actions for ${ada.email}`)).toBe(`More actions for ${ada.email}`);
    const elsewhere = await browser.newContext({ baseURL: baseURL() });
    const signedIn = await api(elsewhere.request, 'mutation', 'auth.login', {
      email: ada.email,
      password: 'ada has a new password',
    });
    expect(signedIn.status).toBe(200);
    await elsewhere.close();
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await visible(page.getByText('You have signed out.'));
    await page.goto('/users');
    await page.waitForURL(/\/login\?next=%2Fusers/);
  });
});
