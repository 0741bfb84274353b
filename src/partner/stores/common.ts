/**
 * Helpers shared by the three stores: what an order grants, which refunds
 * count towards the order total and the bound they keep, copies, and whether
 * a stored order matches a delivery's facts. Argument checks: check-args.ts.
 */
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type { DeliveryExpectation, PartnerOrder, Refund } from '../store.js';

/** userToken has no length limit in the seed: allow long opaque tokens. */
export const USER_TOKEN_MAX = 8192;

/** Distinct item ids of an order: what delivering it grants. */
export function itemIdsOf(details: readonly OrderDetail[]): string[] {
  return [...new Set(details.map((d) => d.itemId))];
}

/** Refunds in these states count towards what has been refunded of an order. */
export const COUNTED_REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS'];

/** SQL list of the counted statuses, for `status IN (…)`. */
export const COUNTED_REFUND_STATUSES_SQL = COUNTED_REFUND_STATUSES.map((s) => `'${s}'`).join(', ');

/** Does a refund count towards its order (PROCESSING or SUCCESS)? */
export const refundCounts = (status: RefundStatus): boolean => COUNTED_REFUND_STATUSES.includes(status);

/** Does this patch bring a refund that did not count (FAIL) back to counting? Then the bound is checked again. */
export function countsAgain(current: RefundStatus, patch: Partial<Pick<Refund, 'status'>>): boolean {
  return patch.status !== undefined && !refundCounts(current) && refundCounts(patch.status);
}

/**
 * The bound every store keeps: the counted refunds of an order never pass its
 * `totalAmt`. `already` is what already counts, without `refund`.
 */
export function checkRefundBound(refund: Pick<Refund, 'refundTradeNo' | 'tradeNo' | 'refundAmt'>, already: number, total: number): void {
  if (already + refund.refundAmt <= total) return;
  throw new StoreError(
    'ERR_REFUND_EXCEEDS',
    `refund ${refund.refundTradeNo} of ${refund.refundAmt} fen would exceed order ${refund.tradeNo}: ${already} of ${total} fen already refunded`,
  );
}

export function copyOrder(o: PartnerOrder): PartnerOrder {
  return { ...o, details: structuredClone(o.details) };
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
