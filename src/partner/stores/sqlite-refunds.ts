/**
 * Refunds on SQLite: recording one (unique `refundTradeNo`, bounded by the
 * order total) and moving its status. Each runs inside one `BEGIN IMMEDIATE`
 * transaction of the store (sqlite.ts), so the bound holds across processes.
 */
import { StoreError } from '../errors.js';
import type { Refund } from '../store.js';
import { checkRefundBound, countsAgain, refundCounts } from './common.js';
import { toRefund } from './sqlite-schema.js';
import type { Statements } from './sqlite-statements.js';

/** The refund, stored now or before (then the stored one is returned unchanged). */
export function saveRefundBody(st: Statements, refund: Refund): Refund {
  const existing = st.getRefund.get(refund.refundTradeNo);
  if (existing) return toRefund(existing);
  const order = st.getOrder.get(refund.tradeNo);
  if (!order) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
  if (refundCounts(refund.status)) checkRefundBound(refund, st.refunded.get(refund.tradeNo)?.sum ?? 0, order.total_amt);
  st.insertRefund.run({
    refundTradeNo: refund.refundTradeNo,
    tradeNo: refund.tradeNo,
    refundAmt: refund.refundAmt,
    status: refund.status,
    refundTransactionId: refund.refundTransactionId,
    createdAt: refund.createdAt,
  });
  return toRefund(st.getRefund.get(refund.refundTradeNo)!);
}

/** The refund after the patch, or undefined when there is none. */
export function updateRefundBody(st: Statements, refundTradeNo: string, patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): Refund | undefined {
  const r = st.getRefund.get(refundTradeNo);
  if (!r) return undefined;
  if (countsAgain(r.status, patch)) {
    const current = toRefund(r);
    checkRefundBound(current, st.refunded.get(r.trade_no)?.sum ?? 0, st.getOrder.get(r.trade_no)?.total_amt ?? 0);
  }
  st.updateRefund.run({
    refundTradeNo,
    status: patch.status ?? null,
    setTx: patch.refundTransactionId !== undefined ? 1 : 0,
    refundTransactionId: patch.refundTransactionId ?? null,
  });
  return toRefund(st.getRefund.get(refundTradeNo)!);
}
