import type { APIRequestContext, Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, defaultAccountIdOf, gone, launchAsAdmin, must, newPage, signIn, unique, visible } from './support';

type Account = { id: string; name: string; isDefault: boolean };
type User = { id: string; email: string; version: number };

describe('sessions and permissions', () => {
  let browser: Browser;
  let adminRequest: APIRequestContext;
  let defaultAccountId: string;
  const tag = unique();

  /** A user made through the API by the administrator, with a password. */
  async function makeUser(label: string, options: { role?: 'admin' | 'user'; accountId?: string } = {}) {
    const email = `${label}.${tag}@example.com`;
    const password = `${label} password ${tag}`;
    const user = await must<User>(adminRequest, 'mutation', 'users.create', {
      accountId: options.accountId ?? defaultAccountId,
      email,
      firstName: label[0]?.toUpperCase() + label.slice(1),
      lastName: 'Tester',
      password,
      role: options.role,
    });
    return { ...user, password };
  }

  beforeAll(async () => {
    ({ browser, adminRequest } = await launchAsAdmin());
    defaultAccountId = await defaultAccountIdOf(adminRequest);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows a plain user why they cannot manage accounts, and the server refuses them too', async () => {
    const team = await must<Account>(adminRequest, 'mutation', 'accounts.create', {
      name: `Support ${tag}`,
      users: [],
    });
    const plain = await makeUser('plain', { accountId: team.id });
    const { page } = await newPage(browser);
    const calls: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/trpc/')) calls.push(url.pathname.slice('/trpc/'.length));
    });

    await signIn(page, plain.email, plain.password);
    await page.waitForURL('**/profile');
    await visible(page.getByRole('heading', { name: 'Your profile', level: 1 }));
    await visible(page.getByText('Account management is for administrators.'));
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);

    await page.goto('/security/accounts');
    await visible(page.getByRole('heading', { name: 'Account management is for administrators', level: 1 }));
    await visible(page.getByRole('heading', { name: 'Change password' }));
    expect(await page.getByRole('table').count()).toBe(0);
    await page.goto('/audit');
    await visible(page.getByRole('heading', { name: 'Account management is for administrators', level: 1 }));
    // The console never asked for admin data on their behalf.
    // (A batched request names its procedures joined by commas.)
    const procedures = calls.flatMap((path) => path.split(','));
    expect(procedures).toContain('auth.me');
    expect(procedures.filter((path) => /^(accounts|users|audit)\./.test(path))).toEqual([]);

    // Asked directly, the server refuses.
    const direct = await page.evaluate(async () => {
      const response = await fetch(`/trpc/users.search?input=${encodeURIComponent('{"json":{}}')}`);
      return { status: response.status, body: await response.text() };
    });
    expect(direct.status).toBe(403);
    expect(direct.body).toContain('FORBIDDEN');
    const refused = await api(page.request, 'mutation', 'users.deactivate', { id: plain.id });
    expect(refused.status).toBe(403);
    expect(refused.error?.message).toBe('Not allowed: account management is for administrators.');

    // Their own password they may change; a wrong current one shows at its field.
    await page.goto('/profile');
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('a new password for me');
    await page.getByLabel('Confirm new password').fill('a new password for me');
    await page.getByRole('button', { name: 'Change password' }).click();
    await visible(page.getByText('The current password is incorrect.'));
    expect(await page.getByLabel('Current password').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Current password').fill(plain.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await visible(page.getByRole('status', { name: 'Notifications' }).getByText(/Password changed/));
    await page.context().close();
  });

  it("sends a deactivated user's open console back to sign in on their next action", async () => {
    const other = await makeUser('deputy', { role: 'admin' });
    const { page } = await newPage(browser);
    await signIn(page, other.email, other.password);
    await page.waitForURL('**/security/accounts');
    await visible(page.getByRole('table'));

    await must(adminRequest, 'mutation', 'users.deactivate', { id: other.id });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/login\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('next')).toBe('/users');
    expect(url.searchParams.get('reason')).toBe('expired');
    await visible(page.getByText('Your session has ended. Sign in again to continue where you were.'));
    await page.getByLabel('Email', { exact: true }).fill(other.email);
    await page.getByLabel('Password', { exact: true }).fill(other.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('alert').getByText('The email or password is incorrect.'));
    await page.context().close();
  });

  it('brings a person whose session ended back to where they were after signing in', async () => {
    const other = await makeUser('returner', { role: 'admin' });
    const team = await must<Account>(adminRequest, 'mutation', 'accounts.create', {
      name: `Returning ${tag}`,
      users: [{ email: `member.${tag}@example.com`, firstName: 'Mo', lastName: 'Member' }],
    });
    const { page } = await newPage(browser);
    await signIn(page, other.email, other.password);
    await page.goto(`/accounts/${team.id}?q=mo`);
    await page.getByRole('button', { name: `Edit member.${tag}@example.com` }).click();
    const dialog = await visible(page.getByRole('dialog'));

    // Another administrator sets a new password for them: every session of theirs ends.
    const newPassword = `fresh password ${tag}`;
    await must(adminRequest, 'mutation', 'users.setPassword', { id: other.id, password: newPassword });

    await dialog.getByLabel('Last name').fill('Moved');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/login\?/);
    await visible(page.getByText('Your session has ended. Sign in again to continue where you were.'));
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/accounts/${team.id}?q=mo`);

    await signIn(page, other.email, newPassword);
    await page.waitForURL(`**/accounts/${team.id}?q=mo`);
    await visible(page.getByRole('heading', { name: `Returning ${tag}`, level: 1 }));
    expect(await page.getByRole('searchbox', { name: 'Search users in this account' }).inputValue()).toBe('mo');
    await gone(page.getByRole('dialog'));
    await page.context().close();
  });
});
