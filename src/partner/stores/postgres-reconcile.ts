/**
 * Reconciliation on PostgreSQL (reconciler.ts): a batch of due open orders
 * (or refunds still PROCESSING) is picked with `FOR UPDATE SKIP LOCKED` and
 * leased in the same statement, so passes running at once in several
 * instances take disjoint batches without waiting for each other; the
 * WHERE clause is re-checked on the locked row, so an item leased meanwhile
 * is never handed out twice. Ending a pass is a conditional UPDATE on the
 * claim's `reconcile_checks`.
 *
 * The pass's lease (`reconcile_until`) is dated by the database's clock
 * unless the store uses `leaseClock: 'caller'`; when an item is due
 * (`next_check_at`, `created_at`) is the caller's business and its clock.
 */
import type { OrderReconcileState, ReconcileClaimOptions, ReconcileOrderClaim, ReconcileRefundClaim, ReconcileSettle } from '../store.js';
import { DB_NOW_MS, type LeaseClock, type Query } from './postgres-claims.js';
import { toOrder, toReconcileState, toRefund, type OrderRow, type RefundRow } from './postgres-schema.js';

// $1 createdBefore, $2 the caller's now, $3 limit, $4 the lease: now + leaseMs (caller's clock) or leaseMs (database clock)
const due = (clock: LeaseClock) =>
  `created_at <= $1 AND (next_check_at IS NULL OR next_check_at <= $2) AND (reconcile_until IS NULL OR reconcile_until <= ${clock === 'caller' ? '$2' : DB_NOW_MS})`;
const leaseUntil = (clock: LeaseClock) => (clock === 'caller' ? '$4' : `${DB_NOW_MS} + $4::bigint`);

const claimOrdersSql = (clock: LeaseClock) => `
WITH picked AS (
  SELECT trade_no FROM partner_orders
   WHERE status = 'CREATED' AND closed_at IS NULL AND ${due(clock)}
   ORDER BY COALESCE(next_check_at, created_at), trade_no
   LIMIT $3
   FOR UPDATE SKIP LOCKED
)
UPDATE partner_orders o SET reconcile_until = ${leaseUntil(clock)}, reconcile_checks = o.reconcile_checks + 1
  FROM picked WHERE o.trade_no = picked.trade_no
RETURNING o.*`;

const claimRefundsSql = (clock: LeaseClock) => `
WITH picked AS (
  SELECT refund_trade_no FROM partner_refunds
   WHERE status = 'PROCESSING' AND ${due(clock)}
   ORDER BY COALESCE(next_check_at, created_at), refund_trade_no
   LIMIT $3
   FOR UPDATE SKIP LOCKED
)
UPDATE partner_refunds r SET reconcile_until = ${leaseUntil(clock)}, reconcile_checks = r.reconcile_checks + 1
  FROM picked WHERE r.refund_trade_no = picked.refund_trade_no
RETURNING r.*`;
const SQL = {
  orders: { database: claimOrdersSql('database'), caller: claimOrdersSql('caller') },
  refunds: { database: claimRefundsSql('database'), caller: claimRefundsSql('caller') },
};

const dueAt = (r: { next_check_at: string | null; created_at: string }) => Number(r.next_check_at ?? r.created_at);
const byDue =
  <R extends { next_check_at: string | null; created_at: string }>(key: (r: R) => string) =>
  (a: R, b: R): number =>
    dueAt(a) - dueAt(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

const params = (o: ReconcileClaimOptions, clock: LeaseClock) => [o.createdBefore, o.now, o.limit, clock === 'caller' ? o.now + o.leaseMs : o.leaseMs];

export async function claimReconcileOrders(q: Query, o: ReconcileClaimOptions, clock: LeaseClock = 'database'): Promise<ReconcileOrderClaim[]> {
  const rows = await q<OrderRow>('claimReconcileOrders', SQL.orders[clock], params(o, clock));
  return rows.sort(byDue((r) => r.trade_no)).map((r) => ({ order: toOrder(r), checks: r.reconcile_checks }));
}

export async function settleReconcileOrder(q: Query, tradeNo: string, checks: number, settle: ReconcileSettle, now: number): Promise<boolean> {
  const rows = await q<{ trade_no: string }>(
    'settleReconcileOrder',
    `UPDATE partner_orders
        SET reconcile_until = NULL,
            next_check_at = COALESCE($3::bigint, next_check_at),
            closed_at = CASE WHEN $4::text IS NOT NULL AND status = 'CREATED' THEN $5::bigint ELSE closed_at END,
            close_reason = CASE WHEN $4::text IS NOT NULL AND status = 'CREATED' THEN $4::text ELSE close_reason END
      WHERE trade_no = $1 AND reconcile_checks = $2
      RETURNING trade_no`,
    [tradeNo, checks, 'nextCheckAt' in settle ? settle.nextCheckAt : null, 'close' in settle ? settle.close : null, now],
  );
  return rows.length > 0;
}

export async function claimReconcileRefunds(q: Query, o: ReconcileClaimOptions, clock: LeaseClock = 'database'): Promise<ReconcileRefundClaim[]> {
  const rows = await q<RefundRow>('claimReconcileRefunds', SQL.refunds[clock], params(o, clock));
  return rows.sort(byDue((r) => r.refund_trade_no)).map((r) => ({ refund: toRefund(r), checks: r.reconcile_checks }));
}

export async function settleReconcileRefund(q: Query, refundTradeNo: string, checks: number, nextCheckAt: number | null): Promise<boolean> {
  const rows = await q<{ refund_trade_no: string }>(
    'settleReconcileRefund',
    `UPDATE partner_refunds SET reconcile_until = NULL, next_check_at = COALESCE($3::bigint, next_check_at)
      WHERE refund_trade_no = $1 AND reconcile_checks = $2
      RETURNING refund_trade_no`,
    [refundTradeNo, checks, nextCheckAt],
  );
  return rows.length > 0;
}

export async function getReconcileState(q: Query, tradeNo: string): Promise<OrderReconcileState | undefined> {
  const rows = await q<OrderRow>('getReconcileState', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
  return rows[0] && toReconcileState(rows[0]);
}
