// The only place the benchmark reads its environment.

/** The Postgres server to create the benchmark database on. */
export const databaseUrlFromEnv: string | undefined = process.env.DATABASE_URL || undefined;

/** Passed on to the processes the benchmark starts, so they find the same tools. */
export const inheritedPath: string = process.env.PATH ?? '';
