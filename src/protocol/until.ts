/**
 * `until(check, options)`: wait, bounded, until `check()` holds — checked at
 * once, then every `intervalMs`, and whenever `wake` signals that something
 * changed. Resolves true when it held, false when `timeoutMs` passed first.
 * A check that throws counts as "not yet". Browser-safe.
 */
export interface UntilOptions {
  timeoutMs: number;
  /** Re-check this often, ms; default 200. */
  intervalMs?: number;
  /** Subscribe to "something changed" (re-check at once); returns the unsubscribe. */
  wake?: (recheck: () => void) => () => void;
}

export function until(check: () => boolean | Promise<boolean>, options: UntilOptions): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let running = false;
    let again = false;
    const finish = (v: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(tick);
      unsubscribe?.();
      resolve(v);
    };
    const run = async () => {
      if (done) return;
      if (running) return void (again = true);
      running = true;
      try {
        do {
          again = false;
          let ok = false;
          try {
            ok = await check();
          } catch {
            ok = false;
          }
          if (ok) return finish(true);
        } while (again && !done);
      } finally {
        running = false;
      }
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs);
    const tick = setInterval(() => void run(), options.intervalMs ?? 200);
    const unsubscribe = options.wake?.(() => void run());
    void run();
  });
}
