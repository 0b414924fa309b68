import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ baseURL: 'http://127.0.0.1:3101' });
page.on('console', (m) => console.log('console:', m.type(), m.text().slice(0, 800)));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto('/login');
await page.getByLabel('Email').fill('admin@example.com');
await page.getByLabel('Password').fill('admin-password-1');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL(/security/);
await page.getByRole('link', { name: 'Add account' }).click();
await page.waitForTimeout(1500);
console.log(page.url(), (await page.evaluate(() => document.body.innerText)).slice(0, 500));
await browser.close();
