// A background worker of this process: runs `work` every `intervalMs`, one run
// at a time, on a timer that does not keep the process alive. `wake` starts a
// run now (when something was just queued here); `stop` lets the run in hand
// finish. The bulk worker, the mail sender and the sign-in sweeper are all this loop.

export type Worker = { stop(): Promise<void>; wake(): void };

export function startWorker(options: {
  /** One round; `keepGoing` turns false once `stop` was called. */
  work: (keepGoing: () => boolean) => Promise<unknown>;
  intervalMs: number;
  /** Where a failed round is told (the next round runs anyway). */
  onError?: ((error: unknown) => void) | undefined;
  /** The set a `wake…Workers()` function wakes: this worker is in it while it runs (none: only its timer). */
  wakers?: Set<() => void>;
  /** After the last round, on stop (e.g. closing the SMTP connection). */
  onStop?: () => void;
}): Worker {
  const { work, intervalMs, onError, wakers } = options;
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    if (stopped || running) return;
    clearTimeout(timer);
    running = work(() => !stopped)
      .then(
        () => {},
        (error: unknown) => onError?.(error),
      )
      .finally(() => {
        running = null;
        schedule();
      });
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(run, intervalMs);
    timer.unref();
  };
  schedule();
  wakers?.add(run);
  return {
    wake: run,
    async stop() {
      stopped = true;
      wakers?.delete(run);
      clearTimeout(timer);
      await running;
      options.onStop?.();
    },
  };
}
