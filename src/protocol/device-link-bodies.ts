/**
 * The HTTP bodies of the device link (docs/device-protocol.md §3): what the
 * device sends, checked on the platform end, and what the platform answers,
 * checked on the device end after its signature verified. Never throws.
 * A reply about another purchase is `wrong-purchase`, a status for another
 * device `wrong-device`, a select reply about another element
 * `wrong-element`, any other deviation `malformed`; the `detail` is short and
 * safe to show.
 */
import {
  ELEMENT_TOKEN_MAX,
  isDeviceMode,
  isPurchaseId,
  LINK_ID_RULE,
  SELECT_CAUSES,
  type CancelReply,
  type DeviceLinkErrorBody,
  type DeviceLinkErrorCode,
  type DeviceOrder,
  type ParseResult,
  type PlaceOrderResult,
  type ReplyRejection,
  type ReplyResult,
  type ResumeResult,
  type SelectCause,
  type SelectElementRequest,
  type SelectElementResult,
  type StartPurchaseReply,
  type StartPurchaseRequest,
  type StatusBody,
} from './device-link.js';
import { isRecord, malformed, own, parseOrder, parseStatusBody } from './device-link-frames.js';
import type { SkillRetCode } from './skill-types.js';
import { TRADE_STATUSES, type TradeStatus } from './types.js';

const wrong = (reason: Exclude<ReplyRejection, 'malformed'>, detail: string) => ({ ok: false as const, reason, detail });

// ── device → platform ─────────────────────────────────────────────────

/** The JSON value the device sends to start a purchase (§3.1). */
export function startPurchaseBody(request: StartPurchaseRequest<unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    mode: request.mode,
    charge: request.charge,
    originalRequest: request.originalRequest ?? null,
  };
  if (request.purchaseId !== undefined) body.purchaseId = request.purchaseId;
  return body;
}

/**
 * Check a start request on the platform end. The Charge directive is left
 * for the platform's own validation (`charge: unknown`).
 */
export function parseStartPurchaseRequest(v: unknown): ParseResult<StartPurchaseRequest<unknown>, 'malformed'> {
  if (!isRecord(v)) return malformed('body is not a JSON object');
  const mode = own(v, 'mode');
  const purchaseId = own(v, 'purchaseId');
  if (!isDeviceMode(mode)) return malformed('mode must be "screen" or "screenless"');
  if (purchaseId !== undefined && !isPurchaseId(purchaseId)) return malformed(`purchaseId must be ${LINK_ID_RULE}`);
  const value: StartPurchaseRequest<unknown> = { mode, charge: own(v, 'charge'), originalRequest: own(v, 'originalRequest') };
  if (purchaseId !== undefined) value.purchaseId = purchaseId;
  return { ok: true, value };
}

/** The JSON value the device sends when the player reached an element (§3.8); `skillId` only when set. */
export function selectElementBody({ token, mode, cause, skillId }: SelectElementRequest): Record<string, unknown> {
  return skillId === undefined ? { token, mode, cause } : { token, mode, cause, skillId };
}

/** Check a select request on the platform end (§3.8); unknown fields are ignored. */
export function parseSelectElementRequest(v: unknown): ParseResult<SelectElementRequest, 'malformed'> {
  if (!isRecord(v)) return malformed('body is not a JSON object');
  const token = own(v, 'token');
  const mode = own(v, 'mode');
  const cause = own(v, 'cause');
  const skillId = own(v, 'skillId');
  if (typeof token !== 'string' || token === '' || token.length > ELEMENT_TOKEN_MAX)
    return malformed(`token must be a non-empty string of at most ${ELEMENT_TOKEN_MAX} characters`);
  if (!isDeviceMode(mode)) return malformed('mode must be "screen" or "screenless"');
  if (typeof cause !== 'string' || !(SELECT_CAUSES as readonly string[]).includes(cause)) return malformed(`cause must be one of ${SELECT_CAUSES.join(', ')}`);
  if (skillId !== undefined && (typeof skillId !== 'string' || skillId === '' || skillId.length > 64))
    return malformed('skillId must be a non-empty string of at most 64 characters');
  const value: SelectElementRequest = { token, mode, cause: cause as SelectCause };
  if (skillId !== undefined) value.skillId = skillId;
  return { ok: true, value };
}

// ── platform → device ─────────────────────────────────────────────────

function about(v: unknown, purchaseId: string): ReplyResult<Record<string, unknown>> {
  if (!isRecord(v)) return malformed('reply is not a JSON object');
  if (own(v, 'purchaseId') !== purchaseId) return wrong('wrong-purchase', 'reply is about another purchase');
  return { ok: true, value: v };
}

function orderOf(v: unknown, purchaseId: string): ReplyResult<DeviceOrder> {
  const o = parseOrder(v);
  if (!o.ok) return malformed(o.detail);
  if (o.value.purchaseId !== purchaseId) return wrong('wrong-purchase', 'order of another purchase');
  return o;
}

/** The start reply (§3.1); with `expected`, the purchase the device asked for. */
export function parseStartPurchaseReply(v: unknown, expected?: string): ReplyResult<StartPurchaseReply> {
  if (!isRecord(v)) return malformed('reply is not a JSON object');
  const purchaseId = own(v, 'purchaseId');
  const tradeStatus = own(v, 'tradeStatus');
  const seq = own(v, 'seq');
  if (!isPurchaseId(purchaseId)) return malformed('reply has no valid purchaseId');
  if (expected !== undefined && purchaseId !== expected) return wrong('wrong-purchase', 'reply names another purchase');
  if (typeof tradeStatus !== 'string' || !(TRADE_STATUSES as readonly string[]).includes(tradeStatus)) return malformed('reply has no valid tradeStatus');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return malformed('reply has no valid seq');
  return { ok: true, value: { purchaseId, tradeStatus: tradeStatus as TradeStatus, seq } };
}

/** The place-order reply (§3.2). */
export function parsePlaceOrderReply(v: unknown, purchaseId: string): ReplyResult<PlaceOrderResult> {
  const r = about(v, purchaseId);
  if (!r.ok) return r;
  const kind = own(r.value, 'kind');
  if (kind === 'already-owned') return { ok: true, value: { kind: 'already-owned' } };
  if (kind !== 'order') return malformed('unknown kind');
  const o = orderOf(own(r.value, 'order'), purchaseId);
  return o.ok ? { ok: true, value: { kind: 'order', order: o.value } } : o;
}

/** The refresh reply (§3.3): the new order. */
export function parseRefreshOrderReply(v: unknown, purchaseId: string): ReplyResult<DeviceOrder> {
  const r = about(v, purchaseId);
  return r.ok ? orderOf(own(r.value, 'order'), purchaseId) : r;
}

/** A status body that is not for this purchase and device (§2). */
export function statusMismatch(
  status: StatusBody,
  purchaseId: string,
  deviceId: string,
): { reason: 'wrong-purchase' | 'wrong-device'; detail: string } | undefined {
  if (status.purchaseId !== purchaseId) return { reason: 'wrong-purchase', detail: `status for ${status.purchaseId.slice(0, 64)}` };
  if (status.deviceId !== deviceId) return { reason: 'wrong-device', detail: `status for device ${status.deviceId.slice(0, 64)}` };
  return undefined;
}

/** The status reply (§3.4), given as the exact reply text. */
export function parseStatusReply(text: string, purchaseId: string, deviceId: string): ReplyResult<StatusBody> {
  const s = parseStatusBody(text);
  if (!s.ok) return malformed(s.detail);
  const mismatch = statusMismatch(s.value, purchaseId, deviceId);
  return mismatch ? wrong(mismatch.reason, mismatch.detail) : s;
}

/** The cancel reply (§3.5). */
export function parseCancelReply(v: unknown, purchaseId: string): ReplyResult<CancelReply> {
  const r = about(v, purchaseId);
  if (!r.ok) return r;
  const cancelled = own(r.value, 'cancelled');
  if (typeof cancelled !== 'boolean') return malformed('cancelled is not a boolean');
  return { ok: true, value: { purchaseId, cancelled } };
}

/** The skill's answer in a resume or select reply: the skill's answer, or the platform's fallback line with `error`. */
function answerOf(v: Record<string, unknown>): ReplyResult<ResumeResult> {
  const outputSpeech = own(v, 'outputSpeech');
  const directives = own(v, 'directives');
  const shouldEndSession = own(v, 'shouldEndSession');
  const error = own(v, 'error');
  if (outputSpeech !== undefined && outputSpeech !== null && typeof outputSpeech !== 'string') return malformed('outputSpeech is not a string');
  if (directives !== undefined && !Array.isArray(directives)) return malformed('directives is not an array');
  if (shouldEndSession !== undefined && typeof shouldEndSession !== 'boolean') return malformed('shouldEndSession is not a boolean');
  let err: ResumeResult['error'];
  if (error !== undefined && error !== null) {
    const code = isRecord(error) ? own(error, 'code') : undefined;
    const reason = isRecord(error) ? own(error, 'reason') : undefined;
    // Any integer code is carried: a platform may know return codes this version does not.
    if (!Number.isSafeInteger(code) || typeof reason !== 'string') return malformed('error is not { code, reason }');
    err = { code: code as SkillRetCode, reason: reason.slice(0, 512) };
  }
  return {
    ok: true,
    value: {
      directives: (directives as unknown[] | undefined) ?? [],
      ...(typeof outputSpeech === 'string' ? { outputSpeech } : {}),
      ...(typeof shouldEndSession === 'boolean' ? { shouldEndSession } : {}),
      ...(err ? { error: err } : {}),
    },
  };
}

/** The resume reply (§3.6): the skill's answer, or the platform's fallback line with `error`. */
export function parseResumeReply(v: unknown, purchaseId: string): ReplyResult<ResumeResult> {
  const r = about(v, purchaseId);
  return r.ok ? answerOf(r.value) : r;
}

/**
 * The select reply (§3.8), about the element `token` the device asked for:
 * the skill's answer (as in the resume), the purchase a Charge in it opened,
 * the skill that answered.
 */
export function parseSelectElementReply(v: unknown, token: string): ReplyResult<SelectElementResult> {
  if (!isRecord(v)) return malformed('reply is not a JSON object');
  if (own(v, 'token') !== token) return wrong('wrong-element', 'reply is about another element');
  const a = answerOf(v);
  if (!a.ok) return a;
  const value: SelectElementResult = { token, ...a.value };
  const purchaseId = own(v, 'purchaseId');
  const skillId = own(v, 'skillId');
  // null reads as absent, as in the resume reply.
  if (purchaseId != null) {
    if (!isPurchaseId(purchaseId)) return malformed('reply has no valid purchaseId');
    value.purchaseId = purchaseId;
  }
  if (skillId != null) {
    if (typeof skillId !== 'string') return malformed('skillId is not a string');
    value.skillId = skillId;
  }
  return { ok: true, value };
}

// ── errors (§3.7) ─────────────────────────────────────────────────────

/** The body of a non-2xx reply. */
export function errorBody(code: DeviceLinkErrorCode | (string & {}), message: string): DeviceLinkErrorBody {
  return { error: { code, message } };
}

/** Read a non-2xx reply's `{ error: { code, message } }`; `UNKNOWN` and an empty message when absent. */
export function parseErrorBody(v: unknown): { code: string; message: string } {
  const e = isRecord(v) ? own(v, 'error') : undefined;
  const code = isRecord(e) ? own(e, 'code') : undefined;
  const message = isRecord(e) ? own(e, 'message') : undefined;
  return {
    code: typeof code === 'string' ? code.slice(0, 64) : 'UNKNOWN',
    message: typeof message === 'string' ? message.slice(0, 512) : '',
  };
}
