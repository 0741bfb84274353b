/**
 * In-memory PartnerStore: for tests and single-process demos. Every method
 * runs to completion without awaiting in between, so within one process it
 * has exactly the semantics of the SQLite and PostgreSQL stores (same
 * contract suite). Nothing survives the process.
 */
import type {
  CheckedDeliveryClaim,
  CreditConsumption,
  Purchase,
  PurchasePage,
  PurchasePageOptions,
  DeliveryClaim,
  DeliveryExpectation,
  NewOrder,
  OrderReconcileState,
  PartnerOrder,
  PartnerStore,
  ReconcileClaimOptions,
  ReconcileOrderClaim,
  ReconcileRefundClaim,
  ReconcileSettle,
  Refund,
} from '../store.js';
import { checkArgs } from './check-args.js';
import {
  checkRefundBound,
  copyCredits,
  copyOrder,
  countsAgain,
  creditsByBalance,
  formatCursor,
  itemIdsOf,
  orderMatches,
  parseCursor,
  purchaseStatus,
  refundCounts,
} from './common.js';
import { StoreError } from '../errors.js';

interface Row {
  order: PartnerOrder;
  claimUntil: number | null;
  attempts: number;
  rec: OrderReconcileState;
  /** What it granted was taken back (revokeEntitlements). */
  revoked: boolean;
}

/** Reconcile bookkeeping of a refund. */
interface RefundRec {
  checks: number;
  nextCheckAt: number | null;
  reconcileUntil: number | null;
}

const newRec = (): OrderReconcileState => ({ checks: 0, nextCheckAt: null, reconcileUntil: null, closedAt: null, closeReason: null });

/** Due for a reconcile pass: old enough, its back-off passed, not held by another pass. */
const due = (createdAt: number, r: { nextCheckAt: number | null; reconcileUntil: number | null }, o: ReconcileClaimOptions): boolean =>
  createdAt <= o.createdBefore && (r.nextCheckAt === null || r.nextCheckAt <= o.now) && (r.reconcileUntil === null || r.reconcileUntil <= o.now);

/** Oldest due first: by next check (or creation), then by key. */
const dueOrder = (a: { at: number; key: string }, b: { at: number; key: string }): number => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class MemoryPartnerStore implements PartnerStore {
  readonly kind = 'memory';
  #orders = new Map<string, Row>();
  #refunds = new Map<string, Refund>();
  #refundRecs = new Map<string, RefundRec>();
  /** key skillId \u0000 userToken \u0000 itemId → tradeNos that granted it */
  #entitlements = new Map<string, Set<string>>();
  /** key skillId \u0000 userToken \u0000 balance → credits left */
  #credits = new Map<string, number>();
  /** nonce → expiresAt (insertion order ≈ expiry order). */
  #nonces = new Map<string, number>();
  #closed = false;

  async init(): Promise<void> {
    this.#open();
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    this.#open();
    checkArgs.createOrder(order);
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
    const credits = copyCredits(order.credits);
    if (credits) stored.credits = credits;
    this.#orders.set(order.tradeNo, { order: stored, claimUntil: null, attempts: 0, rec: newRec(), revoked: false });
    return copyOrder(stored);
  }

  async getOrder(tradeNo: string): Promise<PartnerOrder | undefined> {
    this.#open();
    checkArgs.getOrder(tradeNo);
    const row = this.#orders.get(tradeNo);
    return row && copyOrder(row.order);
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    this.#open();
    checkArgs.claimDelivery(tradeNo, transactionId, leaseMs, now);
    return this.#claim(tradeNo, transactionId, leaseMs, now, undefined) as DeliveryClaim;
  }

  async claimDeliveryChecked(tradeNo: string, transactionId: string, expect: DeliveryExpectation, leaseMs: number, now: number): Promise<CheckedDeliveryClaim> {
    this.#open();
    checkArgs.claimDeliveryChecked(tradeNo, transactionId, expect, leaseMs, now);
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
    checkArgs.completeDelivery(tradeNo, now);
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
      for (const [balance, count] of creditsByBalance(row.order.credits ?? [])) {
        const key = entKey(row.order.skillId, row.order.userToken, balance);
        this.#credits.set(key, (this.#credits.get(key) ?? 0) + count);
      }
    }
    return copyOrder(row.order);
  }

  async releaseDelivery(tradeNo: string, attempt?: number): Promise<void> {
    this.#open();
    checkArgs.releaseDelivery(tradeNo, attempt);
    const row = this.#orders.get(tradeNo);
    if (row && row.order.status === 'CREATED' && (attempt === undefined || row.attempts === attempt)) row.claimUntil = null;
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    this.#open();
    checkArgs.ownsItem(skillId, userToken, itemId);
    return (this.#entitlements.get(entKey(skillId, userToken, itemId))?.size ?? 0) > 0;
  }

  async saveRefund(refund: Refund): Promise<Refund> {
    this.#open();
    checkArgs.saveRefund(refund);
    const existing = this.#refunds.get(refund.refundTradeNo);
    if (existing) return { ...existing };
    const row = this.#orders.get(refund.tradeNo);
    if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
    if (refundCounts(refund.status)) checkRefundBound(refund, this.#refundedOf(refund.tradeNo), row.order.totalAmt);
    const stored: Refund = {
      refundTradeNo: refund.refundTradeNo,
      tradeNo: refund.tradeNo,
      refundAmt: refund.refundAmt,
      status: refund.status,
      refundTransactionId: refund.refundTransactionId,
      createdAt: refund.createdAt,
    };
    this.#refunds.set(stored.refundTradeNo, stored);
    this.#refundRecs.set(stored.refundTradeNo, { checks: 0, nextCheckAt: null, reconcileUntil: null });
    return { ...stored };
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    this.#open();
    checkArgs.getRefund(refundTradeNo);
    const r = this.#refunds.get(refundTradeNo);
    return r && { ...r };
  }

  async updateRefund(refundTradeNo: string, patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): Promise<Refund | undefined> {
    this.#open();
    checkArgs.updateRefund(refundTradeNo, patch);
    const r = this.#refunds.get(refundTradeNo);
    if (!r) return undefined;
    // A failed refund coming back to life counts again: keep the bound.
    if (countsAgain(r.status, patch)) checkRefundBound(r, this.#refundedOf(r.tradeNo), this.#orders.get(r.tradeNo)?.order.totalAmt ?? 0);
    if (patch.status !== undefined) r.status = patch.status;
    if (patch.refundTransactionId !== undefined) r.refundTransactionId = patch.refundTransactionId;
    return { ...r };
  }

  async revokeEntitlements(tradeNo: string): Promise<number> {
    this.#open();
    checkArgs.revokeEntitlements(tradeNo);
    const row = this.#orders.get(tradeNo);
    if (!row || row.order.status !== 'DELIVERED' || row.revoked) return 0;
    row.revoked = true;
    let n = 0;
    for (const [key, trades] of this.#entitlements) {
      if (!trades.delete(tradeNo)) continue;
      n++;
      if (trades.size === 0) this.#entitlements.delete(key);
    }
    for (const g of row.order.credits ?? []) {
      if (g.onRefund !== 'remaining') continue;
      const key = entKey(row.order.skillId, row.order.userToken, g.balance);
      const left = this.#credits.get(key) ?? 0;
      this.#credits.set(key, left - Math.min(left, g.count));
      n++;
    }
    return n;
  }

  async listPurchases(skillId: string, userToken: string, options: PurchasePageOptions): Promise<PurchasePage> {
    this.#open();
    checkArgs.listPurchases(skillId, userToken, options);
    const after = options.cursor ? parseCursor(options.cursor) : undefined;
    const before = (o: PartnerOrder) => !after || o.createdAt < after.createdAt || (o.createdAt === after.createdAt && o.tradeNo < after.tradeNo);
    const rows = [...this.#orders.values()]
      .filter(({ order: o }) => o.skillId === skillId && o.userToken === userToken && o.status === 'DELIVERED' && before(o))
      .sort((a, b) => b.order.createdAt - a.order.createdAt || (a.order.tradeNo < b.order.tradeNo ? 1 : a.order.tradeNo > b.order.tradeNo ? -1 : 0));
    const page = rows.slice(0, options.limit).map((row): Purchase => {
      const refundedAmt = this.#refundedOf(row.order.tradeNo, 'SUCCESS');
      const p: Purchase = {
        tradeNo: row.order.tradeNo,
        details: structuredClone(row.order.details),
        totalAmt: row.order.totalAmt,
        createdAt: row.order.createdAt,
        deliveredAt: row.order.deliveredAt!,
        status: purchaseStatus(row.revoked, refundedAmt),
        refundedAmt,
      };
      const credits = copyCredits(row.order.credits);
      if (credits) p.credits = credits;
      return p;
    });
    const last = page.at(-1);
    return { purchases: page, nextCursor: rows.length > options.limit && last ? formatCursor(last) : null };
  }

  async getCredits(skillId: string, userToken: string, balance: string): Promise<number> {
    this.#open();
    checkArgs.getCredits(skillId, userToken, balance);
    return this.#credits.get(entKey(skillId, userToken, balance)) ?? 0;
  }

  async consumeCredits(skillId: string, userToken: string, balance: string, count: number): Promise<CreditConsumption> {
    this.#open();
    checkArgs.consumeCredits(skillId, userToken, balance, count);
    const key = entKey(skillId, userToken, balance);
    const left = this.#credits.get(key) ?? 0;
    if (left < count) return { ok: false, balance: left };
    this.#credits.set(key, left - count);
    return { ok: true, balance: left - count };
  }

  async rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    this.#open();
    checkArgs.rememberNonce(nonce, expiresAt, now);
    for (const [n, until] of this.#nonces) {
      if (until > now) break;
      this.#nonces.delete(n);
    }
    const until = this.#nonces.get(nonce);
    if (until !== undefined && until > now) return false;
    this.#nonces.delete(nonce);
    this.#nonces.set(nonce, expiresAt);
    return true;
  }

  async claimReconcileOrders(options: ReconcileClaimOptions): Promise<ReconcileOrderClaim[]> {
    this.#open();
    checkArgs.claimReconcileOrders(options);
    const picked = [...this.#orders.values()]
      .filter((row) => row.order.status === 'CREATED' && row.rec.closedAt === null && due(row.order.createdAt, row.rec, options))
      .map((row) => ({ row, at: row.rec.nextCheckAt ?? row.order.createdAt, key: row.order.tradeNo }))
      .sort(dueOrder)
      .slice(0, options.limit);
    return picked.map(({ row }) => {
      row.rec.reconcileUntil = options.now + options.leaseMs;
      row.rec.checks += 1;
      return { order: copyOrder(row.order), checks: row.rec.checks };
    });
  }

  async settleReconcileOrder(tradeNo: string, checks: number, settle: ReconcileSettle, now: number): Promise<boolean> {
    this.#open();
    checkArgs.settleReconcileOrder(tradeNo, checks, settle, now);
    const row = this.#orders.get(tradeNo);
    if (!row || row.rec.checks !== checks) return false;
    row.rec.reconcileUntil = null;
    if ('nextCheckAt' in settle) row.rec.nextCheckAt = settle.nextCheckAt;
    else if ('close' in settle && row.order.status === 'CREATED') {
      row.rec.closedAt = now;
      row.rec.closeReason = settle.close;
    }
    return true;
  }

  async claimReconcileRefunds(options: ReconcileClaimOptions): Promise<ReconcileRefundClaim[]> {
    this.#open();
    checkArgs.claimReconcileRefunds(options);
    const picked = [...this.#refunds.values()]
      .map((refund) => ({ refund, rec: this.#refundRecs.get(refund.refundTradeNo)! }))
      .filter(({ refund, rec }) => refund.status === 'PROCESSING' && due(refund.createdAt, rec, options))
      .map((x) => ({ ...x, at: x.rec.nextCheckAt ?? x.refund.createdAt, key: x.refund.refundTradeNo }))
      .sort(dueOrder)
      .slice(0, options.limit);
    return picked.map(({ refund, rec }) => {
      rec.reconcileUntil = options.now + options.leaseMs;
      rec.checks += 1;
      return { refund: { ...refund }, checks: rec.checks };
    });
  }

  async settleReconcileRefund(refundTradeNo: string, checks: number, settle: { nextCheckAt: number } | { done: true }, now: number): Promise<boolean> {
    this.#open();
    checkArgs.settleReconcileRefund(refundTradeNo, checks, settle, now);
    const rec = this.#refundRecs.get(refundTradeNo);
    if (!rec || rec.checks !== checks) return false;
    rec.reconcileUntil = null;
    if ('nextCheckAt' in settle) rec.nextCheckAt = settle.nextCheckAt;
    return true;
  }

  async getReconcileState(tradeNo: string): Promise<OrderReconcileState | undefined> {
    this.#open();
    checkArgs.getReconcileState(tradeNo);
    const row = this.#orders.get(tradeNo);
    return row && { ...row.rec };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #refundedOf(tradeNo: string, only?: 'SUCCESS'): number {
    let sum = 0;
    for (const r of this.#refunds.values()) if (r.tradeNo === tradeNo && (only ? r.status === only : refundCounts(r.status))) sum += r.refundAmt;
    return sum;
  }

  #open(): void {
    if (this.#closed) throw new StoreError('ERR_CLOSED', 'the store is closed');
  }
}

const entKey = (skillId: string, userToken: string, itemId: string) => `${skillId}\u0000${userToken}\u0000${itemId}`;
