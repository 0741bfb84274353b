/**
 * Custom-skill requests as the DingDang platform sends them
 * (SKILL-PROTOCOL §1–§3, types in src/protocol/skill-types.ts): the envelope
 *
 *   { version: "1.0", session?: { new, sessionId },
 *     context: { System: { application: { applicationId }, device: { deviceId, supportedInterfaces }, user: { userId, accessToken? } } },
 *     request }
 *
 * signed TSK-HMAC-SHA256-BASIC with the skill's SkillSecret over the exact
 * body bytes, with the compact datetime (`20170720T193559Z`) in the header and
 * in `request.timestamp`. Every answer is checked with `checkSkillResponseText`
 * (src/protocol/skill-check.ts) for the request type and the skill's settings;
 * transport failures map to the platform's return codes (100400 refused / DNS,
 * 100401 timeout, 100402 HTTP status ≠ 200). A skill deployed as an SCF
 * function (`deployment: "scf"`) gets the wrapped form and the SCF codes
 * (100403 timeout, 100405 abnormal answer, 100406 malformed wrapper): see
 * `unwrapScfAnswer`.
 *
 * The NLU is the sandbox's own small stand-in: the matcher turns a skill's
 * sample utterances ("我要听{album}第{index}集") into anchored patterns and
 * fills typed `text` slots (`value` the normalised entity, `origin` the words
 * said); a `number` slot matches only a numeral (Arabic or Chinese: "35",
 * "三十五"; the value is Arabic); an entity slot (`{ entity: [...] }`) only one
 * of its entity's values or synonyms (`value` the entity's value). Skills that
 * declare none get the audiobook's.
 *
 * One utterance is at most `MAX_UTTERANCE_CHARS` characters (our own bound,
 * about what a speaker's recogniser hands over for one request): `say` refuses
 * longer text before the matcher sees it, and the matcher itself ignores
 * longer text, so its cost (a few lazy groups per sample) is bounded.
 */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../protocol/errors.js';
import type { ChargeDirective, ChargeResponseEvent } from '../protocol/types.js';
import { validate } from '../protocol/validate.js';
import { formatTskDatetime, parseTskDatetime } from '../protocol/tsk.js';
import { signHmac } from '../protocol/tsk-node.js';
import { checkSkillResponseText } from '../protocol/skill-check.js';
import {
  SESSION_REQUEST_TYPES,
  SKILL_PROTOCOL_VERSION,
  SKILL_RET_CODES,
  type DialogState,
  type ElementSelectedRequest,
  type Intent,
  type IntentRequest,
  type LaunchRequest,
  type SessionEndedErrorType,
  type SessionEndedReason,
  type SessionEndedRequest,
  type Slot,
  type SkillRequest,
  type SkillRequestEnvelope,
  type SkillResponseEnvelope,
  type SkillRetCode,
  type SkillSession,
  type SkillUser,
} from '../protocol/skill-types.js';
import { slotKind, type EntitySlotKind, type SkillConfig, type SlotKind, type UtteranceSpec } from './config.js';
import { CallTimeout, post, type CallRecord } from './outbound.js';

/**
 * The most characters of one utterance the sandbox's NLU takes (our own
 * bound): 64, several times the longest request a person says to a speaker
 * ("叮当叮当，我想听万古神帝第一百零二集" is 19). `say` refuses longer text.
 */
export const MAX_UTTERANCE_CHARS = 64;

/**
 * The audiobook example's samples (the example skill's `AUDIOBOOK_INTENTS`,
 * src/demo/example-skill/skill.ts, kept equal by
 * test/demo/example-skill-utterances.test.ts), built in for a skill that
 * declares none. The album is a `text` slot here: the sandbox does not know
 * such a skill's catalog (the example skill declares its albums as an entity).
 */
export const AUDIOBOOK_UTTERANCES: readonly UtteranceSpec[] = [
  {
    intent: 'play',
    samples: [
      '我要听{album}第{index}集',
      '播放{album}第{index}集',
      '我想听{album}第{index}集',
      '听{album}第{index}集',
      '我要听{album}{index}集',
      '播放{album}{index}集',
      '我想听{album}{index}集',
      '听{album}{index}集',
      '{album}第{index}集',
      '{album}{index}集',
      '我要听{album}',
      '播放{album}',
      '我想听{album}',
    ],
    slots: { album: 'text', index: 'number' },
  },
  {
    intent: 'buy',
    samples: [
      '我要买{album}第{index}集',
      '我想买{album}第{index}集',
      '购买{album}第{index}集',
      '买{album}第{index}集',
      '我要买{album}{index}集',
      '我想买{album}{index}集',
      '购买{album}{index}集',
      '买{album}{index}集',
      '购买{album}',
      '我要买{album}',
      '我想买{album}',
      '买{album}',
    ],
    slots: { album: 'text', index: 'number' },
  },
  {
    intent: 'purchases',
    samples: [
      '我买过什么',
      '我买过哪些',
      '我买了什么',
      '我买了哪些',
      '我都买了什么',
      '我都买过什么',
      '我的购买记录',
      '查看购买记录',
      '查一下我的购买记录',
      '我买过的内容',
    ],
    slots: {},
  },
];

export interface IntentMatch {
  skillId: string;
  intent: string;
  /** Typed slots as the platform sends them (`values[0].value` = `{ type: "text", value, origin }`). */
  slots: Record<string, Slot>;
  /** The sample that matched. */
  sample: string;
}

interface Pattern {
  skillId: string;
  intent: string;
  sample: string;
  spec: UtteranceSpec;
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
  if (!/^[零〇一二两三四五六七八九十百千]+$/.test(value)) return value;
  let total = 0;
  let digit = 0;
  for (const ch of value) {
    if (ch === '千') {
      total += (digit || 1) * 1000;
      digit = 0;
    } else if (ch === '百') {
      total += (digit || 1) * 100;
      digit = 0;
    } else if (ch === '十') {
      total += (digit || 1) * 10;
      digit = 0;
    } else digit = CN_DIGITS[ch] ?? 0;
  }
  return String(total + digit);
}

/**
 * The number in a short answer: "35", "三十五", "第三十五集", "35集" → "35";
 * undefined when the words hold no number or more than one.
 */
export function extractNumber(text: string): string | undefined {
  const t = normalizeUtterance(text);
  const runs = t.match(/\d+|[零〇一二两三四五六七八九十百千]+/g) ?? [];
  if (runs.length !== 1) return undefined;
  const n = normalizeNumber(runs[0]);
  return /^\d+$/.test(n) ? n : undefined;
}

/** One `text` slot as the platform sends it. */
export function textSlot(name: string, value: string, origin = value): Slot {
  return { name, confirmationStatus: 'NONE', values: [{ value: { type: 'text', value, origin } }] };
}

interface EntityWords {
  /** Normalised word (value or synonym) → the entity's value. */
  byWord: Map<string, string>;
  /** The regex alternative that matches exactly one word, longest first. */
  group: string;
}

const entityWordsCache = new WeakMap<EntitySlotKind, EntityWords>();

function entityWords(kind: EntitySlotKind): EntityWords {
  let words = entityWordsCache.get(kind);
  if (!words) {
    const byWord = new Map<string, string>();
    for (const v of kind.entity)
      for (const w of [v.value, ...(v.synonyms ?? [])]) {
        const n = normalizeUtterance(w);
        if (n !== '' && !byWord.has(n)) byWord.set(n, v.value);
      }
    const alternatives = [...byWord.keys()].sort((a, b) => b.length - a.length).map(escape);
    words = { byWord, group: `(${alternatives.join('|')})` };
    entityWordsCache.set(kind, words);
  }
  return words;
}

/**
 * Fill a slot of `kind` from what the user said; undefined when the words do
 * not fit (a number slot without a number, an entity slot without one of its
 * words). An entity slot takes the words when they are one of the entity's
 * words, or hold exactly one of them ("我要听万古神帝" as the answer to "听哪本书").
 */
export function fillSlot(name: string, kind: SlotKind, said: string): Slot | undefined {
  const origin = said.trim();
  if (origin === '' || origin.length > MAX_UTTERANCE_CHARS) return undefined;
  if (kind === 'number') {
    const n = extractNumber(origin);
    return n === undefined ? undefined : textSlot(name, n, origin);
  }
  if (kind !== 'text') {
    const { byWord } = entityWords(kind);
    const t = normalizeUtterance(origin);
    const exact = byWord.get(t);
    if (exact !== undefined) return textSlot(name, exact, origin);
    const inside = new Set<string>();
    for (const [word, value] of byWord) if (t.includes(word)) inside.add(value);
    return inside.size === 1 ? textSlot(name, [...inside][0]!, origin) : undefined;
  }
  return textSlot(name, origin.replace(/[，。！？、,.!?;；:：]+$/u, ''), origin);
}

/** What a `number` slot matches in a sample: Arabic digits or Chinese numerals. */
const NUMERAL_SLOT = '([0-9零〇一二两三四五六七八九十百千]+)';

function compile(skillId: string, spec: UtteranceSpec, sample: string): Pattern {
  const slotNames: string[] = [];
  let re = '^';
  let literalLength = 0;
  const norm = sample.normalize('NFKC');
  const parts = norm.split(/(\{[A-Za-z_]\w*\})/);
  for (const part of parts) {
    const m = /^\{([A-Za-z_]\w*)\}$/.exec(part);
    if (m) {
      slotNames.push(m[1]!);
      const kind = slotKind(spec, m[1]!);
      // A number slot hears only a numeral ("35", "三十五"), as the platform's number entity does: "{album}{index}集" splits "万古神帝35集".
      // An entity slot hears only its entity's words: "{album}{index}集" does not take "上一集".
      re += kind === 'number' ? NUMERAL_SLOT : kind === 'text' ? '(.+?)' : entityWords(kind).group;
    } else {
      const lit = normalizeUtterance(part);
      literalLength += lit.length;
      re += escape(lit);
    }
  }
  return { skillId, intent: spec.intent, sample, spec, re: new RegExp(re + '$', 'u'), slotNames, literalLength };
}

/** Words that leave an open session (the platform's own, not the skill's): "退出", "再见", "退出有声书" … */
const EXIT_WORDS = ['退出', '再见', '拜拜', '退下', '关闭', '结束', '不玩了', '不听了', '停止对话', '退出技能'];
const LAUNCH_VERBS = ['打开', '启动', '进入'];

/** Matches utterances against every skill's samples; the match with the most literal text wins. */
export class UtteranceMatcher {
  private readonly patterns: Pattern[] = [];
  private readonly specs = new Map<string, UtteranceSpec>();
  private readonly invocations = new Map<string, string>();

  constructor(skills: Array<Pick<SkillConfig, 'skillId' | 'utterances'> & { invocationName?: string }>) {
    for (const s of skills) {
      const specs = s.utterances.length > 0 ? s.utterances : AUDIOBOOK_UTTERANCES;
      for (const spec of specs) {
        this.specs.set(`${s.skillId}\n${spec.intent}`, spec);
        for (const sample of spec.samples) this.patterns.push(compile(s.skillId, spec, sample));
      }
      if (s.invocationName !== undefined) this.invocations.set(normalizeUtterance(s.invocationName), s.skillId);
    }
    this.patterns.sort((a, b) => b.literalLength - a.literalLength);
  }

  /** The intent design of `intent` of a skill (for the kinds of its slots). */
  spec(skillId: string, intent: string): UtteranceSpec | undefined {
    return this.specs.get(`${skillId}\n${intent}`);
  }

  /** "打开有声书" → the skill whose invocationName is 有声书. */
  launch(text: string): string | undefined {
    if (text.length > MAX_UTTERANCE_CHARS) return undefined;
    const t = normalizeUtterance(text);
    for (const verb of LAUNCH_VERBS) if (t.startsWith(verb)) return this.invocations.get(t.slice(verb.length));
    return undefined;
  }

  /** "退出", "再见", "退出有声书" … (inside an open session). */
  isExit(text: string): boolean {
    if (text.length > MAX_UTTERANCE_CHARS) return false;
    const t = normalizeUtterance(text);
    if (EXIT_WORDS.includes(t)) return true;
    for (const w of ['退出', '关闭']) if (t.startsWith(w) && this.invocations.has(t.slice(w.length))) return true;
    return false;
  }

  /** The best match, optionally within one skill; undefined when nothing matches (or the text is longer than one utterance). */
  match(text: string, skillId?: string): IntentMatch | undefined {
    if (text.length > MAX_UTTERANCE_CHARS) return undefined;
    const t = normalizeUtterance(text);
    if (t === '') return undefined;
    patterns: for (const p of this.patterns) {
      if (skillId !== undefined && p.skillId !== skillId) continue;
      const m = p.re.exec(t);
      if (!m) continue;
      const slots: Record<string, Slot> = {};
      for (let i = 0; i < p.slotNames.length; i++) {
        const name = p.slotNames[i]!;
        const slot = fillSlot(name, slotKind(p.spec, name), m[i + 1] ?? '');
        if (!slot) continue patterns; // e.g. a number slot that heard no number
        slots[name] = slot;
      }
      return { skillId: p.skillId, intent: p.intent, slots, sample: p.sample };
    }
    return undefined;
  }
}

// ── requests ────────────────────────────────────────────────────────────

/** Compact basic timestamp `20170720T193559Z` (what the platform writes in `request.timestamp`). */
export const requestTimestamp = (ms: number): string => formatTskDatetime(ms);

export function launchRequest(queryText: string, at: number): LaunchRequest {
  return { type: 'LaunchRequest', requestId: randomUUID(), timestamp: requestTimestamp(at), queryText };
}

export function intentRequest(intent: Intent, queryText: string, dialogState: DialogState, at: number): IntentRequest {
  return { type: 'IntentRequest', requestId: randomUUID(), timestamp: requestTimestamp(at), queryText, dialogState, intent };
}

export function newIntent(name: string, slots: Record<string, Slot> = {}): Intent {
  return { name, confirmationStatus: 'NONE', slots };
}

export function sessionEndedRequest(reason: SessionEndedReason, at: number, error?: { type: SessionEndedErrorType; message: string }): SessionEndedRequest {
  const r: SessionEndedRequest = { type: 'SessionEndedRequest', requestId: randomUUID(), timestamp: requestTimestamp(at), reason };
  if (error) r.error = error;
  return r;
}

export function elementSelectedRequest(token: string, at: number): ElementSelectedRequest {
  return { type: 'Display.ElementSelected', requestId: randomUUID(), timestamp: requestTimestamp(at), token };
}

export function chargeResponseEvent(dingdangOrderId: string, partnerOrderId: string, at: number = Date.now()): ChargeResponseEvent {
  const event: ChargeResponseEvent = {
    type: 'Connections.Response',
    name: 'Charge',
    requestId: randomUUID(),
    timestamp: requestTimestamp(at),
    payload: { dingdangOrderId, partnerOrderId },
  };
  const v = validate('chargeResponseEvent', event);
  if (!v.ok) throw new ValidationError(v.issues, 'chargeResponseEvent');
  return event;
}

/** The same request again with a fresh id and timestamp (the resume re-runs an already-owned purchase's request). */
export function rerun<R extends SkillRequest>(request: R, at: number): R {
  return { ...request, requestId: randomUUID(), timestamp: requestTimestamp(at) };
}

/**
 * Our own extension (not documented by DingDang): a screen speaker announces
 * `supportedInterfaces["Sandbox.Screen"] = {}`; a screenless one does not.
 */
export const SANDBOX_SCREEN_INTERFACE = 'Sandbox.Screen';

export interface EnvelopeInput {
  skillId: string;
  user: SkillUser;
  deviceId: string;
  mode: 'screen' | 'screenless';
  /** Sent only on Launch/Intent/SessionEnded requests (ignored on the others). */
  session?: SkillSession;
  request: SkillRequest;
}

export function skillEnvelope(input: EnvelopeInput): SkillRequestEnvelope {
  const user: SkillUser = { userId: input.user.userId };
  if (input.user.accessToken !== undefined) user.accessToken = input.user.accessToken;
  const supportedInterfaces: SkillRequestEnvelope['context']['System']['device']['supportedInterfaces'] = {
    AudioPlayer: { Play: true, Stop: true, ClearQueue: true },
  };
  if (input.mode === 'screen') supportedInterfaces[SANDBOX_SCREEN_INTERFACE] = {};
  const envelope: SkillRequestEnvelope = {
    version: SKILL_PROTOCOL_VERSION,
    context: {
      System: {
        application: { applicationId: input.skillId },
        device: { deviceId: input.deviceId, supportedInterfaces },
        user,
      },
    },
    request: input.request,
  };
  if (SESSION_REQUEST_TYPES.includes(input.request.type)) {
    // `session` second, as in the platform's example.
    return {
      version: envelope.version,
      session: input.session ?? { new: true, sessionId: randomUUID() },
      context: envelope.context,
      request: envelope.request,
    };
  }
  return envelope;
}

// ── the call ────────────────────────────────────────────────────────────

export type SkillCallResult =
  { ok: true; response: SkillResponseEnvelope; durationMs: number } | { ok: false; code: SkillRetCode; reason: string; durationMs: number };

export interface SkillCallOptions {
  /** Aborts the call (the sandbox closing). */
  signal?: AbortSignal;
  /** The platform's signing clock (skew applied): the signature's datetime and `request.timestamp` come from one reading. */
  now: () => number;
  /** Time budget, real ms; default the skill's `responseTimeoutMs`. */
  timeoutMs?: number;
  /** An injected fault (control API): `timeout` drops the answer (100401; SCF 100403), `fail` makes it HTTP 500 (100402; SCF 100405). */
  fault?: 'timeout' | 'fail';
  record?: (call: CallRecord) => void;
}

const MAX_RECORDED = 4096;

/** The wrapped request an SCF-deployed skill receives (SKILL-PROTOCOL §1): the signature covers `body`'s bytes. */
export function wrapScfRequest(raw: string, authorization: string): string {
  return JSON.stringify({ header: { Authorization: authorization }, body: raw });
}

/**
 * The inner answer of an SCF function's wrapped answer
 * `{ header: { "Content-Type": "application/json" }, body: "<answer JSON>" }`,
 * or the platform's SCF fault:
 * * 100406 (malformed wrapper): not a JSON object, `body` missing or not a
 *   string, or extra escaping (`body` is the JSON encoding of a string, e.g.
 *   `"\"{\\\"version\\\"…\""`);
 * * 100405 (abnormal answer): `body` is not JSON.
 * Anything else in the wrapper is ignored: the platform defines only
 * `header` and `body`.
 * `header` is not checked (the platform's docs name only Content-Type).
 */
export function unwrapScfAnswer(bytes: Uint8Array): { ok: true; body: string } | { ok: false; code: SkillRetCode; reason: string } {
  let outer: unknown;
  try {
    outer = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, code: SKILL_RET_CODES.SCF_MALFORMED, reason: 'the SCF answer is not a JSON object' };
  }
  if (outer === null || typeof outer !== 'object' || Array.isArray(outer))
    return { ok: false, code: SKILL_RET_CODES.SCF_MALFORMED, reason: 'the SCF answer is not a JSON object' };
  const o = outer as Record<string, unknown>;
  if (typeof o.body !== 'string')
    return {
      ok: false,
      code: SKILL_RET_CODES.SCF_MALFORMED,
      reason: `the SCF answer's body is ${o.body === undefined ? 'missing' : `a ${Array.isArray(o.body) ? 'array' : typeof o.body}, not a string`}`,
    };
  let inner: unknown;
  try {
    inner = JSON.parse(o.body);
  } catch {
    return { ok: false, code: SKILL_RET_CODES.SCF_ABNORMAL, reason: "the SCF answer's body is not JSON" };
  }
  if (typeof inner === 'string')
    return { ok: false, code: SKILL_RET_CODES.SCF_MALFORMED, reason: "the SCF answer's body is escaped twice (a JSON string of a string)" };
  return { ok: true, body: o.body };
}

/**
 * POST the envelope to the skill endpoint, TSK-HMAC-SHA256-BASIC signed, and
 * check the answer. Never throws: every failure is a platform return code.
 */
export async function callSkill(skill: SkillConfig, envelope: SkillRequestEnvelope, o: SkillCallOptions): Promise<SkillCallResult> {
  const raw = JSON.stringify(envelope);
  const requestType = envelope.request.type;
  const started = Date.now();
  const record: CallRecord = {
    kind: 'skill',
    url: skill.skillEndpoint,
    skillId: skill.skillId,
    at: o.now(),
    body: raw,
    outcome: 'error',
    requestType,
    deviceId: envelope.context.System.device.deviceId,
  };
  if (envelope.session) record.sessionId = envelope.session.sessionId;
  if (o.fault) record.fault = o.fault;
  const timeoutMs = o.timeoutMs ?? skill.responseTimeoutMs;
  const scf = skill.deployment === 'scf';
  const failed = (code: SkillRetCode, reason: string): SkillCallResult => {
    record.code = code;
    record.reason = reason;
    record.error = `${code}: ${reason}`;
    return { ok: false, code, reason, durationMs: Date.now() - started };
  };
  const result = await (async (): Promise<SkillCallResult> => {
    // The signature's Datetime is the request's timestamp (a skill may check either).
    const signedAt = parseTskDatetime(envelope.request.timestamp) ?? o.now();
    const authorization = signHmac(raw, skill.skillSecret, { now: () => signedAt });
    let reply;
    try {
      reply = scf
        ? await post(skill.skillEndpoint, { 'content-type': 'application/json' }, wrapScfRequest(raw, authorization), timeoutMs, o.signal)
        : await post(skill.skillEndpoint, { 'content-type': 'application/json;charset=UTF-8', authorization }, raw, timeoutMs, o.signal);
    } catch (e) {
      if (e instanceof CallTimeout) {
        if (o.signal?.aborted) return failed(SKILL_RET_CODES.UNREACHABLE, 'the sandbox is closing');
        if (scf) return failed(SKILL_RET_CODES.SCF_TIMEOUT, `the SCF function did not answer within ${timeoutMs} ms`);
        return failed(SKILL_RET_CODES.TIMEOUT, `no answer within ${timeoutMs} ms`);
      }
      if ((e as { stage?: string }).stage === 'reply')
        return failed(scf ? SKILL_RET_CODES.SCF_ABNORMAL : SKILL_RET_CODES.INVALID_RESPONSE, `the answer broke off: ${(e as Error).message}`);
      const code = (e as NodeJS.ErrnoException).code;
      return failed(SKILL_RET_CODES.UNREACHABLE, `cannot call ${skill.skillEndpoint}: ${code ?? (e as Error).message}`);
    }
    record.status = reply.status;
    record.response = Buffer.from(reply.bytes.subarray(0, MAX_RECORDED)).toString('utf8');
    if (o.fault === 'timeout') return failed(scf ? SKILL_RET_CODES.SCF_TIMEOUT : SKILL_RET_CODES.TIMEOUT, 'injected fault: the answer was dropped');
    if (o.fault === 'fail') return failed(scf ? SKILL_RET_CODES.SCF_ABNORMAL : SKILL_RET_CODES.HTTP_STATUS, 'injected fault: HTTP 500');
    // An SCF invocation that fails (the stand-in's status ≠ 200) is an abnormal answer of the function.
    if (reply.status !== 200)
      return failed(scf ? SKILL_RET_CODES.SCF_ABNORMAL : SKILL_RET_CODES.HTTP_STATUS, `${scf ? 'SCF invocation: ' : ''}HTTP status ${reply.status}`);
    let answer: Uint8Array | string = reply.bytes;
    if (scf) {
      const unwrapped = unwrapScfAnswer(reply.bytes);
      if (!unwrapped.ok) return failed(unwrapped.code, unwrapped.reason);
      answer = unwrapped.body;
    }
    const checked = checkSkillResponseText(answer, {
      requestType,
      skill: { accountLinking: skill.accountLinking, deviceMaker: skill.deviceMaker },
      strictSchema: skill.strictSchema,
    });
    if (!checked.ok) return failed(checked.code, checked.reason);
    const charge = chargeOf(checked.response);
    if (charge.invalid !== undefined) return failed(SKILL_RET_CODES.INVALID_RESPONSE, charge.invalid);
    record.outcome = 'ok';
    return { ok: true, response: checked.response, durationMs: Date.now() - started };
  })();
  record.durationMs = result.durationMs;
  o.record?.(record);
  return result;
}

/**
 * The Charge directive of a checked answer, validated against the pay
 * protocol too (SPEC §3: `totalFee = price × count` …): `{ charge }`, or
 * `{ invalid }` with the first issue, or `{}` when the answer has none.
 */
export function chargeOf(response: SkillResponseEnvelope): { charge?: ChargeDirective; invalid?: string } {
  const directives = response.response.directives ?? [];
  const index = directives.findIndex((d) => d.type === 'Connections.SendRequest');
  if (index < 0) return {};
  const v = validate('chargeDirective', directives[index]);
  if (!v.ok) {
    const issue = v.issues[0];
    return { invalid: `response.directives[${index}]${issue?.path ? `.${issue.path}` : ''}: ${issue?.message ?? 'invalid Charge'}` };
  }
  return { charge: v.value };
}
