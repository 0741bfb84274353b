/**
 * The platform's RSA signing off the main thread (libuv's thread pool via
 * `signRsa2Async`), with a cap on signatures in flight and two queues:
 * device-facing work (pushes, replies to the device) and the notifications to
 * skill backends. The cap (default: the number of cores) keeps the thread
 * pool from over-subscribing the CPU, so the event loop stays responsive
 * (heartbeats, HTTP) under load.
 *
 * Bounded work (docs/sandbox.md "Bounded work"):
 * * **Fair**: when both queues wait, `deviceWeight` device jobs are taken per
 *   backend job (default 1: they alternate), so a flood of pushes cannot
 *   starve the backend notifications, nor the reverse. FIFO within a queue.
 * * **Dated when it signs**: the TSK datetime is read from the signing clock
 *   the moment a job leaves its queue and the RSA sign runs, never when it
 *   was queued, so a backlog cannot stamp a signature stale. `signBody` goes
 *   further: the body itself (with its `nonceStr`) is made at that moment.
 * * **Bounded**: at most `maxQueued` jobs wait per queue; one more is refused
 *   with `OutboxFullError` (`ERR_OUTBOX_FULL`), which reaches the caller.
 */
import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../protocol/errors.js';
import { signRsa2Async } from '../protocol/tsk-node.js';
import { OutboxFullError } from './outbound.js';

export type SignPriority = 'device' | 'backend';

/** The RSA signature itself: the `Authorization` header over `raw` dated `datetimeNow` (epoch ms). */
export type SignFunction = (raw: string | Uint8Array, key: KeyObject, datetimeNow: number) => Promise<string>;

export interface SignerOptions {
  /** Signatures in the thread pool at once; default max(2, cores). */
  maxInFlight?: number;
  /** Jobs waiting per queue (device, backend) before `sign` refuses; default 4096. */
  maxQueued?: number;
  /** Device jobs taken per backend job while both queues wait; default 1 (alternate). */
  deviceWeight?: number;
  /** The RSA sign (tests inject a slow or counting one); default `signRsa2Async`. */
  signFn?: SignFunction;
}

/** A signed body: the exact bytes, their `Authorization`, and the signing clock's now when the sign ran. */
export interface SignedBody<T extends string | Uint8Array = string> {
  raw: T;
  authorization: string;
  signedAt: number;
}

interface Job {
  make: () => string | Uint8Array;
  resolve: (v: SignedBody<string | Uint8Array>) => void;
  reject: (e: unknown) => void;
}

const defaultSign: SignFunction = (raw, key, now) => signRsa2Async(raw, key, { now });

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be an integer ≥ 1`);
  return v;
}

export class Signer {
  private readonly queues: Record<SignPriority, Job[]> = { device: [], backend: [] };
  private inFlight = 0;
  /** Device jobs taken since the last backend job (for the weighting). */
  private deviceRun = 0;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly deviceWeight: number;
  private readonly signFn: SignFunction;
  /** RSA signatures started, by queue (for tests, the control API and benchmarks). */
  readonly signatures: Record<SignPriority, number> = { device: 0, backend: 0 };
  /** Jobs refused because their queue was full, by queue. */
  readonly refused: Record<SignPriority, number> = { device: 0, backend: 0 };

  constructor(
    private readonly key: KeyObject,
    private readonly signingNow: () => number,
    options: number | SignerOptions = {},
  ) {
    const o = typeof options === 'number' ? { maxInFlight: options } : options;
    this.maxInFlight = positiveInt(o.maxInFlight ?? Math.max(2, availableParallelism()), 'signer maxInFlight');
    this.maxQueued = positiveInt(o.maxQueued ?? 4096, 'signer maxQueued');
    this.deviceWeight = positiveInt(o.deviceWeight ?? 1, 'signer deviceWeight');
    this.signFn = o.signFn ?? defaultSign;
  }

  /** Signatures started, both queues. */
  get total(): number {
    return this.signatures.device + this.signatures.backend;
  }

  /** Jobs waiting in a queue (not yet signing). */
  queued(priority: SignPriority): number {
    return this.queues[priority].length;
  }

  /** TSK-RSA2 `Authorization` over `raw`, dated by the signing clock when the sign runs. */
  async sign(raw: string | Uint8Array, priority: SignPriority = 'device'): Promise<string> {
    return (await this.enqueue(() => raw, priority)).authorization;
  }

  /**
   * Make the body when its turn comes and sign it then: a `nonceStr` and a
   * datetime as fresh as the signature. `make` runs once; if it throws, the
   * promise rejects with its error.
   */
  signBody<T extends string | Uint8Array>(make: () => T, priority: SignPriority = 'device'): Promise<SignedBody<T>> {
    return this.enqueue(make, priority) as Promise<SignedBody<T>>;
  }

  private enqueue(make: () => string | Uint8Array, priority: SignPriority): Promise<SignedBody<string | Uint8Array>> {
    const queue = this.queues[priority];
    if (queue.length >= this.maxQueued) {
      this.refused[priority]++;
      return Promise.reject(new OutboxFullError(`${priority} signing queue full (${this.maxQueued} waiting)`, priority));
    }
    return new Promise((resolve, reject) => {
      queue.push({ make, resolve, reject });
      this.pump();
    });
  }

  /** The next job: alternate (weighted) while both queues wait; whichever has work otherwise. */
  private next(): [Job, SignPriority] | undefined {
    const { device, backend } = this.queues;
    if (device.length > 0 && (backend.length === 0 || this.deviceRun < this.deviceWeight)) {
      this.deviceRun = backend.length === 0 ? 0 : this.deviceRun + 1;
      return [device.shift()!, 'device'];
    }
    if (backend.length > 0) {
      this.deviceRun = 0;
      return [backend.shift()!, 'backend'];
    }
    return undefined;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight) {
      const picked = this.next();
      if (!picked) return;
      const [job, priority] = picked;
      this.inFlight++;
      this.signatures[priority]++;
      const done = () => {
        this.inFlight--;
        this.pump();
      };
      let signing: Promise<SignedBody<string | Uint8Array>>;
      try {
        // The body and the datetime are made now, as the sign runs (not when the job was queued).
        const raw = job.make();
        const signedAt = this.signingNow();
        signing = this.signFn(raw, this.key, signedAt).then((authorization) => ({ raw, authorization, signedAt }));
      } catch (e) {
        signing = Promise.reject(e);
      }
      signing.then(
        (v) => {
          done();
          job.resolve(v);
        },
        (e: unknown) => {
          done();
          job.reject(e);
        },
      );
    }
  }
}
