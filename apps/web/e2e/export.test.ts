import { readFileSync } from 'node:fs';
import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, baseURL, launchAsAdmin, must, newPage, signIn, unique, visible } from './support';

// Export CSV on the Users page and on an account's Users section: the file has
// exactly the users the filters show, and another site cannot start it.

type User = { id: string; email: string };
type Account = { id: string; name: string };
type Page_<T> = { items: T[]; nextCursor: string | null };

const header = 'id,account,email,first name,last name,role,active,created,last sign-in';

/** The file's rows (these tests' cells hold no commas or line breaks but the quoted ones checked by hand). */
function rowsOf(csv: string): string[] {
  expect(csv.startsWith(`${header}\r\n`)).toBe(true);
  return csv.slice(0, -2).split('\r\n').slice(1);
}

/** Clicks (or presses Enter on) Export CSV and reads the file the browser saved. */
async function downloadFrom(page: Page, how: 'click' | 'keyboard' = 'click') {
  const link = await visible(page.getByRole('link', { name: 'Export CSV' }));
  const downloading = page.waitForEvent('download');
  if (how === 'keyboard') {
    await link.focus();
    await page.keyboard.press('Enter');
  } else {
    await link.click();
  }
  const download = await downloading;
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

describe('Export CSV', () => {
  let browser: Browser;
  let request: APIRequestContext;
  const tag = unique();
  let account: Account;
  const made: User[] = [];

  const exportsAudited = async () =>
    (await must<Page_<unknown>>(request, 'query', 'audit.list', { action: 'users.exported', limit: 100 })).items.length;

  beforeAll(async () => {
    ({ browser, adminRequest: request } = await launchAsAdmin());
    account = await must<Account>(request, 'mutation', 'accounts.create', {
      name: `Export ${tag}`,
      users: [
        { email: `a-export-${tag}@example.test`, firstName: `Exporta${tag}`, lastName: '=HYPERLINK("x")' },
        { email: `b-export-${tag}@example.test`, firstName: `Exporta${tag}`, lastName: 'Beta' },
        { email: `c-export-${tag}@example.test`, firstName: 'Other', lastName: `Gamma${tag}` },
      ],
    });
    const page = await must<Page_<User>>(request, 'query', 'users.search', { accountId: account.id });
    made.push(...page.items);
    // One of them deactivated, so the Status filter has something to leave out.
    await must(request, 'mutation', 'users.deactivate', { id: made[1]?.id });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('on the Users page, downloads exactly the users the search and filters show', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, admin().email, admin().password);
    await page.goto(`/users?q=exporta${tag}&active=active`);
    // The table shows one user: the active one of the two that match.
    await visible(page.getByRole('row').filter({ hasText: `a-export-${tag}@example.test` }));
    const before = await exportsAudited();

    const { name, text } = await downloadFrom(page, 'keyboard');
    expect(name).toMatch(/^users-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = rowsOf(text);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(
      `,${account.name},a-export-${tag}@example.test,Exporta${tag},"'=HYPERLINK(""x"")",user,true,`,
    );
    await expect.poll(exportsAudited).toBe(before + 1);

    // Clearing the Status filter: the link follows what the page shows.
    await page.getByLabel('Status').selectOption('');
    await visible(page.getByRole('row').filter({ hasText: `b-export-${tag}@example.test` }));
    const both = rowsOf((await downloadFrom(page)).text);
    expect(both.map((row) => row.split(',')[2])).toEqual([
      `a-export-${tag}@example.test`,
      `b-export-${tag}@example.test`,
    ]);
    expect(both[1]).toContain(',user,false,');
    // Nothing left the page: it is still the Users page, signed in.
    expect(new URL(page.url()).pathname).toBe('/users');

    // The audit log says who exported what.
    await page.goto('/audit?action=users.exported');
    await visible(page.getByText(`search “exporta${tag}”, active`).first());
    await visible(page.locator('tbody').getByText('Exported users (CSV)').first());
    await context.close();
  });

  it('on an account’s Users section, downloads that account’s users, named after it', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, admin().email, admin().password);
    await page.goto(`/accounts/${account.id}`);
    await visible(page.getByRole('row').filter({ hasText: `c-export-${tag}@example.test` }));
    const { name, text } = await downloadFrom(page);
    expect(name).toMatch(new RegExp(`^users-export-${tag}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    expect(
      rowsOf(text)
        .map((row) => row.split(',')[0])
        .sort(),
    ).toEqual(made.map((user) => user.id).sort());

    // With the section's search, only the matching user.
    await page.getByLabel('Search users in this account').fill(`gamma${tag}`);
    await expect
      .poll(() =>
        page
          .getByRole('row')
          .filter({ hasText: `a-export-${tag}@example.test` })
          .count(),
      )
      .toBe(0);
    const searched = rowsOf((await downloadFrom(page)).text);
    expect(searched.map((row) => row.split(',')[2])).toEqual([`c-export-${tag}@example.test`]);
    await context.close();
  });

  it('another site’s link cannot start the download with the administrator’s cookie', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, admin().email, admin().password);
    const before = await exportsAudited();
    // localhost is another site than 127.0.0.1 (the console's address) for the browser, but the same server:
    // a page there links to the export, as an attacker's page would.
    const attacker = baseURL().replace('127.0.0.1', 'localhost');
    await page.goto(`${attacker}/healthz`);
    const target = `${baseURL()}/export/users.csv`;
    const answer = page.waitForResponse((response) => response.url() === target);
    await page.evaluate((href) => {
      const link = document.createElement('a');
      link.href = href;
      link.textContent = 'free prize';
      document.body.append(link);
      link.click();
    }, target);
    const response = await answer;
    expect(response.status()).toBe(403);
    expect(response.headers()['content-type']).toContain('application/json');
    expect(await exportsAudited()).toBe(before);
    await context.close();
  });
});
