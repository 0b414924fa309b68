import { parseArgs } from 'node:util';

export type BenchOptions = {
  users: number;
  /** Seconds measured per scenario. */
  duration: number;
  /** Seconds of warm-up before each measurement. */
  warmup: number;
  connections: number;
  port: number;
  floorPort: number;
  serverUrl: string;
  keep: boolean;
  reuse: string | undefined;
  only: string[] | undefined;
  logLevel: string;
  /** Seed a database, keep it and stop (for --reuse). */
  seedOnly: boolean;
  /** Write a CPU profile of the server to results/profiles/. */
  profile: boolean;
};

const usage = `Usage: pnpm bench [options]

  --users N          users to seed (default 100000)
  --duration S       seconds measured per scenario (default 10, at least 10 for a result that counts)
  --warmup S         seconds of warm-up before each scenario (default 3)
  --connections N    concurrent connections (default 16)
  --port P           port of the Roster server (default 3401)
  --floor-port P     port of the bare node:http floor (default 3402)
  --keep             keep the database afterwards (its name is printed)
  --reuse NAME       measure a database kept by an earlier run instead of seeding one
  --seed-only        seed a database, keep it and stop (measure it later with --reuse)
  --only A,B         run only the scenarios whose names contain one of these words
  --log-level L      the server's LOG_LEVEL (default warn: no access log, see README)
  --profile          write a CPU profile of the server to bench/results/profiles/

The Postgres server is the one of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
The benchmark creates its own database there, named roster_bench_…, and drops it at the end.`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, not "${value}"`);
  return n;
}

export function parseOptions(argv: string[], databaseUrl: string | undefined): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      users: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      port: { type: 'string' },
      'floor-port': { type: 'string' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'string' },
      only: { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      profile: { type: 'boolean', default: false },
      'seed-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 'help';
  }
  const users = positive('users', values.users, 100_000);
  if (users < 1_000) throw new Error('--users must be at least 1000');
  return {
    users,
    duration: positive('duration', values.duration, 10),
    warmup: positive('warmup', values.warmup, 3),
    connections: positive('connections', values.connections, 16),
    port: positive('port', values.port, 3401),
    floorPort: positive('floor-port', values['floor-port'], 3402),
    serverUrl: databaseUrl || 'postgres://postgres@127.0.0.1:5432/postgres',
    keep: (values.keep ?? false) || (values['seed-only'] ?? false),
    seedOnly: values['seed-only'] ?? false,
    reuse: values.reuse,
    only: values.only?.split(',').map((s) => s.trim().toLowerCase()),
    logLevel: values['log-level'] ?? 'warn',
    profile: values.profile ?? false,
  };
}
