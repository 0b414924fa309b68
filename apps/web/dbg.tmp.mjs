import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ baseURL: 'http://127.0.0.1:3101' });
let n = 0;
page.on('console', (m) => {
  if (n++ < 20) console.log('console:', m.type(), m.text().slice(0, 500));
});
page.on('response', (r) => console.log('resp', r.status(), r.url().slice(0, 150)));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
page.on('crash', () => console.log('CRASH'));
page.on('close', () => console.log('CLOSE'));
browser.on('disconnected', () => console.log('DISCONNECTED'));
page.on('framenavigated', (f) => console.log('nav', f.url()));
await page.goto(process.argv[2]);
for (let i = 0; i < 4; i++) {
  await page.waitForTimeout(300);
  console.log(i, page.url(), (await page.evaluate(() => document.body.innerText)).slice(0, 100));
}
await browser.close();
