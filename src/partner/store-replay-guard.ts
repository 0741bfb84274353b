/**
 * A replay guard kept in the store, so several backend instances on one
 * database refuse a `nonceStr` replayed to any of them (a per-process
 * `NonceGuard` only knows its own requests). Each check is one write: the
 * nonce is recorded until `now + windowMs` unless a live record exists.
 */
import { DEFAULT_TOLERANCE_MS, InvalidArgumentError, type Clock } from '../protocol/index.js';
import type { PartnerStore } from './store.js';

/** What the handlers ask of a replay guard: false for a nonce already seen inside its window. */
export interface ReplayGuard {
  check(nonce: string): boolean | Promise<boolean>;
}

export interface StoreReplayGuardOptions {
  /** How long a nonce is remembered; default twice `toleranceMs`. */
  windowMs?: number;
  /** The signature window protected; default 3 minutes. */
  toleranceMs?: number;
  now?: Clock;
}

/** The store's replay guard (the store must implement `rememberNonce`). */
export function storeReplayGuard(store: PartnerStore, options: StoreReplayGuardOptions = {}): ReplayGuard {
  if (!store || typeof store.rememberNonce !== 'function') throw new InvalidArgumentError('this store keeps no nonces (rememberNonce is missing)');
  const windowMs = options.windowMs ?? 2 * (options.toleranceMs ?? DEFAULT_TOLERANCE_MS);
  if (!(windowMs > 0)) throw new InvalidArgumentError('windowMs must be positive');
  const now = options.now ?? (() => Date.now());
  return {
    check: (nonce) => {
      const t = now();
      return store.rememberNonce!(nonce, t + windowMs, t);
    },
  };
}
