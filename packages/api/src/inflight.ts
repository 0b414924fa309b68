/**
 * The procedures still running in a server. Its HTTP server's close() returns
 * once no client is connected, while a procedure of a client that has gone may
 * still be running; the host waits for `idle()` before destroying the database
 * under it.
 */
export type InflightTracker = {
  /** Counts the work as running until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Resolves once nothing tracked is running, including work tracked while waiting. */
  idle(): Promise<void>;
};

export function createInflightTracker(): InflightTracker {
  const running = new Set<Promise<void>>();
  return {
    track(work) {
      // Settled either way, and never rejected: the caller handles the work's own error.
      const done: Promise<void> = work.then(
        () => {
          running.delete(done);
        },
        () => {
          running.delete(done);
        },
      );
      running.add(done);
      return work;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
