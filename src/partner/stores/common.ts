/**
 * Helpers shared by the three stores: what an order grants, which refunds
 * count towards the order total and the bound they keep, copies, and whether
 * a stored order matches a delivery's facts. Argument checks: check-args.ts.
 */
import { InvalidArgumentError, type OrderDetail, type RefundStatus } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type { CreditGrant, DeliveryExpectation, PartnerOrder, PurchaseStatus, Refund } from '../store.js';

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
  const copy: PartnerOrder = { ...o, details: structuredClone(o.details) };
  if (o.credits) copy.credits = copyCredits(o.credits)!;
  return copy;
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

/** Longest credit balance name. */
export const CREDIT_BALANCE_MAX = 64;

/**
 * The purchase-history cursor: `<createdAt>.<tradeNo>` of the last purchase
 * of a page (opaque to callers; our own format). The next page holds the
 * purchases strictly before it in (createdAt, tradeNo) order.
 */
export interface HistoryCursor {
  createdAt: number;
  tradeNo: string;
}

export const formatCursor = (p: HistoryCursor): string => `${p.createdAt}.${p.tradeNo}`;

export function parseCursor(cursor: unknown): HistoryCursor {
  const m = typeof cursor === 'string' ? /^(0|[1-9][0-9]{0,15})\.([0-9A-Za-z]{1,32})$/.exec(cursor) : null;
  const createdAt = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(createdAt)) throw new InvalidArgumentError('cursor must be a nextCursor of listPurchases');
  return { createdAt, tradeNo: m[2]! };
}

/** A purchase's status from its revocation mark and its successful refunds. */
export const purchaseStatus = (revoked: boolean, refundedAmt: number): PurchaseStatus => (revoked ? 'revoked' : refundedAmt > 0 ? 'refunded' : 'delivered');

/** Sum of the credits per balance (one order may grant several lines to one balance). */
export function creditsByBalance(grants: readonly CreditGrant[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of grants) m.set(g.balance, (m.get(g.balance) ?? 0) + g.count);
  return m;
}

/** Copy of the grants, or undefined when there are none (the order then has no `credits` field). */
export const copyCredits = (grants: readonly CreditGrant[] | null | undefined): CreditGrant[] | undefined =>
  grants && grants.length > 0 ? grants.map((g) => ({ itemId: g.itemId, balance: g.balance, count: g.count, onRefund: g.onRefund })) : undefined;
