/**
 * In-memory PartnerStore: for tests and single-process demos. Every method
 * runs to completion without awaiting in between, so within one process it
 * has exactly the semantics of the SQLite and PostgreSQL stores (same
 * contract suite). Nothing survives the process.
 */
import type { CheckedDeliveryClaim, DeliveryClaim, DeliveryExpectation, NewOrder, PartnerOrder, PartnerStore, Refund } from '../store.js';
import {
  COUNTED_REFUND_STATUSES,
  checkAttempt,
  checkClaim,
  checkExpectation,
  checkNewOrder,
  checkRefund,
  checkRefundPatch,
  checkText,
  checkTime,
  checkTradeNo,
  copyOrder,
  itemIdsOf,
  orderMatches,
  USER_TOKEN_MAX,
} from './common.js';
import { StoreError } from '../errors.js';

interface Row {
  order: PartnerOrder;
  claimUntil: number | null;
  attempts: number;
}

export class MemoryPartnerStore implements PartnerStore {
  readonly kind = 'memory';
  #orders = new Map<string, Row>();
  #refunds = new Map<string, Refund>();
  /** key skillId \u0000 userToken \u0000 itemId → tradeNos that granted it */
  #entitlements = new Map<string, Set<string>>();
  #closed = false;

  async init(): Promise<void> {
    this.#open();
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    this.#open();
    checkNewOrder(order);
    if (this.#orders.has(order.tradeNo)) throw new StoreError('ERR_DUPLICATE', `order ${order.tradeNo} already exists`);
    const stored: PartnerOrder = {
      tradeNo: order.tradeNo,
      skillId: order.skillId,
      userToken: order.userToken,
      details: structuredClone(order.details),
      totalAmt: order.totalAmt,
      status: 'CREATED',
      transactionId: null,
      createdAt: order.createdAt,
      deliveredAt: null,
    };
    this.#orders.set(order.tradeNo, { order: stored, claimUntil: null, attempts: 0 });
    return copyOrder(stored);
  }

  async getOrder(tradeNo: string): Promise<PartnerOrder | undefined> {
    this.#open();
    checkTradeNo(tradeNo);
    const row = this.#orders.get(tradeNo);
    return row && copyOrder(row.order);
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    this.#open();
    checkClaim(tradeNo, transactionId, leaseMs, now);
    return this.#claim(tradeNo, transactionId, leaseMs, now, undefined) as DeliveryClaim;
  }

  async claimDeliveryChecked(
    tradeNo: string,
    transactionId: string,
    expect: DeliveryExpectation,
    leaseMs: number,
    now: number,
  ): Promise<CheckedDeliveryClaim> {
    this.#open();
    checkClaim(tradeNo, transactionId, leaseMs, now);
    checkExpectation(expect);
    return this.#claim(tradeNo, transactionId, leaseMs, now, expect);
  }

  #claim(tradeNo: string, transactionId: string, leaseMs: number, now: number, expect: DeliveryExpectation | undefined): CheckedDeliveryClaim {
    const row = this.#orders.get(tradeNo);
    if (!row) return { kind: 'unknown-order' };
    if (expect && !orderMatches(row.order, transactionId, expect)) return { kind: 'mismatch', order: copyOrder(row.order) };
    if (row.order.status === 'DELIVERED') return { kind: 'already-delivered', order: copyOrder(row.order) };
    if (row.claimUntil !== null && row.claimUntil > now) return { kind: 'in-progress', order: copyOrder(row.order) };
    row.claimUntil = now + leaseMs;
    row.attempts += 1;
    row.order.transactionId ??= transactionId;
    return { kind: 'claimed', order: copyOrder(row.order), attempt: row.attempts };
  }

  async completeDelivery(tradeNo: string, now: number): Promise<PartnerOrder> {
    this.#open();
    checkTradeNo(tradeNo);
    checkTime(now, 'now');
    const row = this.#orders.get(tradeNo);
    if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
    if (row.order.status !== 'DELIVERED') {
      row.order.status = 'DELIVERED';
      row.order.deliveredAt = now;
      row.claimUntil = null;
      for (const itemId of itemIdsOf(row.order.details)) {
        const key = entKey(row.order.skillId, row.order.userToken, itemId);
        let set = this.#entitlements.get(key);
        if (!set) this.#entitlements.set(key, (set = new Set()));
        set.add(tradeNo);
      }
    }
    return copyOrder(row.order);
  }

  async releaseDelivery(tradeNo: string, attempt?: number): Promise<void> {
    this.#open();
    checkTradeNo(tradeNo);
    checkAttempt(attempt);
    const row = this.#orders.get(tradeNo);
    if (row && row.order.status === 'CREATED' && (attempt === undefined || row.attempts === attempt)) row.claimUntil = null;
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    this.#open();
    checkText(skillId, 'skillId');
    checkText(userToken, 'userToken', USER_TOKEN_MAX);
    checkText(itemId, 'itemId');
    return (this.#entitlements.get(entKey(skillId, userToken, itemId))?.size ?? 0) > 0;
  }

  async saveRefund(refund: Refund): Promise<Refund> {
    this.#open();
    checkRefund(refund);
    const existing = this.#refunds.get(refund.refundTradeNo);
    if (existing) return { ...existing };
    const row = this.#orders.get(refund.tradeNo);
    if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
    if (COUNTED_REFUND_STATUSES.includes(refund.status)) {
      const already = this.#refundedOf(refund.tradeNo);
      if (already + refund.refundAmt > row.order.totalAmt) {
        throw new StoreError(
          'ERR_REFUND_EXCEEDS',
          `refund of ${refund.refundAmt} fen would exceed order ${refund.tradeNo}: ${already} of ${row.order.totalAmt} fen already refunded`,
        );
      }
    }
    const stored: Refund = {
      refundTradeNo: refund.refundTradeNo,
      tradeNo: refund.tradeNo,
      refundAmt: refund.refundAmt,
      status: refund.status,
      refundTransactionId: refund.refundTransactionId,
      createdAt: refund.createdAt,
    };
    this.#refunds.set(stored.refundTradeNo, stored);
    return { ...stored };
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    this.#open();
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    const r = this.#refunds.get(refundTradeNo);
    return r && { ...r };
  }

  async updateRefund(
    refundTradeNo: string,
    patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>,
  ): Promise<Refund | undefined> {
    this.#open();
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    checkRefundPatch(patch);
    const r = this.#refunds.get(refundTradeNo);
    if (!r) return undefined;
    if (patch.status !== undefined && !COUNTED_REFUND_STATUSES.includes(r.status) && COUNTED_REFUND_STATUSES.includes(patch.status)) {
      // A failed refund coming back to life counts again: keep the bound.
      const total = this.#orders.get(r.tradeNo)?.order.totalAmt ?? 0;
      const already = this.#refundedOf(r.tradeNo);
      if (already + r.refundAmt > total) {
        throw new StoreError('ERR_REFUND_EXCEEDS', `refund ${refundTradeNo} would exceed order ${r.tradeNo}`);
      }
    }
    if (patch.status !== undefined) r.status = patch.status;
    if (patch.refundTransactionId !== undefined) r.refundTransactionId = patch.refundTransactionId;
    return { ...r };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #refundedOf(tradeNo: string): number {
    let sum = 0;
    for (const r of this.#refunds.values()) if (r.tradeNo === tradeNo && COUNTED_REFUND_STATUSES.includes(r.status)) sum += r.refundAmt;
    return sum;
  }

  #open(): void {
    if (this.#closed) throw new StoreError('ERR_CLOSED', 'the store is closed');
  }
}

const entKey = (skillId: string, userToken: string, itemId: string) => `${skillId}\u0000${userToken}\u0000${itemId}`;
