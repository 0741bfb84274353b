/**
 * Delivery claims on PostgreSQL: one conditional `UPDATE … RETURNING *` hands
 * out a claim with a lease (optionally only when the order matches the
 * delivery's facts); under READ COMMITTED a concurrent UPDATE of the same row
 * waits for the row lock and re-checks the WHERE clause, so exactly one
 * caller gets the row, whichever process it runs in. The delivery record and
 * its entitlements are one statement.
 *
 * Leases are dated by the database's clock (`clock_timestamp()`) unless the
 * store was made with `leaseClock: 'caller'`: instances whose own clocks
 * disagree then still agree on whether a lease is live.
 */
import type pg from 'pg';
import { StoreError } from '../errors.js';
import type { CheckedDeliveryClaim, DeliveryExpectation, PartnerOrder } from '../store.js';
import { itemIdsOf, orderMatches } from './common.js';
import { toOrder, type OrderRow } from './postgres-schema.js';

/** One statement on the pool, its failure wrapped as a StoreError naming `what`. */
export type Query = <R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[]) => Promise<R[]>;

const GET_ORDER = 'SELECT * FROM partner_orders WHERE trade_no = $1';

/**
 * Which clock dates and compares leases (claims, reconcile passes) and nonce
 * expiries: `database` (default) — PostgreSQL's `clock_timestamp()`, one clock
 * for every instance on the database; `caller` — the `now` each call passes
 * (the instance's own clock; for tests that simulate time, or one instance).
 */
export type LeaseClock = 'database' | 'caller';

/** The database's clock in epoch milliseconds, the unit of the bigint time columns. */
export const DB_NOW_MS = '(floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint';

export async function claimOrder(
  q: Query,
  tradeNo: string,
  transactionId: string,
  leaseMs: number,
  now: number,
  expect: DeliveryExpectation | undefined,
  clock: LeaseClock = 'database',
): Promise<CheckedDeliveryClaim> {
  // Each round is one atomic statement; the loop only re-runs it when the
  // row became claimable (a release) between the UPDATE and the SELECT.
  // With `expect`, the UPDATE also requires the order to match, so a
  // mismatching notification writes nothing.
  const params: unknown[] = [tradeNo, transactionId, leaseMs];
  let match = '';
  if (expect) {
    params.push(expect.skillId, expect.userToken, expect.totalAmt);
    match = 'AND skill_id = $4 AND user_token = $5 AND total_amt = $6 AND (transaction_id IS NULL OR transaction_id = $2)';
  }
  if (clock === 'caller') params.push(now);
  const at = clock === 'caller' ? `$${params.length}::bigint` : DB_NOW_MS;
  const sql = `UPDATE partner_orders
          SET claim_until = ${at} + $3::bigint, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, $2)
        WHERE trade_no = $1 AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= ${at}) ${match}
        RETURNING *`;
  const current = `SELECT *, ${DB_NOW_MS} AS db_now FROM partner_orders WHERE trade_no = $1`;
  for (let round = 0; round < 3; round++) {
    const claimed = await q<OrderRow>('claimDelivery', sql, params);
    if (claimed[0]) return { kind: 'claimed', order: toOrder(claimed[0]), attempt: claimed[0].attempts };
    const rows = await q<OrderRow & { db_now: string }>('claimDelivery', current, [tradeNo]);
    const row = rows[0];
    if (!row) return { kind: 'unknown-order' };
    const order = toOrder(row);
    if (expect && !orderMatches(order, transactionId, expect)) return { kind: 'mismatch', order };
    if (row.status === 'DELIVERED') return { kind: 'already-delivered', order };
    if (row.claim_until !== null && Number(row.claim_until) > (clock === 'caller' ? now : Number(row.db_now))) return { kind: 'in-progress', order };
  }
  const rows = await q<OrderRow>('claimDelivery', GET_ORDER, [tradeNo]);
  return rows[0] ? { kind: 'in-progress', order: toOrder(rows[0]) } : { kind: 'unknown-order' };
}

/** Mark the order delivered and grant its items in one statement (idempotent). */
export async function completeOrder(q: Query, tradeNo: string, now: number): Promise<PartnerOrder> {
  // details never change after createOrder, so the item ids can be read first
  const current = await q<OrderRow>('completeDelivery', GET_ORDER, [tradeNo]);
  if (!current[0]) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
  if (current[0].status === 'DELIVERED') return toOrder(current[0]);
  const done = await q<OrderRow>(
    'completeDelivery',
    `WITH done AS (
       UPDATE partner_orders SET status = 'DELIVERED', delivered_at = $2, claim_until = NULL
        WHERE trade_no = $1 AND status = 'CREATED'
        RETURNING *
     ), granted AS (
       INSERT INTO partner_entitlements (skill_id, user_token, item_id, trade_no, granted_at)
       SELECT d.skill_id, d.user_token, i.item_id, d.trade_no, $2
         FROM done d CROSS JOIN unnest($3::text[]) AS i(item_id)
       ON CONFLICT DO NOTHING
     )
     SELECT * FROM done`,
    [tradeNo, now, itemIdsOf(current[0].details)],
  );
  if (done[0]) return toOrder(done[0]);
  // someone else recorded it in between
  const rows = await q<OrderRow>('completeDelivery', GET_ORDER, [tradeNo]);
  return toOrder(rows[0]!);
}
