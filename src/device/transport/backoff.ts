/**
 * Jittered exponential backoff for reconnects: the nominal delay doubles from
 * `initialMs` up to `maxMs`; each actual delay is drawn uniformly from
 * 50–100 % of it ("equal jitter"), so devices that lost the platform together
 * do not all come back in the same millisecond.
 */
import { InvalidArgumentError } from '../../protocol/browser.js';

export interface BackoffOptions {
  /** First nominal delay; default 500 ms. */
  initialMs?: number;
  /** Cap of the nominal delay; default 15 s. */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Uniform [0, 1) source; default Math.random (injectable for tests). */
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  private readonly random: () => number;
  private attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 15_000;
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1))
      throw new InvalidArgumentError('backoff needs 0 < initialMs <= maxMs and factor >= 1');
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next attempt (and count the attempt). */
  next(): number {
    const nominal = Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.attempts, 64));
    this.attempts++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(nominal * (0.5 + 0.5 * r));
  }

  reset(): void {
    this.attempts = 0;
  }
}
