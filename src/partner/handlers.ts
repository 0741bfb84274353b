/**
 * The handler set: the three interfaces the platform calls on a skill backend
 * (SPEC §4) — 1 create order, 2 delivery notification, 6 refund result
 * notification — each through the same pipeline (make-handler.ts), over one
 * store and one key pair; plus delivery from a verified order-query answer
 * through the same exactly-once path as the notification, and a refund's
 * result from a verified refund-query answer with the notification's effect.
 */
import type { AckReply, OrderQueryReply, RefundQueryReply } from '../protocol/index.js';
import { handleCreateOrder } from './create-order.js';
import { deliverOnce } from './deliver.js';
import { deliverFromOrderQuery } from './deliver-from-order-query.js';
import { makeHandler, type PartnerHandler } from './make-handler.js';
import { resolvePartnerOptions, type PartnerOptions } from './partner-context.js';
import { refundFromQuery } from './refund-from-query.js';
import { handleRefundNotify } from './refund-notify.js';

export interface PartnerHandlers {
  /** 1 创建订单. */
  createOrder: PartnerHandler;
  /** 2 通知发货. */
  deliver: PartnerHandler;
  /** 6 退款结果通知. */
  refundNotify: PartnerHandler;
  /**
   * Deliver the order an order-query answer (`PayClient.orderQuery`, already
   * verified) reports paid, through the same exactly-once path as a delivery
   * notification. Resolves `{ retCode: 'SUCCESS' }` once the order is
   * delivered (by this call or before), else `{ retCode: 'FAIL', retMsg }`
   * and nothing changed (not paid, unknown order, amount / skillId /
   * transactionId mismatch, the hook failed). Never throws. `source`
   * (default `orderQuery`) only names the caller to the observer: the
   * reconciler passes `reconciler`, so a delivery it makes counts as a
   * recovered notification.
   */
  deliverFromOrderQuery(reply: OrderQueryReply, options?: { source?: 'orderQuery' | 'reconciler' }): Promise<AckReply>;
  /**
   * Record the result a refund-query answer (`PayClient.refundQuery`, already
   * verified) reports for a stored refund, with the same effect as a refund
   * result notification (the status; SUCCESS revokes per `revokeOnRefund`).
   * `{ retCode: 'SUCCESS' }` once applied, else `{ retCode: 'FAIL', retMsg }`
   * and nothing changed. Never throws. Used by the reconciler.
   */
  refundFromQuery(reply: RefundQueryReply): Promise<AckReply>;
}

/**
 * The handlers over one store and one key pair.
 *
 * ```ts
 * const h = createPartnerHandlers({ skillId, tskPublicKey, skillPrivateKey, store, catalog, deliver });
 * const res = await h.deliver({ headers: req.headers, rawBody });
 * ```
 */
export function createPartnerHandlers(options: PartnerOptions): PartnerHandlers {
  const ctx = resolvePartnerOptions(options);
  return {
    createOrder: makeHandler(ctx, 'createOrderRequest', (m) => handleCreateOrder(ctx, m)),
    deliver: makeHandler(ctx, 'deliverNotifyRequest', (m) => deliverOnce(ctx, m)),
    refundNotify: makeHandler(ctx, 'refundNotifyRequest', (m) => handleRefundNotify(ctx, m)),
    deliverFromOrderQuery: (reply, options) => deliverFromOrderQuery(ctx, reply, options?.source === 'reconciler' ? 'reconciler' : 'orderQuery'),
    refundFromQuery: (reply) => refundFromQuery(ctx, reply),
  };
}
