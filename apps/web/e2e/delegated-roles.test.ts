import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminPage,
  defaultAccountIdOf,
  expectAccessible,
  gone,
  launchAsAdmin,
  must,
  newPage,
  screenshot,
  signIn,
  unique,
  visible,
} from './support';

// A day of each delegated role in the console: an account administrator who
// lands on their account and manages its plain users (and nothing else), and an
// auditor who reads everything and is offered no change.

type User = { id: string; email: string; firstName: string; role: string };

const password = 'delegated e2e password';

let browser: Browser;
let adminRequest: APIRequestContext;
let accountId: string;
let accountName: string;
let accountAdmin: User;
let auditor: User;
let plain: User;
let peer: User;

async function createUser(
  request: APIRequestContext,
  input: { accountId: string; role: string; firstName: string; password?: string },
) {
  return must<User>(request, 'mutation', 'users.create', {
    ...input,
    email: `${input.firstName.toLowerCase()}-${unique()}@delegated.test`,
    lastName: 'Delegated',
  });
}

beforeAll(async () => {
  ({ browser, adminRequest } = await launchAsAdmin());
  accountName = `Delegated ${unique()}`;
  accountId = (await must<{ id: string }>(adminRequest, 'mutation', 'accounts.create', { name: accountName })).id;
  accountAdmin = await createUser(adminRequest, { accountId, role: 'account_admin', firstName: 'Ada', password });
  plain = await createUser(adminRequest, { accountId, role: 'user', firstName: 'Pia' });
  peer = await createUser(adminRequest, { accountId, role: 'account_admin', firstName: 'Pete' });
  auditor = await createUser(adminRequest, {
    accountId: await defaultAccountIdOf(adminRequest),
    role: 'auditor',
    firstName: 'Aud',
    password,
  });
});

afterAll(async () => {
  await browser?.close();
});

async function signedIn(email: string): Promise<Page> {
  const { page } = await newPage(browser);
  await signIn(page, email, password);
  return page;
}

describe('an account administrator’s day', () => {
  it('lands on their account, sees only what they may do, and edits a plain user', async () => {
    const page = await signedIn(accountAdmin.email);
    await page.waitForURL(`**/accounts/${accountId}`);
    await visible(page.getByRole('heading', { level: 1, name: accountName }));
    const nav = page.getByRole('navigation', { name: 'Main' });
    await visible(nav.getByRole('link', { name: 'My account' }));
    expect(await nav.getByRole('link', { name: 'Security' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    // Theirs to change: users; not the account itself.
    await visible(page.getByRole('button', { name: 'Add user' }));
    await visible(page.getByRole('link', { name: 'Import users' }));
    expect(await page.getByRole('button', { name: 'Edit account' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete account' }).count()).toBe(0);
    // A plain user's row has its actions; another account administrator's has none.
    await visible(page.getByRole('button', { name: `Edit ${plain.email}` }));
    expect(await page.getByRole('button', { name: `Edit ${peer.email}` }).count()).toBe(0);
    expect(await page.getByRole('button', { name: `Delete ${peer.email}` }).count()).toBe(0);
    await expectAccessible(page, 'the account page of an account administrator');
    await screenshot(page, 'account-admin-account');

    await page.getByRole('button', { name: `Edit ${plain.email}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('First name').fill('Pia-Maria');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await gone(dialog);
    await visible(page.getByRole('link', { name: /Pia-Maria Delegated/ }));

    // The user's page: no move between accounts, no role change.
    await page.goto(`/users/${plain.id}`);
    await visible(page.getByRole('heading', { level: 1, name: /Pia-Maria/ }));
    expect(await page.getByRole('button', { name: 'Move to another account' }).count()).toBe(0);
    await page.getByRole('button', { name: `More actions for ${plain.email}` }).click();
    await visible(page.getByRole('menuitem', { name: 'Set password' }));
    expect(await page.getByRole('menuitem', { name: /Change role/ }).count()).toBe(0);
    expect(await page.getByRole('menuitem', { name: 'View activity' }).count()).toBe(0);
    await page.keyboard.press('Escape');
    await expectAccessible(page, 'a user page seen by an account administrator');

    // The organization's pages are not theirs.
    await page.goto('/security/accounts');
    await visible(page.getByRole('heading', { level: 1, name: 'Account management is for administrators' }));
    await page.context().close();
  });
});

describe('an auditor’s day', () => {
  it('reads every page, and is offered no change', async () => {
    const page = await signedIn(auditor.email);
    await page.waitForURL('**/security/accounts');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Security', 'Users', 'Audit log']) await visible(nav.getByRole('link', { name }));
    await visible(page.getByRole('link', { name: accountName }));
    expect(await page.getByRole('link', { name: 'Add account' }).count()).toBe(0);
    await expectAccessible(page, 'Security Settings for an auditor');

    await page.getByRole('link', { name: accountName }).click();
    await visible(page.getByRole('heading', { level: 1, name: accountName }));
    await visible(page.getByRole('link', { name: /Pia/ }));
    for (const name of ['Add user', 'Edit account', 'Delete account', `Edit ${plain.email}`, `Delete ${plain.email}`]) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    expect(await page.getByRole('link', { name: 'Import users' }).count()).toBe(0);
    expect(await page.getByRole('checkbox').count()).toBe(0);
    await expectAccessible(page, 'an account page seen by an auditor');
    await screenshot(page, 'auditor-account');

    // The import page, reached by its address, offers nothing to press.
    await page.goto(`/accounts/${accountId}/import`);
    await visible(page.getByText('Importing users into this account is not for you.'));
    expect(
      await page
        .getByRole('button')
        .filter({ hasText: /Upload|Import|Preview/ })
        .count(),
    ).toBe(0);

    await page.goto('/security/administrators');
    for (const name of ['Administrators', 'Account administrators', 'Auditors']) {
      await visible(page.getByRole('heading', { level: 2, name, exact: true }));
    }
    await visible(page.getByRole('link', { name: /Ada Delegated/ }));
    await expectAccessible(page, 'the Administrators tab for an auditor');

    await page.goto('/security/provisioning');
    await visible(page.getByRole('heading', { level: 2, name: /Provisioning|Connections/ }).first());
    expect(await page.getByRole('button', { name: 'Add connection' }).count()).toBe(0);

    await page.goto('/audit');
    await visible(page.getByRole('heading', { level: 1, name: 'Audit log' }));
    await expectAccessible(page, 'the audit log for an auditor');

    await page.goto(`/users/${plain.id}`);
    await visible(page.getByRole('heading', { level: 1, name: /Pia/ }));
    expect(await page.getByRole('button', { name: 'Move to another account' }).count()).toBe(0);
    await page.getByRole('button', { name: `More actions for ${plain.email}` }).click();
    await visible(page.getByRole('menuitem', { name: 'View activity' }));
    for (const name of ['Set password', 'Deactivate', 'Change role']) {
      expect(await page.getByRole('menuitem', { name }).count(), name).toBe(0);
    }
    await page.keyboard.press('Escape');
    await page.context().close();
  });
});

describe('an administrator', () => {
  it('gives a role after confirming it, and the Administrators tab shows it', async () => {
    const { page } = await adminPage(browser);
    await page.goto(`/users/${plain.id}`);
    await page.getByRole('button', { name: `More actions for ${plain.email}` }).click();
    await page.getByRole('menuitem', { name: 'Change role' }).click();
    const dialog = page.getByRole('alertdialog');
    await visible(dialog.getByRole('heading', { name: /Change the role of/ }));
    await dialog.getByRole('radio', { name: 'Auditor' }).check();
    await expectAccessible(page, 'the Change role dialog');
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await gone(dialog);
    await visible(page.getByText('Auditor', { exact: true }).first());
    await page.goto('/security/administrators');
    const auditors = page.getByRole('region', { name: 'Auditors' });
    await visible(auditors.getByRole('link', { name: /Pia-Maria Delegated/ }));
    await page.context().close();
  });
});
