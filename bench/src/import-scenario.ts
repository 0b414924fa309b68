import { createDb } from '@roster/db';
import type { ScenarioResult } from './load.js';
import { cpuSecondsOf } from './processes.js';

// `import 100k preview` and `import 100k apply`: one CSV file of 100,000 rows
// into the largest account, uploaded to POST /import/users and applied with
// imports.commit, each timed once (the targets: 5 s and 20 s). The file
// is what an administrator's round trip looks like: the account's users as they
// are (every fifth with a new last name, one in a hundred deactivated), and new
// users for the rest. It runs last: it changes the data the other scenarios read.

export const importNames = { preview: 'import 100k preview', apply: 'import 100k apply' } as const;
export const importRows = 100_000;

const quote = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export async function buildImportFile(databaseUrl: string, accountId: string): Promise<string> {
  const { db } = createDb({ url: databaseUrl, poolSize: 1 });
  try {
    const users = await db
      .selectFrom('users')
      .select(['email', 'firstName', 'lastName', 'role', 'active'])
      .where('accountId', '=', accountId)
      .orderBy('email')
      .limit(importRows)
      .execute();
    const lines = ['email,first name,last name,role,active'];
    users.forEach((user, index) => {
      const lastName = index % 5 === 0 ? `${user.lastName.slice(0, 90)} Imported` : user.lastName;
      const active = index % 100 === 1 && user.role !== 'admin' ? false : user.active;
      lines.push([user.email, user.firstName, lastName, user.role, String(active)].map(quote).join(','));
    });
    for (let i = users.length; i < importRows; i++) {
      lines.push(`imported-${i}-${Date.now().toString(36)}@bench.example,Imported,Person ${i},user,true`);
    }
    return `${lines.join('\n')}\n`;
  } finally {
    await db.destroy();
  }
}

const once = (name: string, ms: number, ok: boolean): ScenarioResult => {
  const rounded = Math.round(ms * 100) / 100;
  return {
    name,
    requests: 1,
    reqPerSec: Math.round((1000 / ms) * 1000) / 1000,
    p50Ms: rounded,
    p95Ms: rounded,
    p99Ms: rounded,
    errors: ok ? 0 : 1,
  };
};

export async function runImport(
  base: string,
  cookie: string,
  accountId: string,
  file: string,
  peakRss: () => number,
  say: (line: string) => void,
  serverPid?: number,
): Promise<{ preview: ScenarioResult; apply: ScenarioResult; summary: unknown; result: unknown }> {
  // The server's CPU time for each step: unlike the wall time, it hardly moves when the machine is shared.
  const cpu = () => (serverPid ? cpuSecondsOf(serverPid) : Number.NaN);
  peakRss();
  let cpuStart = cpu();
  let started = performance.now();
  const response = await fetch(`${base}/import/users?accountId=${accountId}&fileName=bench.csv`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'text/csv' },
    body: file,
  });
  const body = (await response.json()) as { import?: { id: string; summary: Record<string, number> }; error?: unknown };
  const preview = {
    ...once(importNames.preview, performance.now() - started, response.ok),
    serverRssMb: peakRss(),
    serverCpuMsPerRequest: Math.round((cpu() - cpuStart) * 1000),
  };
  if (!response.ok || !body.import)
    throw new Error(`import preview failed: ${response.status} ${JSON.stringify(body)}`);
  const { total, create, update, unchanged, error } = body.import.summary;
  say(
    `  ${importNames.preview}: ${(preview.p50Ms / 1000).toFixed(2)} s for ${Buffer.byteLength(file).toLocaleString('en')} bytes ` +
      `(${total} rows: ${create} create, ${update} update, ${unchanged} unchanged, ${error} error), ` +
      `server CPU ${(preview.serverCpuMsPerRequest / 1000).toFixed(2)} s, peak RSS ${preview.serverRssMb} MB`,
  );
  cpuStart = cpu();
  started = performance.now();
  const applied = await fetch(`${base}/trpc/imports.commit`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ json: { id: body.import.id, skipErrors: true } }),
  });
  const text = await applied.text();
  const apply = {
    ...once(importNames.apply, performance.now() - started, applied.ok),
    serverRssMb: peakRss(),
    serverCpuMsPerRequest: Math.round((cpu() - cpuStart) * 1000),
  };
  if (!applied.ok) throw new Error(`import apply failed: ${applied.status} ${text.slice(0, 500)}`);
  const result = (JSON.parse(text) as { result: { data: { json: unknown } } }).result.data.json;
  say(
    `  ${importNames.apply}: ${(apply.p50Ms / 1000).toFixed(2)} s (${JSON.stringify(result)}), ` +
      `server CPU ${(apply.serverCpuMsPerRequest / 1000).toFixed(2)} s, peak RSS ${apply.serverRssMb} MB`,
  );
  return { preview, apply, summary: body.import.summary, result };
}
