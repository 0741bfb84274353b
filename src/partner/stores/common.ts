/**
 * Argument checks and helpers shared by the three stores. A store checks its
 * arguments before touching any state, so bad input changes nothing.
 */
import { InvalidArgumentError, REFUND_STATUSES, isFen, isOrderNo } from '../../protocol/index.js';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import type { DeliveryExpectation, NewOrder, PartnerOrder, Refund } from '../store.js';

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** Non-empty, bounded, and without NUL (PostgreSQL text cannot hold it; all stores refuse it alike). */
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && !v.includes('\u0000');

export function checkTradeNo(tradeNo: unknown, what = 'tradeNo'): asserts tradeNo is string {
  if (!isOrderNo(tradeNo)) throw new InvalidArgumentError(`${what} must be 1–32 characters of [0-9A-Za-z], got ${JSON.stringify(tradeNo)}`);
}

export function checkText(value: unknown, what: string, max = 1024): asserts value is string {
  if (!isText(value, max)) throw new InvalidArgumentError(`${what} must be a non-empty string of at most ${max} characters, without NUL`);
}

/** userToken has no length limit in the seed: allow long opaque tokens. */
export const USER_TOKEN_MAX = 8192;

export function checkTime(value: unknown, what: string): asserts value is number {
  if (!isTime(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer (ms), got ${String(value)}`);
}

export function checkNewOrder(order: NewOrder): void {
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
}

export function checkClaim(tradeNo: unknown, transactionId: unknown, leaseMs: unknown, now: unknown): void {
  checkTradeNo(tradeNo);
  checkText(transactionId, 'transactionId', 64);
  if (typeof leaseMs !== 'number' || !Number.isSafeInteger(leaseMs) || leaseMs < 1) {
    throw new InvalidArgumentError(`leaseMs must be a positive integer, got ${String(leaseMs)}`);
  }
  checkTime(now, 'now');
}

export function checkAttempt(attempt: unknown): void {
  if (attempt !== undefined && (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1)) {
    throw new InvalidArgumentError(`attempt must be a positive integer, got ${String(attempt)}`);
  }
}

export function checkRefundStatus(status: unknown): asserts status is RefundStatus {
  if (!REFUND_STATUSES.includes(status as RefundStatus)) throw new InvalidArgumentError(`refund status must be one of ${REFUND_STATUSES.join(', ')}`);
}

export function checkRefund(refund: Refund): void {
  if (refund === null || typeof refund !== 'object') throw new InvalidArgumentError('refund must be an object');
  checkTradeNo(refund.refundTradeNo, 'refundTradeNo');
  checkTradeNo(refund.tradeNo);
  if (!isFen(refund.refundAmt) || refund.refundAmt < 1) throw new InvalidArgumentError('refundAmt must be a positive integer number of fen');
  checkRefundStatus(refund.status);
  if (refund.refundTransactionId !== null) checkText(refund.refundTransactionId, 'refundTransactionId', 64);
  checkTime(refund.createdAt, 'createdAt');
}

export function checkRefundPatch(patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): void {
  if (patch === null || typeof patch !== 'object') throw new InvalidArgumentError('patch must be an object');
  if (patch.status !== undefined) checkRefundStatus(patch.status);
  if (patch.refundTransactionId !== undefined && patch.refundTransactionId !== null) {
    checkText(patch.refundTransactionId, 'refundTransactionId', 64);
  }
}

/** Distinct item ids of an order: what delivering it grants. */
export function itemIdsOf(details: readonly OrderDetail[]): string[] {
  return [...new Set(details.map((d) => d.itemId))];
}

/** Refunds in these states count towards what has been refunded of an order. */
export const COUNTED_REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS'];

export function copyOrder(o: PartnerOrder): PartnerOrder {
  return { ...o, details: structuredClone(o.details) };
}

export function checkExpectation(expect: unknown): asserts expect is DeliveryExpectation {
  if (expect === null || typeof expect !== 'object') throw new InvalidArgumentError('expect must be an object');
  const e = expect as Partial<DeliveryExpectation>;
  checkText(e.skillId, 'expect.skillId');
  checkText(e.userToken, 'expect.userToken', USER_TOKEN_MAX);
  if (!isFen(e.totalAmt)) throw new InvalidArgumentError('expect.totalAmt must be a non-negative integer number of fen');
}

/** Does the stored order match what the notification says? (A recorded transactionId must be the notification's.) */
export function orderMatches(
  order: { skillId: string; userToken: string; totalAmt: number; transactionId: string | null },
  transactionId: string,
  expect: DeliveryExpectation,
): boolean {
  return (
    order.skillId === expect.skillId &&
    order.userToken === expect.userToken &&
    order.totalAmt === expect.totalAmt &&
    (order.transactionId === null || order.transactionId === transactionId)
  );
}
