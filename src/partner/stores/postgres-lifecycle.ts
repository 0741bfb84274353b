/**
 * The entitlement lifecycle on PostgreSQL: purchase history, credits (our
 * own extension: consumables with a count) and revocation.
 *
 * The schema part is POSTGRES_LIFECYCLE_SCHEMA (postgres-schema.ts).
 *
 * * A delivery whose order grants credits is one transaction: the status
 *   UPDATE (the claim's row lock), its entitlements, and the balances
 *   (`INSERT … ON CONFLICT DO UPDATE`, one row per balance).
 * * Consuming is one conditional `UPDATE … WHERE credits >= n RETURNING`:
 *   under READ COMMITTED a concurrent consumer waits for the row lock and
 *   re-checks the condition on the new balance, so exactly the balance's
 *   worth of consumers succeed, whichever instance they run in.
 * * Revoking locks the order row (`FOR UPDATE`) first, then the balances,
 *   the same order as a delivery, so the two never deadlock.
 */
import type pg from 'pg';
import { StoreError } from '../errors.js';
import type { CreditConsumption, PartnerOrder, Purchase, PurchasePage, PurchasePageOptions } from '../store.js';
import { creditsByBalance, formatCursor, itemIdsOf, parseCursor, purchaseStatus } from './common.js';
import type { Query } from './postgres-claims.js';
import { toOrder, type OrderRow } from './postgres-schema.js';

const ADD_CREDITS = `INSERT INTO partner_credits (skill_id, user_token, balance, credits) VALUES ($1, $2, $3, $4)
  ON CONFLICT (skill_id, user_token, balance) DO UPDATE SET credits = partner_credits.credits + EXCLUDED.credits`;

/** Inside a transaction: record the delivery of an order that grants credits, with its entitlements and balances (idempotent). */
export async function completeWithCreditsTx(c: pg.ClientBase, tradeNo: string, now: number): Promise<PartnerOrder> {
  const done = await c.query<OrderRow>(
    `UPDATE partner_orders SET status = 'DELIVERED', delivered_at = $2, claim_until = NULL
      WHERE trade_no = $1 AND status = 'CREATED' RETURNING *`,
    [tradeNo, now],
  );
  const row = done.rows[0];
  if (!row) {
    const cur = await c.query<OrderRow>('SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    if (!cur.rows[0]) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
    return toOrder(cur.rows[0]);
  }
  const order = toOrder(row);
  await c.query(
    `INSERT INTO partner_entitlements (skill_id, user_token, item_id, trade_no, granted_at)
     SELECT $1, $2, i.item_id, $3, $4 FROM unnest($5::text[]) AS i(item_id) ON CONFLICT DO NOTHING`,
    [order.skillId, order.userToken, tradeNo, now, itemIdsOf(order.details)],
  );
  for (const [balance, count] of creditsByBalance(order.credits ?? [])) await c.query(ADD_CREDITS, [order.skillId, order.userToken, balance, count]);
  return order;
}

/** Inside a transaction: take back what a delivered order granted (once); how many entitlements and credit grants. */
export async function revokeTx(c: pg.ClientBase, tradeNo: string): Promise<number> {
  const cur = await c.query<OrderRow>('SELECT * FROM partner_orders WHERE trade_no = $1 FOR UPDATE', [tradeNo]);
  const row = cur.rows[0];
  if (!row || row.status !== 'DELIVERED' || row.revoked) return 0;
  await c.query('UPDATE partner_orders SET revoked = true WHERE trade_no = $1', [tradeNo]);
  const gone = await c.query('DELETE FROM partner_entitlements WHERE trade_no = $1', [tradeNo]);
  let n = gone.rowCount ?? 0;
  const order = toOrder(row);
  for (const g of order.credits ?? []) {
    if (g.onRefund !== 'remaining') continue;
    await c.query(
      `UPDATE partner_credits SET credits = credits - LEAST(credits, $4)
        WHERE skill_id = $1 AND user_token = $2 AND balance = $3`,
      [order.skillId, order.userToken, g.balance, g.count],
    );
    n++;
  }
  return n;
}

export async function listPurchases(q: Query, skillId: string, userToken: string, options: PurchasePageOptions): Promise<PurchasePage> {
  const after = options.cursor ? parseCursor(options.cursor) : undefined;
  const rows = await q<OrderRow & { refunded: string }>(
    'listPurchases',
    `SELECT o.*, (SELECT COALESCE(SUM(r.refund_amt), 0) FROM partner_refunds r WHERE r.trade_no = o.trade_no AND r.status = 'SUCCESS') AS refunded
       FROM partner_orders o
      WHERE o.skill_id = $1 AND o.user_token = $2 AND o.status = 'DELIVERED'
        AND ($3::bigint IS NULL OR o.created_at < $3::bigint OR (o.created_at = $3::bigint AND o.trade_no COLLATE "C" < $4::text COLLATE "C"))
      ORDER BY o.created_at DESC, o.trade_no COLLATE "C" DESC
      LIMIT $5`,
    [skillId, userToken, after?.createdAt ?? null, after?.tradeNo ?? null, options.limit + 1],
  );
  const page = rows.slice(0, options.limit).map((r): Purchase => {
    const o = toOrder(r);
    const refundedAmt = Number(r.refunded);
    const p: Purchase = {
      tradeNo: o.tradeNo,
      details: o.details,
      totalAmt: o.totalAmt,
      createdAt: o.createdAt,
      deliveredAt: o.deliveredAt!,
      status: purchaseStatus(r.revoked === true, refundedAmt),
      refundedAmt,
    };
    if (o.credits) p.credits = o.credits;
    return p;
  });
  const last = page.at(-1);
  return { purchases: page, nextCursor: rows.length > options.limit && last ? formatCursor(last) : null };
}

export async function getCredits(q: Query, skillId: string, userToken: string, balance: string): Promise<number> {
  const rows = await q<{ credits: string }>('getCredits', 'SELECT credits FROM partner_credits WHERE skill_id = $1 AND user_token = $2 AND balance = $3', [
    skillId,
    userToken,
    balance,
  ]);
  return rows[0] ? Number(rows[0].credits) : 0;
}

export async function consumeCredits(q: Query, skillId: string, userToken: string, balance: string, count: number): Promise<CreditConsumption> {
  const rows = await q<{ credits: string }>(
    'consumeCredits',
    `UPDATE partner_credits SET credits = credits - $4
      WHERE skill_id = $1 AND user_token = $2 AND balance = $3 AND credits >= $4
      RETURNING credits`,
    [skillId, userToken, balance, count],
  );
  if (rows[0]) return { ok: true, balance: Number(rows[0].credits) };
  return { ok: false, balance: await getCredits(q, skillId, userToken, balance) };
}
