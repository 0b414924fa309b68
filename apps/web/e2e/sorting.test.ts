import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchWithAdminPage, must, newPage, unique, visible } from './support';

type Account = { id: string; name: string };
type User = { id: string; email: string; version: number };

/**
 * Sorting the users tables (headers with aria-sort, the order in the address,
 * kept on reload), the Last sign-in filter, moving a user to another account,
 * and the deactivation preview.
 */
describe('sorting, the dormant filter, moving and deactivating users', () => {
  let browser: Browser;
  let page: Page;
  let request: APIRequestContext;
  let team: Account;
  let other: Account;
  const tag = unique();
  // Created in this order; names chosen so that name, email and created orders all differ.
  const people = [
    { first: 'Carla', last: 'Zimmer', local: 'b' },
    { first: 'Anton', last: 'Ångström', local: 'd' },
    { first: 'Berta', last: 'Meyer', local: 'a' },
    { first: 'Dora', last: 'Baker', local: 'c' },
  ];
  const emailOf = (local: string) => `${local}.${tag}@example.com`;
  const signedInEmail = emailOf('c');

  /** The emails of the table's rows, top to bottom. */
  const emailsShown = () =>
    page
      .locator('table.data-table tbody tr td.col-email')
      .allInnerTexts()
      .then((texts) => texts.map((text) => text.trim()));
  const ariaSortOf = (column: string) => page.locator(`table.data-table th.col-${column}`).getAttribute('aria-sort');

  beforeAll(async () => {
    ({ browser, page, request } = await launchWithAdminPage());
    team = await must<Account>(request, 'mutation', 'accounts.create', { name: `Sorted ${tag}`, users: [] });
    other = await must<Account>(request, 'mutation', 'accounts.create', { name: `Elsewhere ${tag}`, users: [] });
    for (const person of people) {
      await must(request, 'mutation', 'users.create', {
        accountId: team.id,
        email: emailOf(person.local),
        firstName: person.first,
        lastName: person.last,
        password: `password of ${person.local} ${tag}`,
      });
    }
    // Dora signs in once (in a browser context of her own): the others never have.
    const { context } = await newPage(browser);
    await must(context.request, 'mutation', 'auth.login', {
      email: signedInEmail,
      password: `password of c ${tag}`,
    });
    await context.close();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('sorts an account’s users by each header, both ways, with aria-sort, in the address and after a reload', async () => {
    await page.goto(`/accounts/${team.id}`);
    await visible(page.getByRole('table', { name: `Users of Sorted ${tag}` }));
    // The default order is email ascending.
    expect(await emailsShown()).toEqual(['a', 'b', 'c', 'd'].map(emailOf));
    expect(await ariaSortOf('email')).toBe('ascending');
    expect(await ariaSortOf('name')).toBe('none');

    await page.getByRole('button', { name: 'Name' }).click();
    await page.waitForURL((url) => url.searchParams.get('sort') === 'name');
    // Ångström (accents do not matter: Angstrom), Baker, Meyer, Zimmer.
    await expect.poll(emailsShown).toEqual(['d', 'c', 'a', 'b'].map(emailOf));
    expect(await ariaSortOf('name')).toBe('ascending');
    expect(await ariaSortOf('email')).toBe('none');

    await page.getByRole('button', { name: 'Name' }).click();
    await page.waitForURL((url) => url.searchParams.get('order') === 'desc');
    await expect.poll(emailsShown).toEqual(['b', 'a', 'c', 'd'].map(emailOf));
    expect(await ariaSortOf('name')).toBe('descending');

    // A shared or reloaded address shows the same order.
    await page.reload();
    await visible(page.getByRole('table', { name: `Users of Sorted ${tag}` }));
    await expect.poll(emailsShown).toEqual(['b', 'a', 'c', 'd'].map(emailOf));
    expect(await ariaSortOf('name')).toBe('descending');
    await expectAccessible(page, 'an account’s users sorted by name');

    await page.getByRole('button', { name: 'Created' }).click();
    await page.waitForURL((url) => url.searchParams.get('sort') === 'created' && !url.searchParams.has('order'));
    await expect.poll(emailsShown).toEqual(['b', 'd', 'a', 'c'].map(emailOf));
    expect(await ariaSortOf('createdAt')).toBe('ascending');
  });

  it('sorts the Users page by last sign-in (who never signed in last, both ways) with the search kept', async () => {
    await page.goto(`/users?q=${tag}&sort=lastSignIn`);
    await visible(page.getByRole('table', { name: 'Users' }));
    // Dora, the one who signed in, first; then those who never did.
    await expect.poll(async () => (await emailsShown())[0]).toBe(signedInEmail);
    expect((await emailsShown()).sort()).toEqual(['a', 'b', 'c', 'd'].map(emailOf));
    expect(await ariaSortOf('lastLoginAt')).toBe('ascending');
    await page.getByRole('button', { name: 'Last sign-in' }).click();
    await page.waitForURL((url) => url.searchParams.get('order') === 'desc' && url.searchParams.get('q') === tag);
    // Never signed in: last either way, in the reverse of their id order.
    const shown = await expect.poll(emailsShown).toHaveLength(4).then(emailsShown);
    expect(shown[0]).toBe(signedInEmail);
    expect(await ariaSortOf('lastLoginAt')).toBe('descending');
    await expectAccessible(page, 'the Users page sorted by last sign-in');
  });

  it('filters by last sign-in: never, or not in 30 days, kept in the address', async () => {
    await page.goto(`/users?q=${tag}`);
    await visible(page.getByRole('table', { name: 'Users' }));
    await page.getByLabel('Last sign-in').selectOption('never');
    await page.waitForURL((url) => url.searchParams.get('lastSignIn') === 'never');
    await expect.poll(emailsShown).toEqual(['a', 'b', 'd'].map(emailOf));
    await page.reload();
    await expect.poll(emailsShown).toEqual(['a', 'b', 'd'].map(emailOf));
    expect(await page.getByLabel('Last sign-in').inputValue()).toBe('never');

    // Dora signed in today and the others never did: nobody last signed in more than 30 days ago.
    await page.getByLabel('Last sign-in').selectOption('30d');
    await page.waitForURL((url) => url.searchParams.get('lastSignIn') === '30d');
    await visible(page.getByText('No user matches these filters.'));
    await expectAccessible(page, 'the Users page with the Last sign-in filter');

    // Combined with the sort and the other filters, and cleared by Clear filters (the order stays).
    await page.goto(`/users?q=${tag}&lastSignIn=never&sort=name&order=desc`);
    await expect.poll(emailsShown).toEqual(['b', 'a', 'd'].map(emailOf));
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForURL((url) => !url.searchParams.has('lastSignIn') && url.searchParams.get('sort') === 'name');
  });

  it('moves a user to another account from their page, and deactivates one after saying what it ends', async () => {
    const users = await must<{ items: User[] }>(request, 'query', 'users.search', { query: emailOf('a') });
    const berta = users.items[0];
    if (!berta) throw new Error('Berta is missing');
    await page.goto(`/users/${berta.id}`);
    await visible(page.getByRole('link', { name: `Sorted ${tag}` }));
    await page.getByRole('button', { name: 'Move to another account' }).click();
    const dialog = await visible(page.getByRole('alertdialog', { name: 'Move Berta Meyer to another account' }));
    expect(await dialog.getByRole('button', { name: 'Move' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Move to').fill(`Elsewhere ${tag}`);
    await expect.poll(() => dialog.getByRole('button', { name: 'Move' }).isEnabled()).toBe(true);
    await expectAccessible(page, 'the Move dialog');
    await dialog.getByRole('button', { name: 'Move' }).click();
    await visible(page.getByRole('link', { name: `Elsewhere ${tag}` }));
    const moved = await must<{ accountId: string }>(request, 'query', 'users.get', { id: berta.id });
    expect(moved.accountId).toBe(other.id);

    // Dora has one live session (her sign-in) and no key.
    const dora = (await must<{ items: User[] }>(request, 'query', 'users.search', { query: signedInEmail })).items[0];
    if (!dora) throw new Error('Dora is missing');
    await page.goto(`/users/${dora.id}`);
    await page.getByRole('button', { name: `More actions for ${signedInEmail}` }).click();
    await page.getByRole('menuitem', { name: 'Deactivate' }).click();
    const confirm = await visible(page.getByRole('alertdialog', { name: 'Deactivate Dora Baker?' }));
    await visible(confirm.getByText('This ends 1 session and revokes 0 API keys.', { exact: false }));
    await expectAccessible(page, 'the Deactivate confirmation');
    await confirm.getByRole('button', { name: 'Deactivate' }).click();
    await expect
      .poll(async () => (await must<{ active: boolean }>(request, 'query', 'users.get', { id: dora.id })).active)
      .toBe(false);

    // The Edit dialog's Active says the same once it is cleared.
    const anton = (await must<{ items: User[] }>(request, 'query', 'users.search', { query: emailOf('d') })).items[0];
    if (!anton) throw new Error('Anton is missing');
    await page.goto(`/users/${anton.id}`);
    await page.getByRole('button', { name: `Edit ${emailOf('d')}` }).click();
    const edit = await visible(page.getByRole('dialog', { name: 'Edit Anton Ångström' }));
    await edit.getByLabel('Active').uncheck();
    await visible(edit.getByText('Saving deactivates them. This ends 0 sessions and revokes 0 API keys.'));
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => (await must<{ active: boolean }>(request, 'query', 'users.get', { id: anton.id })).active)
      .toBe(false);
  });
});
