/**
 * Time of the sandbox: a clock, and timers whose delays are multiplied by a
 * `timeScale` factor (1 = real time; 0.001 runs WeChat's 3-hour retry step in
 * about 11 s, 0.0001 in about 1 s) so tests and demos can play long schedules
 * quickly. The scale applies to platform schedules (delivery retries, refund
 * processing); pay windows and injected push delays are real milliseconds.
 * Every timer is tracked and cleared by `close()`.
 */
import { InvalidArgumentError } from '../protocol/errors.js';

export interface SchedulerOptions {
  /** Factor applied to every delay; default 1. Must be > 0 and ≤ 1000. */
  timeScale?: number;
  /** Platform clock, epoch ms; default Date.now. */
  now?: () => number;
}

export class Scheduler {
  readonly timeScale: number;
  private readonly clock: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Sleeps still running: close() ends them. */
  private readonly sleepers = new Set<() => void>();

  constructor(options: SchedulerOptions = {}) {
    const scale = options.timeScale ?? 1;
    if (typeof scale !== 'number' || !(scale > 0) || scale > 1000) throw new InvalidArgumentError('timeScale must be a number > 0 and ≤ 1000');
    this.timeScale = scale;
    this.clock = options.now ?? Date.now;
  }

  now(): number {
    return this.clock();
  }

  /** A delay of `ms` platform milliseconds in real milliseconds. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms * this.timeScale));
  }

  /** Run `fn` after `ms` platform milliseconds (scaled). Returns a cancel function. Ignored after close(). */
  after(ms: number, fn: () => void): () => void {
    return this.afterReal(this.scaled(ms), fn);
  }

  /** Run `fn` after `ms` real milliseconds (not scaled: pay windows, injected push delays). */
  afterReal(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    t.unref?.();
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  /**
   * Resolve after `ms` (scaled); rejects with the signal's reason when
   * aborted. After close() it resolves at once, and a sleep still running
   * when close() is called resolves then (its caller sees `isClosed`).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (this.closed) return resolve();
      const wake = () => {
        this.sleepers.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        cancel();
        this.sleepers.delete(wake);
        reject(signal!.reason);
      };
      const cancel = this.after(ms, wake);
      this.sleepers.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get pending(): number {
    return this.timers.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
