/**
 * Delivery claims on SQLite: the conditional UPDATE that hands out a claim
 * (with a lease; optionally only when the order matches the delivery's
 * facts), why it changed nothing when it did not, and the delivery record.
 * The store runs these inside its transactions (sqlite.ts).
 */
import type { CheckedDeliveryClaim, DeliveryExpectation, PartnerOrder } from '../store.js';
import { StoreError } from '../errors.js';
import { orderMatches } from './common.js';
import { toOrder, type OrderRow } from './sqlite-schema.js';
import type { Statements } from './sqlite-statements.js';

export type ClaimArgs = [st: Statements, tradeNo: string, transactionId: string, leaseMs: number, now: number, expect: DeliveryExpectation | undefined];

/** The conditional UPDATE alone: the claimed row, or undefined when it changed nothing. */
export function claimRow(...[st, tradeNo, transactionId, leaseMs, now, expect]: ClaimArgs): OrderRow | undefined {
  const until = now + leaseMs;
  return expect
    ? st.claimChecked.get({ tradeNo, transactionId, until, now, skillId: expect.skillId, userToken: expect.userToken, totalAmt: expect.totalAmt })
    : st.claim.get({ tradeNo, transactionId, until, now });
}

export function claimBody(...args: ClaimArgs): CheckedDeliveryClaim {
  const [st, tradeNo, transactionId, , , expect] = args;
  const claimed = claimRow(...args);
  if (claimed) return { kind: 'claimed', order: toOrder(claimed), attempt: claimed.attempts };
  const row = st.getOrder.get(tradeNo);
  if (!row) return { kind: 'unknown-order' };
  const order = toOrder(row);
  if (expect && !orderMatches(order, transactionId, expect)) return { kind: 'mismatch', order };
  return order.status === 'DELIVERED' ? { kind: 'already-delivered', order } : { kind: 'in-progress', order };
}

/** One statement (an implicit write transaction); the trigger grants the items. */
export function completeBody(st: Statements, tradeNo: string, now: number): PartnerOrder {
  const done = st.complete.get({ tradeNo, now });
  if (done) return toOrder(done);
  const row = st.getOrder.get(tradeNo);
  if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
  return toOrder(row);
}
