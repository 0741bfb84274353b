/**
 * The platform's order book, in memory: DingDang orders (`transactionId`)
 * and refunds (`refundTransactionId`).
 *
 *   order:  NOTPAY ──scan──▶ PROCESSING ──▶ SUCCESS | FAIL
 *           NOTPAY ──cancel/fail──▶ FAIL
 *           NOTPAY ──window ends──▶ NOTPAY (expired: true; `refresh` opens a new window)
 *   refund: PROCESSING ──(refundDelayMs, scaled)──▶ SUCCESS
 *
 * Every refused operation throws `SandboxStateError` and changes nothing.
 * Listeners get `order` on every order change and `refund` on every refund change.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { OrderDetail, RefundStatus, TradeStatus } from '../protocol/types.js';
import type { Fen } from '../protocol/money.js';
import { isOrderNo } from '../protocol/validate.js';
import { isFen, sumFen } from '../protocol/money.js';
import { InvalidArgumentError } from '../protocol/errors.js';
import { SandboxStateError } from './errors.js';
import type { Scheduler } from './scheduler.js';

export interface DingDangOrder {
  transactionId: string;
  tradeNo: string;
  skillId: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  tradeStatus: TradeStatus;
  /** Short machine reason of the latest change: scanned, paid, declined, cancelled, expired, refreshed. */
  reason?: string;
  /** The payment URL (QR code / DingDang app link): a page on the sandbox. */
  payUrl: string;
  createdAt: number;
  /** Epoch ms when the payment window closes. */
  expiresAt: number;
  /** The window closed without payment (status stays NOTPAY). */
  expired: boolean;
  paidAt?: number;
  /** Sum of the order's refunds that did not fail. */
  refundedAmt: Fen;
  /** The device purchase this order belongs to, when any. */
  purchaseId?: string;
  /** Monotonic change counter of this order. */
  version: number;
}

export interface RefundRecord {
  refundTransactionId: string;
  refundTradeNo: string;
  skillId: string;
  transactionId: string;
  tradeNo: string;
  totalAmt: Fen;
  refundAmt: Fen;
  refundDesc?: string;
  refundDetails: OrderDetail[];
  refundStatus: RefundStatus;
  createdAt: number;
  finishedAt?: number;
}

/** The fields of a refund that the refund reply, the refund query reply and the refund notification share. */
export function refundWireFields(r: RefundRecord) {
  return {
    skillId: r.skillId,
    transactionId: r.transactionId,
    tradeNo: r.tradeNo,
    refundTransactionId: r.refundTransactionId,
    refundTradeNo: r.refundTradeNo,
    totalAmt: r.totalAmt,
    refundAmt: r.refundAmt,
  };
}

export interface NewOrder {
  skillId: string;
  tradeNo: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  purchaseId?: string;
  /** Length of the payment window, real ms. Default: the book's `payWindowMs`. */
  payWindowMs?: number;
}

export interface RefundInput {
  skillId: string;
  transactionId?: string;
  tradeNo?: string;
  refundTradeNo: string;
  totalAmt: Fen;
  refundAmt: Fen;
  refundDesc?: string;
  refundDetails: OrderDetail[];
}

export interface OrderBookOptions {
  scheduler: Scheduler;
  /** Builds the payment URL of a new order. */
  payUrl: (transactionId: string) => string;
  /** Payment window, real ms; default 5 minutes. */
  payWindowMs?: number;
  /** Time a refund stays PROCESSING, platform ms (scaled); default 5 s. */
  refundDelayMs?: number;
}

export type OrderChange = { order: DingDangOrder; previous: TradeStatus | undefined };
export type RefundChange = { refund: RefundRecord; previous: RefundStatus | undefined };

export interface OrderBookEvents {
  order: [OrderChange];
  refund: [RefundChange];
}

export const TRADE_STATUS_DESC: Record<TradeStatus, string> = {
  NOTPAY: '未支付',
  PROCESSING: '支付中',
  SUCCESS: '支付成功',
  FAIL: '支付失败',
};
export const REFUND_STATUS_DESC: Record<RefundStatus, string> = {
  PROCESSING: '退款中',
  SUCCESS: '退款成功',
  FAIL: '退款失败',
};

/** `tradeStatusDesc` of an order (≤ 16 characters). */
export function tradeStatusDesc(order: DingDangOrder): string {
  if (order.tradeStatus === 'NOTPAY' && order.expired) return '未支付(已过期)';
  if (order.tradeStatus === 'FAIL' && order.reason === 'cancelled') return '支付失败(已取消)';
  return TRADE_STATUS_DESC[order.tradeStatus];
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
function randomId(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

const clone = <T>(v: T): T => structuredClone(v);

export class OrderBook extends EventEmitter<OrderBookEvents> {
  readonly payWindowMs: number;
  readonly refundDelayMs: number;
  private readonly scheduler: Scheduler;
  private readonly payUrlOf: (transactionId: string) => string;
  private readonly orders = new Map<string, DingDangOrder>();
  /** `${skillId}\n${tradeNo}` → transactionId */
  private readonly byTradeNo = new Map<string, string>();
  private readonly refunds = new Map<string, RefundRecord>();
  /** `${skillId}\n${refundTradeNo}` → refundTransactionId */
  private readonly byRefundTradeNo = new Map<string, string>();
  private readonly expiryTimers = new Map<string, () => void>();

  constructor(options: OrderBookOptions) {
    super();
    this.scheduler = options.scheduler;
    this.payUrlOf = options.payUrl;
    this.payWindowMs = options.payWindowMs ?? 5 * 60_000;
    this.refundDelayMs = options.refundDelayMs ?? 5_000;
    if (!(this.payWindowMs > 0)) throw new InvalidArgumentError('payWindowMs must be > 0');
    if (!(this.refundDelayMs >= 0)) throw new InvalidArgumentError('refundDelayMs must be ≥ 0');
  }

  /** A new unique id: prefix + UTC time (14 digits) + 12 random [0-9A-Z] = 28 characters. */
  private newId(prefix: string, taken: (id: string) => boolean): string {
    for (;;) {
      const id = `${prefix}${stamp(this.scheduler.now())}${randomId(12)}`;
      if (!taken(id)) return id;
    }
  }

  createOrder(input: NewOrder): DingDangOrder {
    if (!isOrderNo(input.tradeNo)) throw new InvalidArgumentError('tradeNo must be 1–32 characters of [0-9A-Za-z]');
    if (!isFen(input.totalAmt)) throw new InvalidArgumentError('totalAmt must be integer fen');
    if (!Array.isArray(input.details) || input.details.length === 0) throw new InvalidArgumentError('details must not be empty');
    if (sumFen(input.details.map((d) => d.amount)) !== input.totalAmt)
      throw new SandboxStateError('AMOUNT_MISMATCH', 'totalAmt must equal the sum of details[].amount');
    const key = `${input.skillId}\n${input.tradeNo}`;
    if (this.byTradeNo.has(key)) throw new SandboxStateError('DUPLICATE_TRADE_NO', `tradeNo ${input.tradeNo} already has a DingDang order`);
    const now = this.scheduler.now();
    const transactionId = this.newId('DD', (id) => this.orders.has(id));
    const window = input.payWindowMs ?? this.payWindowMs;
    const order: DingDangOrder = {
      transactionId,
      tradeNo: input.tradeNo,
      skillId: input.skillId,
      userToken: input.userToken,
      details: clone(input.details),
      totalAmt: input.totalAmt,
      tradeStatus: 'NOTPAY',
      reason: 'created',
      payUrl: this.payUrlOf(transactionId),
      createdAt: now,
      expiresAt: now + window,
      expired: false,
      refundedAmt: 0,
      version: 1,
    };
    if (input.purchaseId !== undefined) order.purchaseId = input.purchaseId;
    this.orders.set(transactionId, order);
    this.byTradeNo.set(key, transactionId);
    this.armExpiry(order, window);
    this.emit('order', { order: clone(order), previous: undefined });
    return clone(order);
  }

  private armExpiry(order: DingDangOrder, windowMs: number): void {
    this.expiryTimers.get(order.transactionId)?.();
    this.expiryTimers.set(
      order.transactionId,
      this.scheduler.afterReal(windowMs, () => {
        this.expiryTimers.delete(order.transactionId);
        try {
          this.expire(order.transactionId);
        } catch {
          /* already paid or final: nothing to expire */
        }
      }),
    );
  }

  private must(transactionId: string): DingDangOrder {
    const o = this.orders.get(transactionId);
    if (!o) throw new SandboxStateError('UNKNOWN_ORDER', `no order ${String(transactionId).slice(0, 40)}`);
    return o;
  }

  private change(order: DingDangOrder, status: TradeStatus, reason: string): DingDangOrder {
    const previous = order.tradeStatus;
    order.tradeStatus = status;
    order.reason = reason;
    order.version++;
    this.emit('order', { order: clone(order), previous });
    return clone(order);
  }

  get(transactionId: string): DingDangOrder | undefined {
    const o = this.orders.get(transactionId);
    return o && clone(o);
  }

  /**
   * The either-or lookup of the pay CGI: by `transactionId`, by `tradeNo`, or
   * both (then they must name the same order). Orders of other skills are not found.
   */
  find(skillId: string, ids: { transactionId?: string | undefined; tradeNo?: string | undefined }): DingDangOrder {
    const { transactionId, tradeNo } = ids;
    if (transactionId === undefined && tradeNo === undefined) throw new SandboxStateError('UNKNOWN_ORDER', 'no order id given');
    let byTid: DingDangOrder | undefined;
    let byNo: DingDangOrder | undefined;
    if (transactionId !== undefined) {
      byTid = this.orders.get(transactionId);
      if (!byTid || byTid.skillId !== skillId) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    }
    if (tradeNo !== undefined) {
      const tid = this.byTradeNo.get(`${skillId}\n${tradeNo}`);
      byNo = tid === undefined ? undefined : this.orders.get(tid);
      if (!byNo) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    }
    if (byTid && byNo && byTid !== byNo) throw new SandboxStateError('ORDER_MISMATCH', 'transactionId and tradeNo name different orders');
    return clone((byTid ?? byNo)!);
  }

  list(): DingDangOrder[] {
    return [...this.orders.values()].map(clone);
  }

  /** The user scanned the code / opened the app payment: NOTPAY → PROCESSING. */
  scan(transactionId: string): DingDangOrder {
    const o = this.must(transactionId);
    if (o.tradeStatus === 'PROCESSING') return clone(o);
    if (o.tradeStatus !== 'NOTPAY') throw new SandboxStateError('ALREADY_FINAL', `order is ${o.tradeStatus}`);
    if (o.expired || this.scheduler.now() >= o.expiresAt) throw new SandboxStateError('EXPIRED', 'the payment window has closed');
    return this.change(o, 'PROCESSING', 'scanned');
  }

  /** The payment went through: (NOTPAY →) PROCESSING → SUCCESS. */
  pay(transactionId: string): DingDangOrder {
    const o = this.must(transactionId);
    if (o.tradeStatus === 'NOTPAY') this.scan(transactionId);
    if (o.tradeStatus !== 'PROCESSING') throw new SandboxStateError('ALREADY_FINAL', `order is ${o.tradeStatus}`);
    o.paidAt = this.scheduler.now();
    this.expiryTimers.get(transactionId)?.();
    this.expiryTimers.delete(transactionId);
    return this.change(o, 'SUCCESS', 'paid');
  }

  /** The payment failed (`declined`) or the user cancelled (`cancelled`): NOTPAY | PROCESSING → FAIL. */
  fail(transactionId: string, reason: 'declined' | 'cancelled' | (string & {}) = 'declined'): DingDangOrder {
    const o = this.must(transactionId);
    if (o.tradeStatus === 'SUCCESS' || o.tradeStatus === 'FAIL') throw new SandboxStateError('ALREADY_FINAL', `order is ${o.tradeStatus}`);
    this.expiryTimers.get(transactionId)?.();
    this.expiryTimers.delete(transactionId);
    return this.change(o, 'FAIL', reason);
  }

  /** The payment window closed unpaid: status stays NOTPAY, `expired` becomes true. */
  expire(transactionId: string): DingDangOrder {
    const o = this.must(transactionId);
    if (o.tradeStatus !== 'NOTPAY') throw new SandboxStateError('ALREADY_FINAL', `order is ${o.tradeStatus}`);
    if (o.expired) return clone(o);
    o.expired = true;
    o.expiresAt = Math.min(o.expiresAt, this.scheduler.now());
    this.expiryTimers.get(transactionId)?.();
    this.expiryTimers.delete(transactionId);
    return this.change(o, 'NOTPAY', 'expired');
  }

  /** Open a new payment window on an unpaid order (device `refreshOrder`). */
  refresh(transactionId: string, windowMs = this.payWindowMs): DingDangOrder {
    const o = this.must(transactionId);
    if (o.tradeStatus !== 'NOTPAY') throw new SandboxStateError('ALREADY_FINAL', `order is ${o.tradeStatus}`);
    o.expired = false;
    o.expiresAt = this.scheduler.now() + windowMs;
    this.armExpiry(o, windowMs);
    return this.change(o, 'NOTPAY', 'refreshed');
  }

  // ── refunds ──────────────────────────────────────────────────────────

  /**
   * Accept a refund application. A repeated `refundTradeNo` returns the
   * existing refund (`created: false`) when it names the same order and
   * amount, else REFUND_CONFLICT. Only paid orders; `totalAmt` must be the
   * order's; the refunds of an order never exceed what was paid.
   */
  refund(input: RefundInput): { refund: RefundRecord; created: boolean } {
    const order = this.find(input.skillId, input);
    const existingId = this.byRefundTradeNo.get(`${input.skillId}\n${input.refundTradeNo}`);
    if (existingId !== undefined) {
      const existing = this.refunds.get(existingId)!;
      if (existing.transactionId !== order.transactionId || existing.refundAmt !== input.refundAmt)
        throw new SandboxStateError('REFUND_CONFLICT', 'refundTradeNo already used for another refund');
      return { refund: clone(existing), created: false };
    }
    if (order.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'only a paid order can be refunded');
    if (input.totalAmt !== order.totalAmt) throw new SandboxStateError('AMOUNT_MISMATCH', 'totalAmt is not the order total');
    if (!isFen(input.refundAmt) || input.refundAmt <= 0) throw new InvalidArgumentError('refundAmt must be positive integer fen');
    const live = this.orders.get(order.transactionId)!;
    if (live.refundedAmt + input.refundAmt > live.totalAmt)
      throw new SandboxStateError('REFUND_EXCEEDS_PAID', `only ${live.totalAmt - live.refundedAmt} fen left to refund`);
    const refund: RefundRecord = {
      refundTransactionId: this.newId('DR', (id) => this.refunds.has(id)),
      refundTradeNo: input.refundTradeNo,
      skillId: input.skillId,
      transactionId: live.transactionId,
      tradeNo: live.tradeNo,
      totalAmt: live.totalAmt,
      refundAmt: input.refundAmt,
      refundDetails: clone(input.refundDetails),
      refundStatus: 'PROCESSING',
      createdAt: this.scheduler.now(),
    };
    if (input.refundDesc !== undefined) refund.refundDesc = input.refundDesc;
    live.refundedAmt += input.refundAmt;
    live.version++;
    this.refunds.set(refund.refundTransactionId, refund);
    this.byRefundTradeNo.set(`${input.skillId}\n${input.refundTradeNo}`, refund.refundTransactionId);
    this.emit('refund', { refund: clone(refund), previous: undefined });
    this.scheduler.after(this.refundDelayMs, () => this.finishRefund(refund.refundTransactionId, 'SUCCESS'));
    return { refund: clone(refund), created: true };
  }

  /** Move a PROCESSING refund to SUCCESS or FAIL (a failed refund gives the amount back). */
  finishRefund(refundTransactionId: string, status: 'SUCCESS' | 'FAIL'): RefundRecord {
    const r = this.refunds.get(refundTransactionId);
    if (!r) throw new SandboxStateError('UNKNOWN_REFUND', 'refund not found');
    if (r.refundStatus !== 'PROCESSING') return clone(r);
    r.refundStatus = status;
    r.finishedAt = this.scheduler.now();
    if (status === 'FAIL') {
      const o = this.orders.get(r.transactionId);
      if (o) o.refundedAmt -= r.refundAmt;
    }
    this.emit('refund', { refund: clone(r), previous: 'PROCESSING' });
    return clone(r);
  }

  /** The either-or refund lookup of `/paycgi/refundquery`, within one skill. */
  findRefund(skillId: string, ids: { refundTransactionId?: string | undefined; refundTradeNo?: string | undefined }): RefundRecord {
    let a: RefundRecord | undefined;
    let b: RefundRecord | undefined;
    if (ids.refundTransactionId === undefined && ids.refundTradeNo === undefined) throw new SandboxStateError('UNKNOWN_REFUND', 'no refund id given');
    if (ids.refundTransactionId !== undefined) {
      a = this.refunds.get(ids.refundTransactionId);
      if (!a || a.skillId !== skillId) throw new SandboxStateError('UNKNOWN_REFUND', 'refund not found');
    }
    if (ids.refundTradeNo !== undefined) {
      const id = this.byRefundTradeNo.get(`${skillId}\n${ids.refundTradeNo}`);
      b = id === undefined ? undefined : this.refunds.get(id);
      if (!b) throw new SandboxStateError('UNKNOWN_REFUND', 'refund not found');
    }
    if (a && b && a !== b) throw new SandboxStateError('ORDER_MISMATCH', 'refund ids name different refunds');
    return clone((a ?? b)!);
  }

  listRefunds(): RefundRecord[] {
    return [...this.refunds.values()].map(clone);
  }

  close(): void {
    for (const cancel of this.expiryTimers.values()) cancel();
    this.expiryTimers.clear();
    this.removeAllListeners();
  }
}
