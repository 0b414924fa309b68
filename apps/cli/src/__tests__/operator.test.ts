import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callerWithToken, createTestDatabase, testServerUrl, uniqueEmail } from '@roster/api/test';
import { createDb, migrations } from '@roster/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, type Run, runInProcess, runProcess } from './harness.js';

// `roster db migrate` and `roster org create` work on the database itself: a
// fresh one here (a temporary embedded database, or a new one on DATABASE_URL).
// The first command runs the installed bundle as a process; the rest run in this one.

let bundle: Awaited<ReturnType<typeof buildBundle>>;
let where: { DATABASE_URL: string } | { DATA_DIR: string };
let dataDir: string | undefined;

beforeAll(async () => {
  bundle = await buildBundle();
  if (testServerUrl) {
    where = { DATABASE_URL: await createTestDatabase(testServerUrl) };
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'roster-cli-operator-'));
    where = { DATA_DIR: dataDir };
  }
});

afterAll(() => {
  bundle?.remove();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** In this process by default; `asProcess` runs the installed bundle, with PGlite's files bundled as shipped. */
const roster = (args: string[], asProcess = false): Promise<Run> =>
  asProcess ? runProcess(process.execPath, [bundle.main, ...args], { env: where }) : runInProcess(args, { env: where });

type Created = {
  organization: { id: string; name: string };
  account: { id: string; name: string };
  admin: { id: string; email: string };
  generatedPassword?: string;
};

describe('operator commands', () => {
  // One database through the steps, in order; each step opens it in a child of its own.
  const email = uniqueEmail('operator');
  const secondEmail = uniqueEmail('generated');
  let created: Created;
  let generated: Created;

  it('db migrate brings the schema up to date, then has nothing to do', async () => {
    const migrated = await roster(['db', 'migrate'], true);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout.startsWith(`Applied ${Object.keys(migrations).join(', ')} to `)).toBe(true);
    const again = await roster(['db', 'migrate', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [] });
  });

  it('org create prints the organization, its default account and administrator as JSON', async () => {
    const made = await roster([
      'org',
      'create',
      '--name',
      'Operated',
      '--admin-email',
      email,
      '--admin-password',
      'operator-pass-1',
    ]);
    expect(made.code).toBe(0);
    created = JSON.parse(made.stdout) as Created;
    expect(created).toMatchObject({
      organization: { name: 'Operated' },
      account: { name: 'Default' },
      admin: { email },
    });
    expect(created).not.toHaveProperty('generatedPassword');

    const second = await roster(['org', 'create', '--name', 'Second', '--admin-email', secondEmail]);
    generated = JSON.parse(second.stdout) as Created;
    expect(generated.generatedPassword).toMatch(/^[\w-]{24}$/);
  });

  it('org create refuses a taken or invalid email, or a missing option', async () => {
    const duplicate = await roster(['org', 'create', '--name', 'Third', '--admin-email', email]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('error: A user with this email already exists.');
    const invalid = await roster(['org', 'create', '--name', 'Fourth', '--admin-email', 'nope']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('--admin-email: Enter a valid email address');
    const missing = await roster(['org', 'create', '--name', 'Fifth']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--admin-email <email>' not specified");
  });

  it('the new administrators can sign in, with the given and the generated password', async () => {
    // The children have exited, so the test may open the database itself.
    const { db } = createDb('DATABASE_URL' in where ? { url: where.DATABASE_URL } : { dataDir });
    try {
      const anonymous = callerWithToken(db, null);
      await expect(anonymous.auth.login({ email, password: 'operator-pass-1' })).resolves.toMatchObject({
        user: { id: created.admin.id, role: 'admin', accountId: created.account.id },
      });
      await expect(
        anonymous.auth.login({ email: secondEmail, password: generated.generatedPassword ?? '' }),
      ).resolves.toMatchObject({ user: { role: 'admin' } });
      const names = await db.selectFrom('organizations').select('name').orderBy('name').execute();
      expect(names.map((o) => o.name)).toEqual(['Operated', 'Second']);
    } finally {
      await db.destroy();
    }
  });

  it('mail list shows the outbox, with the link of mail no SMTP server sent', async () => {
    const invitee = uniqueEmail('invitee');
    // The administrator invites someone; a server without SMTP_URL would log the link and keep the mail.
    const { db: again } = createDb('DATABASE_URL' in where ? { url: where.DATABASE_URL } : { dataDir });
    try {
      const { signIn } = await import('@roster/api/test');
      const admin = await signIn(again, email, { password: 'operator-pass-1' });
      await admin.caller.users.create({
        accountId: created.account.id,
        email: invitee,
        firstName: 'In',
        lastName: 'Vitee',
      });
    } finally {
      await again.destroy();
    }
    const listed = await roster(['mail', 'list', '--json']);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as {
      toAddress: string;
      kind: string;
      status: string;
      link: string | null;
    }[];
    const mail = rows.find((row) => row.toAddress === invitee);
    expect(mail).toMatchObject({ kind: 'invitation', status: 'pending' });
    expect(mail?.link).toMatch(/\/invitation#[\w-]{40,}$/);
    const text = await roster(['mail', 'list', '--status', 'pending']);
    expect(text.stdout).toContain(invitee);
    expect(text.stdout).toContain(mail?.link ?? 'no link');
    const bad = await roster(['mail', 'list', '--status', 'lost']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--status');
  });
});
