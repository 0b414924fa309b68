import { chromium } from 'playwright-core';

const base = 'http://127.0.0.1:3101';
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const width = Number(process.argv[2] ?? 1280);
const ctx = await browser.newContext({ baseURL: base, viewport: { width, height: 900 } });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto('/security/accounts');
await page.waitForURL(/login/);
console.log(page.url());
await page.screenshot({ path: `/tmp/shots/login-${width}.png`, fullPage: true });
await page.getByLabel('Email').fill('admin@example.com');
await page.getByLabel('Password').fill('admin-password-1');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL(/security\/accounts/);
await page.getByRole('table').waitFor();
await page.screenshot({ path: `/tmp/shots/accounts-${width}.png`, fullPage: true });
await page.getByRole('link', { name: 'Add account' }).click();
await page.getByLabel('Name', { exact: true }).fill('Acme ' + Date.now());
await page.getByLabel('First name').fill('Ada');
await page.getByLabel('Last name').fill('Lovelace');
await page.getByLabel('Email', { exact: true }).first().fill(`ada${Date.now()}@example.com`);
await page.getByRole('button', { name: 'Add another user' }).click();
await page.screenshot({ path: `/tmp/shots/new-${width}.png`, fullPage: true });
await page.getByLabel('First name').nth(1).fill('Grace');
await page.getByLabel('Last name').nth(1).fill('Hopper');
await page.getByLabel('Email', { exact: true }).nth(1).fill(`grace${Date.now()}@example.com`);
await page.getByRole('button', { name: 'Create account' }).click();
await page.waitForURL(/accounts\/[0-9a-f-]{36}/);
await page.getByRole('table').waitFor();
await page.screenshot({ path: `/tmp/shots/account-${width}.png`, fullPage: true });
await page.getByRole('button', { name: /^Edit ada/ }).click();
await page.screenshot({ path: `/tmp/shots/edit-${width}.png`, fullPage: true });
await page.keyboard.press('Escape');
await page.getByRole('button', { name: /^Delete ada/ }).click();
await page.screenshot({ path: `/tmp/shots/delete-${width}.png`, fullPage: true });
await page.keyboard.press('Escape');
await page.getByRole('link', { name: 'Users', exact: true }).click();
await page.getByRole('table').waitFor();
await page.screenshot({ path: `/tmp/shots/users-${width}.png`, fullPage: true });
await page.getByRole('link', { name: 'Audit log' }).click();
await page.getByRole('table').waitFor();
await page.screenshot({ path: `/tmp/shots/audit-${width}.png`, fullPage: true });
await page.goto('/profile');
await page.getByRole('heading', { name: 'Change password' }).waitFor();
await page.screenshot({ path: `/tmp/shots/profile-${width}.png`, fullPage: true });
await browser.close();
