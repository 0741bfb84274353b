/**
 * The platform core: skills, the order book, purchases, outbound calls,
 * notifications, scripted payment outcomes and faults — everything but the
 * HTTP surface (sandbox.ts and its routes). Skill routing is the
 * `SkillRouter` (skill-router.ts), the purchases the `PurchaseBook`
 * (purchase-book.ts); this wires them to the order book, the notifier, the
 * signer and the logs, and is what the routes call.
 */
import { EventEmitter } from 'node:events';
import { AccountLinks, type AccountLink } from './account-links.js';
import type { Slot } from '../protocol/skill-types.js';
import { InvalidArgumentError } from '../protocol/errors.js';
import { signRsa2 } from '../protocol/tsk-node.js';
import type { SandboxConfig, SkillConfig } from './config.js';
import { SandboxStateError } from './errors.js';
import { Faults } from './faults.js';
import { OrderBook, type DingDangOrder } from './order-book.js';
import { Notifier, Outbox, type CallRecord, type OutboundOptions, type OutboxLimits } from './outbound.js';
import {
  PurchaseBook,
  type DeviceOrderView,
  type PayOutcome,
  type PlaceOrderOutcome,
  type Purchase,
  type PurchaseStatus,
  type ResumeOutcome,
  type StartPurchaseInput,
} from './purchase-book.js';
import { Scheduler } from './scheduler.js';
import { Signer, type SignerOptions } from './signer.js';
import { UtteranceMatcher } from './skill.js';
import { SkillRouter, type DeviceSession, type SayInput, type SayReply, type SkillErrorEvent } from './skill-router.js';

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
  /** A skill answer was refused or the call failed (also in the `call` record, with `code`). */
  skillError: [SkillErrorEvent];
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
  /**
   * Finished notifications (delivered, gave up, stopped) kept for
   * `GET /notifications`, the most recently finished; default 1000. Pending
   * ones are always kept (docs/sandbox.md "Bounded work").
   */
  keepFinishedNotifications?: number;
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
  /** The signing queues: in flight, queue caps, device/backend weighting (docs/sandbox.md "Bounded work"). */
  signer?: SignerOptions;
  /** Caps on calls to skill backends in flight and waiting (docs/sandbox.md "Bounded work"). */
  outbox?: OutboxLimits;
}

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
  private readonly calls: CallRecord[] = [];
  private baseUrl: string;
  private readonly closing = new AbortController();
  /** RSA signing in the thread pool, device and backend work taking turns (see signer.ts). */
  readonly signer: Signer;
  /** Calls to skill backends: in flight and waiting, capped (see outbound.ts). */
  readonly outbox: Outbox;
  /** Utterances, screen picks and intents → skill requests; the devices' sessions. */
  readonly router: SkillRouter;
  /** The purchases (Charge → order → payment → resume). */
  readonly purchases: PurchaseBook;
  /** Simulated account linking: (skill, user) → accessToken (account-links.ts). */
  readonly links: AccountLinks;

  constructor(options: PlatformOptions) {
    super();
    this.setMaxListeners(200);
    this.config = options.config;
    for (const s of options.config.skills) this.skills.set(s.skillId, s);
    const now = options.now ?? Date.now;
    this.scheduler = new Scheduler({ timeScale: options.timeScale ?? 1, now });
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1';
    this.signer = new Signer(this.config.platformPrivateKey, () => this.signingNow(), options.signer);
    this.outbox = new Outbox(options.outbox);
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
      ...(options.keepFinishedNotifications !== undefined ? { keepFinished: options.keepFinishedNotifications } : {}),
    });
    this.matcher = new UtteranceMatcher(options.config.skills);
    this.links = new AccountLinks({ now: () => this.scheduler.now(), timeoutMs: this.callTimeoutMs, signal: this.closing.signal });
    this.purchases = new PurchaseBook({
      book: this.book,
      faults: this.faults,
      scheduler: this.scheduler,
      processingMs: this.processingMs,
      skill: (id) => this.mustSkill(id),
      outbound: () => this.outbound(),
      signingNow: this.signingNow,
      onPurchase: (p) => this.emit('purchase', p),
      onStatus: (s) => this.emit('status', s),
      turn: (skill, request, ctx, opts) => this.router.turn(skill, request, ctx, opts),
    });
    this.router = new SkillRouter({
      matcher: this.matcher,
      faults: this.faults,
      scheduler: this.scheduler,
      closing: this.closing.signal,
      signingNow: this.signingNow,
      skill: (id) => this.mustSkill(id),
      skillOf: (id) => this.skills.get(id),
      record: (c) => this.record(c),
      onSkillError: (e) => this.emit('skillError', e),
      linkedToken: (skillId, userId) => this.links.token(skillId, userId),
      linkUrl: (skillId, userId) => this.linkUrl(skillId, userId),
      openPurchase: (skill, charge, request, ctx) => this.purchases.openPurchase(skill, charge, request, ctx),
    });
    this.book.on('order', ({ order }) => {
      if (order.tradeStatus === 'SUCCESS' && order.reason === 'paid') {
        const skill = this.skills.get(order.skillId);
        if (skill) this.notifier.deliver(skill, order);
      }
      this.purchases.onOrder(order);
    });
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

  /** The platform's signing clock: now + injected skew. */
  signingNow = (): number => this.scheduler.now() + this.faults.clockSkewMs;

  /** Sign bytes the platform sends (pay replies, pushes) with TSK-RSA2. */
  sign(raw: string | Uint8Array): string {
    return signRsa2(raw, this.config.platformPrivateKey, { now: this.signingNow });
  }

  /**
   * `sign` in libuv's thread pool, in the device queue (same header bytes;
   * the datetime is the signing clock's when the signature runs): several
   * signatures run in parallel with the event loop, on every core.
   */
  signAsync(raw: string | Uint8Array): Promise<string> {
    return this.signer.sign(raw, 'device');
  }

  outbound(): OutboundOptions {
    return {
      platformKey: this.config.platformPrivateKey,
      signingNow: this.signingNow,
      sign: (raw) => this.signer.sign(raw, 'backend'),
      signBody: (make) => this.signer.signBody(make, 'backend'),
      outbox: this.outbox,
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

  /** The skill of that id; with none given, the only one (InvalidArgumentError when there are several). */
  mustSkill(skillId: string | undefined): SkillConfig {
    if (skillId === undefined) {
      if (this.skills.size === 1) return this.skills.values().next().value as SkillConfig;
      throw new InvalidArgumentError('skillId is required when the sandbox has several skills');
    }
    const s = this.skills.get(skillId);
    if (!s) throw new SandboxStateError('UNKNOWN_SKILL', `no skill ${JSON.stringify(skillId).slice(0, 40)}`);
    return s;
  }

  // ── the routes' calls ─────────────────────────────────────────────────

  /** What the user said on a device (skill-router.ts). */
  say(input: SayInput): Promise<SayReply> {
    return this.router.say(input);
  }

  /** An intent, already recognised, to a skill. */
  intent(
    input: { skillId?: string; intent: string; slots?: Record<string, string | Slot>; query?: string } & Omit<SayInput, 'text' | 'skillId'>,
  ): Promise<SayReply> {
    return this.router.intent(input);
  }

  /** `Display.ElementSelected { token }` to the skill that last answered the device. */
  select(input: { token: string; skillId?: string } & Omit<SayInput, 'text' | 'skillId'>): Promise<SayReply> {
    return this.router.select(input);
  }

  /** The sandbox's linking page of (skill, user): `/link/<skillId>?userId=…`. */
  linkUrl(skillId: string, userId: string): string {
    return `${this.baseUrl}/link/${encodeURIComponent(skillId)}?userId=${encodeURIComponent(userId)}`;
  }

  /** Link the user's account with a skill that has account linking (a fresh token each time). */
  link(skillId: string | undefined, userId: string): Promise<AccountLink> {
    const skill = this.mustSkill(skillId);
    if (!skill.accountLinking) throw new SandboxStateError('BAD_STATE', `skill ${skill.skillId} has no account linking configured`);
    return this.links.link(skill, userId);
  }

  /** Remove the link of (skill, user); whether there was one. */
  unlink(skillId: string | undefined, userId: string): boolean {
    return this.links.unlink(this.mustSkill(skillId).skillId, userId);
  }

  /** The open session of a device, if any. */
  session(deviceId: string): DeviceSession | undefined {
    return this.router.session(deviceId);
  }

  sessionList(): DeviceSession[] {
    return this.router.sessionList();
  }

  /** The device registers a purchase (purchase-book.ts). */
  startPurchase(input: StartPurchaseInput): Purchase {
    return this.purchases.startPurchase(input);
  }

  purchase(purchaseId: string): Purchase | undefined {
    return this.purchases.purchase(purchaseId);
  }

  purchaseList(): Purchase[] {
    return this.purchases.purchaseList();
  }

  orderView(order: DingDangOrder, purchaseId?: string): DeviceOrderView {
    return this.purchases.orderView(order, purchaseId);
  }

  placeOrder(purchaseId: string): Promise<PlaceOrderOutcome> {
    return this.purchases.placeOrder(purchaseId);
  }

  refreshOrder(purchaseId: string): Promise<DeviceOrderView> {
    return this.purchases.refreshOrder(purchaseId);
  }

  status(purchaseId: string): PurchaseStatus {
    return this.purchases.status(purchaseId);
  }

  cancel(purchaseId: string): boolean {
    return this.purchases.cancel(purchaseId);
  }

  pay(target: string, outcome: PayOutcome): Promise<DingDangOrder | undefined> {
    return this.purchases.pay(target, outcome);
  }

  resume(purchaseId: string): Promise<ResumeOutcome> {
    return this.purchases.resume(purchaseId);
  }

  close(): void {
    this.closing.abort();
    this.notifier.close();
    this.book.close();
    this.scheduler.close();
    this.removeAllListeners();
  }
}
