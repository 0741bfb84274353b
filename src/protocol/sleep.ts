/**
 * `sleep(ms, signal?)`: a promise that resolves after `ms`; an abort of
 * `signal` (before or during) rejects it with `TimeoutError('aborted')`.
 * Browser-safe.
 */
import { TimeoutError } from './errors.js';

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new TimeoutError('aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new TimeoutError('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
