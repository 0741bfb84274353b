/**
 * The purchases of the platform: a *purchase* is one Charge of one user on
 * one device — goods → order (create order at the skill backend + the
 * DingDang order) → payment → status changes (each with a per-purchase
 * `seq`) → resume (flow C). The order book keeps the orders; this keeps the
 * purchases around them and turns order changes into purchase status changes.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, RemoteError } from '../protocol/errors.js';
import { PURCHASE_ID_RE, type DeviceMode, type DeviceOrder, type EndReason, type PlaceOrderResult, type ResumeResult } from '../protocol/device-link.js';
import type { SkillDirective, SkillRequest, SkillResponseBody, SkillRetCode, SkillSession } from '../protocol/skill-types.js';
import type { ChargeDirective, TradeStatus } from '../protocol/types.js';
import { RET_MSG_ALREADY_OWNED } from '../protocol/types.js';
import { validate } from '../protocol/validate.js';
import type { SkillConfig } from './config.js';
import { SandboxStateError } from './errors.js';
import type { Faults } from './faults.js';
import type { DingDangOrder, OrderBook } from './order-book.js';
import { callCreateOrder, createOrderRequestFrom, type OutboundOptions } from './outbound.js';
import type { Scheduler } from './scheduler.js';
import { chargeResponseEvent, rerun } from './skill.js';

/** Who speaks when a request names no user / no device. */
export const DEFAULT_USER_ID = 'sandbox-user';
export const DEFAULT_DEVICE_ID = 'sandbox-speaker';

export type { DeviceMode };
export type PayOutcome = 'success' | 'fail' | 'cancel' | 'none';
export const PAY_OUTCOMES: readonly PayOutcome[] = ['success', 'fail', 'cancel', 'none'];

/** The order as the device sees it: the device link's `DeviceOrder` (src/protocol/device-link.ts). */
export type DeviceOrderView = DeviceOrder;

export type PurchaseState = 'goods' | 'ordering' | 'ordered' | 'already-owned' | 'paid' | 'failed' | 'cancelled';

export interface Purchase {
  purchaseId: string;
  skillId: string;
  mode: DeviceMode;
  user: { userId: string; accessToken?: string };
  deviceId: string;
  userToken: string;
  charge: ChargeDirective;
  /** The skill request that produced the Charge (re-run for the resume when there is no order). */
  originalRequest: SkillRequest | undefined;
  /** The session the Charge was answered in (the SessionEndedRequest after a failed resume names it). */
  sessionId?: string;
  /** Opaque copy of what the device sent as its original request. */
  deviceOriginalRequest?: unknown;
  state: PurchaseState;
  transactionId?: string;
  tradeNo?: string;
  /** Per-purchase status sequence number (starts at 1), +1 on every status or order change. */
  seq: number;
  createdAt: number;
  /** False while no device has claimed a purchase the platform opened from an utterance without a deviceId. */
  deviceClaimed: boolean;
  /** The skill's answer to the resume, kept so a repeated resume returns the same answer. */
  resumeAnswer?: ResumeOutcome;
}

/** Purchase ids: 1–64 characters of [0-9A-Za-z._-] (docs/device-protocol.md; the device link's pattern). */
export { PURCHASE_ID_RE };

/** A status change of a purchase: what is pushed to the device. */
export interface PurchaseStatus {
  purchaseId: string;
  tradeStatus: TradeStatus;
  seq: number;
  order?: DeviceOrderView;
  /** Short machine reason: created, scanned, paid, declined, cancelled, expired, refreshed, already-owned. */
  reason?: string;
  /**
   * Why the order ended (the device link's `endReason`, our extension):
   * `cancelled` (FAIL: the user cancelled, anywhere), `failed` (FAIL: the
   * payment did not go through), `expired` (NOTPAY: the window closed).
   */
  endReason?: EndReason;
  /** Platform time of the change, epoch ms. */
  at: number;
}

export interface StartPurchaseInput {
  mode: DeviceMode;
  charge: unknown;
  originalRequest?: unknown;
  purchaseId?: string;
  skillId?: string;
  userId?: string;
  accessToken?: string;
  deviceId?: string;
}

/** What placing the order came to: the device link's `PlaceOrderResult`. */
export type PlaceOrderOutcome = PlaceOrderResult;

/**
 * The resume's answer for the device (contract C): the device link's
 * `ResumeResult` — speech as a string (the fallback line after an `error`),
 * the skill's real directives (typed here: the platform checked them).
 */
export type ResumeOutcome = Omit<ResumeResult, 'directives'> & { directives: SkillDirective[] };

/** The speaker's context of a request: who, on which device. */
export interface TurnContext {
  userId?: string;
  accessToken?: string;
  deviceId?: string;
  mode?: DeviceMode;
}

/** What the purchase book needs from the platform. */
export interface PurchaseBookDeps {
  book: OrderBook;
  faults: Faults;
  scheduler: Scheduler;
  /** Real ms between "scanned" (PROCESSING) and the result. */
  processingMs: number;
  /** The skill of that id (the only one when undefined); SandboxStateError otherwise. */
  skill(skillId: string | undefined): SkillConfig;
  outbound(): OutboundOptions;
  signingNow(): number;
  onPurchase(p: Purchase): void;
  onStatus(s: PurchaseStatus): void;
  /** One turn of the conversation with the skill (the resume's request). */
  turn(
    skill: SkillConfig,
    request: SkillRequest,
    ctx: TurnContext,
    opts: { session: SkillSession; final: true },
  ): Promise<{ reply: { speech: string; answer?: SkillResponseBody; error?: { code: SkillRetCode; reason: string } } }>;
}

function isSkillRequest(v: unknown): v is SkillRequest {
  const o = v as { type?: unknown; requestId?: unknown } | null | undefined;
  return typeof o === 'object' && o !== null && typeof o.type === 'string' && typeof o.requestId === 'string';
}

export class PurchaseBook {
  private readonly purchases = new Map<string, Purchase>();

  constructor(private readonly d: PurchaseBookDeps) {}

  /** Open a purchase for a Charge the skill answered (the platform assigns the id). */
  openPurchase(
    skill: SkillConfig,
    charge: ChargeDirective,
    originalRequest: SkillRequest | undefined,
    ctx: { mode?: DeviceMode; userId?: string; accessToken?: string; deviceId?: string; purchaseId?: string; sessionId?: string },
  ): Purchase {
    const userId = ctx.userId ?? DEFAULT_USER_ID;
    const p: Purchase = {
      purchaseId: ctx.purchaseId ?? `P${randomUUID().replace(/-/g, '')}`,
      skillId: skill.skillId,
      mode: ctx.mode ?? 'screen',
      user: ctx.accessToken !== undefined ? { userId, accessToken: ctx.accessToken } : { userId },
      deviceId: ctx.deviceId ?? DEFAULT_DEVICE_ID,
      userToken: charge.payload.chargeInfo.userId ?? ctx.accessToken ?? userId,
      charge,
      originalRequest,
      state: 'goods',
      seq: 1,
      createdAt: this.d.scheduler.now(),
      deviceClaimed: ctx.deviceId !== undefined,
    };
    if (ctx.sessionId !== undefined) p.sessionId = ctx.sessionId;
    this.purchases.set(p.purchaseId, p);
    this.d.onPurchase(structuredClone(p));
    return p;
  }

  /**
   * The device registers a purchase: with the `purchaseId` the platform
   * assigned (when it delivered the directive) or a new one from the Charge.
   */
  startPurchase(input: StartPurchaseInput): Purchase {
    if (input.mode !== 'screen' && input.mode !== 'screenless') throw new InvalidArgumentError('mode must be "screen" or "screenless"');
    if (input.purchaseId !== undefined && this.purchases.has(input.purchaseId)) {
      const p = this.purchases.get(input.purchaseId)!;
      if (input.deviceId !== undefined) {
        if (!p.deviceClaimed) {
          p.deviceId = input.deviceId;
          p.deviceClaimed = true;
        } else if (p.deviceId !== input.deviceId) throw new SandboxStateError('UNKNOWN_PURCHASE', 'no such purchase');
      }
      p.mode = input.mode;
      if (input.originalRequest !== undefined) p.deviceOriginalRequest = input.originalRequest;
      return structuredClone(p);
    }
    if (input.purchaseId !== undefined && !PURCHASE_ID_RE.test(input.purchaseId))
      throw new InvalidArgumentError('purchaseId must be 1–64 characters of [0-9A-Za-z._-]');
    const v = validate('chargeDirective', input.charge);
    if (!v.ok) throw new InvalidArgumentError(`charge is not a valid Charge directive: ${v.issues[0]?.path} ${v.issues[0]?.message}`);
    // The device's opaque copy: a request envelope (skill from context.System.application), a bare request, or { skillId, request }.
    const orig = input.originalRequest as Record<string, unknown> | undefined;
    const appId = (orig?.context as { System?: { application?: { applicationId?: unknown } } } | undefined)?.System?.application?.applicationId;
    const skillId = input.skillId ?? (typeof orig?.skillId === 'string' ? orig.skillId : undefined) ?? (typeof appId === 'string' ? appId : undefined);
    const skill = this.d.skill(skillId);
    const candidate = orig && typeof orig.request === 'object' ? orig.request : orig && typeof orig.type === 'string' ? orig : undefined;
    const origReq = isSkillRequest(candidate) ? candidate : undefined;
    const ctx: { mode: DeviceMode; userId?: string; accessToken?: string; deviceId?: string; purchaseId?: string } = { mode: input.mode };
    for (const k of ['userId', 'accessToken', 'deviceId', 'purchaseId'] as const) if (input[k] !== undefined) ctx[k] = input[k];
    const p = this.openPurchase(skill, v.value, origReq, ctx);
    if (input.originalRequest !== undefined) p.deviceOriginalRequest = input.originalRequest;
    return structuredClone(p);
  }

  private mustPurchase(purchaseId: string): Purchase {
    const p = typeof purchaseId === 'string' ? this.purchases.get(purchaseId) : undefined;
    if (!p) throw new SandboxStateError('UNKNOWN_PURCHASE', `no purchase ${String(purchaseId).slice(0, 40)}`);
    return p;
  }

  purchase(purchaseId: string): Purchase | undefined {
    const p = this.purchases.get(purchaseId);
    return p && structuredClone(p);
  }

  purchaseList(): Purchase[] {
    return [...this.purchases.values()].map((p) => structuredClone(p));
  }

  orderView(order: DingDangOrder, purchaseId = order.purchaseId ?? ''): DeviceOrderView {
    return {
      purchaseId,
      transactionId: order.transactionId,
      tradeNo: order.tradeNo,
      totalAmt: order.totalAmt,
      payUrl: order.payUrl,
      expiresAt: order.expiresAt,
    };
  }

  private pending = new Map<string, Promise<PlaceOrderOutcome>>();

  /** The user ordered: create order at the backend, then the DingDang order. Idempotent while the order is open. */
  async placeOrder(purchaseId: string): Promise<PlaceOrderOutcome> {
    const p = this.mustPurchase(purchaseId);
    if (p.state === 'already-owned') return { kind: 'already-owned' };
    if (p.state === 'cancelled') throw new SandboxStateError('BAD_STATE', 'the purchase was cancelled');
    if (p.transactionId) {
      const o = this.d.book.get(p.transactionId)!;
      if (o.tradeStatus === 'NOTPAY' && o.expired) return { kind: 'order', order: this.orderView(this.d.book.refresh(o.transactionId), p.purchaseId) };
      if (o.tradeStatus !== 'FAIL') return { kind: 'order', order: this.orderView(o, p.purchaseId) };
      // The last order failed (declined, cancelled on the phone): a retry is a new order.
      delete p.transactionId;
      delete p.tradeNo;
    }
    const inflight = this.pending.get(purchaseId);
    if (inflight) return inflight;
    const run = this.doPlaceOrder(p).finally(() => this.pending.delete(purchaseId));
    this.pending.set(purchaseId, run);
    return run;
  }

  private async doPlaceOrder(p: Purchase): Promise<PlaceOrderOutcome> {
    const skill = this.d.skill(p.skillId);
    p.state = 'ordering';
    try {
      if (this.d.faults.takeAlreadyOwned()) return this.owned(p);
      const request = createOrderRequestFrom(skill.skillId, p.userToken, p.charge);
      const reply = await callCreateOrder(this.d.outbound(), skill, request);
      if (reply.retCode !== 'SUCCESS') {
        if (reply.retMsg === RET_MSG_ALREADY_OWNED) return this.owned(p);
        throw new RemoteError(`create order refused: ${reply.retMsg ?? 'FAIL'}`, reply.retMsg);
      }
      const order = this.d.book.createOrder({
        skillId: skill.skillId,
        tradeNo: reply.tradeNo!,
        userToken: p.userToken,
        details: request.details,
        totalAmt: request.totalAmt,
        purchaseId: p.purchaseId,
      });
      if ((p.state as PurchaseState) === 'cancelled') {
        // Cancelled while the backend was creating its order: that order is cancelled too, never payable.
        this.d.book.fail(order.transactionId, 'cancelled');
        throw new SandboxStateError('BAD_STATE', 'the purchase was cancelled');
      }
      return { kind: 'order', order: this.orderView(order, p.purchaseId) };
    } catch (e) {
      if (p.state === 'ordering') p.state = 'goods';
      throw e;
    }
  }

  private owned(p: Purchase): PlaceOrderOutcome {
    p.state = 'already-owned';
    p.seq++;
    this.d.onStatus({ purchaseId: p.purchaseId, tradeStatus: 'NOTPAY', seq: p.seq, reason: 'already-owned', at: this.d.scheduler.now() });
    return { kind: 'already-owned' };
  }

  /**
   * A fresh payment window: an unpaid order gets a new window; a failed one
   * (or none yet) is replaced by a new order. A paid order cannot be refreshed.
   */
  async refreshOrder(purchaseId: string): Promise<DeviceOrderView> {
    const p = this.mustPurchase(purchaseId);
    const o = p.transactionId ? this.d.book.get(p.transactionId) : undefined;
    if (o?.tradeStatus === 'SUCCESS') throw new SandboxStateError('ALREADY_FINAL', 'the order is already paid');
    if (o?.tradeStatus === 'PROCESSING') return this.orderView(o, p.purchaseId);
    if (o?.tradeStatus === 'NOTPAY') return this.orderView(this.d.book.refresh(o.transactionId), p.purchaseId);
    const placed = await this.placeOrder(purchaseId);
    if (placed.kind !== 'order') throw new SandboxStateError('BAD_STATE', 'the user already owns the goods');
    return placed.order;
  }

  /** The purchase's current status (for polls); `seq` is the latest. */
  status(purchaseId: string): PurchaseStatus {
    return this.statusOf(this.mustPurchase(purchaseId));
  }

  /**
   * The status of a purchase as the device sees it: its order's, or, for a
   * cancelled purchase, FAIL with `endReason: cancelled` (with or without an
   * order; an order of a cancelled purchase is FAIL itself).
   */
  private statusOf(p: Purchase): PurchaseStatus {
    const s: PurchaseStatus = { purchaseId: p.purchaseId, tradeStatus: 'NOTPAY', seq: p.seq, at: this.d.scheduler.now() };
    const o = p.transactionId ? this.d.book.get(p.transactionId) : undefined;
    if (o) {
      s.tradeStatus = o.tradeStatus;
      s.order = this.orderView(o, p.purchaseId);
      if (o.reason !== undefined) s.reason = o.reason;
      if (o.tradeStatus === 'FAIL') s.endReason = o.reason === 'cancelled' ? 'cancelled' : 'failed';
      else if (o.tradeStatus === 'NOTPAY' && o.expired) s.endReason = 'expired';
    } else if (p.state === 'already-owned') s.reason = 'already-owned';
    if (p.state === 'cancelled') Object.assign(s, { tradeStatus: 'FAIL', reason: 'cancelled', endReason: 'cancelled' });
    return s;
  }

  /**
   * The user cancelled (on the device, on the WeChat pay page, in the
   * DingDang app; before or after ordering): the purchase ends cancelled and
   * takes no more orders. An open order fails with reason `cancelled`; either
   * way the device gets a status change with a fresh `seq` (FAIL, `endReason:
   * cancelled`). Idempotent; a paid purchase is never cancelled (false).
   */
  cancel(purchaseId: string): boolean {
    const p = this.mustPurchase(purchaseId);
    if (p.state === 'paid') return false;
    if (p.state === 'cancelled') return true;
    p.state = 'cancelled';
    const o = p.transactionId ? this.d.book.get(p.transactionId) : undefined;
    // The order's change is the purchase's status change (onOrder).
    if (o && (o.tradeStatus === 'NOTPAY' || o.tradeStatus === 'PROCESSING')) this.d.book.fail(o.transactionId, 'cancelled');
    else {
      // No order yet (screenless: cancelled in the app before ordering), or one that had already failed.
      p.seq++;
      this.d.onStatus(this.statusOf(p));
    }
    return true;
  }

  /** An order changed (the order book's `order` event): the purchase it belongs to follows, with a status change. */
  onOrder(order: DingDangOrder): void {
    if (!order.purchaseId) return;
    const p = this.purchases.get(order.purchaseId);
    if (!p) return;
    if (!p.transactionId) {
      p.transactionId = order.transactionId;
      p.tradeNo = order.tradeNo;
    }
    if (p.transactionId !== order.transactionId) return;
    if (order.tradeStatus === 'NOTPAY' && p.state === 'ordering') p.state = 'ordered';
    if (order.tradeStatus === 'SUCCESS') p.state = 'paid';
    // Cancelled on the phone (the WeChat pay page): the purchase is cancelled, as a cancel on the device.
    if (order.tradeStatus === 'FAIL' && p.state !== 'cancelled') p.state = order.reason === 'cancelled' ? 'cancelled' : 'failed';
    p.seq++;
    const s: PurchaseStatus = {
      purchaseId: p.purchaseId,
      tradeStatus: order.tradeStatus,
      seq: p.seq,
      order: this.orderView(order, p.purchaseId),
      at: this.d.scheduler.now(),
    };
    if (order.reason !== undefined) s.reason = order.reason;
    if (order.tradeStatus === 'FAIL') s.endReason = order.reason === 'cancelled' || p.state === 'cancelled' ? 'cancelled' : 'failed';
    else if (order.tradeStatus === 'NOTPAY' && order.expired) s.endReason = 'expired';
    this.d.onStatus(s);
  }

  /**
   * Scripted payment outcome (phone page, DingDang app, control API). Target: a
   * transactionId, or a purchaseId (screenless: places the order first, as
   * the user does in the app). Resolves with the order once the outcome is final.
   */
  async pay(target: string, outcome: PayOutcome): Promise<DingDangOrder | undefined> {
    if (!PAY_OUTCOMES.includes(outcome)) throw new InvalidArgumentError(`outcome must be one of ${PAY_OUTCOMES.join(', ')}`);
    let tid = target;
    if (!this.d.book.get(target)) {
      const p = this.mustPurchase(target);
      if (outcome === 'cancel') {
        // As in the DingDang app: the cancel button cancels the purchase, ordered or not.
        if (!this.cancel(p.purchaseId)) throw new SandboxStateError('ALREADY_FINAL', 'the purchase is already paid');
        const tidNow = this.purchases.get(target)!.transactionId;
        return tidNow ? this.d.book.get(tidNow) : undefined;
      }
      const current = p.transactionId ? this.d.book.get(p.transactionId) : undefined;
      if (!current || current.tradeStatus === 'FAIL' || current.expired) {
        // As in the DingDang app: ordering (again) comes first.
        const placed = await this.placeOrder(p.purchaseId);
        if (placed.kind === 'already-owned') return undefined;
      }
      tid = this.purchases.get(target)!.transactionId!;
    }
    const order = this.d.book.get(tid);
    if (!order) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    switch (outcome) {
      case 'none':
        return order;
      case 'cancel':
        return this.d.book.fail(tid, 'cancelled');
      case 'success':
      case 'fail': {
        this.d.book.scan(tid);
        if (this.d.processingMs > 0) await new Promise<void>((r) => this.d.scheduler.afterReal(this.d.processingMs, r));
        if (this.d.scheduler.isClosed) return this.d.book.get(tid);
        return outcome === 'success' ? this.d.book.pay(tid) : this.d.book.fail(tid, 'declined');
      }
    }
  }

  /**
   * Flow C: payment is complete; send the skill the `Connections.Response`
   * Charge event (or, when the user already owned the goods, the original
   * request again) and return its answer for the device. A refused answer or
   * a failed call gives the fallback line and `error` (not kept: a later
   * resume asks the skill again).
   */
  async resume(purchaseId: string): Promise<ResumeOutcome> {
    const p = this.mustPurchase(purchaseId);
    if (p.resumeAnswer) return structuredClone(p.resumeAnswer);
    let request: SkillRequest;
    if (p.state === 'already-owned') {
      if (!p.originalRequest) throw new SandboxStateError('BAD_STATE', 'no original request to re-run');
      request = rerun(p.originalRequest, this.d.signingNow());
    } else {
      const o = p.transactionId ? this.d.book.get(p.transactionId) : undefined;
      if (!o || o.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'the purchase is not paid');
      request = chargeResponseEvent(o.transactionId, o.tradeNo, this.d.signingNow());
    }
    const ctx: TurnContext = { userId: p.user.userId, deviceId: p.deviceId, mode: p.mode };
    if (p.user.accessToken !== undefined) ctx.accessToken = p.user.accessToken;
    const session: SkillSession = { new: p.sessionId === undefined, sessionId: p.sessionId ?? randomUUID() };
    const { reply } = await this.d.turn(this.d.skill(p.skillId), request, ctx, { session, final: true });
    if (reply.error) return { outputSpeech: reply.speech, directives: [], shouldEndSession: true, error: reply.error };
    // The session ends after a resume; a re-run request's Dialog.* directives have nothing to continue.
    const out: ResumeOutcome = {
      outputSpeech: reply.speech,
      directives: (reply.answer?.directives ?? []).filter((d) => !d.type.startsWith('Dialog.')),
      shouldEndSession: true,
    };
    p.resumeAnswer = structuredClone(out);
    return out;
  }
}
