/**
 * The argument checks of every `PartnerStore` method, one place for the
 * three stores: a store calls `checkArgs.<method>(…)` with its arguments
 * before touching any state, so bad input is an `InvalidArgumentError`
 * (`ERR_INVALID_ARGUMENT`) and changes nothing, alike in every store.
 */
import { InvalidArgumentError, REFUND_STATUSES, isFen, isOrderNo } from '../../protocol/index.js';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import type { DeliveryExpectation, NewOrder, PartnerStore, PurchasePageOptions, ReconcileClaimOptions, ReconcileSettle, Refund } from '../store.js';
import { parseCursor } from './common.js';
import { CREDIT_BALANCE_MAX, USER_TOKEN_MAX } from './common.js';

type RefundPatch = Partial<Pick<Refund, 'status' | 'refundTransactionId'>>;

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** Non-empty, bounded, and without NUL (PostgreSQL text cannot hold it; all stores refuse it alike). */
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && !v.includes('\u0000');

function checkTradeNo(tradeNo: unknown, what = 'tradeNo'): asserts tradeNo is string {
  if (!isOrderNo(tradeNo)) throw new InvalidArgumentError(`${what} must be 1–32 characters of [0-9A-Za-z], got ${JSON.stringify(tradeNo)}`);
}

function checkText(value: unknown, what: string, max = 1024): asserts value is string {
  if (!isText(value, max)) throw new InvalidArgumentError(`${what} must be a non-empty string of at most ${max} characters, without NUL`);
}

function checkTime(value: unknown, what: string): asserts value is number {
  if (!isTime(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer (ms), got ${String(value)}`);
}

function checkNewOrder(order: NewOrder): void {
  if (order === null || typeof order !== 'object') throw new InvalidArgumentError('order must be an object');
  checkTradeNo(order.tradeNo);
  checkText(order.skillId, 'skillId');
  checkText(order.userToken, 'userToken', USER_TOKEN_MAX);
  if (!isFen(order.totalAmt)) throw new InvalidArgumentError('totalAmt must be a non-negative integer number of fen');
  checkTime(order.createdAt, 'createdAt');
  if (!Array.isArray(order.details) || order.details.length === 0) throw new InvalidArgumentError('details must be a non-empty array');
  order.details.forEach((d: OrderDetail, i) => {
    if (d === null || typeof d !== 'object') throw new InvalidArgumentError(`details[${i}] must be an object`);
    checkText(d.itemId, `details[${i}].itemId`);
    if (!Number.isSafeInteger(d.quantity) || d.quantity < 1) throw new InvalidArgumentError(`details[${i}].quantity must be an integer ≥ 1`);
    if (!isFen(d.amount)) throw new InvalidArgumentError(`details[${i}].amount must be a non-negative integer number of fen`);
  });
  if (order.credits !== undefined) {
    if (!Array.isArray(order.credits) || order.credits.length > order.details.length)
      throw new InvalidArgumentError('credits must be an array, at most one grant per order line');
    const lines = new Set(order.details.map((d) => d.itemId));
    order.credits.forEach((g, i) => {
      if (g === null || typeof g !== 'object') throw new InvalidArgumentError(`credits[${i}] must be an object`);
      if (!lines.has(g.itemId)) throw new InvalidArgumentError(`credits[${i}].itemId must name a line of details`);
      checkText(g.balance, `credits[${i}].balance`, CREDIT_BALANCE_MAX);
      checkCount(g.count, `credits[${i}].count`);
      if (g.onRefund !== 'remaining' && g.onRefund !== 'keep') throw new InvalidArgumentError(`credits[${i}].onRefund must be 'remaining' or 'keep'`);
    });
  }
}

/** Credits per grant or per consumption: 1 … 10^9. */
function checkCount(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 1e9)
    throw new InvalidArgumentError(`${what} must be an integer 1–1000000000, got ${String(value)}`);
}

function checkUser(skillId: unknown, userToken: unknown): void {
  checkText(skillId, 'skillId');
  checkText(userToken, 'userToken', USER_TOKEN_MAX);
}

function checkPage(o: PurchasePageOptions): void {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('options must be an object');
  if (!Number.isSafeInteger(o.limit) || o.limit < 1 || o.limit > 100) throw new InvalidArgumentError(`limit must be an integer 1–100, got ${String(o.limit)}`);
  if (o.cursor !== undefined && o.cursor !== null) parseCursor(o.cursor);
}

function checkClaim(tradeNo: unknown, transactionId: unknown, leaseMs: unknown, now: unknown): void {
  checkTradeNo(tradeNo);
  checkText(transactionId, 'transactionId', 64);
  if (typeof leaseMs !== 'number' || !Number.isSafeInteger(leaseMs) || leaseMs < 1) {
    throw new InvalidArgumentError(`leaseMs must be a positive integer, got ${String(leaseMs)}`);
  }
  checkTime(now, 'now');
}

function checkAttempt(attempt: unknown): void {
  if (attempt !== undefined && (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1)) {
    throw new InvalidArgumentError(`attempt must be a positive integer, got ${String(attempt)}`);
  }
}

function checkRefundStatus(status: unknown): asserts status is RefundStatus {
  if (!REFUND_STATUSES.includes(status as RefundStatus)) throw new InvalidArgumentError(`refund status must be one of ${REFUND_STATUSES.join(', ')}`);
}

function checkRefund(refund: Refund): void {
  if (refund === null || typeof refund !== 'object') throw new InvalidArgumentError('refund must be an object');
  checkTradeNo(refund.refundTradeNo, 'refundTradeNo');
  checkTradeNo(refund.tradeNo);
  if (!isFen(refund.refundAmt) || refund.refundAmt < 1) throw new InvalidArgumentError('refundAmt must be a positive integer number of fen');
  checkRefundStatus(refund.status);
  if (refund.refundTransactionId !== null) checkText(refund.refundTransactionId, 'refundTransactionId', 64);
  checkTime(refund.createdAt, 'createdAt');
}

function checkRefundPatch(patch: RefundPatch): void {
  if (patch === null || typeof patch !== 'object') throw new InvalidArgumentError('patch must be an object');
  if (patch.status !== undefined) checkRefundStatus(patch.status);
  if (patch.refundTransactionId !== undefined && patch.refundTransactionId !== null) {
    checkText(patch.refundTransactionId, 'refundTransactionId', 64);
  }
}

function checkExpectation(expect: unknown): asserts expect is DeliveryExpectation {
  if (expect === null || typeof expect !== 'object') throw new InvalidArgumentError('expect must be an object');
  const e = expect as Partial<DeliveryExpectation>;
  checkText(e.skillId, 'expect.skillId');
  checkText(e.userToken, 'expect.userToken', USER_TOKEN_MAX);
  if (!isFen(e.totalAmt)) throw new InvalidArgumentError('expect.totalAmt must be a non-negative integer number of fen');
}

const CLOSE_REASONS = ['NOTPAY', 'FAIL', 'UNKNOWN'];

function checkReconcileClaim(o: ReconcileClaimOptions): void {
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('reconcile claim options must be an object');
  checkTime(o.createdBefore, 'createdBefore');
  checkTime(o.now, 'now');
  if (!Number.isSafeInteger(o.limit) || o.limit < 1 || o.limit > 10_000)
    throw new InvalidArgumentError(`limit must be an integer 1–10000, got ${String(o.limit)}`);
  if (!Number.isSafeInteger(o.leaseMs) || o.leaseMs < 1) throw new InvalidArgumentError(`leaseMs must be a positive integer, got ${String(o.leaseMs)}`);
}

function checkSettle(checks: number, settle: ReconcileSettle, now: number, closable: boolean): void {
  if (!Number.isSafeInteger(checks) || checks < 1) throw new InvalidArgumentError(`checks must be a positive integer, got ${String(checks)}`);
  checkTime(now, 'now');
  if (settle === null || typeof settle !== 'object') throw new InvalidArgumentError('settle must be an object');
  if ('nextCheckAt' in settle) checkTime(settle.nextCheckAt, 'nextCheckAt');
  else if ('close' in settle) {
    if (!closable) throw new InvalidArgumentError('a refund cannot be closed: it ends by its status');
    if (!CLOSE_REASONS.includes(settle.close)) throw new InvalidArgumentError(`close must be one of ${CLOSE_REASONS.join(', ')}`);
  } else if (!('done' in settle) || settle.done !== true) throw new InvalidArgumentError('settle must be { nextCheckAt }, { close } or { done: true }');
}

/** Per method, what its arguments must be; the same signature as the method. */
export const checkArgs = {
  createOrder(order: NewOrder): void {
    checkNewOrder(order);
  },
  getOrder(tradeNo: string): void {
    checkTradeNo(tradeNo);
  },
  claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): void {
    checkClaim(tradeNo, transactionId, leaseMs, now);
  },
  claimDeliveryChecked(tradeNo: string, transactionId: string, expect: DeliveryExpectation, leaseMs: number, now: number): void {
    checkClaim(tradeNo, transactionId, leaseMs, now);
    checkExpectation(expect);
  },
  completeDelivery(tradeNo: string, now: number): void {
    checkTradeNo(tradeNo);
    checkTime(now, 'now');
  },
  releaseDelivery(tradeNo: string, attempt?: number): void {
    checkTradeNo(tradeNo);
    checkAttempt(attempt);
  },
  ownsItem(skillId: string, userToken: string, itemId: string): void {
    checkText(skillId, 'skillId');
    checkText(userToken, 'userToken', USER_TOKEN_MAX);
    checkText(itemId, 'itemId');
  },
  saveRefund(refund: Refund): void {
    checkRefund(refund);
  },
  getRefund(refundTradeNo: string): void {
    checkTradeNo(refundTradeNo, 'refundTradeNo');
  },
  updateRefund(refundTradeNo: string, patch: RefundPatch): void {
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    checkRefundPatch(patch);
  },
  revokeEntitlements(tradeNo: string): void {
    checkTradeNo(tradeNo);
  },
  rememberNonce(nonce: string, expiresAt: number, now: number): void {
    checkText(nonce, 'nonce', 64);
    checkTime(expiresAt, 'expiresAt');
    checkTime(now, 'now');
  },
  claimReconcileOrders(options: ReconcileClaimOptions): void {
    checkReconcileClaim(options);
  },
  settleReconcileOrder(tradeNo: string, checks: number, settle: ReconcileSettle, now: number): void {
    checkTradeNo(tradeNo);
    checkSettle(checks, settle, now, true);
  },
  claimReconcileRefunds(options: ReconcileClaimOptions): void {
    checkReconcileClaim(options);
  },
  settleReconcileRefund(refundTradeNo: string, checks: number, settle: { nextCheckAt: number } | { done: true }, now: number): void {
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    checkSettle(checks, settle, now, false);
  },
  getReconcileState(tradeNo: string): void {
    checkTradeNo(tradeNo);
  },
  listPurchases(skillId: string, userToken: string, options: PurchasePageOptions): void {
    checkUser(skillId, userToken);
    checkPage(options);
  },
  getCredits(skillId: string, userToken: string, balance: string): void {
    checkUser(skillId, userToken);
    checkText(balance, 'balance', CREDIT_BALANCE_MAX);
  },
  consumeCredits(skillId: string, userToken: string, balance: string, count: number): void {
    checkUser(skillId, userToken);
    checkText(balance, 'balance', CREDIT_BALANCE_MAX);
    checkCount(count, 'count');
  },
} satisfies { [M in Exclude<keyof PartnerStore, 'init' | 'close' | 'shared'>]-?: (...args: Parameters<NonNullable<PartnerStore[M]>>) => void };
