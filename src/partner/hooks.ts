/**
 * The partner's own code that the handlers call: its price list, its users,
 * giving the goods, hearing of refunds. Types only.
 */
import type { Fen, RefundNotifyRequest } from '../protocol/index.js';
import type { PartnerOrder, Refund } from './store.js';

export interface CatalogItem {
  itemId: string;
  /** Unit price in fen. */
  price: Fen;
  /** Shown in Charge directives; optional here. */
  name?: string;
  /** Largest quantity one order may carry; default unlimited. */
  maxQuantity?: number;
  /** Can be bought again although owned (credits, tips); default false. */
  consumable?: boolean;
  /**
   * Our own extension (DingDang defines no consumables): the item is a pack
   * of this many credits per unit (e.g. 10 for "10次点播卡"). Delivery adds
   * `credits × quantity` to the user's balance (`creditBalance`) instead of a
   * one-time entitlement; the skill spends them with `consumeCredits`.
   * Implies `consumable`. Integer 1–10^9.
   */
  credits?: number;
  /** The balance the credits add to (1–64 characters; several packs may share one). Default the itemId. */
  creditBalance?: string;
  /**
   * What a refund of the order does to its credits (when `revokeOnRefund`
   * takes back what the order granted): `'remaining'` (default) removes what
   * is left of them (at most the pack, never below zero), `'keep'` leaves them.
   */
  creditsOnRefund?: 'remaining' | 'keep';
}

export interface OrderContext {
  skillId: string;
  userToken: string;
}

/** The partner's price list: the item, or `undefined` when it is not for sale (to this user). */
export type CatalogHook = (itemId: string, ctx: OrderContext) => CatalogItem | undefined | Promise<CatalogItem | undefined>;

/** Is `userToken` a user of the partner (e.g. a valid login token)? */
export type UserHook = (userToken: string, ctx: { skillId: string }) => boolean | Promise<boolean>;

export interface DeliverContext {
  /** The stored order (status CREATED, claimed by this caller). */
  order: PartnerOrder;
  /** The platform's order id (from the delivery notification or the order-query answer). */
  transactionId: string;
  /** Stable across retries and processes: use it to make the hook idempotent. Equals `tradeNo`. */
  idempotencyKey: string;
  /** 1 for the first claim of this order, higher when an earlier attempt failed or died. */
  attempt: number;
  /** Aborted when the attempt timed out (the reply is already FAIL). */
  signal: AbortSignal;
}

/** Give the user the goods. Throw to refuse (the reply is FAIL and the platform retries). */
export type DeliverHook = (ctx: DeliverContext) => void | Promise<void>;

export interface RefundNotifyContext {
  notification: RefundNotifyRequest;
  /**
   * Set when the notification disagrees with the partner's books (another
   * order's refundTradeNo, another amount, more than the order): nothing was
   * changed, the notification is acknowledged (the platform would otherwise
   * retry it forever) and reported to `onError` as `ERR_REFUND_MISMATCH`; the
   * hook decides what an operator sees. The platform's word is `notification`.
   */
  mismatch?: { reason: string; stored: Refund | undefined };
}

/** Called after a refund result was recorded. Throwing makes the reply FAIL (the platform retries). */
export type RefundHook = (ctx: RefundNotifyContext) => void | Promise<void>;
