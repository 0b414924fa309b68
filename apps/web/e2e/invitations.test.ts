import { readFileSync } from 'node:fs';
import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminPage,
  baseURL,
  defaultAccountIdOf,
  expectAccessible,
  focusedOn,
  gone,
  launchAsAdmin,
  must,
  newPage,
  screenshot,
  unique,
  visible,
} from './support';

// Invitations and password resets, from the mail to a signed-in console. The
// browser suite's server has no SMTP_URL: it keeps each mail in the outbox and
// logs its link once, which is where a person without mail would find it
// (`roster mail list` shows the same); these tests read it from that log.

type User = { id: string; email: string };

/** The latest link of this kind logged for the address, waiting for the server's mail sender to log it. */
async function mailedLink(to: string, kind: 'invitation' | 'password_reset', after = 0): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const links = readFileSync(inject('serverLogPath'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { to?: string; kind?: string; msg?: string })
      .filter((line) => line.to === to && line.kind === kind)
      .map((line) => /link: (\S+)$/.exec(line.msg ?? '')?.[1])
      .filter((link): link is string => Boolean(link));
    if (links.length > after) return links[links.length - 1] ?? '';
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no ${kind} link was logged for ${to}`);
}

let browser: Browser;
let adminRequest: APIRequestContext;
let accountId: string;

beforeAll(async () => {
  ({ browser, adminRequest } = await launchAsAdmin());
  accountId = await defaultAccountIdOf(adminRequest);
});
afterAll(async () => {
  await browser?.close();
});

async function invite(name: string): Promise<User> {
  return must<User>(adminRequest, 'mutation', 'users.create', {
    accountId,
    email: `${name}-${unique()}@example.test`,
    firstName: 'Ines',
    lastName: 'Vited',
  });
}

describe('invitations', () => {
  it('an invited user follows the mailed link, chooses a password and is signed in', async () => {
    const user = await invite('invitee');
    const { context, page } = await adminPage(browser);
    try {
      await page.goto(`/users/${user.id}`);
      await visible(page.getByText('Invited', { exact: true }).first());
      await visible(page.getByText(/Invited: the link in the mail works until/));
      await expectAccessible(page, 'user page of an invited user');
      // Resending mails a new link; the first stops working.
      const first = await mailedLink(user.email, 'invitation');
      await page.getByRole('button', { name: 'Resend invitation' }).click();
      await visible(page.getByText(`Invitation sent to ${user.email}`));
      const second = await mailedLink(user.email, 'invitation', 1);
      expect(second).not.toBe(first);

      // Each link opened as from the mail: a page load of its own.
      const stale = await newPage(browser);
      try {
        await stale.page.goto(new URL(first).pathname + new URL(first).hash);
        await visible(stale.page.getByRole('alert').filter({ hasText: 'no longer works' }));
        await expect(stale.page.getByLabel('New password').count()).resolves.toBe(0);
      } finally {
        await stale.context.close();
      }
      const guest = await newPage(browser);
      try {
        await guest.page.goto(new URL(second).pathname + new URL(second).hash);
        await visible(guest.page.getByRole('heading', { name: /^Join / }));
        await visible(guest.page.getByText(user.email));
        await expectAccessible(guest.page, 'invitation page');
        await guest.page.getByLabel('New password').fill('my invited password');
        await guest.page.getByLabel('Repeat the password').fill('my invited password');
        await guest.page.getByRole('button', { name: 'Set password and sign in' }).click();
        await guest.page.waitForURL((url) => !url.pathname.startsWith('/invitation'));
        await visible(guest.page.getByText(user.email).first());
        expect(guest.page.url()).not.toContain('/login');
      } finally {
        await guest.context.close();
      }
      await page.reload();
      await gone(page.getByText(/Invited: the link/));
    } finally {
      await context.close();
    }
  });

  it('a second link pasted into the tab of the first shows the second invitation, not the first', async () => {
    const [one, two] = [await invite('first-tab'), await invite('second-tab')];
    const [linkOne, linkTwo] = [await mailedLink(one.email, 'invitation'), await mailedLink(two.email, 'invitation')];
    const guest = await newPage(browser);
    try {
      await guest.page.goto(new URL(linkOne).pathname + new URL(linkOne).hash);
      await visible(guest.page.getByText(one.email));
      // Same page, another fragment: the browser loads nothing, only the address's # part changes.
      await guest.page.evaluate((hash) => {
        window.location.hash = hash;
      }, new URL(linkTwo).hash);
      await visible(guest.page.getByText(two.email));
      await gone(guest.page.getByText(one.email));
      await guest.page.getByLabel('New password').fill('my second tab password');
      await guest.page.getByLabel('Repeat the password').fill('my second tab password');
      await guest.page.getByRole('button', { name: 'Set password and sign in' }).click();
      await guest.page.waitForURL((url) => !url.pathname.startsWith('/invitation'));
      await visible(guest.page.getByText(two.email).first());
    } finally {
      await guest.context.close();
    }
  });

  it('Cancel invitation asks first, then the link no longer works', async () => {
    const user = await invite('cancelled');
    const { context, page } = await adminPage(browser);
    try {
      await page.goto(`/users/${user.id}`);
      await page.getByRole('button', { name: 'Cancel invitation' }).click();
      const dialog = page.getByRole('alertdialog');
      await visible(dialog.getByText('The link in their mail stops working.'));
      await expectAccessible(page, 'cancel invitation dialog');
      await dialog.getByRole('button', { name: 'Cancel invitation' }).click();
      await visible(page.getByText(`The invitation of ${user.email} is cancelled.`));
      await visible(page.getByText('No password and no invitation: this user cannot sign in.'));
      // The button that opened the dialog is gone with the invitation: focus moves on to
      // Send invitation, the next thing to do, not to the top of the page.
      expect(await focusedOn(page, 'Send invitation')).toBe('Send invitation');
      const link = await mailedLink(user.email, 'invitation');
      const guest = await newPage(browser);
      try {
        await guest.page.goto(new URL(link).pathname + new URL(link).hash);
        await visible(guest.page.getByRole('alert').filter({ hasText: 'no longer works' }));
      } finally {
        await guest.context.close();
      }
    } finally {
      await context.close();
    }
  });
});

describe('forgot password', () => {
  it('asks for the email, mails a link, and the link sets a new password and signs in', async () => {
    const email = `forgetful-${unique()}@example.test`;
    await must(adminRequest, 'mutation', 'users.create', {
      accountId,
      email,
      firstName: 'Fo',
      lastName: 'Rgetful',
      password: 'the old password',
    });
    const { context, page } = await newPage(browser);
    try {
      await page.goto('/login');
      await page.getByRole('link', { name: 'Forgot password?' }).click();
      await visible(page.getByRole('heading', { name: 'Forgot password' }));
      await expectAccessible(page, 'forgot password page');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await visible(page.getByRole('status').filter({ hasText: 'If this email belongs to an active user' }));

      const link = await mailedLink(email, 'password_reset');
      await page.goto(new URL(link).pathname + new URL(link).hash);
      await visible(page.getByRole('heading', { name: 'Choose a new password' }));
      await expectAccessible(page, 'reset password page');
      await page.getByLabel('New password').fill('a brand new password');
      await page.getByLabel('Repeat the password').fill('a different one');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await visible(page.getByText('The two passwords are not the same.'));
      await page.getByLabel('Repeat the password').fill('a brand new password');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await page.waitForURL((url) => !url.pathname.startsWith('/reset-password'));
      await visible(page.getByText(email).first());

      // Used: it says so.
      await page.goto(new URL(link).pathname + new URL(link).hash);
      await page.getByLabel('New password').fill('once more please');
      await page.getByLabel('Repeat the password').fill('once more please');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await visible(page.getByRole('alert').filter({ hasText: 'was used already' }));
    } finally {
      await context.close();
    }
  });
});

/**
 * Each state of the pages a mailed link opens, at a laptop's and a phone's width
 * (one page resized, so a state is reached once): nothing overflows sideways,
 * axe finds nothing serious, and a screenshot is kept for people to look at.
 */
describe('mailed-link pages, at 1280 and 390 pixels', () => {
  async function check(page: Page, name: string) {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
      await expectAccessible(page, `${name} at ${width} px`);
      await screenshot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  /** Opens a link as from the mail: a page load of its own, as a click in a mail program makes. */
  async function open(page: Page, link: string) {
    await page.goto('about:blank');
    const url = new URL(link, baseURL());
    await page.goto(url.pathname + url.hash);
  }

  it('shows the invitation, reset and forgot password pages well, working or not', async () => {
    const invited = await invite('screenshot');
    const invitation = await mailedLink(invited.email, 'invitation');
    const email = `reset-screenshot-${unique()}@example.test`;
    await must(adminRequest, 'mutation', 'users.create', {
      accountId,
      email,
      firstName: 'Re',
      lastName: 'Set',
      password: 'the old password',
    });
    const { context, page } = await newPage(browser);
    try {
      await open(page, invitation);
      await visible(page.getByRole('heading', { name: /^Join / }));
      await check(page, 'invitation');
      await page.getByLabel('New password').fill('short');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await visible(page.getByText('A password has at least 8 characters.'));
      await check(page, 'invitation-errors');

      await open(page, `/invitation#${'x'.repeat(43)}`);
      await visible(page.getByRole('alert').filter({ hasText: 'is not valid' }));
      await check(page, 'invitation-invalid');
      // Cut short (a mail program broke the line): said as it is, not as a failed check.
      await open(page, '/invitation#abc');
      const incomplete = await visible(page.getByRole('alert'));
      expect(await incomplete.textContent()).toBe('The link is incomplete: open it again from the mail.');
      await check(page, 'invitation-incomplete');

      await page.goto('/forgot-password');
      await visible(page.getByRole('heading', { name: 'Forgot password' }));
      await check(page, 'forgot-password');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await visible(page.getByRole('status').filter({ hasText: 'If this email belongs to an active user' }));
      await check(page, 'forgot-password-sent');

      const reset = await mailedLink(email, 'password_reset');
      await open(page, reset);
      await visible(page.getByRole('heading', { name: 'Choose a new password' }));
      await check(page, 'reset-password');

      for (const [token, name, says] of [
        ['x'.repeat(43), 'reset-password-invalid', /^This password reset link is not valid\./],
        ['abc', 'reset-password-incomplete', /^The link is incomplete: open it again from the mail\.$/],
      ] as const) {
        await open(page, `/reset-password#${token}`);
        await page.getByLabel('New password').fill('a good long password');
        await page.getByLabel('Repeat the password').fill('a good long password');
        await page.getByRole('button', { name: 'Set password and sign in' }).click();
        const refused = await visible(page.getByRole('alert'));
        expect(await refused.textContent()).toMatch(says);
        await visible(page.getByRole('link', { name: 'Ask for a new link' }));
        await check(page, name);
      }
    } finally {
      await context.close();
    }
  });
});
