/** The SQLite store's SQL: every statement, prepared once per connection. */
import type Database from 'better-sqlite3';
import { COUNTED_REFUND_STATUSES_SQL } from './common.js';
import type { OrderRow, RefundRow } from './sqlite-schema.js';

/** Every statement of the store, prepared once per connection (spelled out: the declarations must name them). */
export interface Statements {
  getOrder: Database.Statement<[string], OrderRow>;
  insertOrder: Database.Statement;
  claim: Database.Statement<{ tradeNo: string; transactionId: string; until: number; now: number }, OrderRow>;
  claimChecked: Database.Statement<
    { tradeNo: string; transactionId: string; until: number; now: number; skillId: string; userToken: string; totalAmt: number },
    OrderRow
  >;
  complete: Database.Statement<{ tradeNo: string; now: number }, OrderRow>;
  release: Database.Statement<{ tradeNo: string; attempt: number | null }>;
  owns: Database.Statement<[string, string, string], { one: number }>;
  getRefund: Database.Statement<[string], RefundRow>;
  refunded: Database.Statement<[string], { sum: number }>;
  insertRefund: Database.Statement;
  updateRefund: Database.Statement;
  rememberNonce: Database.Statement<{ nonce: string; until: number; now: number }, { nonce: string }>;
  sweepNonces: Database.Statement<[number]>;
  revoke: Database.Statement<[string]>;
  claimReconcileOrders: Database.Statement<ReconcileClaimParams, OrderRow>;
  settleReconcileOrder: Database.Statement<{ tradeNo: string; checks: number; next: number | null; reason: string | null; now: number }>;
  claimReconcileRefunds: Database.Statement<ReconcileClaimParams, RefundRow>;
  settleReconcileRefund: Database.Statement<{ refundTradeNo: string; checks: number; next: number | null }>;
  markRevoked: Database.Statement<[string]>;
  takeBackCredits: Database.Statement<{ skillId: string; userToken: string; balance: string; count: number }>;
  history: Database.Statement<HistoryParams, OrderRow & { refunded: number }>;
  getCredits: Database.Statement<[string, string, string], { credits: number }>;
  consumeCredits: Database.Statement<{ skillId: string; userToken: string; balance: string; count: number }, { credits: number }>;
}

export interface HistoryParams {
  skillId: string;
  userToken: string;
  cAt: number | null;
  cNo: string | null;
  limit: number;
}

export interface ReconcileClaimParams {
  until: number;
  now: number;
  createdBefore: number;
  limit: number;
}

/** Due for a reconcile pass: old enough, its back-off passed, not held by another pass. */
const DUE = `created_at <= @createdBefore AND (next_check_at IS NULL OR next_check_at <= @now)
      AND (reconcile_until IS NULL OR reconcile_until <= @now)`;

export function prepareStatements(db: Database.Database): Statements {
  return {
    getOrder: db.prepare<[string], OrderRow>('SELECT * FROM partner_orders WHERE trade_no = ?'),
    insertOrder: db.prepare(
      `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at, credits)
       VALUES (@tradeNo, @skillId, @userToken, @details, @totalAmt, @createdAt, @credits)`,
    ),
    claim: db.prepare<{ tradeNo: string; transactionId: string; until: number; now: number }, OrderRow>(
      `UPDATE partner_orders
          SET claim_until = @until, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, @transactionId)
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= @now)
        RETURNING *`,
    ),
    /** The claim, only when the order matches the notification (else no row changes). */
    claimChecked: db.prepare<
      { tradeNo: string; transactionId: string; until: number; now: number; skillId: string; userToken: string; totalAmt: number },
      OrderRow
    >(
      `UPDATE partner_orders
          SET claim_until = @until, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, @transactionId)
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= @now)
          AND skill_id = @skillId AND user_token = @userToken AND total_amt = @totalAmt
          AND (transaction_id IS NULL OR transaction_id = @transactionId)
        RETURNING *`,
    ),
    complete: db.prepare<{ tradeNo: string; now: number }, OrderRow>(
      `UPDATE partner_orders SET status = 'DELIVERED', delivered_at = @now, claim_until = NULL
        WHERE trade_no = @tradeNo AND status = 'CREATED'
        RETURNING *`,
    ),
    release: db.prepare<{ tradeNo: string; attempt: number | null }>(
      `UPDATE partner_orders SET claim_until = NULL
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (@attempt IS NULL OR attempts = @attempt)`,
    ),
    owns: db.prepare<[string, string, string], { one: number }>(
      `SELECT 1 AS one FROM partner_entitlements e JOIN partner_orders o ON o.trade_no = e.trade_no
        WHERE e.skill_id = ? AND e.user_token = ? AND e.item_id = ? AND o.status = 'DELIVERED' LIMIT 1`,
    ),
    getRefund: db.prepare<[string], RefundRow>('SELECT * FROM partner_refunds WHERE refund_trade_no = ?'),
    refunded: db.prepare<[string], { sum: number }>(
      `SELECT COALESCE(SUM(refund_amt), 0) AS sum FROM partner_refunds WHERE trade_no = ? AND status IN (${COUNTED_REFUND_STATUSES_SQL})`,
    ),
    insertRefund: db.prepare(
      `INSERT INTO partner_refunds (refund_trade_no, trade_no, refund_amt, status, refund_transaction_id, created_at)
       VALUES (@refundTradeNo, @tradeNo, @refundAmt, @status, @refundTransactionId, @createdAt)`,
    ),
    updateRefund: db.prepare(
      `UPDATE partner_refunds
          SET status = COALESCE(@status, status),
              refund_transaction_id = CASE WHEN @setTx = 1 THEN @refundTransactionId ELSE refund_transaction_id END
        WHERE refund_trade_no = @refundTradeNo`,
    ),
    /** A row comes back iff the nonce was new or its record had expired. */
    rememberNonce: db.prepare<{ nonce: string; until: number; now: number }, { nonce: string }>(
      `INSERT INTO partner_nonces (nonce, expires_at) VALUES (@nonce, @until)
       ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE partner_nonces.expires_at <= @now
       RETURNING nonce`,
    ),
    revoke: db.prepare<[string]>('DELETE FROM partner_entitlements WHERE trade_no = ?'),
    /** One statement (an implicit write transaction): a batch of due open orders, each claimed with a lease. */
    claimReconcileOrders: db.prepare<ReconcileClaimParams, OrderRow>(
      `UPDATE partner_orders SET reconcile_until = @until, reconcile_checks = reconcile_checks + 1
        WHERE trade_no IN (
          SELECT trade_no FROM partner_orders
           WHERE status = 'CREATED' AND closed_at IS NULL AND ${DUE}
           ORDER BY COALESCE(next_check_at, created_at), trade_no LIMIT @limit)
        RETURNING *`,
    ),
    settleReconcileOrder: db.prepare<{ tradeNo: string; checks: number; next: number | null; reason: string | null; now: number }>(
      `UPDATE partner_orders
          SET reconcile_until = NULL,
              next_check_at = COALESCE(@next, next_check_at),
              closed_at = CASE WHEN @reason IS NOT NULL AND status = 'CREATED' THEN @now ELSE closed_at END,
              close_reason = CASE WHEN @reason IS NOT NULL AND status = 'CREATED' THEN @reason ELSE close_reason END
        WHERE trade_no = @tradeNo AND reconcile_checks = @checks`,
    ),
    claimReconcileRefunds: db.prepare<ReconcileClaimParams, RefundRow>(
      `UPDATE partner_refunds SET reconcile_until = @until, reconcile_checks = reconcile_checks + 1
        WHERE refund_trade_no IN (
          SELECT refund_trade_no FROM partner_refunds
           WHERE status = 'PROCESSING' AND ${DUE}
           ORDER BY COALESCE(next_check_at, created_at), refund_trade_no LIMIT @limit)
        RETURNING *`,
    ),
    settleReconcileRefund: db.prepare<{ refundTradeNo: string; checks: number; next: number | null }>(
      `UPDATE partner_refunds SET reconcile_until = NULL, next_check_at = COALESCE(@next, next_check_at)
        WHERE refund_trade_no = @refundTradeNo AND reconcile_checks = @checks`,
    ),
    markRevoked: db.prepare<[string]>(`UPDATE partner_orders SET revoked = 1 WHERE trade_no = ?`),
    /** What is left of a grant: at most its count, never below zero. */
    takeBackCredits: db.prepare<{ skillId: string; userToken: string; balance: string; count: number }>(
      `UPDATE partner_credits SET credits = credits - MIN(credits, @count)
        WHERE skill_id = @skillId AND user_token = @userToken AND balance = @balance`,
    ),
    /** A page of the user's delivered orders, newest first, with their successful refunds (one row more than the page: is there a next?). */
    history: db.prepare<HistoryParams, OrderRow & { refunded: number }>(
      `SELECT o.*, (SELECT COALESCE(SUM(r.refund_amt), 0) FROM partner_refunds r WHERE r.trade_no = o.trade_no AND r.status = 'SUCCESS') AS refunded
         FROM partner_orders o
        WHERE o.skill_id = @skillId AND o.user_token = @userToken AND o.status = 'DELIVERED'
          AND (@cAt IS NULL OR o.created_at < @cAt OR (o.created_at = @cAt AND o.trade_no < @cNo))
        ORDER BY o.created_at DESC, o.trade_no DESC LIMIT @limit`,
    ),
    getCredits: db.prepare<[string, string, string], { credits: number }>(
      'SELECT credits FROM partner_credits WHERE skill_id = ? AND user_token = ? AND balance = ?',
    ),
    /** All or nothing: a row comes back only when the balance covered the count. */
    consumeCredits: db.prepare<{ skillId: string; userToken: string; balance: string; count: number }, { credits: number }>(
      `UPDATE partner_credits SET credits = credits - @count
        WHERE skill_id = @skillId AND user_token = @userToken AND balance = @balance AND credits >= @count
        RETURNING credits`,
    ),
    sweepNonces: db.prepare<[number]>(
      'DELETE FROM partner_nonces WHERE rowid IN (SELECT rowid FROM partner_nonces WHERE expires_at <= ? ORDER BY expires_at LIMIT 500)',
    ),
  };
}
