/**
 * The options of `createPartnerHandlers` and the context they resolve to
 * (keys loaded, defaults filled in), shared by the handlers. The context
 * holds the private key: it stays inside the kit and is never handed out.
 */
import type { KeyObject } from 'node:crypto';
import {
  DEFAULT_TOLERANCE_MS,
  InvalidArgumentError,
  loadPrivateKey,
  loadPublicKey,
  NonceGuard,
  type Clock,
  type KeyInput,
  type MessageKind,
} from '../protocol/index.js';
import type { CatalogHook, DeliverHook, RefundHook, UserHook } from './hooks.js';
import type { PartnerObserver } from './observer.js';
import type { PartnerOrder, PartnerStore } from './store.js';
import { storeReplayGuard, type ReplayGuard } from './store-replay-guard.js';
import { PeerBudget, type PeerLimitOptions } from './peer-budget.js';

export type { ReplayGuard } from './store-replay-guard.js';

export interface PartnerOptions {
  /** The skill(s) this backend sells for; requests naming another skillId are refused. */
  skillId: string | readonly string[];
  /** The platform's public key (PEM, bare Base64, or KeyObject). */
  tskPublicKey: KeyInput;
  /** This backend's private key; signs every reply. */
  skillPrivateKey: KeyInput;
  store: PartnerStore;
  /** The partner's own price list: every order line is checked against it. */
  catalog: CatalogHook;
  /** Gives the goods. Called at least once per paid order with idempotency key `tradeNo`; see docs/partner.md. */
  deliver: DeliverHook;
  /** Optional: is `userToken` one of the partner's users? Default: any non-empty token. */
  user?: UserHook;
  /** Optional: a refund result notification arrived (after it was stored). */
  onRefund?: RefundHook;
  /** Largest accepted request body in bytes; default 64 KiB. */
  maxBodyBytes?: number;
  /** Signature window either way; default 3 minutes. */
  toleranceMs?: number;
  /**
   * Replay guard for `nonceStr`: `check(nonce)` is false for a nonce already
   * seen inside the window. Default a fresh `NonceGuard` per handler set (one
   * process) remembering nonces for twice `toleranceMs` — or, when the store
   * is shared by several instances (`store.shared`: PostgreSQL, SQLite with
   * `shared: true`), the store's guard (`storeReplayGuard`); give a shared one (may be async, e.g. a database table with a
   * unique key) when several backend instances must refuse each other's replays.
   */
  nonceGuard?: ReplayGuard;
  /**
   * What a successful refund takes back: `true` (default) revokes the order's
   * entitlements when a refund of it reaches SUCCESS; `false` keeps them; a
   * function decides per order (e.g. by its items). The delivery record stays.
   */
  revokeOnRefund?: boolean | ((ctx: { order: PartnerOrder; refund: { refundTradeNo: string; refundAmt: number } }) => boolean);
  /**
   * A budget of failed signature checks per peer (peer-budget.ts; our own
   * extension): past it, the peer's requests are refused before their body
   * is read or any signature checked. The adapters give the peer's address.
   * Default on, with loopback and private addresses exempt; `false` turns it off.
   */
  peerLimit?: PeerLimitOptions | false;
  /** Clock (epoch ms); default `Date.now`. */
  now?: Clock;
  /** How long a delivery claim is held before another attempt may take it over; default 60 s. */
  leaseMs?: number;
  /** How long a duplicate waits for a concurrent delivery of the same order before answering FAIL; default 2 s. */
  inProgressWaitMs?: number;
  /**
   * How long the deliver hook may run before the attempt answers FAIL; must
   * be below `leaseMs` (else the claim could lapse while the hook still
   * runs): a larger value throws `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`).
   * Default 20 s, or half of `leaseMs` when that is shorter.
   */
  deliverTimeoutMs?: number;
  /** New `tradeNo` (1–32 of [0-9A-Za-z]); default 32 random characters. */
  newTradeNo?: () => string;
  /**
   * Told about every refused request and internal error (for logs), and about
   * every refused `deliverFromOrderQuery` (kind `orderQueryReply`). Never
   * throws into the reply path.
   */
  onError?: (error: unknown, info: { kind: MessageKind; retMsg: string }) => void;
  /**
   * Told about every request, delivery and refund step (observer.ts; our own
   * extension): ids and outcomes, never keys, tokens or bodies. Adapt it to
   * pino / prom-client with `pinoObserver` / `createPromObserver`. Never
   * throws into the reply path.
   */
  observer?: PartnerObserver;
}

/** The resolved options; internal to the kit (it holds the private key). */
export interface PartnerContext {
  skillIds: ReadonlySet<string>;
  tskPublicKey: KeyObject;
  skillPrivateKey: KeyObject;
  store: PartnerStore;
  catalog: CatalogHook;
  deliver: DeliverHook;
  user: UserHook | undefined;
  onRefund: RefundHook | undefined;
  maxBodyBytes: number;
  toleranceMs: number;
  nonceGuard: ReplayGuard;
  revokeOnRefund: NonNullable<PartnerOptions['revokeOnRefund']>;
  now: Clock;
  leaseMs: number;
  inProgressWaitMs: number;
  deliverTimeoutMs: number;
  newTradeNo: (() => string) | undefined;
  onError: PartnerOptions['onError'];
  observer: PartnerObserver | undefined;
  peerBudget: PeerBudget | undefined;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_DELIVER_TIMEOUT_MS = 20_000;

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
  return v;
}

export function resolvePartnerOptions(options: PartnerOptions): PartnerContext {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('partner options are required');
  const ids = typeof options.skillId === 'string' ? [options.skillId] : [...(options.skillId ?? [])];
  if (ids.length === 0 || ids.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 32))
    throw new InvalidArgumentError('skillId must be 1–32 characters (or a list of such)');
  if (!options.store) throw new InvalidArgumentError('store is required');
  if (typeof options.catalog !== 'function') throw new InvalidArgumentError('catalog must be a function (see catalogFrom)');
  if (typeof options.deliver !== 'function') throw new InvalidArgumentError('deliver must be a function');
  if (options.observer !== undefined && typeof options.observer !== 'function') throw new InvalidArgumentError('observer must be a function');
  const now = options.now ?? (() => Date.now());
  const toleranceMs = positive(options.toleranceMs, DEFAULT_TOLERANCE_MS, 'toleranceMs');
  const leaseMs = positive(options.leaseMs, DEFAULT_LEASE_MS, 'leaseMs');
  // The hook's time limit ends before the claim's lease: a takeover never races a hook the kit still waits for.
  const deliverTimeoutMs = positive(options.deliverTimeoutMs, Math.min(DEFAULT_DELIVER_TIMEOUT_MS, leaseMs / 2), 'deliverTimeoutMs');
  if (deliverTimeoutMs >= leaseMs)
    throw new InvalidArgumentError(
      `deliverTimeoutMs (${deliverTimeoutMs} ms) must be below leaseMs (${leaseMs} ms${options.leaseMs === undefined ? ', the default' : ''}): the claim would lapse while the hook runs`,
    );
  return {
    skillIds: new Set(ids),
    tskPublicKey: loadPublicKey(options.tskPublicKey),
    skillPrivateKey: loadPrivateKey(options.skillPrivateKey),
    store: options.store,
    catalog: options.catalog,
    deliver: options.deliver,
    user: options.user,
    onRefund: options.onRefund,
    maxBodyBytes: positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes'),
    toleranceMs,
    // Remembered for as long as a signature of that tolerance can be replayed; in the store when instances share it.
    nonceGuard:
      options.nonceGuard ??
      (options.store.shared === true && typeof options.store.rememberNonce === 'function'
        ? storeReplayGuard(options.store, { now, toleranceMs })
        : new NonceGuard({ now, toleranceMs })),
    revokeOnRefund: options.revokeOnRefund ?? true,
    now,
    leaseMs,
    inProgressWaitMs: options.inProgressWaitMs === 0 ? 0 : positive(options.inProgressWaitMs, 2_000, 'inProgressWaitMs'),
    deliverTimeoutMs,
    newTradeNo: options.newTradeNo,
    onError: options.onError,
    observer: options.observer,
    peerBudget: options.peerLimit === false ? undefined : new PeerBudget(options.peerLimit ?? {}, now),
  };
}

/** Tell `onError`; a logging hook that throws must not change the answer. */
export function reportError(ctx: Pick<PartnerContext, 'onError'>, error: unknown, kind: MessageKind, retMsg: string): void {
  try {
    ctx.onError?.(error, { kind, retMsg });
  } catch {
    /* a logging hook must not change the answer */
  }
}
