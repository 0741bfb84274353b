/**
 * 6 退款结果通知: the platform tells the skill backend how a refund ended.
 * The notification must name a stored order (skillId, totalAmt, and the
 * recorded transactionId); a refund not yet known is recorded (bounded by
 * the order total). A final status is never moved back by a late PROCESSING
 * notification. A notification that disagrees with the books (the
 * refundTradeNo of another order, another amount, more than the order) is
 * acknowledged and reported — `onError` with `ERR_REFUND_MISMATCH`, the
 * refund hook with `mismatch` — instead of refused forever: nothing changes,
 * an operator decides.
 */
import type { AckReply, RefundNotifyRequest } from '../protocol/index.js';
import { RefundError, RefusedError } from './errors.js';
import { emit, type RefundSource } from './observer.js';
import { reportError, type PartnerContext } from './partner-context.js';
import type { PartnerOrder, Refund } from './store.js';

/** What a refund result says, from a notification or a refund-query answer. */
export type RefundResultFacts = Pick<RefundNotifyRequest, 'refundTradeNo' | 'refundAmt' | 'refundStatus' | 'refundTransactionId'>;

/**
 * The effect of a refund's result on the books, one function for the refund
 * result notification and for a refund-query answer (the reconciler): the
 * stored status moves (a final one is never moved back), and a refund that
 * went through takes back what the order granted (`revokeOnRefund`;
 * idempotent on repeats; not after the refund was recorded as failed).
 * `known` is the stored refund as read before (undefined: just saved).
 */
export async function applyRefundResult(
  ctx: PartnerContext,
  order: PartnerOrder,
  known: Refund | undefined,
  r: RefundResultFacts,
  source: Exclude<RefundSource, 'request'> = 'notification',
): Promise<void> {
  const final = known && known.status !== 'PROCESSING';
  if (!final) await ctx.store.updateRefund(r.refundTradeNo, { status: r.refundStatus, refundTransactionId: r.refundTransactionId });
  let revoked: number | undefined;
  if (r.refundStatus === 'SUCCESS' && (!known || known.status !== 'FAIL')) {
    const rule = ctx.revokeOnRefund;
    if (rule === true || (typeof rule === 'function' && rule({ order, refund: { refundTradeNo: r.refundTradeNo, refundAmt: r.refundAmt } })))
      revoked = await ctx.store.revokeEntitlements(order.tradeNo);
  }
  emit(ctx.observer, {
    type: 'refund',
    source,
    outcome: final ? 'duplicate' : r.refundStatus === 'PROCESSING' ? 'open' : 'final',
    refundTradeNo: r.refundTradeNo,
    tradeNo: order.tradeNo,
    refundAmt: r.refundAmt,
    status: final ? known.status : r.refundStatus,
    ...(revoked !== undefined ? { revoked } : {}),
  });
}

async function mismatch(ctx: PartnerContext, n: RefundNotifyRequest, reason: string, stored: Refund | undefined): Promise<AckReply> {
  reportError(ctx, new RefundError('ERR_REFUND_MISMATCH', `refund ${n.refundTradeNo}: ${reason}`), 'refundNotifyRequest', reason);
  const { refundTradeNo, tradeNo, refundAmt, refundStatus: status } = n;
  emit(ctx.observer, { type: 'refund', source: 'notification', outcome: 'mismatch', refundTradeNo, tradeNo, refundAmt, status, reason });
  if (ctx.onRefund) await ctx.onRefund({ notification: n, mismatch: { reason, stored } });
  return { retCode: 'SUCCESS' };
}

export async function handleRefundNotify(ctx: PartnerContext, n: RefundNotifyRequest): Promise<AckReply> {
  const order = await ctx.store.getOrder(n.tradeNo);
  if (!order) throw new RefusedError('unknown tradeNo');
  if (order.skillId !== n.skillId) throw new RefusedError('skillId mismatch');
  if (order.totalAmt !== n.totalAmt) throw new RefusedError('totalAmt mismatch');
  if (order.transactionId !== null && order.transactionId !== n.transactionId) throw new RefusedError('transactionId mismatch');
  const known = await ctx.store.getRefund(n.refundTradeNo);
  if (known && known.tradeNo !== n.tradeNo) return mismatch(ctx, n, 'refund belongs to another order', known);
  if (known && known.refundAmt !== n.refundAmt) return mismatch(ctx, n, 'refundAmt mismatch', known);
  if (!known) {
    try {
      await ctx.store.saveRefund({
        refundTradeNo: n.refundTradeNo,
        tradeNo: n.tradeNo,
        refundAmt: n.refundAmt,
        status: n.refundStatus,
        refundTransactionId: n.refundTransactionId,
        createdAt: ctx.now(),
      });
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'ERR_REFUND_EXCEEDS') return mismatch(ctx, n, 'refund exceeds order', undefined);
      throw e;
    }
  }
  await applyRefundResult(ctx, order, known, n);
  if (ctx.onRefund) await ctx.onRefund({ notification: n });
  return { retCode: 'SUCCESS' };
}
