import type { DatabaseConnection, Dialect, Driver, Kysely, QueryCompiler, TransactionSettings } from 'kysely';

/**
 * Wraps a single-connection dialect (PGlite) so that Kysely hands its one
 * connection to one caller at a time. Without this, a statement issued by one
 * request while another request's transaction is open would run inside that
 * foreign transaction.
 */
/** The one connection's use: callers waiting for it, and whether one holds it. */
export type SerializedUse = { waiting: number; held: boolean };

export class SerializedDialect implements Dialect {
  readonly #inner: Dialect;
  /** Read by the host's metrics (DbHandle.pool). */
  readonly use: SerializedUse = { waiting: 0, held: false };
  constructor(inner: Dialect) {
    this.#inner = inner;
  }
  createAdapter() {
    return this.#inner.createAdapter();
  }
  createDriver(): Driver {
    return new SerializedDriver(this.#inner.createDriver(), this.use);
  }
  // biome-ignore lint/suspicious/noExplicitAny: the Dialect interface is declared over Kysely<any>.
  createIntrospector(db: Kysely<any>) {
    return this.#inner.createIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }
}

class SerializedDriver implements Driver {
  readonly #inner: Driver;
  readonly #use: SerializedUse;
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(inner: Driver, use: SerializedUse) {
    this.#inner = inner;
    this.#use = use;
  }
  init() {
    return this.#inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#use.waiting++;
    try {
      await previous;
    } finally {
      this.#use.waiting--;
    }
    this.#release = release;
    this.#use.held = true;
    return this.#inner.acquireConnection();
  }
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.#inner.releaseConnection(connection);
    const release = this.#release;
    this.#release = undefined;
    this.#use.held = false;
    release?.();
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.#inner.beginTransaction(connection, settings);
  }
  commitTransaction(connection: DatabaseConnection) {
    return this.#inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection) {
    return this.#inner.rollbackTransaction(connection);
  }
  savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return required(this.#inner.savepoint).call(this.#inner, connection, name, compileQuery);
  }
  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return required(this.#inner.rollbackToSavepoint).call(this.#inner, connection, name, compileQuery);
  }
  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return required(this.#inner.releaseSavepoint).call(this.#inner, connection, name, compileQuery);
  }
  destroy() {
    return this.#inner.destroy();
  }
}

function required<T>(method: T | undefined): T {
  if (!method) throw new Error('The wrapped driver does not support savepoints');
  return method;
}
