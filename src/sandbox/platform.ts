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
import { slotKind } from './config.js';
import {
  callSkill,
  chargeOf,
  chargeResponseEvent,
  elementSelectedRequest,
  fillSlot,
  intentRequest,
  launchRequest,
  newIntent,
  rerun,
  sessionEndedRequest,
  skillEnvelope,
  textSlot,
  UtteranceMatcher,
  type SkillCallResult,
} from './skill.js';
import {
  SESSION_REQUEST_TYPES,
  type DialogState,
  type Intent,
  type SkillDirective,
  type SkillRequest,
  type SkillRequestEnvelope,
  type SkillRequestType,
  type SkillResponseBody,
  type SkillResponseEnvelope,
  type SkillRetCode,
  type SkillSession,
  type Slot,
} from '../protocol/skill-types.js';

/** What the speaker says instead of an answer the platform could not use (the platform's own line). */
export const SKILL_FALLBACK_SPEECH = '抱歉，技能暂时无法回答，请稍后再试';

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

/** The speaker's context of a request: who, on which device. */
interface TurnContext {
  userId?: string;
  accessToken?: string;
  deviceId?: string;
  mode?: DeviceMode;
}

/**
 * The reply of `POST /sandbox/v1/say` (and `/intent`, `/select`): our own
 * extension, the real device ↔ platform link is not published.
 */
export interface SayReply {
  /** A skill took the utterance (or the open session's skill did). */
  matched: boolean;
  skillId?: string;
  /** What the sandbox sent the skill. */
  requestType?: SkillRequestType;
  /** The skill's answer, checked, in the real format. Absent when `error` is set. */
  answer?: SkillResponseBody;
  /** The answer was refused or the call failed: the platform return code. */
  error?: { code: SkillRetCode; reason: string };
  /** What the speaker says now: the answer's text, the platform's fallback line after an error, '' when nothing matched. */
  speech: string;
  /** Effective value (default true); false: the session lives and the mic opens again. */
  shouldEndSession: boolean;
  sessionId?: string;
  /** The purchase the platform opened for a Charge answer. */
  purchaseId?: string;
  /** The request the sandbox sent (beyond contract C: for scripts and tests). */
  request?: SkillRequest;
}

/** A failed skill call (event `skillError`). */
export interface SkillErrorEvent {
  skillId: string;
  deviceId: string;
  requestType: SkillRequestType;
  code: SkillRetCode;
  reason: string;
  sessionId?: string;
  at: number;
}

/**
 * A conversation of one device with one skill across turns: the skill's
 * answer with `shouldEndSession: false` (or a `Dialog.ElicitSlot`) keeps it;
 * the next utterance of that device goes to that skill first.
 */
export interface DeviceSession {
  deviceId: string;
  skillId: string;
  sessionId: string;
  user: { userId: string; accessToken?: string };
  mode: DeviceMode;
  /** After `Dialog.ElicitSlot`: the slot the next utterance fills, and the intent it goes into. */
  elicit?: { slot: string; intent: Intent };
  startedAt: number;
  turns: number;
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

/** The resume's answer for the device (contract C): speech as a string, the skill's real directives. */
export interface ResumeOutcome {
  outputSpeech?: string;
  directives: SkillDirective[];
  shouldEndSession?: boolean;
  /** The skill's answer to the resume was refused or the call failed; `outputSpeech` is then the fallback line. */
  error?: { code: SkillRetCode; reason: string };
}

function isSkillRequest(v: unknown): v is SkillRequest {
  const o = v as { type?: unknown; requestId?: unknown } | null | undefined;
  return typeof o === 'object' && o !== null && typeof o.type === 'string' && typeof o.requestId === 'string';
}

function isSlot(v: unknown, name: string): v is Slot {
  const o = v as Partial<Slot> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    o.name === name &&
    typeof o.confirmationStatus === 'string' &&
    Array.isArray(o.values) &&
    o.values.every((x) => typeof x === 'object' && x !== null && typeof (x as { value?: { type?: unknown } }).value?.type === 'string')
  );
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

  private readonly sessions = new Map<string, DeviceSession>();
  /** deviceId → the skill that last answered that device (the target of `Display.ElementSelected`). */
  private readonly lastSkill = new Map<string, string>();
  /** SessionEndedRequest ERROR calls in flight (fire and forget, bounded). */
  private endingCalls = 0;
  static readonly MAX_ENDING_CALLS = 64;
  static readonly MAX_SESSIONS = 10_000;

  /** The open session of a device, if any. */
  session(deviceId: string): DeviceSession | undefined {
    const s = this.sessions.get(deviceId);
    return s && structuredClone(s);
  }

  sessionList(): DeviceSession[] {
    return [...this.sessions.values()].map((s) => structuredClone(s));
  }

  private userOf(ctx: TurnContext): { userId: string; accessToken?: string } {
    const user: { userId: string; accessToken?: string } = { userId: ctx.userId ?? DEFAULT_USER };
    if (ctx.accessToken !== undefined) user.accessToken = ctx.accessToken;
    return user;
  }

  /** One signed call to a skill, checked; recorded in the call log (with its return code when it failed). */
  private async call(skill: SkillConfig, envelope: SkillRequestEnvelope): Promise<SkillCallResult> {
    const fault = this.faults.takePartnerFault('skill');
    const result = await callSkill(skill, envelope, {
      now: () => this.scheduler.now(),
      signal: this.closing.signal,
      record: (c) => this.record(c),
      ...(fault ? { fault } : {}),
    });
    if (!result.ok) {
      const e: SkillErrorEvent = {
        skillId: skill.skillId,
        deviceId: envelope.context.System.device.deviceId,
        requestType: envelope.request.type,
        code: result.code,
        reason: result.reason,
        at: this.scheduler.now(),
      };
      if (envelope.session) e.sessionId = envelope.session.sessionId;
      this.emit('skillError', e);
    }
    return result;
  }

  /**
   * Send a request to a skill in the real envelope and carry out the answer:
   * keep / end the device's session, remember an elicited slot, open a
   * purchase for a Charge. A failed call or a refused answer ends the session,
   * gives the fallback line and sends the skill `SessionEndedRequest` ERROR.
   * `final`: the answer cannot keep a session (the resume).
   */
  private async turn(
    skill: SkillConfig,
    request: SkillRequest,
    ctx: TurnContext,
    opts: { session?: SkillSession; final?: boolean } = {},
  ): Promise<{ reply: SayReply; response?: SkillResponseEnvelope }> {
    const deviceId = ctx.deviceId ?? DEFAULT_DEVICE;
    const mode = ctx.mode ?? 'screen';
    const user = this.userOf(ctx);
    const carriesSession = SESSION_REQUEST_TYPES.includes(request.type);
    const open = this.sessions.get(deviceId);
    const session: SkillSession =
      opts.session ?? (open && open.skillId === skill.skillId ? { new: false, sessionId: open.sessionId } : { new: true, sessionId: randomUUID() });
    const envelope = skillEnvelope({ skillId: skill.skillId, user, deviceId, mode, session, request });
    const result = await this.call(skill, envelope);
    const base: SayReply = { matched: true, skillId: skill.skillId, requestType: request.type, speech: '', shouldEndSession: true, request };
    if (carriesSession) base.sessionId = session.sessionId;
    const current = this.sessions.get(deviceId);
    const endSession = () => {
      if (this.sessions.get(deviceId)?.skillId === skill.skillId) this.sessions.delete(deviceId);
    };
    if (!result.ok) {
      endSession();
      // Also after an unusable answer to the user's own SessionEndedRequest; never after one to an ERROR (no loop).
      if (!(request.type === 'SessionEndedRequest' && request.reason === 'ERROR'))
        this.endAfterError(skill, { ...ctx, deviceId, mode }, session.sessionId, result.code, result.reason);
      return { reply: { ...base, error: { code: result.code, reason: result.reason }, speech: SKILL_FALLBACK_SPEECH } };
    }
    const body = result.response.response;
    const reply: SayReply = { ...base, answer: body, speech: body.outputSpeech.text };
    this.lastSkill.delete(deviceId);
    this.lastSkill.set(deviceId, skill.skillId);
    if (this.lastSkill.size > Platform.MAX_SESSIONS) this.lastSkill.delete(this.lastSkill.keys().next().value as string);
    const elicit = (body.directives ?? []).find((d) => d.type === 'Dialog.ElicitSlot');
    // Our decision: Dialog.ElicitSlot keeps the session whatever shouldEndSession says (the platform asks and listens).
    const keep =
      !opts.final && request.type !== 'SessionEndedRequest' && request.type !== 'Connections.Response' && (elicit !== undefined || body.shouldEndSession === false);
    if (keep) {
      const s: DeviceSession =
        current && current.skillId === skill.skillId && current.sessionId === session.sessionId
          ? current
          : { deviceId, skillId: skill.skillId, sessionId: session.sessionId, user, mode, startedAt: this.scheduler.now(), turns: 0 };
      s.turns++;
      s.user = user;
      s.mode = mode;
      delete s.elicit;
      if (elicit) {
        const intent =
          elicit.updatedIntent ?? (request.type === 'IntentRequest' ? request.intent : current?.skillId === skill.skillId ? current.elicit?.intent : undefined);
        if (intent) s.elicit = { slot: elicit.slotToElicit, intent: structuredClone(intent) };
      }
      if (current && current !== s && current.skillId !== skill.skillId) this.endByUser(current, '');
      this.sessions.delete(deviceId);
      this.sessions.set(deviceId, s);
      if (this.sessions.size > Platform.MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
      reply.shouldEndSession = false;
      reply.sessionId = s.sessionId;
    } else endSession();
    const { charge } = chargeOf(result.response);
    if (charge) {
      const p = this.openPurchase(skill, charge, request, { ...ctx, sessionId: session.sessionId });
      reply.purchaseId = p.purchaseId;
    }
    return { reply, response: result.response };
  }

  /** After an unusable answer: `SessionEndedRequest` ERROR to the skill, fire and forget, bounded. */
  private endAfterError(skill: SkillConfig, ctx: TurnContext, sessionId: string, code: SkillRetCode, reason: string): void {
    if (this.closing.signal.aborted || this.endingCalls >= Platform.MAX_ENDING_CALLS) return;
    this.endingCalls++;
    const request = sessionEndedRequest('ERROR', this.signingNow(), { type: 'INVALID_RESPONSE', message: `${code}: ${reason}`.slice(0, 500) });
    const envelope = skillEnvelope({
      skillId: skill.skillId,
      user: this.userOf(ctx),
      deviceId: ctx.deviceId ?? DEFAULT_DEVICE,
      mode: ctx.mode ?? 'screen',
      session: { new: false, sessionId },
      request,
    });
    void this.call(skill, envelope).finally(() => this.endingCalls--);
  }

  /** The user left (or turned to another skill): `SessionEndedRequest` USER_INITIATED, fire and forget. */
  private endByUser(s: DeviceSession, _text: string): void {
    const skill = this.skills.get(s.skillId);
    if (this.sessions.get(s.deviceId) === s) this.sessions.delete(s.deviceId);
    if (!skill || this.closing.signal.aborted || this.endingCalls >= Platform.MAX_ENDING_CALLS) return;
    this.endingCalls++;
    const envelope = skillEnvelope({
      skillId: skill.skillId,
      user: s.user,
      deviceId: s.deviceId,
      mode: s.mode,
      session: { new: false, sessionId: s.sessionId },
      request: sessionEndedRequest('USER_INITIATED', this.signingNow()),
    });
    void this.call(skill, envelope).finally(() => this.endingCalls--);
  }

  /** The open session of a device, ended when the utterance turns to another skill. */
  private openSession(deviceId: string, skillId: string | undefined): DeviceSession | undefined {
    const open = this.sessions.get(deviceId);
    if (!open) return undefined;
    if (skillId !== undefined && skillId !== open.skillId) return undefined;
    return open;
  }

  /** Route an intent (already recognised) to a skill. Opens a purchase when the answer holds a Charge. */
  async intent(
    input: { skillId?: string; intent: string; slots?: Record<string, string | Slot>; query?: string } & Omit<SayInput, 'text' | 'skillId'>,
  ): Promise<SayReply> {
    const skill = this.mustSkill(input.skillId);
    const slots: Record<string, Slot> = {};
    for (const [k, v] of Object.entries(input.slots ?? {})) {
      if (typeof v === 'string') slots[k] = textSlot(k, v);
      else if (isSlot(v, k)) slots[k] = v;
      else throw new InvalidArgumentError(`slots.${k} must be a string or a slot { name: "${k}", confirmationStatus, values: [{ value: { type, … } }] }`);
    }
    const deviceId = input.deviceId ?? DEFAULT_DEVICE;
    const open = this.openSession(deviceId, skill.skillId);
    const dialogState: DialogState = open?.elicit && open.elicit.intent.name === input.intent ? 'IN_PROGRESS' : 'STARTED';
    const other = this.sessions.get(deviceId);
    if (other && other.skillId !== skill.skillId) this.endByUser(other, '');
    const request = intentRequest(newIntent(input.intent, slots), input.query ?? '', dialogState, this.signingNow());
    return (await this.turn(skill, request, input)).reply;
  }

  /**
   * What the user said on a device: inside an open session the words go to
   * that skill first (an elicited slot, then its utterances; 退出 / 再见 end
   * the session); otherwise "打开<invocationName>" → LaunchRequest, or the
   * matcher → IntentRequest.
   */
  async say(input: SayInput): Promise<SayReply> {
    if (typeof input.text !== 'string' || input.text.trim() === '') throw new InvalidArgumentError('text must be a non-empty string');
    if (input.skillId !== undefined) this.mustSkill(input.skillId);
    const text = input.text;
    const deviceId = input.deviceId ?? DEFAULT_DEVICE;
    const ctx: TurnContext = { deviceId };
    for (const k of ['userId', 'accessToken', 'mode'] as const) if (input[k] !== undefined) (ctx as Record<string, unknown>)[k] = input[k];
    const open = this.openSession(deviceId, input.skillId);
    if (open) {
      const skill = this.mustSkill(open.skillId);
      if (this.matcher.isExit(text)) {
        this.sessions.delete(deviceId);
        const { reply } = await this.turn(skill, sessionEndedRequest('USER_INITIATED', this.signingNow()), ctx, {
          session: { new: false, sessionId: open.sessionId },
        });
        return reply;
      }
      if (open.elicit) {
        const { slot, intent } = open.elicit;
        const filled = fillSlot(slot, slotKind(this.matcher.spec(open.skillId, intent.name), slot), text);
        if (filled) {
          const updated = structuredClone(intent);
          updated.slots[slot] = filled;
          return (await this.turn(skill, intentRequest(updated, text, 'IN_PROGRESS', this.signingNow()), ctx)).reply;
        }
      }
      if (this.matcher.launch(text) === open.skillId) return (await this.turn(skill, launchRequest(text, this.signingNow()), ctx)).reply;
      const m = this.matcher.match(text, open.skillId);
      if (m) return (await this.turn(skill, intentRequest(newIntent(m.intent, m.slots), text, 'STARTED', this.signingNow()), ctx)).reply;
    }
    const launchId = this.matcher.launch(text);
    const target = launchId !== undefined && (input.skillId === undefined || input.skillId === launchId) ? launchId : undefined;
    const m = target === undefined ? this.matcher.match(text, input.skillId) : undefined;
    if (target === undefined && !m) {
      // Nothing understood: an open session stays open (the mic listens again).
      const still = this.sessions.get(deviceId);
      return still
        ? { matched: false, speech: '', shouldEndSession: false, sessionId: still.sessionId, skillId: still.skillId }
        : { matched: false, speech: '', shouldEndSession: true };
    }
    const skill = this.mustSkill(target ?? m!.skillId);
    const current = this.sessions.get(deviceId);
    if (current && current.skillId !== skill.skillId) this.endByUser(current, text);
    const request =
      target !== undefined ? launchRequest(text, this.signingNow()) : intentRequest(newIntent(m!.intent, m!.slots), text, 'STARTED', this.signingNow());
    return (await this.turn(skill, request, ctx)).reply;
  }

  /**
   * The user picked an element on a screen, or the player reached a playlist
   * item marked `pay: true`: `Display.ElementSelected { token }` to the skill
   * that last answered this device (or `skillId`).
   */
  async select(input: { token: string; skillId?: string } & Omit<SayInput, 'text' | 'skillId'>): Promise<SayReply> {
    if (typeof input.token !== 'string' || input.token === '' || input.token.length > 1024) throw new InvalidArgumentError('token must be a non-empty string');
    const deviceId = input.deviceId ?? DEFAULT_DEVICE;
    const skill = this.mustSkill(input.skillId ?? this.lastSkill.get(deviceId));
    return (await this.turn(skill, elementSelectedRequest(input.token, this.signingNow()), { ...input, deviceId })).reply;
  }

  // ── purchases ─────────────────────────────────────────────────────────

  private openPurchase(
    skill: SkillConfig,
    charge: ChargeDirective,
    originalRequest: SkillRequest | undefined,
    ctx: { mode?: DeviceMode; userId?: string; accessToken?: string; deviceId?: string; purchaseId?: string; sessionId?: string },
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
    if (ctx.sessionId !== undefined) p.sessionId = ctx.sessionId;
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
    // The device's opaque copy: a request envelope (skill from context.System.application), a bare request, or { skillId, request }.
    const orig = input.originalRequest as Record<string, unknown> | undefined;
    const appId = (orig?.context as { System?: { application?: { applicationId?: unknown } } } | undefined)?.System?.application?.applicationId;
    const skillId = input.skillId ?? (typeof orig?.skillId === 'string' ? orig.skillId : undefined) ?? (typeof appId === 'string' ? appId : undefined);
    const skill = this.mustSkill(skillId);
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
      request = rerun(p.originalRequest, this.signingNow());
    } else {
      const o = p.transactionId ? this.book.get(p.transactionId) : undefined;
      if (!o || o.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'the purchase is not paid');
      request = chargeResponseEvent(o.transactionId, o.tradeNo, this.signingNow());
    }
    const ctx: TurnContext = { userId: p.user.userId, deviceId: p.deviceId, mode: p.mode };
    if (p.user.accessToken !== undefined) ctx.accessToken = p.user.accessToken;
    const session: SkillSession = { new: p.sessionId === undefined, sessionId: p.sessionId ?? randomUUID() };
    const { reply } = await this.turn(this.mustSkill(p.skillId), request, ctx, { session, final: true });
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

  close(): void {
    this.closing.abort();
    this.notifier.close();
    this.book.close();
    this.scheduler.close();
    this.removeAllListeners();
  }
}
