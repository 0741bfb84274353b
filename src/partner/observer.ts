/**
 * What the partner kit tells an observer: one typed event per platform
 * request, per delivery, per refund step and per reconciliation step — our
 * own extension (DingDang defines no telemetry). The adapters in
 * `observability/` turn the events into pino log lines (`pinoObserver`) and
 * prom-client metrics (`createPromObserver`); both libraries are optional
 * peers and the kit runs without either (no observer: nothing is emitted).
 *
 * Events carry ids and outcomes only: `skillId`, `tradeNo`, `transactionId`
 * (the platform's order id), `refundTradeNo` — never a key, a token
 * (`userToken`, `accessToken`), a signature, an `Authorization` header or a
 * body. Ids of a request appear only once its signature verified (a forged
 * request's claims are not repeated). An observer that throws changes
 * nothing: every call is guarded.
 */
import type { RefundStatus } from '../protocol/index.js';

/** The three interfaces the platform calls on a skill backend. */
export type PartnerInterface = 'createOrder' | 'deliver' | 'refundNotify';

/** Ids an event may name (never tokens or keys). */
export interface PartnerIds {
  skillId?: string;
  tradeNo?: string;
  /** The platform's order id. */
  transactionId?: string;
  refundTradeNo?: string;
}

/**
 * A platform request answered by a handler. `success`: `retCode` SUCCESS;
 * `refused`: a signed FAIL because of the request (signature, validation,
 * replay, the interface's checks, ALREADY_OWNED); `error`: a FAIL because of
 * the backend (store, hook: "internal error").
 */
export interface RequestEvent extends PartnerIds {
  type: 'request';
  interface: PartnerInterface;
  outcome: 'success' | 'refused' | 'error';
  retCode: 'SUCCESS' | 'FAIL';
  retMsg?: string;
  /** Why a FAIL: a short, bounded label (`signature:stale`, `validation`, `replay`, or the `retMsg`). */
  reason?: string;
  durationMs: number;
}

/** Who asked for a delivery: a delivery notification, an order-query answer, or the reconciler's order query. */
export type DeliverySource = 'notification' | 'orderQuery' | 'reconciler';

/**
 * One delivery attempt through the exactly-once path. `delivered`: this call
 * ran the deliver hook and recorded it; `duplicate`: the order was already
 * delivered (or another caller finished it meanwhile) — an exactly-once hit;
 * `failed`: refused, the hook failed or timed out, or the record failed.
 */
export interface DeliveryEvent {
  type: 'delivery';
  source: DeliverySource;
  outcome: 'delivered' | 'duplicate' | 'failed';
  skillId: string;
  tradeNo: string;
  transactionId: string;
  /** The claim's attempt (1 = first), when this call claimed the order. */
  attempt?: number;
  /** From the claim to the durable record (hook + record), when delivered. */
  durationMs?: number;
  /** Why it failed (the reply's retMsg). */
  reason?: string;
}

/** Who moved a refund: `requestRefund`, a refund result notification, or a refund-query answer (the reconciler). */
export type RefundSource = 'request' | 'notification' | 'query';

/**
 * A refund step. `requested`: recorded and sent (`PROCESSING`); `final`: it
 * reached SUCCESS / FAIL now; `duplicate`: a repeated result for a refund
 * already final; `open`: still PROCESSING; `mismatch`: a notification that
 * disagrees with the books (acknowledged, nothing changed); `failed`: the
 * request failed (it stays PROCESSING for a retry unless `status` says FAIL).
 */
export interface RefundEvent {
  type: 'refund';
  source: RefundSource;
  outcome: 'requested' | 'final' | 'duplicate' | 'open' | 'mismatch' | 'failed';
  refundTradeNo: string;
  tradeNo: string;
  refundAmt: number;
  status: RefundStatus;
  /** Entitlements taken back by a successful refund (`revokeOnRefund`). */
  revoked?: number;
  reason?: string;
}

/** One item a reconcile pass checked (see reconciler.ts). */
export interface ReconcileItemEvent {
  type: 'reconcile.item';
  kind: 'order' | 'refund';
  /** The order's `tradeNo`, or the refund's `refundTradeNo`. */
  id: string;
  tradeNo?: string;
  refundTradeNo?: string;
  outcome: 'delivered' | 'closed' | 'refundSettled' | 'open' | 'error';
  /** How many passes have claimed it, this one included. */
  checks: number;
  /** What the platform answered (`tradeStatus` / `refundStatus`), when it did. */
  status?: string;
  closeReason?: string;
}

/** A reconcile pass ended (its report's counts). */
export interface ReconcilePassEvent {
  type: 'reconcile.pass';
  found: number;
  orders: number;
  refunds: number;
  delivered: number;
  closed: number;
  refundsSettled: number;
  stillOpen: number;
  errors: number;
  durationMs: number;
}

/** A reconcile pass failed as a whole (the store); the loop backs off. */
export interface ReconcileFailedEvent {
  type: 'reconcile.failed';
  /** The error's stable `code`, when it has one. */
  code?: string;
}

export type PartnerEvent = RequestEvent | DeliveryEvent | RefundEvent | ReconcileItemEvent | ReconcilePassEvent | ReconcileFailedEvent;

/** Told about every event, synchronously; must not block. */
export type PartnerObserver = (event: PartnerEvent) => void;

/** One observer telling several (e.g. logs and metrics). */
export function combineObservers(...observers: ReadonlyArray<PartnerObserver | undefined>): PartnerObserver {
  const list = observers.filter((o): o is PartnerObserver => typeof o === 'function');
  return (event) => {
    for (const o of list) emit(o, event);
  };
}

/** Tell the observer (if any); an observer that throws changes nothing. */
export function emit(observer: PartnerObserver | undefined, event: PartnerEvent): void {
  if (!observer) return;
  try {
    observer(event);
  } catch {
    /* an observer must not change the answer */
  }
}

/** The stable `code` of an error, when it has one (never its message: it may quote a hook's text). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.length <= 64 ? code : undefined;
}
