import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

// Runs after every other browser test (vitest.browser.config.ts): by then the server has
// signed people in, made and used API keys, set passwords and ended sessions.
describe("the server's log of the whole browser run", () => {
  const log = readFileSync(inject('serverLogPath'), 'utf8');
  const lines = log.split('\n').filter((line) => line.startsWith('{'));

  it('has one JSON line per request, with its id, procedure, status and duration', () => {
    const requests = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThan(0);
    for (const line of requests) {
      expect(line).toMatchObject({
        reqId: expect.any(String),
        procedure: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
    }
  });

  it('never contains a password, a session cookie or an API key', () => {
    expect(log).not.toContain(inject('adminPassword'));
    for (const { password } of inject('workerAdmins')) expect(log).not.toContain(password);
    expect(log).not.toContain('roster_session=');
    expect(log).not.toMatch(/rk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}/);
    expect(log).not.toMatch(/"(password|newPassword|currentPassword|secret|token)"\s*:/);
  });

  it('shows a mailed link only in the line that logs its unsent mail (no SMTP_URL), never in a request line', () => {
    const withLinks = lines.filter((line) => /\/(invitation|reset-password)#/.test(line));
    expect(withLinks.length).toBeGreaterThan(0);
    for (const line of withLinks) expect(line).toContain('mail not sent (no SMTP_URL)');
  });
});
