/**
 * 6 退款结果通知: the platform tells the skill backend how a refund ended.
 * The notification must name a stored order (skillId, totalAmt, and the
 * recorded transactionId); a refund not yet known is recorded (bounded by
 * the order total), a known one must match. A final status is never moved
 * back by a late PROCESSING notification.
 */
import type { AckReply, RefundNotifyRequest } from '../protocol/index.js';
import { RefusedError } from './errors.js';
import type { PartnerContext } from './partner-context.js';
import type { Refund } from './store.js';

async function saveRefundOrRefuse(ctx: PartnerContext, refund: Refund): Promise<void> {
  try {
    await ctx.store.saveRefund(refund);
  } catch (e) {
    if ((e as { code?: unknown })?.code === 'ERR_REFUND_EXCEEDS') throw new RefusedError('refund exceeds order');
    throw e;
  }
}

export async function handleRefundNotify(ctx: PartnerContext, n: RefundNotifyRequest): Promise<AckReply> {
  const order = await ctx.store.getOrder(n.tradeNo);
  if (!order) throw new RefusedError('unknown tradeNo');
  if (order.skillId !== n.skillId) throw new RefusedError('skillId mismatch');
  if (order.totalAmt !== n.totalAmt) throw new RefusedError('totalAmt mismatch');
  if (order.transactionId !== null && order.transactionId !== n.transactionId) throw new RefusedError('transactionId mismatch');
  const known = await ctx.store.getRefund(n.refundTradeNo);
  if (known && known.tradeNo !== n.tradeNo) throw new RefusedError('refund belongs to another order');
  if (known && known.refundAmt !== n.refundAmt) throw new RefusedError('refundAmt mismatch');
  if (!known) {
    await saveRefundOrRefuse(ctx, {
      refundTradeNo: n.refundTradeNo,
      tradeNo: n.tradeNo,
      refundAmt: n.refundAmt,
      status: n.refundStatus,
      refundTransactionId: n.refundTransactionId,
      createdAt: ctx.now(),
    });
  }
  // A final status is never moved back by a late PROCESSING notification.
  const final = known && known.status !== 'PROCESSING';
  if (!final) await ctx.store.updateRefund(n.refundTradeNo, { status: n.refundStatus, refundTransactionId: n.refundTransactionId });
  if (ctx.onRefund) await ctx.onRefund({ notification: n });
  return { retCode: 'SUCCESS' };
}
