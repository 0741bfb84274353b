/**
 * The platform's RSA signing off the main thread (libuv's thread pool via
 * `signRsa2Async`), with a cap on signatures in flight and two priorities:
 * device-facing work (pushes, replies to the device) before the delivery
 * notifications to skill backends, which nobody waits on as closely and
 * which are retried anyway. The cap (default: the number of cores) keeps the
 * thread pool from over-subscribing the CPU, so the event loop stays
 * responsive (heartbeats, HTTP) under load. FIFO within a priority.
 */
import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { signRsa2Async } from '../protocol/tsk-node.js';

export type SignPriority = 'device' | 'backend';

interface Job {
  raw: string | Uint8Array;
  datetimeNow: number;
  resolve: (v: string) => void;
  reject: (e: unknown) => void;
}

export class Signer {
  private readonly queues: Record<SignPriority, Job[]> = { device: [], backend: [] };
  private inFlight = 0;
  readonly maxInFlight: number;

  constructor(
    private readonly key: KeyObject,
    private readonly signingNow: () => number,
    maxInFlight = Math.max(2, availableParallelism()),
  ) {
    this.maxInFlight = maxInFlight;
  }

  /** TSK-RSA2 `Authorization` over `raw`; the datetime is the signing clock's now (when asked, not when done). */
  sign(raw: string | Uint8Array, priority: SignPriority = 'device'): Promise<string> {
    const datetimeNow = this.signingNow();
    return new Promise((resolve, reject) => {
      this.queues[priority].push({ raw, datetimeNow, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight) {
      const job = this.queues.device.shift() ?? this.queues.backend.shift();
      if (!job) return;
      this.inFlight++;
      const done = () => {
        this.inFlight--;
        this.pump();
      };
      let signing: Promise<string>;
      try {
        signing = signRsa2Async(job.raw, this.key, { now: job.datetimeNow });
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
