/**
 * The platform core: skills, the order book, purchases, outbound calls,
 * notifications, scripted payment outcomes and faults — everything but the
 * HTTP surface (server.ts). A *purchase* is one Charge of one user on one
 * device: goods → order (create order at the backend + DingDang order) →
 * payment → status changes (each with a per-purchase `seq`) → delivery
 * notification → resume (flow C).
 */
import { EventEmitter } from 'node:events';
import { randomUUID, type KeyObject } from 'node:crypto';
import { InvalidArgumentError, RemoteError } from '../protocol/errors.js';
import type { ChargeDirective, TradeStatus } from '../protocol/types.js';
import { RET_MSG_ALREADY_OWNED } from '../protocol/types.js';
import { validate } from '../protocol/validate.js';
import { signRsa2 } from '../protocol/tsk-node.js';
import { Signer } from './signer.js';
import type { Fen } from '../protocol/money.js';
import type { SandboxConfig, SkillConfig } from './config.js';
import { SandboxStateError } from './errors.js';
import { Faults } from './faults.js';
import { OrderBook, type DingDangOrder } from './order-book.js';
import { callCreateOrder, createOrderRequestFrom, Notifier, type CallRecord, type OutboundOptions } from './outbound.js';
import { Scheduler } from './scheduler.js';
import {
  callSkill,
  chargeResponseEvent,
  intentRequest,
  skillEnvelope,
  UtteranceMatcher,
  type IntentMatch,
  type SkillAnswer,
  type SkillEnvelope,
  type SkillRequestBody,
  type Slot,
} from './skill.js';

export type DeviceMode = 'screen' | 'screenless';
export type PayOutcome = 'success' | 'fail' | 'cancel' | 'none';
export const PAY_OUTCOMES: readonly PayOutcome[] = ['success', 'fail', 'cancel', 'none'];

/** The order as the device sees it (same shape as the device port's `DeviceOrder`). */
export interface DeviceOrderView {
  purchaseId: string;
  transactionId: string;
  tradeNo: string;
  totalAmt: Fen;
  payUrl: string;
  expiresAt: number;
}

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
  originalRequest: SkillRequestBody | undefined;
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

/** Purchase ids: 1–64 characters of [0-9A-Za-z._-] (docs/device-protocol.md). */
export const PURCHASE_ID_RE = /^[0-9A-Za-z._-]{1,64}$/;

/** A status change of a purchase: what is pushed to the device. */
export interface PurchaseStatus {
  purchaseId: string;
  tradeStatus: TradeStatus;
  seq: number;
  order?: DeviceOrderView;
  /** Short machine reason: created, scanned, paid, declined, cancelled, expired, refreshed, already-owned. */
  reason?: string;
  /** Platform time of the change, epoch ms. */
  at: number;
}

/** One request the skill backend made to the pay CGI, and the platform's answer. */
export interface InboundRecord {
  kind: 'orderquery' | 'refund' | 'refundquery';
  at: number;
  skillId?: string;
  /** The request body (first 4 KiB). */
  body: string;
  retCode: string;
  retMsg?: string;
}

export interface PlatformEvents {
  status: [PurchaseStatus];
  purchase: [Purchase];
  call: [CallRecord];
  inbound: [InboundRecord];
}

export interface PlatformOptions {
  config: SandboxConfig;
  /** Factor for platform schedules (delivery retries, refund processing); default 1. */
  timeScale?: number;
  /** Delivery/refund notification retry waits in platform ms; default WeChat's schedule. */
  retryScheduleMs?: readonly number[];
  /** Payment window, real ms; default 5 minutes. */
  payWindowMs?: number;
  /** How long a refund stays PROCESSING, platform ms (scaled); default 5000. */
  refundDelayMs?: number;
  /** Real ms between "scanned" (PROCESSING) and the result; default 300. */
  processingMs?: number;
  /** Timeout of each outbound call, real ms; default 5000. */
  callTimeoutMs?: number;
  /** Base URL of the sandbox (for payment URLs); can be set later with `setBaseUrl`. */
  baseUrl?: string;
  now?: () => number;
}

export interface SayInput {
  text: string;
  skillId?: string;
  userId?: string;
  accessToken?: string;
  deviceId?: string;
  mode?: DeviceMode;
}

export interface SayResult {
  matched: boolean;
  match?: IntentMatch;
  answer?: SkillAnswer;
  /** Set when the skill answered with a Charge directive: the purchase the platform opened. */
  purchaseId?: string;
  request?: SkillRequestBody;
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

export type PlaceOrderOutcome = { kind: 'order'; order: DeviceOrderView } | { kind: 'already-owned' };

export interface ResumeOutcome {
  outputSpeech?: string;
  directives: unknown[];
  shouldEndSession?: boolean;
}

const DEFAULT_USER = 'sandbox-user';
const DEFAULT_DEVICE = 'sandbox-speaker';

export class Platform extends EventEmitter<PlatformEvents> {
  readonly config: SandboxConfig;
  readonly scheduler: Scheduler;
  readonly book: OrderBook;
  readonly faults = new Faults();
  readonly notifier: Notifier;
  readonly matcher: UtteranceMatcher;
  readonly processingMs: number;
  readonly callTimeoutMs: number;
  private readonly skills = new Map<string, SkillConfig>();
  private readonly purchases = new Map<string, Purchase>();
  private readonly calls: CallRecord[] = [];
  private baseUrl: string;
  private readonly closing = new AbortController();
  /** RSA signing in the thread pool, device work first (see signer.ts). */
  readonly signer: Signer;

  constructor(options: PlatformOptions) {
    super();
    this.setMaxListeners(200);
    this.config = options.config;
    for (const s of options.config.skills) this.skills.set(s.skillId, s);
    const now = options.now ?? Date.now;
    this.scheduler = new Scheduler({ timeScale: options.timeScale ?? 1, now });
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1';
    this.signer = new Signer(this.config.platformPrivateKey, () => this.signingNow());
    this.processingMs = options.processingMs ?? 300;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.book = new OrderBook({
      scheduler: this.scheduler,
      payUrl: (tid) => `${this.baseUrl}/pay/${tid}`,
      ...(options.payWindowMs !== undefined ? { payWindowMs: options.payWindowMs } : {}),
      ...(options.refundDelayMs !== undefined ? { refundDelayMs: options.refundDelayMs } : {}),
    });
    this.notifier = new Notifier({
      ...this.outbound(),
      scheduler: this.scheduler,
      ...(options.retryScheduleMs ? { retryScheduleMs: options.retryScheduleMs } : {}),
    });
    this.matcher = new UtteranceMatcher(options.config.skills);
    this.book.on('order', ({ order }) => this.onOrder(order));
    this.book.on('refund', ({ refund }) => {
      if (refund.refundStatus === 'PROCESSING') return;
      const skill = this.skills.get(refund.skillId);
      if (skill) this.notifier.refund(skill, refund);
    });
  }

  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.baseUrl;
  }

  get platformKey(): KeyObject {
    return this.config.platformPrivateKey;
  }

  /** The platform's signing clock: now + injected skew. */
  signingNow = (): number => this.scheduler.now() + this.faults.clockSkewMs;

  /** Sign bytes the platform sends (pay replies, pushes) with TSK-RSA2. */
  sign(raw: string | Uint8Array): string {
    return signRsa2(raw, this.config.platformPrivateKey, { now: this.signingNow });
  }

  /**
   * `sign` in libuv's thread pool (same header bytes; the datetime is taken
   * now, from the signing clock): several signatures run in parallel with the
   * event loop, on every core.
   */
  signAsync(raw: string | Uint8Array): Promise<string> {
    return this.signer.sign(raw, 'device');
  }

  outbound(): OutboundOptions {
    return {
      platformKey: this.config.platformPrivateKey,
      signingNow: this.signingNow,
      sign: (raw) => this.signer.sign(raw, 'backend'),
      now: () => this.scheduler.now(),
      faults: this.faults,
      timeoutMs: this.callTimeoutMs,
      signal: this.closing.signal,
      record: (c) => this.record(c),
    };
  }

  private record(c: CallRecord): void {
    this.calls.push(c);
    if (this.calls.length > 1000) this.calls.shift();
    this.emit('call', c);
  }

  private readonly inbound: InboundRecord[] = [];

  /** Record a pay-CGI request (called by the pay CGI). */
  recordInbound(r: InboundRecord): void {
    this.inbound.push(r);
    if (this.inbound.length > 1000) this.inbound.shift();
    this.emit('inbound', r);
  }

  /** Pay-CGI requests so far (newest last, at most 1000). */
  inboundLog(): InboundRecord[] {
    return this.inbound.map((r) => ({ ...r }));
  }

  /** Outbound calls so far (newest last, at most 1000). */
  callLog(): CallRecord[] {
    return this.calls.map((c) => ({ ...c }));
  }

  skill(skillId: string): SkillConfig | undefined {
    return this.skills.get(skillId);
  }

  skillList(): SkillConfig[] {
    return [...this.skills.values()];
  }

  private mustSkill(skillId: string | undefined): SkillConfig {
    if (skillId === undefined) {
      if (this.skills.size === 1) return this.skills.values().next().value as SkillConfig;
      throw new InvalidArgumentError('skillId is required when the sandbox has several skills');
    }
    const s = this.skills.get(skillId);
    if (!s) throw new SandboxStateError('UNKNOWN_SKILL', `no skill ${JSON.stringify(skillId).slice(0, 40)}`);
    return s;
  }

  // ── skill routing ─────────────────────────────────────────────────────

  /** Send any request body to a skill in the SPEC §3 envelope, HMAC-signed. */
  async sendToSkill(
    skillId: string | undefined,
    request: SkillRequestBody,
    ctx: { userId?: string; accessToken?: string; deviceId?: string; mode?: DeviceMode; newSession?: boolean } = {},
  ): Promise<{ envelope: SkillEnvelope; answer: SkillAnswer }> {
    const skill = this.mustSkill(skillId);
    const user: { userId: string; accessToken?: string } = { userId: ctx.userId ?? DEFAULT_USER };
    if (ctx.accessToken !== undefined) user.accessToken = ctx.accessToken;
    const envelope = skillEnvelope({
      skillId: skill.skillId,
      user,
      deviceId: ctx.deviceId ?? DEFAULT_DEVICE,
      mode: ctx.mode ?? 'screen',
      request,
      newSession: ctx.newSession ?? true,
    });
    const fault = this.faults.takePartnerFault('skill');
    const answer = await callSkill(skill, envelope, {
      signingNow: this.signingNow,
      now: () => this.scheduler.now(),
      timeoutMs: this.callTimeoutMs,
      signal: this.closing.signal,
      record: (c) => this.record(fault ? { ...c, fault } : c),
    });
    if (fault === 'timeout') throw new RemoteError(`injected fault: skill ${skill.skillId} timed out`);
    if (fault === 'fail') throw new RemoteError(`injected fault: skill ${skill.skillId} failed`);
    return { envelope, answer };
  }

  /** Route an intent (already recognised) to a skill. Opens a purchase when the answer holds a Charge. */
  async intent(input: { skillId?: string; intent: string; slots?: Record<string, string | Slot>; query?: string } & Omit<SayInput, 'text' | 'skillId'>): Promise<SayResult> {
    const skill = this.mustSkill(input.skillId);
    const slots: Record<string, Slot> = {};
    for (const [k, v] of Object.entries(input.slots ?? {})) slots[k] = typeof v === 'string' ? { name: k, value: v } : v;
    const request = intentRequest(input.intent, slots, input.query);
    const { answer } = await this.sendToSkill(skill.skillId, request, input);
    const result: SayResult = { matched: true, match: { skillId: skill.skillId, intent: input.intent, slots, sample: '' }, answer, request };
    if (answer.charge) {
      const p = this.openPurchase(skill, answer.charge, request, input);
      result.purchaseId = p.purchaseId;
    }
    return result;
  }

  /** What the user said → matcher → IntentRequest to the skill. */
  async say(input: SayInput): Promise<SayResult> {
    if (typeof input.text !== 'string' || input.text.trim() === '') throw new InvalidArgumentError('text must be a non-empty string');
    if (input.skillId !== undefined) this.mustSkill(input.skillId);
    const match = this.matcher.match(input.text, input.skillId);
    if (!match) return { matched: false };
    const r = await this.intent({ ...input, skillId: match.skillId, intent: match.intent, slots: match.slots, query: input.text });
    r.match = match;
    return r;
  }

  // ── purchases ─────────────────────────────────────────────────────────

  private openPurchase(
    skill: SkillConfig,
    charge: ChargeDirective,
    originalRequest: SkillRequestBody | undefined,
    ctx: { mode?: DeviceMode; userId?: string; accessToken?: string; deviceId?: string; purchaseId?: string },
  ): Purchase {
    const userId = ctx.userId ?? DEFAULT_USER;
    const p: Purchase = {
      purchaseId: ctx.purchaseId ?? `P${randomUUID().replace(/-/g, '')}`,
      skillId: skill.skillId,
      mode: ctx.mode ?? 'screen',
      user: ctx.accessToken !== undefined ? { userId, accessToken: ctx.accessToken } : { userId },
      deviceId: ctx.deviceId ?? DEFAULT_DEVICE,
      userToken: charge.payload.chargeInfo.userId ?? ctx.accessToken ?? userId,
      charge,
      originalRequest,
      state: 'goods',
      seq: 1,
      createdAt: this.scheduler.now(),
      deviceClaimed: ctx.deviceId !== undefined,
    };
    this.purchases.set(p.purchaseId, p);
    this.emit('purchase', structuredClone(p));
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
    const orig = input.originalRequest as Record<string, unknown> | undefined;
    const skillId =
      input.skillId ??
      (typeof orig?.skillId === 'string' ? orig.skillId : undefined) ??
      ((orig?.session as { application?: { applicationId?: unknown } } | undefined)?.application?.applicationId as string | undefined);
    const skill = this.mustSkill(skillId);
    const origReq = (orig && typeof orig.request === 'object' ? orig.request : orig && typeof orig.type === 'string' ? orig : undefined) as
      | SkillRequestBody
      | undefined;
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
    return { purchaseId, transactionId: order.transactionId, tradeNo: order.tradeNo, totalAmt: order.totalAmt, payUrl: order.payUrl, expiresAt: order.expiresAt };
  }

  private pending = new Map<string, Promise<PlaceOrderOutcome>>();

  /** The user ordered: create order at the backend, then the DingDang order. Idempotent while the order is open. */
  async placeOrder(purchaseId: string): Promise<PlaceOrderOutcome> {
    const p = this.mustPurchase(purchaseId);
    if (p.state === 'already-owned') return { kind: 'already-owned' };
    if (p.state === 'cancelled') throw new SandboxStateError('BAD_STATE', 'the purchase was cancelled');
    if (p.transactionId) {
      const o = this.book.get(p.transactionId)!;
      if (o.tradeStatus === 'NOTPAY' && o.expired) return { kind: 'order', order: this.orderView(this.book.refresh(o.transactionId), p.purchaseId) };
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
    const skill = this.mustSkill(p.skillId);
    p.state = 'ordering';
    try {
      if (this.faults.takeAlreadyOwned()) return this.owned(p);
      const request = createOrderRequestFrom(skill.skillId, p.userToken, p.charge);
      const reply = await callCreateOrder(this.outbound(), skill, request);
      if (reply.retCode !== 'SUCCESS') {
        if (reply.retMsg === RET_MSG_ALREADY_OWNED) return this.owned(p);
        throw new RemoteError(`create order refused: ${reply.retMsg ?? 'FAIL'}`, reply.retMsg);
      }
      const order = this.book.createOrder({
        skillId: skill.skillId,
        tradeNo: reply.tradeNo!,
        userToken: p.userToken,
        details: request.details,
        totalAmt: request.totalAmt,
        purchaseId: p.purchaseId,
      });
      return { kind: 'order', order: this.orderView(order, p.purchaseId) };
    } catch (e) {
      if (p.state === 'ordering') p.state = 'goods';
      throw e;
    }
  }

  private owned(p: Purchase): PlaceOrderOutcome {
    p.state = 'already-owned';
    p.seq++;
    this.emit('status', { purchaseId: p.purchaseId, tradeStatus: 'NOTPAY', seq: p.seq, reason: 'already-owned', at: this.scheduler.now() });
    return { kind: 'already-owned' };
  }

  /**
   * A fresh payment window: an unpaid order gets a new window; a failed one
   * (or none yet) is replaced by a new order. A paid order cannot be refreshed.
   */
  async refreshOrder(purchaseId: string): Promise<DeviceOrderView> {
    const p = this.mustPurchase(purchaseId);
    const o = p.transactionId ? this.book.get(p.transactionId) : undefined;
    if (o?.tradeStatus === 'SUCCESS') throw new SandboxStateError('ALREADY_FINAL', 'the order is already paid');
    if (o?.tradeStatus === 'PROCESSING') return this.orderView(o, p.purchaseId);
    if (o?.tradeStatus === 'NOTPAY') return this.orderView(this.book.refresh(o.transactionId), p.purchaseId);
    const placed = await this.placeOrder(purchaseId);
    if (placed.kind !== 'order') throw new SandboxStateError('BAD_STATE', 'the user already owns the goods');
    return placed.order;
  }

  /** The purchase's current status (for polls); `seq` is the latest. */
  status(purchaseId: string): PurchaseStatus {
    const p = this.mustPurchase(purchaseId);
    const s: PurchaseStatus = { purchaseId, tradeStatus: 'NOTPAY', seq: p.seq, at: this.scheduler.now() };
    if (p.transactionId) {
      const o = this.book.get(p.transactionId)!;
      s.tradeStatus = o.tradeStatus;
      s.order = this.orderView(o, purchaseId);
      if (o.reason !== undefined) s.reason = o.reason;
    } else if (p.state === 'already-owned') s.reason = 'already-owned';
    else if (p.state === 'cancelled') s.reason = 'cancelled';
    return s;
  }

  /** The user cancelled on the device (or in the app): an open order fails with reason `cancelled`. */
  cancel(purchaseId: string): boolean {
    const p = this.mustPurchase(purchaseId);
    if (p.state === 'paid') return false;
    p.state = 'cancelled';
    if (p.transactionId) {
      const o = this.book.get(p.transactionId)!;
      if (o.tradeStatus === 'NOTPAY' || o.tradeStatus === 'PROCESSING') this.book.fail(o.transactionId, 'cancelled');
    }
    return true;
  }

  private onOrder(order: DingDangOrder): void {
    if (order.tradeStatus === 'SUCCESS' && order.reason === 'paid') {
      const skill = this.skills.get(order.skillId);
      if (skill) this.notifier.deliver(skill, order);
    }
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
    if (order.tradeStatus === 'FAIL' && p.state !== 'cancelled') p.state = 'failed';
    p.seq++;
    const s: PurchaseStatus = { purchaseId: p.purchaseId, tradeStatus: order.tradeStatus, seq: p.seq, order: this.orderView(order, p.purchaseId), at: this.scheduler.now() };
    if (order.reason !== undefined) s.reason = order.reason;
    this.emit('status', s);
  }

  /**
   * Scripted payment outcome (phone page, DingDang app, control API). Target: a
   * transactionId, or a purchaseId (screenless: places the order first, as
   * the user does in the app). Resolves with the order once the outcome is final.
   */
  async pay(target: string, outcome: PayOutcome): Promise<DingDangOrder | undefined> {
    if (!PAY_OUTCOMES.includes(outcome)) throw new InvalidArgumentError(`outcome must be one of ${PAY_OUTCOMES.join(', ')}`);
    let tid = target;
    if (!this.book.get(target)) {
      const p = this.mustPurchase(target);
      const current = p.transactionId ? this.book.get(p.transactionId) : undefined;
      if (!current || current.tradeStatus === 'FAIL' || current.expired) {
        // As in the DingDang app: ordering (again) comes first.
        const placed = await this.placeOrder(p.purchaseId);
        if (placed.kind === 'already-owned') return undefined;
      }
      tid = this.purchases.get(target)!.transactionId!;
    }
    const order = this.book.get(tid);
    if (!order) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    switch (outcome) {
      case 'none':
        return order;
      case 'cancel':
        return this.book.fail(tid, 'cancelled');
      case 'success':
      case 'fail': {
        this.book.scan(tid);
        if (this.processingMs > 0) await new Promise<void>((r) => this.scheduler.afterReal(this.processingMs, r));
        if (this.scheduler.isClosed) return this.book.get(tid);
        return outcome === 'success' ? this.book.pay(tid) : this.book.fail(tid, 'declined');
      }
    }
  }

  /**
   * Flow C: payment is complete; re-run the user's original intent as the
   * `Connections.Response` Charge event (or, when the user already owned the
   * goods, the original request itself) and return the skill's answer.
   */
  async resume(purchaseId: string): Promise<ResumeOutcome> {
    const p = this.mustPurchase(purchaseId);
    if (p.resumeAnswer) return structuredClone(p.resumeAnswer);
    let request: SkillRequestBody;
    if (p.state === 'already-owned') {
      if (!p.originalRequest) throw new SandboxStateError('BAD_STATE', 'no original request to re-run');
      request = { ...p.originalRequest, requestId: randomUUID(), timestamp: new Date().toISOString() };
    } else {
      const o = p.transactionId ? this.book.get(p.transactionId) : undefined;
      if (!o || o.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'the purchase is not paid');
      request = chargeResponseEvent(o.transactionId, o.tradeNo);
    }
    const ctx: { userId: string; accessToken?: string; deviceId: string; mode: DeviceMode } = { userId: p.user.userId, deviceId: p.deviceId, mode: p.mode };
    if (p.user.accessToken !== undefined) ctx.accessToken = p.user.accessToken;
    const { answer } = await this.sendToSkill(p.skillId, request, ctx);
    // The answer to a Connections.Response may not carry Dialog.* directives (SPEC §3); the session ends.
    const out: ResumeOutcome = {
      directives: answer.directives.filter((d) => !String((d as { type?: unknown } | null)?.type ?? '').startsWith('Dialog.')),
      shouldEndSession: true,
    };
    if (answer.outputSpeech !== undefined) out.outputSpeech = answer.outputSpeech;
    p.resumeAnswer = structuredClone(out);
    return out;
  }

  close(): void {
    this.closing.abort();
    this.notifier.close();
    this.book.close();
    this.scheduler.close();
    this.removeAllListeners();
  }
}
