/** What the environment says; flags given on the command line win over it. */
export type CliEnv = {
  /** ROSTER_URL: where the server is. */
  url: string;
  /** ROSTER_API_KEY: who the client is. */
  apiKey: string | undefined;
  /** DATABASE_URL: for the operator commands; unset means the embedded database. */
  databaseUrl: string | undefined;
  /** DATA_DIR: where the embedded database keeps its files; unset means the repository's `.data/`, as the server. */
  dataDir: string | undefined;
};

export const defaultUrl = 'http://127.0.0.1:3000';

const nonEmpty = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/** The only place process.env is read. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): CliEnv {
  return {
    url: nonEmpty(source.ROSTER_URL) ?? defaultUrl,
    apiKey: nonEmpty(source.ROSTER_API_KEY),
    databaseUrl: nonEmpty(source.DATABASE_URL),
    dataDir: nonEmpty(source.DATA_DIR),
  };
}
