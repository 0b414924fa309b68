import { defaultDataDir, repoRoot } from '@roster/db';
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

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
  API_KEY_MAX_DAYS: positiveInt(365),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  DB_POOL_SIZE: positiveInt(10),
  STATEMENT_TIMEOUT_MS: positiveInt(10_000),
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .refine(
      (origins) => origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin),
      'Comma-separated origins such as http://localhost:5173 (scheme, host and port only)',
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
