/**
 * Delivery from an order-query answer (`/paycgi/orderquery`, already verified
 * by the pay client) instead of a delivery notification: for a backend that
 * learns of a payment before the notification arrives (the Charge result),
 * or that reconciles its open orders with the platform.
 *
 * The answer goes through the same exactly-once path as a notification
 * (`deliverOnce`: the store's claim, the deliver hook once, the record), so a
 * notification and a query for the same order, in any order or at the same
 * time, deliver once. The answer is checked as a notification is: wire
 * validation, `retCode` SUCCESS with every order field, a skillId this
 * backend sells for, `tradeStatus` SUCCESS, then the stored order (skillId,
 * `totalAmt`, a recorded `transactionId`). The order-query answer has no
 * `userToken`: the stored order's is used. Anything that does not match is
 * refused and changes nothing.
 */
import { parseMessage, type AckReply, type OrderQueryReply } from '../protocol/index.js';
import { deliverOnce, type DeliveryFacts } from './deliver.js';
import { RefusedError, retMsgOf } from './errors.js';
import { PendingReply } from './make-handler.js';
import type { DeliverySource } from './observer.js';
import { reportError, type PartnerContext } from './partner-context.js';

async function factsOf(ctx: PartnerContext, reply: OrderQueryReply): Promise<DeliveryFacts> {
  const q = parseMessage('orderQueryReply', reply);
  if (q.retCode !== 'SUCCESS') throw new RefusedError('order query failed');
  const { skillId, transactionId, tradeNo, totalAmt, tradeStatus } = q;
  // Validation requires these on SUCCESS; checked again for the types.
  if (skillId === undefined || transactionId === undefined || tradeNo === undefined || totalAmt === undefined || tradeStatus === undefined)
    throw new RefusedError('order query incomplete');
  if (!ctx.skillIds.has(skillId)) throw new RefusedError('unknown skillId');
  if (tradeStatus !== 'SUCCESS') throw new RefusedError(`tradeStatus ${tradeStatus}`);
  const order = await ctx.store.getOrder(tradeNo);
  if (!order) throw new RefusedError('unknown tradeNo');
  return { skillId, userToken: order.userToken, transactionId, tradeNo, totalAmt };
}

/**
 * Deliver the order an order-query answer reports paid, exactly once. Never
 * throws: resolves `{ retCode: 'SUCCESS' }` when the order is delivered (now
 * or before), else `{ retCode: 'FAIL', retMsg }` (the reason, as a
 * notification's reply would give it; `onError` is told, kind
 * `orderQueryReply`).
 */
export async function deliverFromOrderQuery(
  ctx: PartnerContext,
  reply: OrderQueryReply,
  source: Extract<DeliverySource, 'orderQuery' | 'reconciler'> = 'orderQuery',
): Promise<AckReply> {
  try {
    const out = await deliverOnce(ctx, await factsOf(ctx, reply), source);
    return out instanceof PendingReply ? await out.settled() : out;
  } catch (e) {
    const retMsg = retMsgOf(e);
    reportError(ctx, e, 'orderQueryReply', retMsg);
    return { retCode: 'FAIL', retMsg };
  }
}
