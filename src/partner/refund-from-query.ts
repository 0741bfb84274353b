/**
 * A refund's result from a refund-query answer (`/paycgi/refundquery`,
 * already verified by the pay client) instead of a refund result
 * notification, which the platform need not send (seed 6: a partner may poll
 * 退款查询 instead): the reconciler's path for refunds still `PROCESSING`.
 *
 * The answer must name a refund this backend recorded (`requestRefund`
 * stores it first), of the same order and amount, and the stored order
 * (skillId, totalAmt, a recorded transactionId); then the effect is exactly a
 * notification's (`applyRefundResult`: the status, and a SUCCESS revokes per
 * `revokeOnRefund`). Anything that does not match changes nothing. The
 * `onRefund` hook is not called (it receives notifications only).
 */
import { parseMessage, type AckReply, type RefundQueryReply } from '../protocol/index.js';
import { RefusedError, retMsgOf } from './errors.js';
import { reportError, type PartnerContext } from './partner-context.js';
import { applyRefundResult } from './refund-notify.js';

async function apply(ctx: PartnerContext, reply: RefundQueryReply): Promise<AckReply> {
  const q = parseMessage('refundQueryReply', reply);
  if (q.retCode !== 'SUCCESS') throw new RefusedError('refund query failed');
  const { skillId, transactionId, tradeNo, totalAmt, refundTradeNo, refundTransactionId, refundAmt, refundStatus } = q;
  if (
    skillId === undefined ||
    transactionId === undefined ||
    tradeNo === undefined ||
    totalAmt === undefined ||
    refundTradeNo === undefined ||
    refundTransactionId === undefined ||
    refundAmt === undefined ||
    refundStatus === undefined
  )
    throw new RefusedError('refund query incomplete');
  if (!ctx.skillIds.has(skillId)) throw new RefusedError('unknown skillId');
  const known = await ctx.store.getRefund(refundTradeNo);
  if (!known) throw new RefusedError('unknown refundTradeNo');
  if (known.tradeNo !== tradeNo) throw new RefusedError('refund of another order');
  if (known.refundAmt !== refundAmt) throw new RefusedError('refundAmt mismatch');
  const order = await ctx.store.getOrder(tradeNo);
  if (!order) throw new RefusedError('unknown tradeNo');
  if (order.skillId !== skillId) throw new RefusedError('skillId mismatch');
  if (order.totalAmt !== totalAmt) throw new RefusedError('totalAmt mismatch');
  if (order.transactionId !== null && order.transactionId !== transactionId) throw new RefusedError('transactionId mismatch');
  await applyRefundResult(ctx, order, known, { refundTradeNo, refundAmt, refundStatus, refundTransactionId }, 'query');
  return { retCode: 'SUCCESS' };
}

/**
 * Record the result a refund-query answer reports, with the effect of a
 * refund result notification. Never throws: `{ retCode: 'SUCCESS' }` once
 * applied (a PROCESSING answer is applied too: nothing final yet), else
 * `{ retCode: 'FAIL', retMsg }` and nothing changed (`onError` is told, kind
 * `refundQueryReply`).
 */
export async function refundFromQuery(ctx: PartnerContext, reply: RefundQueryReply): Promise<AckReply> {
  try {
    return await apply(ctx, reply);
  } catch (e) {
    const retMsg = retMsgOf(e);
    reportError(ctx, e, 'refundQueryReply', retMsg);
    return { retCode: 'FAIL', retMsg };
  }
}
