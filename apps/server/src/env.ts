import { isIP } from 'node:net';
import { defaultDataDir, repoRoot } from '@roster/db';
import { z } from 'zod';
import { hostNameOf } from './request-guards.js';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const commaList = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** proxy-addr's names for address ranges, which Fastify's trustProxy accepts in a list. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, an address/prefix (CIDR) or address/netmask, or one of proxy-addr's range names. */
function isProxyAddress(entry: string): boolean {
  if (proxyRangeNames.has(entry)) return true;
  const [address = '', range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

/**
 * TRUST_PROXY: `false` (or unset, or 0) for no proxy; a number of proxy hops
 * in front of the server; or the proxies' addresses/CIDRs, comma-separated.
 * `true` is refused: it would believe every address a client writes into
 * X-Forwarded-For, which is how the per-address sign-in limit was escaped.
 */
const trustProxySetting = z
  .string()
  .default('false')
  .transform((value, context): false | number | string[] => {
    const setting = value.trim().toLowerCase();
    if (setting === 'false' || setting === '0') return false;
    if (setting === 'true') {
      context.addIssue({
        code: 'custom',
        message:
          'true would believe any address a client writes into X-Forwarded-For. Behind one reverse proxy set TRUST_PROXY=1 (or the number of proxies in front of the server), or list the proxies’ addresses, e.g. TRUST_PROXY=10.0.0.5 or 10.0.0.0/8.',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(setting)) return Number(setting);
    const entries = commaList(setting);
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (entries.length === 0 || bad.length > 0) {
      context.addIssue({
        code: 'custom',
        message: `${bad.join(', ') || 'an empty list'}: give false, a number of proxy hops (1 behind one proxy), or comma-separated proxy addresses or CIDR ranges such as 10.0.0.5, 10.0.0.0/8, loopback.`,
      });
      return z.NEVER;
    }
    return entries;
  });

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().default(defaultDataDir),
  WEB_DIST: z.string().default(`${repoRoot}apps/web/dist`),
  ROSTER_ORG_NAME: z.string().trim().min(1).max(200).default('My Organization'),
  ROSTER_ADMIN_EMAIL: z.string().trim().toLowerCase().pipe(z.email()).default('admin@example.com'),
  ROSTER_ADMIN_PASSWORD: z.string().min(8).max(256).optional(),
  SESSION_IDLE_MINUTES: positiveInt(30),
  SESSION_ABSOLUTE_HOURS: positiveInt(12),
  SIGN_IN_EMAIL_LIMIT: positiveInt(10),
  API_KEY_MAX_DAYS: positiveInt(365),
  SCIM_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(100),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  TRUST_PROXY: trustProxySetting,
  PUBLIC_URL: z
    .url()
    .optional()
    .refine(
      (url) =>
        url === undefined ||
        (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol) && new URL(url).pathname === '/'),
      'The address people open, scheme and host (and port), such as https://roster.example.com',
    )
    .transform((url) => (url === undefined || !URL.canParse(url) ? undefined : new URL(url).origin)),
  ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((list) => commaList(list).map((host) => host.toLowerCase()))
    .refine(
      (hosts) => hosts.every((host) => hostNameOf(host) === host),
      'Comma-separated host names such as roster.internal or 10.0.0.7 (no scheme, port or path)',
    ),
  DB_POOL_SIZE: positiveInt(10),
  DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  DATABASE_DIRECT_URL: z.url().optional(),
  DATABASE_READ_URL: z
    .url()
    .refine(
      (url) => URL.canParse(url) && /^postgres(ql)?:$/.test(new URL(url).protocol),
      'A postgres:// URL of the streaming replica',
    )
    .optional(),
  REPLICA_MAX_LAG_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  STATEMENT_TIMEOUT_MS: positiveInt(10_000),
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform(commaList)
    .refine(
      (origins) => origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin),
      'Comma-separated origins such as http://localhost:5173 (scheme, host and port only)',
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).max(100).default('roster'),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  SMTP_URL: z
    .url()
    .refine(
      (url) => URL.canParse(url) && ['smtp:', 'smtps:'].includes(new URL(url).protocol),
      'An SMTP server such as smtps://user:pass@mail.example.com:465 or smtp://mail.example.com:587',
    )
    .optional(),
  MAIL_FROM: z.string().trim().min(3).max(320).default('Roster <roster@localhost>'),
  INVITATION_TTL_HOURS: positiveInt(168),
  METRICS_TOKEN: z.string().min(24, 'At least 24 characters (e.g. openssl rand -hex 24)').max(512).optional(),
});

export type Env = z.infer<typeof schema>;

/**
 * The only place process.env is read. An empty variable (`PORT=`) is unset: it
 * takes its default. A bad value stops the start with a clear message.
 */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(source).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}
