/**
 * Refunds on PostgreSQL: recording one (unique `refundTradeNo`, bounded by
 * the order total) and moving its status. Each runs in a transaction of the
 * store (postgres.ts) that first locks the order row (`SELECT … FOR UPDATE`),
 * so every refund of one order is serialised and the sum never passes
 * `totalAmt`, whichever instance writes it.
 */
import type pg from 'pg';
import { StoreError } from '../errors.js';
import type { Refund } from '../store.js';
import { checkRefundBound, COUNTED_REFUND_STATUSES_SQL, countsAgain, refundCounts } from './common.js';
import { toRefund, type RefundRow } from './postgres-schema.js';

export const GET_REFUND = 'SELECT * FROM partner_refunds WHERE refund_trade_no = $1';
const LOCK_ORDER = 'SELECT total_amt FROM partner_orders WHERE trade_no = $1 FOR UPDATE';
const REFUNDED = `SELECT COALESCE(SUM(refund_amt), 0) AS sum FROM partner_refunds WHERE trade_no = $1 AND status IN (${COUNTED_REFUND_STATUSES_SQL})`;

async function refundedOf(c: pg.PoolClient, tradeNo: string): Promise<number> {
  const sum = await c.query<{ sum: string }>(REFUNDED, [tradeNo]);
  return Number(sum.rows[0]?.sum ?? 0);
}

/** Inside a transaction: the refund, stored now or before (then the stored one is returned unchanged). */
export async function saveRefundTx(c: pg.PoolClient, refund: Refund): Promise<Refund> {
  // the order row lock serialises every refund of this order
  const order = await c.query<{ total_amt: string }>(LOCK_ORDER, [refund.tradeNo]);
  if (!order.rows[0]) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
  const again = await c.query<RefundRow>(GET_REFUND, [refund.refundTradeNo]);
  if (again.rows[0]) return toRefund(again.rows[0]);
  if (refundCounts(refund.status)) checkRefundBound(refund, await refundedOf(c, refund.tradeNo), Number(order.rows[0].total_amt));
  const ins = await c.query<RefundRow>(
    `INSERT INTO partner_refunds (refund_trade_no, trade_no, refund_amt, status, refund_transaction_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (refund_trade_no) DO NOTHING RETURNING *`,
    [refund.refundTradeNo, refund.tradeNo, refund.refundAmt, refund.status, refund.refundTransactionId, refund.createdAt],
  );
  if (ins.rows[0]) return toRefund(ins.rows[0]);
  // the same refundTradeNo was saved meanwhile for another order: return that one
  const other = await c.query<RefundRow>(GET_REFUND, [refund.refundTradeNo]);
  return toRefund(other.rows[0]!);
}

/** Inside a transaction: the refund (of order `tradeNo`) after the patch, or undefined when there is none. */
export async function updateRefundTx(
  c: pg.PoolClient,
  tradeNo: string,
  refundTradeNo: string,
  patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>,
): Promise<Refund | undefined> {
  // lock order first, then the refund: the same order as saveRefund
  const order = await c.query<{ total_amt: string }>(LOCK_ORDER, [tradeNo]);
  const cur = await c.query<RefundRow>('SELECT * FROM partner_refunds WHERE refund_trade_no = $1 FOR UPDATE', [refundTradeNo]);
  const r = cur.rows[0];
  if (!r) return undefined;
  if (countsAgain(r.status, patch)) checkRefundBound(toRefund(r), await refundedOf(c, tradeNo), Number(order.rows[0]?.total_amt ?? 0));
  const upd = await c.query<RefundRow>(
    `UPDATE partner_refunds
        SET status = COALESCE($2, status),
            refund_transaction_id = CASE WHEN $3 THEN $4 ELSE refund_transaction_id END
      WHERE refund_trade_no = $1 RETURNING *`,
    [refundTradeNo, patch.status ?? null, patch.refundTransactionId !== undefined, patch.refundTransactionId ?? null],
  );
  return upd.rows[0] && toRefund(upd.rows[0]);
}
