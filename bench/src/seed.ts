import { pipeline } from 'node:stream/promises';
import { createOrganization, hashPassword } from '@roster/api';
import { createDb } from '@roster/db';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { accountAdjectives, accountNouns, accountSuffixes, firstNames, freeMailDomains, lastNames } from './names.js';

export const adminEmail = 'admin@roster-bench.test';
export const adminPassword = 'bench-admin-password';
/** Every seeded user with a password shares one argon2id hash of this one. */
export const userPassword = 'bench-user-password';

export type SeedResult = {
  accounts: number;
  timings: { insertMs: number; indexesMs: number; countsMs: number; vacuumAnalyzeMs: number; totalMs: number };
};

type PlannedAccount = { name: string; domain: string; size: number };

/** A small deterministic PRNG (mulberry32), so every run seeds the same organization. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** ASCII for email addresses: "Wiśniewski" -> "wisniewski", "O'Brien" -> "obrien". */
export function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[øö]/g, 'o')
    .replace(/ł/g, 'l')
    .replace(/ı/g, 'i')
    .replace(/đ/g, 'd')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z-]/g, '');
}

const unique = (list: string[]) => [...new Set(list)];

/**
 * Account sizes: a default account with the administrators, one account with 60%
 * of everyone, and the rest spread over many accounts with a long tail (sizes
 * falling off like 1/k^1.1), as customers of very different sizes would be.
 */
export function planAccounts(users: number): { defaultSize: number; accounts: PlannedAccount[] } {
  const defaultSize = Math.min(500, Math.max(20, Math.round(users * 0.0005)));
  const big = Math.round(users * 0.6);
  const rest = users - defaultSize - big;
  const count = Math.max(5, Math.round(users / 500));
  const weights = Array.from({ length: count }, (_, k) => 1 / (k + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((rest * w) / total)));
  const assigned = sizes.reduce((a, b) => a + b, 0);
  sizes[0] = (sizes[0] ?? 0) + (rest - assigned);

  const random = prng(7);
  const combos: Array<[string, string, string]> = [];
  for (const adjective of unique(accountAdjectives)) {
    for (const noun of unique(accountNouns)) {
      for (const suffix of unique(accountSuffixes)) combos.push([adjective, noun, suffix]);
    }
  }
  for (let i = combos.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [combos[i], combos[j]] = [combos[j] as [string, string, string], combos[i] as [string, string, string]];
  }
  if (combos.length < count + 1) throw new Error(`Too many accounts for the name lists (${count + 1})`);
  const accounts = [big, ...sizes].map((size, i) => {
    const [adjective, noun, suffix] = combos[i] as [string, string, string];
    return { name: `${adjective} ${noun} ${suffix}`, domain: `${slug(adjective)}${slug(noun)}.com`, size };
  });
  return { defaultSize, accounts };
}

/**
 * An id whose first half counts up (as a UUIDv7's timestamp would), so the
 * primary key fills in order instead of at a million random places; the second
 * half is random. (gen_random_uuid() alone costs more than the rest of a row.)
 */
function orderedUuid(counter: string): string {
  return `(lpad(to_hex(${counter}), 16, '0') || lpad(to_hex((random() * 9007199254740991)::bigint), 16, '0'))::uuid`;
}

/**
 * The SELECT that generates every seeded user, for COPY ... TO STDOUT (which
 * takes no parameters: every value is a literal here). Names are drawn from the
 * lists with a bias towards the front; addresses take one of several common
 * forms at the account's domain or a free-mail one; a repeated address gets a
 * number, which the forms never contain, so addresses stay unique.
 */
function usersGenerator(input: {
  organizationId: string;
  freeMailDomains: string[];
  sharedHash: string;
  firstNames: number;
  lastNames: number;
}) {
  const columns = [
    'id',
    'organization_id',
    'account_id',
    'email',
    'first_name',
    'last_name',
    'role',
    'active',
    'password_hash',
    'created_at',
    'updated_at',
    'last_login_at',
  ];
  const literal = pg.escapeLiteral;
  const free = `array[${input.freeMailDomains.map(literal).join(', ')}]::text[]`;
  const sql = `
    select id, ${literal(input.organizationId)}::uuid, account_id,
           local || case when dup > 1 then dup::text else '' end || '@' || mail_domain,
           first_name, last_name, role, active, password_hash, created_at,
           created_at + r_edit * (now() - created_at),
           case when r_login < 0.85 then now() - r_login * interval '120 days' end
    from (
      select n.*, row_number() over (partition by local collate "C", mail_domain collate "C") as dup
      from (
        select d.id, d.account_id, f.name as first_name, l.name as last_name, d.r_edit, d.r_login,
               case when d.r_domain < 0.15
                    then (${free})[1 + floor(d.r_domain / 0.15 * ${input.freeMailDomains.length})::int]
                    else d.domain end as mail_domain,
               case when d.r_format < 0.40 then f.slug || '.' || l.slug
                    when d.r_format < 0.58 then left(f.slug, 1) || l.slug
                    when d.r_format < 0.68 then f.slug || '_' || l.slug
                    when d.r_format < 0.78 then f.slug || left(l.slug, 1)
                    when d.r_format < 0.88 then l.slug || '.' || f.slug
                    when d.r_format < 0.95 then f.slug || '.' || left(l.slug, 1)
                    else f.slug end as local,
               case when d.is_default and d.r_role < 0.25 then 'admin' else 'user' end as role,
               d.r_active >= 0.08 as active,
               case when d.r_password < 0.03 then null else ${literal(input.sharedHash)} end as password_hash,
               now() - d.r_created * interval '1500 days' as created_at
        from (
          select ${orderedUuid('g.i')} as id, p.account_id, p.domain, p.is_default,
                 1 + floor(${input.firstNames} * power(random(), 2.2))::int as fi,
                 1 + floor(${input.lastNames} * power(random(), 2.0))::int as li,
                 random() as r_format, random() as r_domain, random() as r_role, random() as r_active,
                 random() as r_password, random() as r_created, random() as r_edit, random() as r_login
          from bench_plan p, generate_series(p.lo, p.hi - 1) as g(i)
        ) d
        join bench_first f on f.i = d.fi
        join bench_last l on l.i = d.li
      ) n
    ) x`;
  return { sql, columns };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs statements on `workers` connections at once, each taking the next one free. */
async function inParallel(pool: pg.Pool, statements: string[], workers: number, setup: string): Promise<void> {
  const queue = [...statements];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const client = await pool.connect();
      try {
        await client.query(setup);
        for (let next = queue.shift(); next; next = queue.shift()) await client.query(next);
      } finally {
        client.release();
      }
    }),
  );
}

/**
 * Seeds one organization with `users` users, set-based: the rows are generated
 * inside Postgres from the name lists, with the users table's secondary indexes
 * and triggers out of the way; then the indexes are rebuilt exactly as the
 * migrations defined them, the account counts set in one statement, and the
 * table vacuumed and analyzed.
 */
export async function seed(url: string, users: number, log: (line: string) => void): Promise<SeedResult> {
  const startedAt = performance.now();
  const { db } = createDb({ url, poolSize: 2 });
  const created = await createOrganization(db, {
    name: 'Bench Organization',
    adminEmail,
    adminPassword,
    adminFirstName: 'Bench',
    adminLastName: 'Administrator',
  });
  await db.destroy();
  const sharedHash = await hashPassword(userPassword);
  const organizationId = created.organization.id;

  // One session of our own, a second for the generator, and two building indexes at once.
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  const client = await pool.connect();
  try {
    // No JIT: compiling the generator costs more than it saves.
    await client.query(`set synchronous_commit = off; set work_mem = '256MB'; set jit = off`);

    // Name lists as small tables; the draw favours names early in a list.
    const firsts = unique(firstNames);
    const lasts = unique(lastNames);
    // Plain tables (the generator runs in another session), dropped at the end.
    await client.query(`
      create table bench_first (i int primary key, name text not null, slug text not null);
      create table bench_last (i int primary key, name text not null, slug text not null);
      create table bench_plan (account_id uuid not null, domain text not null, is_default boolean not null,
                               lo bigint not null, hi bigint not null)`);
    for (const [table, list] of [
      ['bench_first', firsts],
      ['bench_last', lasts],
    ] as const) {
      await client.query(
        `insert into ${table} select i, name, slug from unnest($1::text[], $2::text[]) with ordinality as t(name, slug, i)`,
        [list, list.map(slug)],
      );
    }

    const plan = planAccounts(users);
    const { rows: accountRows } = await client.query<{ id: string; name: string }>(
      `insert into accounts (organization_id, name, description)
       select $1, name, description from unnest($2::text[], $3::text[]) as t(name, description)
       returning id, name`,
      [
        organizationId,
        plan.accounts.map((a) => a.name),
        plan.accounts.map((_a, i) => (i === 0 ? 'Our largest customer' : `Customer since ${2010 + (i % 15)}`)),
      ],
    );
    const idByName = new Map(accountRows.map((row) => [row.name, row.id]));
    const ranges: Array<{ id: string; domain: string; isDefault: boolean; lo: number; hi: number }> = [];
    ranges.push({ id: created.account.id, domain: 'roster-bench.test', isDefault: true, lo: 0, hi: plan.defaultSize });
    let next = plan.defaultSize;
    for (const account of plan.accounts) {
      ranges.push({
        id: idByName.get(account.name) ?? '',
        domain: account.domain,
        isDefault: false,
        lo: next,
        hi: next + account.size,
      });
      next += account.size;
    }
    await client.query(
      `insert into bench_plan select * from unnest($1::uuid[], $2::text[], $3::boolean[], $4::bigint[], $5::bigint[])`,
      [
        ranges.map((r) => r.id),
        ranges.map((r) => r.domain),
        ranges.map((r) => r.isDefault),
        ranges.map((r) => r.lo),
        ranges.map((r) => r.hi),
      ],
    );

    // The users table's secondary indexes, exactly as the migrations made them.
    const { rows: indexes } = await client.query<{ name: string; definition: string; gin: boolean }>(`
      select c.relname as name, pg_get_indexdef(i.indexrelid) as definition, am.amname <> 'btree' as gin
      from pg_index i
      join pg_class c on c.oid = i.indexrelid
      join pg_am am on am.oid = c.relam
      where i.indrelid = 'users'::regclass and not i.indisprimary
        and not exists (select 1 from pg_constraint where conindid = i.indexrelid)`);

    // Its foreign keys: checked row by row on insert, but in one join when added back.
    const { rows: foreignKeys } = await client.query<{ name: string; definition: string }>(`
      select conname as name, pg_get_constraintdef(oid) as definition
      from pg_constraint where conrelid = 'users'::regclass and contype = 'f'`);

    log(`  seeding ${users.toLocaleString('en')} users into ${ranges.length} accounts`);
    const generator = usersGenerator({
      organizationId,
      freeMailDomains,
      sharedHash,
      firstNames: firsts.length,
      lastNames: lasts.length,
    });
    const insertMs = await timed(async () => {
      // One session generates the rows and streams them out with COPY; the other
      // loads them with COPY (batched inserts): two cores, no row-at-a-time path.
      const reader = await pool.connect();
      try {
        await reader.query(`set work_mem = '256MB'; set jit = off; select setseed(0.42)`);
        await client.query('begin');
        for (const index of indexes) await client.query(`drop index ${pg.escapeIdentifier(index.name)}`);
        for (const fk of foreignKeys) {
          await client.query(`alter table users drop constraint ${pg.escapeIdentifier(fk.name)}`);
        }
        // The triggers (account counts, updated_at, the admin rule) are off for the
        // load; the data keeps the admin rule by construction and the counts are
        // set below in one statement.
        await client.query('alter table users disable trigger user');
        await pipeline(
          reader.query(copyTo(`copy (${generator.sql}) to stdout`)),
          client.query(copyFrom(`copy users (${generator.columns.join(', ')}) from stdin`)),
        );
        await client.query('alter table users enable trigger user');
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        reader.release();
      }
      // Added back NOT VALID, then validated in one pass.
      for (const fk of foreignKeys) {
        const name = pg.escapeIdentifier(fk.name);
        await client.query(`alter table users add constraint ${name} ${fk.definition} not valid`);
        await client.query(`alter table users validate constraint ${name}`);
      }
      await client.query('drop table bench_first, bench_last, bench_plan');
    });
    log(`  inserted in ${(insertMs / 1000).toFixed(1)} s; rebuilding ${indexes.length} indexes`);

    // GIN first: it is the longest, and runs beside the btree builds.
    const ordered = [...indexes].sort((a, b) => Number(b.gin) - Number(a.gin)).map((i) => i.definition);
    const indexesMs = await timed(() =>
      inParallel(pool, ordered, 2, `set maintenance_work_mem = '512MB'; set max_parallel_maintenance_workers = 0`),
    );
    log(`  indexes in ${(indexesMs / 1000).toFixed(1)} s`);

    const countsMs = await timed(() =>
      client.query(
        `update accounts a set user_count = c.n
         from (select account_id, count(*)::int as n from users group by account_id) c
         where a.id = c.account_id and a.user_count <> c.n`,
      ),
    );
    const vacuumAnalyzeMs = await timed(async () => {
      await client.query('vacuum (analyze) users');
      await client.query('analyze accounts');
    });
    log(
      `  counts in ${(countsMs / 1000).toFixed(1)} s, vacuum and analyze in ${(vacuumAnalyzeMs / 1000).toFixed(1)} s`,
    );

    return {
      accounts: ranges.length,
      timings: { insertMs, indexesMs, countsMs, vacuumAnalyzeMs, totalMs: performance.now() - startedAt },
    };
  } finally {
    client.release();
    await pool.end();
  }
}
