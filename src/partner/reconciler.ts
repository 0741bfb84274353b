/**
 * The reconciler: settles through the pay interfaces what the platform's
 * notifications did not. The platform retries a delivery notification "but
 * does not guarantee that it ever succeeds" (seed 2), and the refund result
 * notification is optional (seed 6: a partner may poll 退款查询 instead).
 *
 * One pass (`runOnce`):
 *
 * * orders still `CREATED` (not delivered, not closed) older than `minAgeMs`
 *   → `orderQuery`:
 *   * `SUCCESS` → `handlers.deliverFromOrderQuery`: the very same
 *     exactly-once path as a delivery notification (store claim, deliver
 *     hook, record), so a notification arriving at the same time delivers
 *     nothing twice;
 *   * `FAIL` → closed locally (`FAIL`);
 *   * `NOTPAY` past `closeAfterMs` after creation (the payment window) →
 *     closed locally (`NOTPAY`); before that, and `PROCESSING`, checked
 *     again later;
 *   * the platform answers `retCode: FAIL` (it does not know the order):
 *     checked again later, closed (`UNKNOWN`) once past `closeAfterMs`;
 *   A closed order is no longer checked but stays `CREATED`: a later real
 *   delivery notification still delivers it.
 * * refunds still `PROCESSING` → `refundQuery` → `handlers.refundFromQuery`:
 *   the effect of a refund result notification (the status; SUCCESS revokes
 *   per `revokeOnRefund`), checked again later while PROCESSING.
 *
 * Every item is claimed in the store with a lease first (bounded batches of
 * `batchSize`), so reconcilers in several backend instances sharing one
 * database never check the same item at once. "Later" is a per-item back-off
 * (`backoffMs` doubling up to `maxBackoffMs`, with jitter) kept in the store.
 * Items are handled one at a time, yielding to the event loop between them,
 * so a pass never holds up request handlers in the same process.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { InvalidArgumentError, type Clock } from '../protocol/index.js';
import { PayRemoteError } from './errors.js';
import type { PartnerHandlers } from './handlers.js';
import { codeOf, emit, type PartnerObserver } from './observer.js';
import type { PayClient } from './pay-client.js';
import type { OrderCloseReason, PartnerOrder, PartnerStore, ReconcileSettle, Refund } from './store.js';

/** The store methods reconciliation needs (all built-in stores have them). */
type ReconcileStore = PartnerStore &
  Required<Pick<PartnerStore, 'claimReconcileOrders' | 'settleReconcileOrder' | 'claimReconcileRefunds' | 'settleReconcileRefund'>>;

export interface ReconcilerOptions {
  /** The handlers' store (with the reconcile methods: every built-in store). */
  store: PartnerStore;
  /** The pay client (`createPayClient`), or anything with its `orderQuery` / `refundQuery`. */
  pay: Pick<PayClient, 'orderQuery' | 'refundQuery'>;
  /** The handlers over the same store: delivery and refund effects go through them. */
  handlers: Pick<PartnerHandlers, 'deliverFromOrderQuery' | 'refundFromQuery'>;
  /** An order (refund) is checked once it is this old (ms); default 60 s: the notification usually comes first. */
  minAgeMs?: number;
  /** The payment window (ms): an order still NOTPAY (or unknown to the platform) this long after creation is closed locally; default 30 min. */
  closeAfterMs?: number;
  /** Items claimed per pass, orders and refunds each; default 50. */
  batchSize?: number;
  /** Lease of a claimed item (ms); an item whose lease has under `leaseMarginMs` left is released unchecked; default 10 min. */
  leaseMs?: number;
  /** Default 60 s. Below `leaseMs`. */
  leaseMarginMs?: number;
  /** First wait before an item is checked again (ms), doubling per check; default 30 s. */
  backoffMs?: number;
  /** Longest wait between checks of an item (ms), and between failed passes; default 30 min. */
  maxBackoffMs?: number;
  /** Time between passes of `start()` (ms); default 30 s. */
  intervalMs?: number;
  /** Fraction (0–1) by which waits vary at random, so instances spread out; default 0.2. */
  jitter?: number;
  /** Also settle refunds still PROCESSING; default true. */
  refunds?: boolean;
  /** Clock (epoch ms); default `Date.now`. Use the handlers' clock. */
  now?: Clock;
  /** Told about every failed check (and a failed pass of `start()`); never throws into the pass. */
  onError?: (error: unknown, info: { kind: 'order' | 'refund' | 'pass'; id?: string }) => void;
  /** Random source in [0, 1) for the jitter; default `Math.random`. */
  random?: () => number;
  /**
   * Told about every item checked and every pass (observer.ts; our own
   * extension). Give the handlers' observer too: a delivery the reconciler
   * makes is then a recovered notification. Never throws into the pass.
   */
  observer?: PartnerObserver;
}

/** What one pass did. */
export interface ReconcileReport {
  /** Items claimed by this pass (`orders + refunds`). */
  found: number;
  orders: number;
  refunds: number;
  /** Orders found paid and delivered (by this pass, or by a notification just before). */
  delivered: number;
  /** Orders closed locally (FAIL, NOTPAY or unknown past the payment window). */
  closed: number;
  /** Refunds that reached a final status. */
  refundsSettled: number;
  /** Items checked and still open (NOTPAY in the window, PROCESSING), or released unchecked; all are checked again later. */
  stillOpen: number;
  /** Checks that failed (pay call, refused answer, store); each item is checked again after its back-off. */
  errors: number;
  startedAt: number;
  durationMs: number;
}

export interface Reconciler {
  /** One pass: bounded work (`batchSize` orders and refunds); never rejects for an item's failure (counted in `errors`). */
  runOnce(): Promise<ReconcileReport>;
  /** Run passes every `intervalMs` (with jitter) until `stop()`; a failing pass backs off. Idempotent. */
  start(): void;
  /** End the loop; resolves once the pass in flight (if any) has ended; the rest of its batch is released unchecked. */
  stop(): Promise<void>;
  /** The last report of the loop (or of `runOnce`). */
  readonly lastReport: ReconcileReport | undefined;
  readonly running: boolean;
}

interface Settings {
  minAgeMs: number;
  closeAfterMs: number;
  batchSize: number;
  leaseMs: number;
  leaseMarginMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  intervalMs: number;
  jitter: number;
  refunds: boolean;
}

function ms(v: unknown, fallback: number, what: string, min = 1): number {
  const x = v ?? fallback;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
    throw new InvalidArgumentError(`${what} must be an integer ≥ ${min} (ms), got ${String(x)}`);
  return x;
}

function settingsOf(o: ReconcilerOptions): Settings {
  const leaseMs = ms(o.leaseMs, 600_000, 'leaseMs');
  const leaseMarginMs = ms(o.leaseMarginMs, Math.min(60_000, Math.floor(leaseMs / 2)), 'leaseMarginMs', 0);
  if (leaseMarginMs >= leaseMs) throw new InvalidArgumentError('leaseMarginMs must be below leaseMs');
  const backoffMs = ms(o.backoffMs, 30_000, 'backoffMs');
  const maxBackoffMs = ms(o.maxBackoffMs, 1_800_000, 'maxBackoffMs');
  if (maxBackoffMs < backoffMs) throw new InvalidArgumentError('maxBackoffMs must be at least backoffMs');
  const batchSize = o.batchSize ?? 50;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new InvalidArgumentError('batchSize must be an integer 1–10000');
  const jitter = o.jitter ?? 0.2;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) throw new InvalidArgumentError('jitter must be a number 0–1');
  if (o.refunds !== undefined && typeof o.refunds !== 'boolean') throw new InvalidArgumentError('refunds must be true or false');
  return {
    minAgeMs: ms(o.minAgeMs, 60_000, 'minAgeMs', 0),
    closeAfterMs: ms(o.closeAfterMs, 1_800_000, 'closeAfterMs', 0),
    batchSize,
    leaseMs,
    leaseMarginMs,
    backoffMs,
    maxBackoffMs,
    intervalMs: ms(o.intervalMs, 30_000, 'intervalMs'),
    jitter,
    refunds: o.refunds ?? true,
  };
}

function checkOptions(o: ReconcilerOptions): ReconcileStore {
  if (!o || typeof o !== 'object') throw new InvalidArgumentError('reconciler options are required');
  const s = o.store as Partial<ReconcileStore> | undefined;
  if (!s || typeof s !== 'object') throw new InvalidArgumentError('store is required');
  for (const m of ['claimReconcileOrders', 'settleReconcileOrder', 'claimReconcileRefunds', 'settleReconcileRefund'] as const)
    if (typeof s[m] !== 'function') throw new InvalidArgumentError(`the store has no ${m}: it does not support reconciliation`);
  if (!o.pay || typeof o.pay.orderQuery !== 'function' || typeof o.pay.refundQuery !== 'function')
    throw new InvalidArgumentError('pay must be a pay client (orderQuery, refundQuery)');
  if (!o.handlers || typeof o.handlers.deliverFromOrderQuery !== 'function' || typeof o.handlers.refundFromQuery !== 'function')
    throw new InvalidArgumentError('handlers must be the partner handlers (deliverFromOrderQuery, refundFromQuery)');
  if (o.now !== undefined && typeof o.now !== 'function') throw new InvalidArgumentError('now must be a function');
  if (o.onError !== undefined && typeof o.onError !== 'function') throw new InvalidArgumentError('onError must be a function');
  if (o.observer !== undefined && typeof o.observer !== 'function') throw new InvalidArgumentError('observer must be a function');
  return o.store as ReconcileStore;
}

/** The platform answered a signed `retCode: FAIL` (not a transport or signature problem). */
const platformRefused = (e: unknown): boolean => e instanceof PayRemoteError && (e.reply as { retCode?: unknown } | undefined)?.retCode === 'FAIL';

type Outcome = 'delivered' | 'closed' | 'refundSettled' | 'open' | 'error';

/** What checking one item came to; `status` is the platform's answer (for the observer). */
interface Checked {
  outcome: Outcome;
  settle: ReconcileSettle;
  status?: string;
}

/**
 * A reconciler over one store, pay client and handler set.
 *
 * ```ts
 * const reconciler = createReconciler({ store, pay, handlers });
 * reconciler.start();            // a pass every 30 s (±20 %)
 * // … on shutdown:
 * await reconciler.stop();
 * ```
 */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const store = checkOptions(options);
  const cfg = settingsOf(options);
  const { pay, handlers } = options;
  const now = options.now ?? (() => Date.now());
  const random = options.random ?? Math.random;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastReport: ReconcileReport | undefined;

  const report = (error: unknown, info: { kind: 'order' | 'refund' | 'pass'; id?: string }) => {
    try {
      options.onError?.(error, info);
    } catch {
      /* a logging hook must not change the pass */
    }
  };
  const jittered = (delay: number) => Math.max(1, Math.round(delay * (1 - cfg.jitter + 2 * cfg.jitter * random())));
  /** The wait before the next check of an item claimed `checks` times. */
  const backoff = (checks: number) => jittered(Math.min(cfg.maxBackoffMs, cfg.backoffMs * 2 ** Math.min(30, checks - 1)));

  async function checkOrder(order: PartnerOrder, checks: number): Promise<Checked> {
    const t = now();
    const windowEnd = order.createdAt + cfg.closeAfterMs;
    const later = (): ReconcileSettle => ({ nextCheckAt: t < windowEnd ? Math.min(t + backoff(checks), windowEnd) : t + backoff(checks) });
    const close = (reason: OrderCloseReason, status: string) => ({ outcome: 'closed' as const, settle: { close: reason }, status });
    let answer;
    try {
      answer = await pay.orderQuery({ tradeNo: order.tradeNo });
    } catch (e) {
      if (platformRefused(e)) return t >= windowEnd ? close('UNKNOWN', 'unknown') : { outcome: 'open', settle: later(), status: 'unknown' };
      report(e, { kind: 'order', id: order.tradeNo });
      return { outcome: 'error', settle: later() };
    }
    const status = answer.tradeStatus;
    switch (status) {
      case 'SUCCESS': {
        const r = await handlers.deliverFromOrderQuery(answer, { source: 'reconciler' });
        if (r.retCode === 'SUCCESS') return { outcome: 'delivered', settle: { done: true }, status };
        report(new Error(`order ${order.tradeNo}: delivery from the order query refused: ${r.retMsg ?? 'FAIL'}`), { kind: 'order', id: order.tradeNo });
        return { outcome: 'error', settle: later(), status };
      }
      case 'FAIL':
        return close('FAIL', status);
      case 'NOTPAY':
        return t >= windowEnd ? close('NOTPAY', status) : { outcome: 'open', settle: later(), status };
      default: // PROCESSING: the payment is under way
        return { outcome: 'open', settle: later(), ...(status !== undefined ? { status } : {}) };
    }
  }

  async function checkRefund(refund: Refund, checks: number): Promise<Checked & { settle: { nextCheckAt: number } | { done: true } }> {
    const later = () => ({ nextCheckAt: now() + backoff(checks) });
    let answer;
    try {
      answer = await pay.refundQuery({ refundTradeNo: refund.refundTradeNo });
    } catch (e) {
      // A refund the platform does not know (the request may never have been sent) stays PROCESSING:
      // a retry of requestRefund with the same refundTradeNo, or an operator, settles it.
      report(e, { kind: 'refund', id: refund.refundTradeNo });
      return { outcome: 'error', settle: later() };
    }
    const r = await handlers.refundFromQuery(answer);
    if (r.retCode !== 'SUCCESS') {
      report(new Error(`refund ${refund.refundTradeNo}: the refund query answer was refused: ${r.retMsg ?? 'FAIL'}`), {
        kind: 'refund',
        id: refund.refundTradeNo,
      });
      return { outcome: 'error', settle: later() };
    }
    const status = answer.refundStatus;
    return status === 'PROCESSING'
      ? { outcome: 'open', settle: later(), status }
      : { outcome: 'refundSettled', settle: { done: true }, ...(status !== undefined ? { status } : {}) };
  }

  /** Handle a claimed batch one item at a time; an item whose lease runs low (or the loop stopping) is released unchecked. */
  async function work<T>(
    fromLoop: boolean,
    items: readonly { item: T; checks: number; id: string }[],
    claimedAt: number,
    kind: 'order' | 'refund',
    check: (item: T, checks: number) => Promise<Checked>,
    settle: (id: string, checks: number, s: ReconcileSettle) => Promise<boolean>,
    tally: (o: Outcome) => void,
  ): Promise<void> {
    for (const { item, checks, id } of items) {
      await yieldToLoop();
      let result: Checked;
      if ((fromLoop && stopping) || now() > claimedAt + cfg.leaseMs - cfg.leaseMarginMs) result = { outcome: 'open', settle: { done: true } };
      else {
        try {
          result = await check(item, checks);
        } catch (e) {
          report(e, { kind, id });
          result = { outcome: 'error', settle: { nextCheckAt: now() + backoff(checks) } };
        }
      }
      try {
        await settle(id, checks, result.settle);
      } catch (e) {
        // The lease runs out by itself; the item is checked again after it.
        report(e, { kind, id });
        if (result.outcome === 'open' || result.outcome === 'closed') result = { ...result, outcome: 'error' };
      }
      tally(result.outcome);
      const { tradeNo } = item as { tradeNo?: unknown };
      const close = (result.settle as { close?: OrderCloseReason }).close;
      emit(options.observer, {
        type: 'reconcile.item',
        kind,
        id,
        ...(kind === 'order' ? { tradeNo: id } : { refundTradeNo: id, ...(typeof tradeNo === 'string' ? { tradeNo } : {}) }),
        outcome: result.outcome,
        checks,
        ...(result.status !== undefined ? { status: result.status } : {}),
        ...(close !== undefined ? { closeReason: close } : {}),
      });
    }
  }

  async function pass(fromLoop: boolean): Promise<ReconcileReport> {
    const startedAt = now();
    const r: ReconcileReport = {
      found: 0,
      orders: 0,
      refunds: 0,
      delivered: 0,
      closed: 0,
      refundsSettled: 0,
      stillOpen: 0,
      errors: 0,
      startedAt,
      durationMs: 0,
    };
    const tally = (o: Outcome) => {
      if (o === 'delivered') r.delivered++;
      else if (o === 'closed') r.closed++;
      else if (o === 'refundSettled') r.refundsSettled++;
      else if (o === 'open') r.stillOpen++;
      else r.errors++;
    };
    const claim = { createdBefore: Math.max(0, startedAt - cfg.minAgeMs), now: startedAt, limit: cfg.batchSize, leaseMs: cfg.leaseMs };
    const orders = await store.claimReconcileOrders(claim);
    r.orders = orders.length;
    await work(
      fromLoop,
      orders.map((c) => ({ item: c.order, checks: c.checks, id: c.order.tradeNo })),
      startedAt,
      'order',
      checkOrder,
      (id, checks, s) => store.settleReconcileOrder(id, checks, s, now()),
      tally,
    );
    if (cfg.refunds && !(fromLoop && stopping)) {
      const at = now();
      const refunds = await store.claimReconcileRefunds({ ...claim, createdBefore: Math.max(0, at - cfg.minAgeMs), now: at });
      r.refunds = refunds.length;
      await work(
        fromLoop,
        refunds.map((c) => ({ item: c.refund, checks: c.checks, id: c.refund.refundTradeNo })),
        at,
        'refund',
        checkRefund,
        (id, checks, s) => store.settleReconcileRefund(id, checks, s as { nextCheckAt: number } | { done: true }, now()),
        tally,
      );
    }
    r.found = r.orders + r.refunds;
    r.durationMs = Math.max(0, now() - startedAt);
    lastReport = r;
    const { startedAt: _at, ...counts } = r;
    emit(options.observer, { type: 'reconcile.pass', ...counts });
    return r;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let wait = cfg.intervalMs;
      try {
        await pass(true);
        failures = 0;
      } catch (e) {
        // The store failed: back off (doubling) instead of hammering it.
        failures++;
        report(e, { kind: 'pass' });
        const code = codeOf(e);
        emit(options.observer, { type: 'reconcile.failed', ...(code !== undefined ? { code } : {}) });
        wait = Math.min(cfg.maxBackoffMs, cfg.intervalMs * 2 ** Math.min(30, failures));
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, jittered(wait));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    runOnce: () => pass(false),
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
    },
    async stop() {
      stopping = true;
      wake?.();
      const l = loop;
      loop = undefined;
      await l;
    },
    get lastReport() {
      return lastReport;
    },
    get running() {
      return loop !== undefined;
    },
  };
}
