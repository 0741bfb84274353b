/**
 * Custom-skill requests (SPEC §3): the platform routes a user's utterance or
 * intent to the skill's endpoint in the envelope
 *
 *   { version: "1.0", session, context: { System: { device, application, user: { userId, accessToken } } }, request }
 *
 * signed with TSK-HMAC-SHA256-BASIC (the skill's SkillSecret) over the exact
 * body bytes. `request` is an `IntentRequest` (from the utterance matcher) or,
 * after payment, the `Connections.Response` Charge event (flow C).
 *
 * The matcher turns a skill's sample utterances ("我要听{album}第{index}集")
 * into anchored patterns; skills that declare none get the audiobook's.
 */
import { randomUUID } from 'node:crypto';
import { RemoteError, TimeoutError, TransportError, ValidationError } from '../protocol/errors.js';
import type { ChargeDirective, ChargeResponseEvent } from '../protocol/types.js';
import { validate } from '../protocol/validate.js';
import { signHmac } from '../protocol/tsk-node.js';
import type { SkillConfig, UtteranceSpec } from './config.js';
import { callSignal, type CallRecord } from './outbound.js';

/** The audiobook example's utterances, built in. */
export const AUDIOBOOK_UTTERANCES: readonly UtteranceSpec[] = [
  {
    intent: 'play',
    samples: ['我要听{album}第{index}集', '播放{album}第{index}集', '我想听{album}第{index}集', '听{album}第{index}集', '我要听{album}', '播放{album}'],
  },
  { intent: 'buy', samples: ['购买{album}', '我要买{album}', '买{album}'] },
];

export interface Slot {
  name: string;
  value: string;
}

export interface IntentMatch {
  skillId: string;
  intent: string;
  slots: Record<string, Slot>;
  /** The sample that matched. */
  sample: string;
}

interface Pattern {
  skillId: string;
  intent: string;
  sample: string;
  re: RegExp;
  slotNames: string[];
  literalLength: number;
}

const PUNCT = /[\s，。！？、,.!?;；:："'“”‘’]+/g;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function normalizeUtterance(text: string): string {
  return text.normalize('NFKC').replace(PUNCT, '').toLowerCase();
}

const CN_DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** "35" → "35"; "三十五" → "35"; "十" → "10"; "一百零二" → "102"; anything else unchanged. */
export function normalizeNumber(value: string): string {
  if (/^\d+$/.test(value)) return String(Number(value));
  if (!/^[零〇一二两三四五六七八九十百]+$/.test(value)) return value;
  let total = 0;
  let digit = 0;
  for (const ch of value) {
    if (ch === '百') {
      total += (digit || 1) * 100;
      digit = 0;
    } else if (ch === '十') {
      total += (digit || 1) * 10;
      digit = 0;
    } else digit = CN_DIGITS[ch] ?? 0;
  }
  return String(total + digit);
}

function compile(skillId: string, intent: string, sample: string): Pattern {
  const slotNames: string[] = [];
  let re = '^';
  let literalLength = 0;
  const norm = sample.normalize('NFKC');
  const parts = norm.split(/(\{[A-Za-z_]\w*\})/);
  for (const part of parts) {
    const m = /^\{([A-Za-z_]\w*)\}$/.exec(part);
    if (m) {
      slotNames.push(m[1]!);
      re += '(.+?)';
    } else {
      const lit = normalizeUtterance(part);
      literalLength += lit.length;
      re += escape(lit);
    }
  }
  return { skillId, intent, sample, re: new RegExp(re + '$', 'u'), slotNames, literalLength };
}

/** Matches utterances against every skill's samples; the match with the most literal text wins. */
export class UtteranceMatcher {
  private readonly patterns: Pattern[] = [];

  constructor(skills: Array<Pick<SkillConfig, 'skillId' | 'utterances'>>) {
    for (const s of skills) {
      const specs = s.utterances.length > 0 ? s.utterances : AUDIOBOOK_UTTERANCES;
      for (const spec of specs) for (const sample of spec.samples) this.patterns.push(compile(s.skillId, spec.intent, sample));
    }
    this.patterns.sort((a, b) => b.literalLength - a.literalLength);
  }

  /** The best match, optionally within one skill; undefined when nothing matches. */
  match(text: string, skillId?: string): IntentMatch | undefined {
    const t = normalizeUtterance(text);
    if (t === '') return undefined;
    for (const p of this.patterns) {
      if (skillId !== undefined && p.skillId !== skillId) continue;
      const m = p.re.exec(t);
      if (!m) continue;
      const slots: Record<string, Slot> = {};
      p.slotNames.forEach((name, i) => {
        const raw = m[i + 1] ?? '';
        const value = name === 'index' || name === 'number' || name === 'count' ? normalizeNumber(raw) : raw;
        slots[name] = { name, value };
      });
      return { skillId: p.skillId, intent: p.intent, slots, sample: p.sample };
    }
    return undefined;
  }
}

export interface SkillUser {
  userId: string;
  accessToken?: string;
}

export interface IntentRequest {
  type: 'IntentRequest';
  requestId: string;
  timestamp: string;
  /** The recognised text, when the request came from an utterance. */
  query?: string;
  intent: { name: string; slots: Record<string, Slot> };
  [extra: string]: unknown;
}

export type SkillRequestBody = IntentRequest | ChargeResponseEvent | { type: string; requestId: string; timestamp: string; [extra: string]: unknown };

export interface SkillEnvelope {
  version: '1.0';
  session: {
    new: boolean;
    sessionId: string;
    application: { applicationId: string };
    user: SkillUser;
    attributes: Record<string, unknown>;
  };
  context: {
    System: {
      device: { deviceId: string; supportedInterfaces: Record<string, unknown> };
      application: { applicationId: string };
      user: SkillUser;
    };
  };
  request: SkillRequestBody;
}

export function intentRequest(intent: string, slots: Record<string, Slot>, query?: string): IntentRequest {
  const r: IntentRequest = { type: 'IntentRequest', requestId: randomUUID(), timestamp: new Date().toISOString(), intent: { name: intent, slots } };
  if (query !== undefined) r.query = query;
  return r;
}

export function chargeResponseEvent(dingdangOrderId: string, partnerOrderId: string): ChargeResponseEvent {
  const event: ChargeResponseEvent = {
    type: 'Connections.Response',
    name: 'Charge',
    requestId: randomUUID(),
    timestamp: new Date().toISOString(),
    payload: { dingdangOrderId, partnerOrderId },
  };
  const v = validate('chargeResponseEvent', event);
  if (!v.ok) throw new ValidationError(v.issues, 'chargeResponseEvent');
  return event;
}

export interface EnvelopeInput {
  skillId: string;
  user: SkillUser;
  deviceId: string;
  mode: 'screen' | 'screenless';
  sessionId?: string;
  newSession?: boolean;
  request: SkillRequestBody;
}

export function skillEnvelope(input: EnvelopeInput): SkillEnvelope {
  const user: SkillUser = { userId: input.user.userId };
  if (input.user.accessToken !== undefined) user.accessToken = input.user.accessToken;
  return {
    version: '1.0',
    session: {
      new: input.newSession ?? true,
      sessionId: input.sessionId ?? randomUUID(),
      application: { applicationId: input.skillId },
      user,
      attributes: {},
    },
    context: {
      System: {
        device: {
          deviceId: input.deviceId,
          supportedInterfaces: input.mode === 'screen' ? { Display: {}, AudioPlayer: {} } : { AudioPlayer: {} },
        },
        application: { applicationId: input.skillId },
        user,
      },
    },
    request: input.request,
  };
}

/** The parts of a skill's answer the platform and the device use. */
export interface SkillAnswer {
  outputSpeech?: string;
  directives: unknown[];
  shouldEndSession?: boolean;
  /** The valid Charge directive among `directives`, when the skill asks for payment. */
  charge?: ChargeDirective;
  /** The whole decoded response. */
  raw: unknown;
}

function speechOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.text === 'string') return o.text;
    if (typeof o.ssml === 'string') return o.ssml.replace(/<[^>]+>/g, '');
  }
  return undefined;
}

/**
 * Read a skill response: `{ version, response: { outputSpeech, directives, shouldEndSession } }`
 * (`outputSpeech` a string or `{ type, text }`); the fields may also sit at the top level.
 */
export function parseSkillAnswer(decoded: unknown): SkillAnswer {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new TransportError('skill response is not a JSON object');
  const top = decoded as Record<string, unknown>;
  const r = (typeof top.response === 'object' && top.response !== null ? top.response : top) as Record<string, unknown>;
  const directives = Array.isArray(r.directives) ? r.directives : [];
  const answer: SkillAnswer = { directives, raw: decoded };
  const speech = speechOf(r.outputSpeech);
  if (speech !== undefined) answer.outputSpeech = speech;
  if (typeof r.shouldEndSession === 'boolean') answer.shouldEndSession = r.shouldEndSession;
  for (const d of directives) {
    const o = d as Record<string, unknown> | null;
    if (o && o.type === 'Connections.SendRequest' && o.name === 'Charge') {
      const v = validate('chargeDirective', d);
      if (!v.ok) {
        const e = new ValidationError(v.issues, 'Charge directive');
        throw new RemoteError(`the skill answered an invalid Charge directive: ${e.message}`, e.retMsg);
      }
      answer.charge = v.value;
      break;
    }
  }
  return answer;
}

export interface SkillCallOptions {
  /** Aborts the call (the sandbox closing). */
  signal?: AbortSignal;
  signingNow: () => number;
  now: () => number;
  timeoutMs?: number;
  record?: (call: CallRecord) => void;
}

/** POST the envelope to the skill endpoint, TSK-HMAC-SHA256-BASIC signed; parse its answer. */
export async function callSkill(skill: SkillConfig, envelope: SkillEnvelope, o: SkillCallOptions): Promise<SkillAnswer> {
  const raw = JSON.stringify(envelope);
  const record: CallRecord = { kind: 'skill', url: skill.skillEndpoint, skillId: skill.skillId, at: o.now(), body: raw, outcome: 'error' };
  const timeoutMs = o.timeoutMs ?? 5000;
  try {
    let res: Response;
    try {
      res = await fetch(skill.skillEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', authorization: signHmac(raw, skill.skillSecret, { now: o.signingNow }) },
        body: raw,
        signal: callSignal(timeoutMs, o.signal),
      });
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new TimeoutError(`skill ${skill.skillId} did not answer within ${timeoutMs} ms`);
      throw new TransportError(`cannot reach skill ${skill.skillId} at ${skill.skillEndpoint}: ${(e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new TransportError(`skill ${skill.skillId} answered HTTP ${res.status}`);
    let decoded: unknown;
    try {
      decoded = JSON.parse(text);
    } catch {
      throw new TransportError(`skill ${skill.skillId} answered non-JSON`);
    }
    const answer = parseSkillAnswer(decoded);
    record.outcome = 'ok';
    return answer;
  } catch (e) {
    record.error = `${(e as { code?: string }).code ?? 'ERR'}: ${(e as Error).message}`;
    throw e;
  } finally {
    o.record?.(record);
  }
}
