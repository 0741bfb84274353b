/**
 * Skill routing: what a device's user says (or picks on the screen) becomes
 * a request to a skill in the real envelope, signed; the checked answer is
 * carried out — the device's session kept or ended, an elicited slot
 * remembered, a purchase opened for a Charge — and handed back as the `/say`
 * reply (contract C, our own extension). A failed call or a refused answer
 * ends the session with the platform's fallback line and a
 * `SessionEndedRequest` ERROR to the skill.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../protocol/errors.js';
import {
  SESSION_REQUEST_TYPES,
  type DialogState,
  type Intent,
  type SkillRequest,
  type SkillRequestEnvelope,
  type SkillRequestType,
  type SkillResponseBody,
  type SkillResponseEnvelope,
  type SkillRetCode,
  type SkillSession,
  type Slot,
} from '../protocol/skill-types.js';
import type { ChargeDirective } from '../protocol/types.js';
import { slotKind, type SkillConfig } from './config.js';
import type { Faults } from './faults.js';
import type { CallRecord } from './outbound.js';
import { DEFAULT_DEVICE_ID, DEFAULT_USER_ID, type DeviceMode, type TurnContext } from './purchase-book.js';
import type { Scheduler } from './scheduler.js';
import {
  callSkill,
  chargeOf,
  elementSelectedRequest,
  fillSlot,
  intentRequest,
  launchRequest,
  newIntent,
  sessionEndedRequest,
  skillEnvelope,
  textSlot,
  MAX_UTTERANCE_CHARS,
  type SkillCallResult,
  type UtteranceMatcher,
} from './skill.js';

/** What the speaker says instead of an answer the platform could not use (the platform's own line). */
export const SKILL_FALLBACK_SPEECH = '抱歉，技能暂时无法回答，请稍后再试';

export interface SayInput {
  text: string;
  skillId?: string;
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
  /**
   * The answer carried `card: { type: "LinkAccount" }`: the sandbox's linking
   * page for this skill and user (our own extension; on the platform the
   * user links in the DingDang app). See docs/sandbox.md "Account linking".
   */
  linkUrl?: string;
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

/** What the router needs from the platform. */
export interface SkillRouterDeps {
  matcher: UtteranceMatcher;
  faults: Faults;
  scheduler: Scheduler;
  /** Aborted when the sandbox closes. */
  closing: AbortSignal;
  signingNow(): number;
  /** The skill of that id (the only one when undefined); SandboxStateError otherwise. */
  skill(skillId: string | undefined): SkillConfig;
  skillOf(skillId: string): SkillConfig | undefined;
  record(c: CallRecord): void;
  onSkillError(e: SkillErrorEvent): void;
  /** The accessToken of a linked account (simulated account linking), if any. */
  linkedToken(skillId: string, userId: string): string | undefined;
  /** The sandbox's linking page for (skill, user). */
  linkUrl(skillId: string, userId: string): string;
  /** Open the purchase of a Charge answer. */
  openPurchase(skill: SkillConfig, charge: ChargeDirective, request: SkillRequest, ctx: TurnContext & { sessionId: string }): { purchaseId: string };
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

export class SkillRouter {
  constructor(private readonly d: SkillRouterDeps) {}

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

  /** The skill that last answered this device (where `select` goes without a `skillId`), if any. */
  lastSkillOf(deviceId: string): string | undefined {
    return this.lastSkill.get(deviceId);
  }

  /** Who speaks: the given accessToken, else the linked account's (simulated account linking), else none. */
  private userOf(ctx: TurnContext, skillId: string): { userId: string; accessToken?: string } {
    const user: { userId: string; accessToken?: string } = { userId: ctx.userId ?? DEFAULT_USER_ID };
    const token = ctx.accessToken ?? this.d.linkedToken(skillId, user.userId);
    if (token !== undefined) user.accessToken = token;
    return user;
  }

  /** One signed call to a skill, checked; recorded in the call log (with its return code when it failed). */
  private async call(skill: SkillConfig, envelope: SkillRequestEnvelope): Promise<SkillCallResult> {
    // A request to the skill dropped on the way never gets an answer: the platform times out (100401).
    const taken = this.d.faults.takePartnerFault('skill');
    const fault = taken === 'drop' ? 'timeout' : taken;
    const result = await callSkill(skill, envelope, {
      now: () => this.d.scheduler.now(),
      signal: this.d.closing,
      record: (c) => this.d.record(c),
      ...(fault ? { fault } : {}),
    });
    if (!result.ok) {
      const e: SkillErrorEvent = {
        skillId: skill.skillId,
        deviceId: envelope.context.System.device.deviceId,
        requestType: envelope.request.type,
        code: result.code,
        reason: result.reason,
        at: this.d.scheduler.now(),
      };
      if (envelope.session) e.sessionId = envelope.session.sessionId;
      this.d.onSkillError(e);
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
  async turn(
    skill: SkillConfig,
    request: SkillRequest,
    ctx: TurnContext,
    opts: { session?: SkillSession; final?: boolean } = {},
  ): Promise<{ reply: SayReply; response?: SkillResponseEnvelope }> {
    const deviceId = ctx.deviceId ?? DEFAULT_DEVICE_ID;
    const mode = ctx.mode ?? 'screen';
    const user = this.userOf(ctx, skill.skillId);
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
    // The answer check refuses the card without account linking (200502), so here the skill has it.
    if (body.card?.type === 'LinkAccount') reply.linkUrl = this.d.linkUrl(skill.skillId, user.userId);
    this.lastSkill.delete(deviceId);
    this.lastSkill.set(deviceId, skill.skillId);
    if (this.lastSkill.size > SkillRouter.MAX_SESSIONS) this.lastSkill.delete(this.lastSkill.keys().next().value as string);
    const elicit = (body.directives ?? []).find((d) => d.type === 'Dialog.ElicitSlot');
    // Our decision: Dialog.ElicitSlot keeps the session whatever shouldEndSession says (the platform asks and listens).
    const keep =
      !opts.final &&
      request.type !== 'SessionEndedRequest' &&
      request.type !== 'Connections.Response' &&
      (elicit !== undefined || body.shouldEndSession === false);
    if (keep) {
      const s: DeviceSession =
        current && current.skillId === skill.skillId && current.sessionId === session.sessionId
          ? current
          : { deviceId, skillId: skill.skillId, sessionId: session.sessionId, user, mode, startedAt: this.d.scheduler.now(), turns: 0 };
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
      if (this.sessions.size > SkillRouter.MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
      reply.shouldEndSession = false;
      reply.sessionId = s.sessionId;
    } else endSession();
    const { charge } = chargeOf(result.response);
    if (charge) {
      const p = this.d.openPurchase(skill, charge, request, { ...ctx, sessionId: session.sessionId });
      reply.purchaseId = p.purchaseId;
    }
    return { reply, response: result.response };
  }

  /** After an unusable answer: `SessionEndedRequest` ERROR to the skill, fire and forget, bounded. */
  private endAfterError(skill: SkillConfig, ctx: TurnContext, sessionId: string, code: SkillRetCode, reason: string): void {
    if (this.d.closing.aborted || this.endingCalls >= SkillRouter.MAX_ENDING_CALLS) return;
    this.endingCalls++;
    const request = sessionEndedRequest('ERROR', this.d.signingNow(), { type: 'INVALID_RESPONSE', message: `${code}: ${reason}`.slice(0, 500) });
    const envelope = skillEnvelope({
      skillId: skill.skillId,
      user: this.userOf(ctx, skill.skillId),
      deviceId: ctx.deviceId ?? DEFAULT_DEVICE_ID,
      mode: ctx.mode ?? 'screen',
      session: { new: false, sessionId },
      request,
    });
    void this.call(skill, envelope).finally(() => this.endingCalls--);
  }

  /** The user left (or turned to another skill): `SessionEndedRequest` USER_INITIATED, fire and forget. */
  private endByUser(s: DeviceSession, _text: string): void {
    const skill = this.d.skillOf(s.skillId);
    if (this.sessions.get(s.deviceId) === s) this.sessions.delete(s.deviceId);
    if (!skill || this.d.closing.aborted || this.endingCalls >= SkillRouter.MAX_ENDING_CALLS) return;
    this.endingCalls++;
    const envelope = skillEnvelope({
      skillId: skill.skillId,
      user: s.user,
      deviceId: s.deviceId,
      mode: s.mode,
      session: { new: false, sessionId: s.sessionId },
      request: sessionEndedRequest('USER_INITIATED', this.d.signingNow()),
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
    const skill = this.d.skill(input.skillId);
    const slots: Record<string, Slot> = {};
    for (const [k, v] of Object.entries(input.slots ?? {})) {
      if (typeof v === 'string') slots[k] = textSlot(k, v);
      else if (isSlot(v, k)) slots[k] = v;
      else throw new InvalidArgumentError(`slots.${k} must be a string or a slot { name: "${k}", confirmationStatus, values: [{ value: { type, … } }] }`);
    }
    const deviceId = input.deviceId ?? DEFAULT_DEVICE_ID;
    const open = this.openSession(deviceId, skill.skillId);
    const dialogState: DialogState = open?.elicit && open.elicit.intent.name === input.intent ? 'IN_PROGRESS' : 'STARTED';
    const other = this.sessions.get(deviceId);
    if (other && other.skillId !== skill.skillId) this.endByUser(other, '');
    const request = intentRequest(newIntent(input.intent, slots), input.query ?? '', dialogState, this.d.signingNow());
    return (await this.turn(skill, request, input)).reply;
  }

  /**
   * What the user said on a device: inside an open session the words go to
   * that skill first (an elicited slot, then its utterances; 退出 / 再见 end
   * the session); otherwise "打开<invocationName>" → LaunchRequest, or the
   * matcher → IntentRequest. Text longer than one utterance
   * (`MAX_UTTERANCE_CHARS`) is refused before any matching.
   */
  async say(input: SayInput): Promise<SayReply> {
    if (typeof input.text !== 'string' || input.text.trim() === '') throw new InvalidArgumentError('text must be a non-empty string');
    // One utterance, bounded before any matching (our own bound, MAX_UTTERANCE_CHARS): the reply says so (400 ERR_INVALID_ARGUMENT).
    if (input.text.length > MAX_UTTERANCE_CHARS)
      throw new InvalidArgumentError(`text is one utterance of at most ${MAX_UTTERANCE_CHARS} characters (got ${input.text.length})`);
    if (input.skillId !== undefined) this.d.skill(input.skillId);
    const text = input.text;
    const deviceId = input.deviceId ?? DEFAULT_DEVICE_ID;
    const ctx: TurnContext = { deviceId };
    for (const k of ['userId', 'accessToken', 'mode'] as const) if (input[k] !== undefined) (ctx as Record<string, unknown>)[k] = input[k];
    const open = this.openSession(deviceId, input.skillId);
    if (open) {
      const skill = this.d.skill(open.skillId);
      if (this.d.matcher.isExit(text)) {
        this.sessions.delete(deviceId);
        const { reply } = await this.turn(skill, sessionEndedRequest('USER_INITIATED', this.d.signingNow()), ctx, {
          session: { new: false, sessionId: open.sessionId },
        });
        return reply;
      }
      if (open.elicit) {
        const { slot, intent } = open.elicit;
        const filled = fillSlot(slot, slotKind(this.d.matcher.spec(open.skillId, intent.name), slot), text);
        if (filled) {
          const updated = structuredClone(intent);
          updated.slots[slot] = filled;
          return (await this.turn(skill, intentRequest(updated, text, 'IN_PROGRESS', this.d.signingNow()), ctx)).reply;
        }
      }
      if (this.d.matcher.launch(text) === open.skillId) return (await this.turn(skill, launchRequest(text, this.d.signingNow()), ctx)).reply;
      const m = this.d.matcher.match(text, open.skillId);
      if (m) return (await this.turn(skill, intentRequest(newIntent(m.intent, m.slots), text, 'STARTED', this.d.signingNow()), ctx)).reply;
    }
    const launchId = this.d.matcher.launch(text);
    const target = launchId !== undefined && (input.skillId === undefined || input.skillId === launchId) ? launchId : undefined;
    const m = target === undefined ? this.d.matcher.match(text, input.skillId) : undefined;
    if (target === undefined && !m) {
      // Nothing understood: an open session stays open (the mic listens again).
      const still = this.sessions.get(deviceId);
      return still
        ? { matched: false, speech: '', shouldEndSession: false, sessionId: still.sessionId, skillId: still.skillId }
        : { matched: false, speech: '', shouldEndSession: true };
    }
    const skill = this.d.skill(target ?? m!.skillId);
    const current = this.sessions.get(deviceId);
    if (current && current.skillId !== skill.skillId) this.endByUser(current, text);
    const request =
      target !== undefined ? launchRequest(text, this.d.signingNow()) : intentRequest(newIntent(m!.intent, m!.slots), text, 'STARTED', this.d.signingNow());
    return (await this.turn(skill, request, ctx)).reply;
  }

  /**
   * The user picked an element on a screen, or the player reached a playlist
   * item marked `pay: true`: `Display.ElementSelected { token }` to the skill
   * that last answered this device (or `skillId`).
   */
  async select(input: { token: string; skillId?: string } & Omit<SayInput, 'text' | 'skillId'>): Promise<SayReply> {
    if (typeof input.token !== 'string' || input.token === '' || input.token.length > 1024) throw new InvalidArgumentError('token must be a non-empty string');
    const deviceId = input.deviceId ?? DEFAULT_DEVICE_ID;
    const skill = this.d.skill(input.skillId ?? this.lastSkill.get(deviceId));
    return (await this.turn(skill, elementSelectedRequest(input.token, this.d.signingNow()), { ...input, deviceId })).reply;
  }
}
