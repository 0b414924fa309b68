import { type Compilable, type CompiledQuery, createQueryId, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * SQL texts that go to a Postgres server as named prepared statements: each
 * connection parses and plans them once, not at every call. Only preparedQuery's
 * fixed-shape lookups by a unique key are named, where the server's generic plan
 * is the right plan for every value (a search over skewed data would not be).
 */
const statementNames = new Map<string, string>();

/** The name a pooled connection prepares this SQL under, if it is one of ours. */
export function statementNameOf(sqlText: string): string | undefined {
  return statementNames.get(sqlText);
}

/** A value no caller passes (our inputs refuse NUL characters), standing for argument `i`; lower-casing or trimming it shows. */
export const preparedPlaceholder = (i: number) => ` \u0000Roster.Argument.${i}\u0000 `;

/** Whether a value is one of preparedQuery's stand-ins (seen by a plugin while it builds its query once). */
export const isPreparedPlaceholder = (value: unknown): boolean =>
  typeof value === 'string' && value.startsWith(' \u0000Roster.Argument.');

/**
 * A query of fixed shape, compiled once: each later call only fills in its
 * arguments. Kysely builds, transforms (CamelCasePlugin) and compiles a whole
 * operation tree for every query; for the statements that run on every request
 * (the session lookup) that was a tenth of the server's CPU in `pnpm bench`.
 *
 * `build` is called once, with placeholder strings: it must use each argument
 * as a query value, unchanged, and must not branch on it. Compiling checks that
 * every argument became exactly one parameter, so a misuse fails at its first
 * call rather than sending a placeholder to the database.
 *
 * On a Postgres server the statement is also prepared once per connection
 * (see statementNameOf); `onServer: false` opts out, for a query whose best
 * plan depends on its values. `arity` is the number of arguments when `build`
 * takes them as a rest parameter (its `length` then does not say).
 */
export function preparedQuery<Args extends string[], Row>(
  build: (db: Kysely<Database>, ...args: Args) => Compilable<Row>,
  options: { onServer?: boolean; arity?: number } = { onServer: true },
): (db: Kysely<Database>, ...args: Args) => Promise<Row[]> {
  const onServer = options.onServer ?? true;
  const arity = options.arity ?? build.length - 1;
  let compiled: { query: CompiledQuery<Row>; slots: Array<number | undefined> } | undefined;
  const compile = (db: Kysely<Database>) => {
    const placeholders = Array.from({ length: arity }, (_, i) => preparedPlaceholder(i));
    const query = build(db, ...(placeholders as Args)).compile();
    const slots = query.parameters.map((value) => {
      const i = placeholders.indexOf(value as string);
      return i >= 0 ? i : undefined;
    });
    for (let i = 0; i < arity; i++) {
      if (slots.filter((slot) => slot === i).length !== 1) {
        throw new Error(`preparedQuery: argument ${i + 1} must be used exactly once, as a value`);
      }
    }
    if (onServer && !statementNames.has(query.sql)) {
      statementNames.set(query.sql, `roster_prepared_${statementNames.size + 1}`);
    }
    return { query, slots };
  };
  return async (db, ...args) => {
    compiled ??= compile(db);
    const { query, slots } = compiled;
    const parameters = query.parameters.map((value, k) => {
      const slot = slots[k];
      return slot === undefined ? value : args[slot];
    });
    // A transaction runs it on its own connection: the SQL is the same for every Kysely of ours.
    const result = await db.executeQuery<Row>({ ...query, parameters, queryId: createQueryId() });
    return result.rows;
  };
}
