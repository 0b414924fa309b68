import { request as httpRequest } from 'node:http';
import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  adminPage,
  baseURL,
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

type Account = { id: string; isDefault: boolean };
type User = { id: string; email: string; lockedUntil: string | null };
type ApiKey = { id: string; name: string; prefix: string; status: string; expiresAt: string };

/**
 * A failed sign-in sent from its own loopback address (127.0.0.x), so these
 * failures count against that address's limit (20 per 15 minutes), not against
 * the one every other browser test signs in from.
 */
function signInFrom(localAddress: string, email: string, password: string): Promise<number> {
  const body = JSON.stringify({ json: { email, password } });
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${baseURL()}/trpc/auth.login`,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Five failures in a row lock a user out. */
async function lockOut(email: string, localAddress: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++)
    expect(await signInFrom(localAddress, email, 'certainly not the password')).toBe(401);
}

/** Calls `auth.me` with an API key, as a script would. */
async function meWithKey(secret: string): Promise<number> {
  const response = await fetch(`${baseURL()}/trpc/auth.me`, { headers: { authorization: `Bearer ${secret}` } });
  return response.status;
}

describe('API keys, sign-in locks and sessions', () => {
  let browser: Browser;
  let adminRequest: APIRequestContext;
  let defaultAccountId: string;
  let teamId: string;
  const tag = unique();

  async function makeUser(label: string) {
    const email = `${label}.${tag}@example.com`;
    const password = `${label} password ${tag}`;
    const user = await must<User>(adminRequest, 'mutation', 'users.create', {
      accountId: teamId,
      email,
      firstName: label[0]?.toUpperCase() + label.slice(1),
      lastName: 'Keyholder',
      password,
    });
    return { ...user, password };
  }

  /** A browser of the user's own, signed in, with a user agent we can recognise. */
  async function signedInAs(user: { email: string; password: string }, userAgent: string, width = 1280) {
    const context = await browser.newContext({
      baseURL: baseURL(),
      userAgent,
      viewport: { width, height: width < 600 ? 844 : 900 },
    });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await signIn(page, user.email, user.password);
    return { context, page };
  }

  beforeAll(async () => {
    ({ browser, adminRequest } = await launchAsAdmin());
    defaultAccountId = await defaultAccountIdOf(adminRequest);
    const team = await must<Account>(adminRequest, 'mutation', 'accounts.create', { name: `Keys ${tag}`, users: [] });
    teamId = team.id;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('creates an API key on the profile, shows its secret once, and revokes it', async () => {
    const owner = await makeUser('scripter');
    const { context, page } = await signedInAs(owner, `Scripter browser ${tag}`);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL() });
    await page.goto('/profile');
    await visible(page.getByText('You have no API keys.'));

    // Name is required; the form says so at the field.
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = await visible(page.getByRole('dialog', { name: 'Create API key' }));
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await visible(dialog.getByText('Enter a name for the key'));
    expect(await dialog.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel('Name').fill('Nightly export');
    // Every key expires within API_KEY_MAX_DAYS (365 days here): a later date is refused at the field.
    await dialog.getByLabel('Expires on (optional)').fill('2099-12-31');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await visible(dialog.getByText(/^An API key works at most 365 days: choose \d{4}-\d{2}-\d{2} or earlier\.$/));
    expect(await dialog.getByLabel('Expires on (optional)').getAttribute('aria-invalid')).toBe('true');
    const inAMonth = new Date(Date.now() + 30 * 86_400_000);
    const dayOf = (date: Date) =>
      `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
    await dialog.getByLabel('Expires on (optional)').fill(dayOf(inAMonth));
    await dialog.getByRole('button', { name: 'Create key' }).click();

    // The secret, once, with a copy button and the warning.
    const shown = await visible(page.getByRole('dialog', { name: 'Copy your new API key' }));
    await visible(shown.getByText('You will not see this key again.'));
    const secret = await shown.getByLabel('API key “Nightly export”').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await visible(shown.getByText('Copied to the clipboard.'));
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await visible(page.getByRole('status', { name: 'Notifications' }).getByText('API key “Nightly export” created.'));
    await shown.getByRole('button', { name: 'Done' }).click();
    await gone(shown);

    // From now on only the prefix shows; the key works for scripts.
    const row = await visible(page.getByRole('row').filter({ hasText: 'Nightly export' }));
    const keys = await must<{ items: ApiKey[] }>(page.request, 'query', 'apiKeys.list', {});
    const created = keys.items.find((key) => key.name === 'Nightly export');
    expect(created && secret.startsWith(created.prefix)).toBe(true);
    await visible(row.getByText(`${created?.prefix}…`));
    await visible(row.getByText('Active'));
    expect(created?.expiresAt && dayOf(new Date(created.expiresAt))).toBe(dayOf(inAMonth));
    expect(await page.content()).not.toContain(secret);
    expect(await meWithKey(secret)).toBe(200);

    // Revoking asks first; Cancel keeps the key.
    await row.getByRole('button', { name: 'Revoke Nightly export' }).click();
    const confirm = await visible(page.getByRole('alertdialog', { name: 'Revoke API key “Nightly export”?' }));
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await gone(confirm);
    expect(await meWithKey(secret)).toBe(200);
    await row.getByRole('button', { name: 'Revoke Nightly export' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke key' }).click();
    await visible(page.getByRole('status', { name: 'Notifications' }).getByText('API key “Nightly export” revoked.'));
    await visible(row.getByText('Revoked'));
    expect(await row.getByRole('button', { name: 'Revoke Nightly export' }).count()).toBe(0);
    expect(await meWithKey(secret)).toBe(401);
    await context.close();
  });

  it("lets an administrator see a user's API keys on the user's page and revoke one", async () => {
    const owner = await makeUser('automaton');
    const { context: ownerContext } = await newPage(browser);
    await must(ownerContext.request, 'mutation', 'auth.login', { email: owner.email, password: owner.password });
    const { apiKey, secret } = await must<{ apiKey: ApiKey; secret: string }>(
      ownerContext.request,
      'mutation',
      'apiKeys.create',
      { name: 'Deploy bot' },
    );
    await ownerContext.close();

    const { context, page } = await adminPage(browser);
    await page.goto(`/users?q=${encodeURIComponent(owner.email)}`);
    await page.getByRole('link', { name: `Automaton Keyholder (${owner.email})` }).click();
    await page.waitForURL(`**/users/${owner.id}`);
    await visible(page.getByRole('heading', { name: 'Automaton Keyholder', level: 1 }));
    const keys = page.getByRole('region', { name: 'API keys' });
    const row = await visible(keys.getByRole('row').filter({ hasText: 'Deploy bot' }));
    await visible(row.getByText(`${apiKey.prefix}…`));
    // Administrators cannot create keys for someone else.
    expect(await page.getByRole('button', { name: 'Create API key' }).count()).toBe(0);

    await row.getByRole('button', { name: 'Revoke Deploy bot' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke key' }).click();
    await visible(page.getByRole('status', { name: 'Notifications' }).getByText('API key “Deploy bot” revoked.'));
    await visible(row.getByText('Revoked'));
    expect(await meWithKey(secret)).toBe(401);

    // Deleting the user from their own page goes back to the search it was opened from.
    await page.getByRole('button', { name: `Delete ${owner.email}` }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL((url) => url.pathname === '/users' && url.searchParams.get('q') === owner.email);
    await visible(page.getByRole('status', { name: 'Notifications' }).getByText(`(${owner.email}) deleted.`));
    await context.close();
  });

  it('shows who is locked out after five failed sign-ins, and unlocks them', async () => {
    const locked = await makeUser('forgetful');
    await lockOut(locked.email, '127.0.0.2');
    // Now even the right password is refused.
    expect(await signInFrom('127.0.0.2', locked.email, locked.password)).toBe(401);

    const { context, page } = await adminPage(browser);
    await page.goto('/users');
    await page.getByLabel('Sign-in', { exact: true }).selectOption('locked');
    await page.waitForURL(/locked=locked/);
    const row = await visible(page.getByRole('row').filter({ hasText: locked.email }));
    await visible(row.getByText(/^Locked until \d{1,2}:\d{2}( [AP]M)?$/));
    // Everyone the filter shows is locked. The unfiltered page may still be on screen for a moment
    // (the URL changes before the filtered page arrives), so wait until it has been replaced.
    const rows = page.getByRole('row').filter({ has: page.getByRole('link') });
    await expect
      .poll(
        async () => {
          const shown = await rows.all();
          const badges = await Promise.all(shown.map((each) => each.getByText(/Locked until/).count()));
          return shown.length > 0 && badges.every((count) => count > 0);
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);

    await row.getByRole('link', { name: `Forgetful Keyholder (${locked.email})` }).click();
    await page.waitForURL(`**/users/${locked.id}`);
    await visible(page.getByText(/^Sign-in is locked until /));
    const badge = await visible(page.getByRole('main').getByText(/^Locked until \d{1,2}:\d{2}( [AP]M)?$/));
    // One time format: the badge's time is written as the notice writes it (the browser's locale).
    const time = (await badge.textContent())?.replace('Locked until ', '') ?? '';
    expect(await page.getByText(/^Sign-in is locked until /).textContent()).toContain(time);
    await page.getByRole('button', { name: 'Unlock sign-in' }).click();
    await visible(
      page
        .getByRole('status', { name: 'Notifications' })
        .getByText(`${locked.email} is unlocked and can sign in again.`),
    );
    await gone(page.getByText(/^Sign-in is locked until /));
    expect(await page.getByText(/Locked until/).count()).toBe(0);
    const user = await must<User>(adminRequest, 'query', 'users.get', { id: locked.id });
    expect(user.lockedUntil).toBeNull();
    expect(await signInFrom('127.0.0.2', locked.email, locked.password)).toBe(200);

    // The audit log tells both halves in words.
    // Searched for this user: other files, running at the same time, add entries of their own.
    await page.goto(`/audit?q=${encodeURIComponent(locked.email)}`);
    const unlocked = await visible(page.getByRole('row').filter({ hasText: 'Unlocked sign-in' }).first());
    await visible(unlocked.getByText(locked.email));
    await visible(page.getByRole('row').filter({ hasText: 'Locked after failed sign-ins' }).first());
    await context.close();
  });

  it('unlocks from the row menu of a users table', async () => {
    const locked = await makeUser('clumsy');
    await lockOut(locked.email, '127.0.0.2');
    const { context, page } = await adminPage(browser);
    await page.goto(`/accounts/${teamId}`);
    const row = await visible(page.getByRole('row').filter({ hasText: locked.email }));
    await visible(row.getByText(/Locked until/));
    await row.getByRole('button', { name: `More actions for ${locked.email}` }).click();
    await page.getByRole('menuitem', { name: 'Unlock sign-in' }).click();
    await visible(
      page
        .getByRole('status', { name: 'Notifications' })
        .getByText(`${locked.email} is unlocked and can sign in again.`),
    );
    await gone(row.getByText(/Locked until/));
    await context.close();
  });

  it("lists a user's live sessions, and End all sessions signs them out", async () => {
    const traveller = await makeUser('traveller');
    const userAgent = `Traveller phone ${tag}`;
    const { context: theirs, page: theirPage } = await signedInAs(traveller, userAgent);
    await theirPage.waitForURL('**/profile');
    // A key made from their session (a stolen one, say): ending sessions can revoke it too.
    const { secret } = await must<{ secret: string }>(theirs.request, 'mutation', 'apiKeys.create', {
      name: 'Made in that session',
    });
    expect(await meWithKey(secret)).toBe(200);

    const { context, page } = await adminPage(browser);
    await page.goto(`/users/${traveller.id}`);
    const sessions = page.getByRole('region', { name: 'Sessions' });
    const row = await visible(sessions.getByRole('row').filter({ hasText: userAgent }));
    await visible(row.getByText('127.0.0.1'));
    expect(await sessions.getByText('This session').count()).toBe(0);

    await sessions.getByRole('button', { name: 'End all sessions' }).click();
    const confirm = await visible(page.getByRole('alertdialog', { name: 'End all sessions of Traveller Keyholder?' }));
    // Focus starts on Cancel, so Enter does not end anything by accident.
    expect(await confirm.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === document.activeElement)).toBe(
      true,
    );
    const revoke = confirm.getByLabel('Also revoke their API keys');
    expect(await revoke.isChecked()).toBe(false);
    await revoke.check();
    await confirm.getByRole('button', { name: 'End all sessions' }).click();
    await visible(
      page
        .getByRole('status', { name: 'Notifications' })
        .getByText(`${traveller.email}: 1 session ended, 1 API key revoked.`),
    );
    await visible(sessions.getByText('Not signed in anywhere.'));
    expect(await meWithKey(secret)).toBe(401);

    // Their console goes back to sign-in on its next call.
    await theirPage.reload();
    await theirPage.waitForURL(/\/login/);
    await theirs.close();

    // The administrator's own page marks the session they are using.
    const me = await must<User>(page.request, 'query', 'users.get', { email: admin().email });
    await page.goto(`/users/${me.id}`);
    await visible(page.getByRole('region', { name: 'Sessions' }).getByText('This session'));
    await context.close();
  });

  describe('screenshots and accessibility', () => {
    let showcase: Awaited<ReturnType<typeof makeUser>>;

    beforeAll(async () => {
      showcase = await makeUser('showcase');
      const { context } = await newPage(browser);
      await must(context.request, 'mutation', 'auth.login', { email: showcase.email, password: showcase.password });
      await must(context.request, 'mutation', 'apiKeys.create', { name: 'Reporting job' });
      const old = await must<{ apiKey: ApiKey }>(context.request, 'mutation', 'apiKeys.create', { name: 'Old laptop' });
      await must(context.request, 'mutation', 'apiKeys.revoke', { id: old.apiKey.id });
      await context.close();
      await lockOut(showcase.email, '127.0.0.3');
      expect(defaultAccountId).not.toBe('');
    });

    async function check(page: Page, name: string, floating = false) {
      const width = page.viewportSize()?.width ?? 0;
      if (width >= 1280) await expectAccessible(page, name);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
      await screenshot(page, name, !floating);
    }

    for (const width of [1280, 390]) {
      it(`shows the user page, the locked filter and the profile's keys well at ${width} px`, async () => {
        const { context, page } = await newPage(browser, width);
        await must(context.request, 'mutation', 'auth.login', admin());
        await page.goto(`/users/${showcase.id}`);
        await visible(page.getByRole('region', { name: 'API keys' }).getByText('Reporting job'));
        await visible(page.getByRole('region', { name: 'Sessions' }).getByRole('table'));
        await check(page, 'user');

        await page.getByRole('region', { name: 'Sessions' }).getByRole('button', { name: 'End all sessions' }).click();
        await visible(page.getByRole('alertdialog'));
        await check(page, 'user-end-sessions', true);
        await page.keyboard.press('Escape');

        await page.goto('/users?locked=locked');
        await visible(page.getByRole('row').filter({ hasText: showcase.email }));
        await check(page, 'users-locked');

        await page.goto('/profile');
        await page.getByRole('button', { name: 'Create API key' }).click();
        const dialog = await visible(page.getByRole('dialog', { name: 'Create API key' }));
        await check(page, 'api-key-create', true);
        await dialog.getByLabel('Name').fill(`Screenshot key ${width}`);
        await dialog.getByRole('button', { name: 'Create key' }).click();
        await visible(page.getByRole('dialog', { name: 'Copy your new API key' }));
        await check(page, 'api-key-secret', true);
        await page.keyboard.press('Escape');
        await visible(page.getByRole('row').filter({ hasText: `Screenshot key ${width}` }));
        await check(page, 'profile-keys');
        await context.close();
      });
    }
  });
});
