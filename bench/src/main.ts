// `pnpm bench`: seeds a fresh Postgres database, starts the real Roster server
// on it and drives HTTP load at /trpc; then the same SQL through a bare
// node:http handler (the floor). Prints a table and writes results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createDb, migrateToLatest } from '@roster/db';
import { type BenchOptions, parseOptions } from './args.js';
import { type BulkResults, bulkNames, bulkTargets, runBulk, setUpBulk } from './bulk-scenarios.js';
import { captureSql } from './capture.js';
import { assertOurs, createBenchDatabase, databaseUrl, dropBenchDatabase } from './database.js';
import { databaseUrlFromEnv } from './env.js';
import { type ExportResult, exportName, exportTargets, measureExport, renderExport } from './export-scenario.js';
import type { FloorConfig } from './floor-server.js';
import { buildImportFile, importNames, runImport } from './import-scenario.js';
import { chooseInputs } from './inputs.js';
import { drive, type Load, measureInTurns, type ScenarioResult } from './load.js';
import { type Child, nodeScript, repoRoot, resultsDir, runNode, sampleMemory, startNode } from './processes.js';
import { evaluateTargets, floorPairs, names, renderResults, renderTargets } from './report.js';
import { buildLoads, checkFloor, signIn, verify } from './scenarios.js';
import { buildScimLoads, scimNames, scimTargets, setUpScim, verifyScim, walkWithCursors } from './scim-scenarios.js';
import { adminEmail, adminPassword, type SeedResult, seed } from './seed.js';

const parsed = parseOptions(process.argv.slice(2), databaseUrlFromEnv);
if (parsed === 'help') process.exit(0);
const options: BenchOptions = parsed;

const say = (line: string) => process.stdout.write(`${line}\n`);
mkdirSync(resultsDir, { recursive: true });

function selected(name: string): boolean {
  return !options.only || options.only.some((word) => name.toLowerCase().includes(word));
}

async function prepareDatabase(): Promise<{ name: string; created: boolean; seedResult: SeedResult | null }> {
  if (options.reuse) {
    await assertOurs(options.serverUrl, options.reuse);
    say(`Reusing database ${options.reuse} (seeded by an earlier run).`);
    return { name: options.reuse, created: false, seedResult: null };
  }
  const name = await createBenchDatabase(options.serverUrl);
  say(`Created database ${name} on ${new URL(options.serverUrl).host}.`);
  return { name, created: true, seedResult: null };
}

async function main() {
  const startedAt = new Date();
  const database = await prepareDatabase();
  const url = databaseUrl(options.serverUrl, database.name);
  let server: Child | undefined;
  let floorServer: Child | undefined;
  try {
    const { db } = createDb({ url, poolSize: 1 });
    await migrateToLatest(db);
    await db.destroy();

    let seedResult: SeedResult | null = null;
    if (database.created) {
      seedResult = await seed(url, options.users, say);
      say(`Seeded ${options.users.toLocaleString('en')} users in ${(seedResult.timings.totalMs / 1000).toFixed(1)} s.`);
    }
    if (options.seedOnly) return;
    const users = seedResult ? options.users : await countUsers(url);
    const inputs = await chooseInputs(url, users);
    say(
      `Inputs: substring "${inputs.substring}" (${inputs.substringMatches} matches), common substring ` +
        `"${inputs.commonSubstring}" (${inputs.commonSubstringMatches}), none "${inputs.noneSubstring}", ` +
        `email prefix "${inputs.emailPrefix}" ` +
        `(${inputs.emailPrefixMatches}), deep page ${inputs.deepRows.toLocaleString('en')} rows into an account of ` +
        `${inputs.bigAccountUsers.toLocaleString('en')}.`,
    );

    const base = `http://127.0.0.1:${options.port}`;
    // The server as `pnpm start` runs it in production: built, then its start script.
    const serverDir = join(repoRoot, 'apps/server');
    runNode(nodeScript(serverDir, 'build'), serverDir);
    server = await startNode({
      args: nodeScript(serverDir, 'start'),
      nodeOptions: options.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`] : [],
      cwd: serverDir,
      env: {
        DATABASE_URL: url,
        HOST: '127.0.0.1',
        PORT: String(options.port),
        LOG_LEVEL: options.logLevel,
        ROSTER_ADMIN_EMAIL: adminEmail,
        ROSTER_ADMIN_PASSWORD: adminPassword,
        // The SCIM scenarios measure the endpoint, not its per-connection limit.
        SCIM_RATE_LIMIT: '0',
      },
      logFile: join(resultsDir, 'server.log'),
      readyUrl: `${base}/readyz`,
    });
    const memory = sampleMemory(server.pid);
    say(`Roster server started (pid ${server.pid}) on ${base}, RSS ${memory.window()} MB.`);

    const cookie = await signIn(base);
    const headers = { cookie };
    const loads = buildLoads(base, headers, inputs, options.connections);
    await verify(cookie, inputs, loads);

    // The floor: the SQL Roster ran for these two calls, captured from its own router.
    const token = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    const config: FloorConfig = {
      databaseUrl: url,
      poolSize: 10,
      statementTimeoutMs: 10_000,
      routes: {
        '/users.get': await captureSql(url, token, (caller) => caller.users.get({ email: inputs.email })),
        '/users.search': await captureSql(url, token, (caller) => caller.users.search({ query: inputs.substring })),
        '/users.search.common': await captureSql(url, token, (caller) =>
          caller.users.search({ query: inputs.commonSubstring }),
        ),
        '/users.search.none': await captureSql(url, token, (caller) =>
          caller.users.search({ query: inputs.noneSubstring }),
        ),
      },
    };
    const configPath = join(resultsDir, 'floor-config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const floorBase = `http://127.0.0.1:${options.floorPort}`;
    floorServer = await startNode({
      args: ['--import', 'tsx', 'src/floor-server.ts', String(options.floorPort), configPath],
      cwd: join(repoRoot, 'bench'),
      env: {},
      logFile: join(resultsDir, 'floor.log'),
      readyUrl: `${floorBase}/ready`,
    });
    await checkFloor(floorBase, inputs);
    const floorLoad = (name: string, path: string): Load => ({
      name,
      url: `${floorBase}${path}`,
      connections: options.connections,
    });

    const scenarios: ScenarioResult[] = [];
    const floor: ScenarioResult[] = [];
    const record = (result: ScenarioResult, rssMb?: number) => {
      const isFloor = result.name.startsWith('floor');
      if (!isFloor) result.serverRssMb = rssMb ?? memory.window();
      (isFloor ? floor : scenarios).push(result);
      say(
        `  ${result.name}: ${result.reqPerSec} req/s, p95 ${result.p95Ms} ms, ` +
          `CPU ${result.serverCpuMsPerRequest ?? '–'} ms/req` +
          (isFloor ? '' : `, RSS ${result.serverRssMb} MB`) +
          (result.errors ? `, ${result.errors} ERRORS (${JSON.stringify(result.errorKinds ?? {})})` : ''),
      );
    };
    const byName = new Map(loads.plain.map((load) => [load.name, load]));

    // First, so the server's memory then is the export's (RSS sampled during it; not earlier scenarios' peaks).
    let exported: ExportResult | undefined;
    if (selected(exportName(users))) {
      say(`Measuring ${exportName(users)}: the whole organization as CSV, with users.get beside it.`);
      exported = await measureExport({
        name: exportName(users),
        base,
        cookie,
        serverPid: server.pid,
        otherUrl: (byName.get(names.get) as Load).url,
        expectedRows: users,
        say,
      });
      say(renderExport(exported));
    }

    const roster = (name: string) => ({ load: byName.get(name) as Load, pid: server?.pid });
    // Scenarios that are compared with each other run in turns (see measureInTurns).
    const groups = [
      [roster(names.substring), { load: floorLoad(names.floorSubstring, '/users.search'), pid: floorServer.pid }],
      [
        roster(names.commonSubstring),
        { load: floorLoad(names.floorCommonSubstring, '/users.search.common'), pid: floorServer.pid },
      ],
      [
        roster(names.noneSubstring),
        { load: floorLoad(names.floorNoneSubstring, '/users.search.none'), pid: floorServer.pid },
      ],
      [roster(names.emailPrefix)],
      [roster(names.accountActive)],
      [roster(names.get), { load: floorLoad(names.floorGet, '/users.get'), pid: floorServer.pid }],
      [roster(names.firstPage), roster(names.deepPage)],
      [roster(names.byNameFirst), roster(names.byNameDeep)],
      [roster(names.bySignInFirst), roster(names.bySignInDeep)],
      [roster(names.dormant)],
      [roster(names.neverByName)],
      [roster(names.accounts)],
      [{ load: loads.login, pid: server.pid }],
    ];
    const timing = { warmup: options.warmup, duration: options.duration, turns: 5 };
    say(
      `Measuring: ${options.connections} connections, ${options.warmup} s warm-up, ${options.duration} s each ` +
        '(compared scenarios in turns of 2 s).',
    );
    for (const group of groups) {
      const chosen = group.filter((entry) => selected(entry.load.name));
      if (chosen.length === 0) continue;
      const results = await measureInTurns(chosen, timing);
      const rssMb = memory.window();
      for (const result of results) record(result, rssMb);
    }
    if (selected(names.getDuringBurst)) {
      // Sign-ins and reads at once: hashing must not hold up the reads.
      await drive(loads.login, options.warmup);
      const [during, burst] = await Promise.all([
        drive({ ...loads.get, name: names.getDuringBurst }, options.duration),
        drive({ ...loads.login, name: names.loginBurst }, options.duration),
      ]);
      const rssMb = memory.window();
      record(during, rssMb);
      record(burst, rssMb);
    }

    if (Object.values(scimNames).some(selected)) {
      const scim = await setUpScim(base, cookie, url, inputs);
      const scimLoads = buildScimLoads(base, scim, options.connections);
      await verifyScim(scimLoads, scim);
      for (const load of scimLoads.filter((l) => selected(l.name))) {
        const [result] = await measureInTurns([{ load, pid: server.pid }], timing);
        if (result) record(result, memory.window());
      }
      if (selected(scimNames.walk)) record(await walkWithCursors(base, scim, 120), memory.window());
    }

    // Near the end: it deactivates 100,000 users (of an account of their own).
    let bulk: BulkResults | null = null;
    if (Object.values(bulkNames).some(selected)) {
      const setup = await setUpBulk(url, inputs);
      say(`Bulk: an account of ${setup.users.toLocaleString('en')} users.`);
      bulk = await runBulk(base, cookie, setup, loads.get, options.duration, say);
      say(
        `  ${bulkNames.apply}: ${(bulk.applyMs / 1000).toFixed(1)} s (${bulk.operation.done.toLocaleString('en')} done, ` +
          `${bulk.operation.skipped} skipped; the apply request ${Math.round(bulk.applyRequestMs)} ms)`,
      );
      const rssMb = memory.window();
      record(bulk.baseline, rssMb);
      record(bulk.during, rssMb);
    }

    let importReport: { summary: unknown; result: unknown } | null = null;
    if (Object.values(importNames).some(selected)) {
      // Last: it changes the data every other scenario reads.
      const file = await buildImportFile(url, inputs.bigAccountId);
      const run = await runImport(base, cookie, inputs.bigAccountId, file, () => memory.window(), say, server.pid);
      scenarios.push(run.preview, run.apply);
      importReport = { summary: run.summary, result: run.result };
    }

    const serverRssMb = Math.round(memory.stop() * 10) / 10;
    const targets = [
      ...evaluateTargets(scenarios, floor, serverRssMb),
      ...scimTargets(scenarios),
      ...exportTargets(exported, users),
      ...importTargets(scenarios),
      ...bulkTargets(bulk),
    ];
    const ratio = (a: string, b: string) => {
      const x = scenarios.find((s) => s.name === a);
      const y = floor.find((s) => s.name === b);
      return x && y ? Math.round((1000 * x.reqPerSec) / y.reqPerSec) / 1000 : null;
    };
    const floorRatios = Object.fromEntries(floorPairs.map(([name, floorName]) => [name, ratio(name, floorName)]));

    say('');
    say(
      `Roster at ${users.toLocaleString('en')} users, ${availableParallelism()} cores, load average ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    );
    say(renderResults(scenarios, floor));
    if (exported) say(`\n${renderExport(exported)}`);
    say('');
    say(
      `Floor ratios (Roster req/s ÷ floor req/s): ${Object.entries(floorRatios)
        .map(([k, v]) => `${k} ${v === null ? '–' : `${Math.round(v * 100)}%`}`)
        .join(', ')}`,
    );
    say(`Server RSS: ${serverRssMb} MB max (${memory.samples} samples and the kernel's high-water mark)`);
    say('');
    say(renderTargets(targets));

    const report = {
      users,
      scenarios,
      floor,
      export: exported ?? null,
      serverRssMb,
      floorRatios,
      targets,
      bulk: bulk
        ? {
            previewMs: bulk.previewMs,
            users: bulk.preview.affected,
            applyMs: bulk.applyMs,
            applyRequestMs: bulk.applyRequestMs,
            operation: bulk.operation,
          }
        : null,
      inputs: {
        substring: inputs.substring,
        substringMatches: inputs.substringMatches,
        commonSubstring: inputs.commonSubstring,
        commonSubstringMatches: inputs.commonSubstringMatches,
        noneSubstring: inputs.noneSubstring,
        emailPrefix: inputs.emailPrefix,
        emailPrefixMatches: inputs.emailPrefixMatches,
        deepRows: inputs.deepRows,
        bigAccountUsers: inputs.bigAccountUsers,
      },
      import: importReport,
      seed: seedResult ? { ...seedResult.timings, accounts: seedResult.accounts } : null,
      settings: {
        connections: options.connections,
        warmupS: options.warmup,
        durationS: options.duration,
        serverLogLevel: options.logLevel,
      },
      machine: { cores: availableParallelism(), loadAverage: loadavg(), node: process.version },
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    };
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    say(`\nWrote ${join(resultsDir, 'latest.json')}`);
  } finally {
    await floorServer?.stop();
    await server?.stop();
    if (database.created && !options.keep) {
      await dropBenchDatabase(options.serverUrl, database.name);
      say(`Dropped database ${database.name}.`);
    } else {
      say(`Kept database ${database.name}: rerun with --reuse ${database.name}, drop it with dropdb when done.`);
    }
  }
}

function importTargets(scenarios: ScenarioResult[]) {
  const target = (name: string, seconds: number) => {
    const s = scenarios.find((x) => x.name === name);
    return {
      target: `${name}: ≤ ${seconds} s`,
      measured: s ? `${(s.p50Ms / 1000).toFixed(2)} s, server RSS ${s.serverRssMb} MB` : 'not run',
      met: s ? s.errors === 0 && s.p50Ms <= seconds * 1000 : null,
    };
  };
  return [target(importNames.preview, 5), target(importNames.apply, 20)];
}

async function countUsers(url: string): Promise<number> {
  const { db } = createDb({ url, poolSize: 1 });
  try {
    const row = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
