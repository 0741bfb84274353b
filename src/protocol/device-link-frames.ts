/**
 * The stream of the device link (docs/device-protocol.md §4), both ways: the
 * status body, the platform's frames (push, pong, ping, subscribed, error)
 * and the device's (subscribe, unsubscribe, ping, pong), each parsed and
 * encoded. Parsers never throw: garbage in, typed refusal out (fuzzed).
 * Encoders write the documented fields only (a push's decoded `status` stays home).
 */
import {
  END_REASON_STATUS,
  isDeviceId,
  isEndReason,
  isPurchaseId,
  MAX_FRAME_CHARS,
  NONCE_MAX_CHARS,
  STATUS_REASON_MAX,
  type ClientFrame,
  type DeviceLinkErrorCode,
  type DeviceOrder,
  type EndReason,
  type ParseResult,
  type PushFrame,
  type ServerFrame,
  type StatusBody,
  type StatusSource,
  type StatusUpdate,
  type SubscribeFrame,
} from './device-link.js';
import { isFen } from './money.js';
import { TRADE_STATUSES, type TradeStatus } from './types.js';
import { isOrderNo } from './validate-engine.js';

// ── small readers shared with device-link-bodies.ts ──────────────────

/** @internal */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only (`__proto__` in JSON is data, never the prototype). @internal */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** @internal */
export function safeJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** A value cut to 40 characters for a refusal's detail. @internal */
export function short(v: unknown): string {
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return (s ?? String(v)).slice(0, 40);
  } catch {
    return '?';
  }
}

/** @internal */
export const malformed = (detail: string): { ok: false; reason: 'malformed'; detail: string } => ({
  ok: false,
  reason: 'malformed',
  detail,
});

// ── order and status body ─────────────────────────────────────────────

/** Check a `DeviceOrder` object (§3.2). Unknown fields are dropped. */
export function parseOrder(v: unknown, path = 'order'): ParseResult<DeviceOrder> {
  if (!isRecord(v)) return malformed(`${path} is not an object`);
  const purchaseId = own(v, 'purchaseId');
  const transactionId = own(v, 'transactionId');
  const tradeNo = own(v, 'tradeNo');
  const totalAmt = own(v, 'totalAmt');
  const payUrl = own(v, 'payUrl');
  const expiresAt = own(v, 'expiresAt');
  if (!isPurchaseId(purchaseId)) return malformed(`${path}.purchaseId invalid`);
  if (typeof transactionId !== 'string' || transactionId.length < 1 || transactionId.length > 64) return malformed(`${path}.transactionId invalid`);
  if (!isOrderNo(tradeNo)) return malformed(`${path}.tradeNo invalid`);
  if (!isFen(totalAmt)) return malformed(`${path}.totalAmt is not integer fen`);
  if (typeof payUrl !== 'string' || payUrl.length > 2048 || !/^https?:\/\/\S+$/i.test(payUrl)) return malformed(`${path}.payUrl is not an http(s) URL`);
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) return malformed(`${path}.expiresAt is not epoch ms`);
  return { ok: true, value: { purchaseId, transactionId, tradeNo, totalAmt, payUrl, expiresAt } };
}

/** The order with its fields in the documented order (and no others). */
export function orderObject(o: DeviceOrder): DeviceOrder {
  const { purchaseId, transactionId, tradeNo, totalAmt, payUrl, expiresAt } = o;
  return { purchaseId, transactionId, tradeNo, totalAmt, payUrl, expiresAt };
}

/**
 * The `endReason` a status body keeps (§4.3, our extension): a known value
 * that goes with the `tradeStatus`. An unknown value (a newer platform's) or
 * one that does not go with the status is dropped, never acted on.
 */
export function endReasonFor(tradeStatus: TradeStatus, endReason: unknown): EndReason | undefined {
  return isEndReason(endReason) && END_REASON_STATUS[endReason] === tradeStatus ? endReason : undefined;
}

/** Check a decoded status body (§4.3). Unknown fields are ignored. */
export function parseStatusObject(v: unknown): ParseResult<StatusBody> {
  if (!isRecord(v)) return malformed('status body is not an object');
  const purchaseId = own(v, 'purchaseId');
  const deviceId = own(v, 'deviceId');
  const tradeStatus = own(v, 'tradeStatus');
  const seq = own(v, 'seq');
  const nonceStr = own(v, 'nonceStr');
  const reason = own(v, 'reason');
  const endReason = own(v, 'endReason');
  const order = own(v, 'order');
  if (!isPurchaseId(purchaseId)) return malformed('purchaseId invalid');
  if (!isDeviceId(deviceId)) return malformed('deviceId invalid');
  if (typeof tradeStatus !== 'string' || !(TRADE_STATUSES as readonly string[]).includes(tradeStatus))
    return malformed(`tradeStatus invalid: ${short(tradeStatus)}`);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return malformed('seq is not an integer >= 0');
  if (typeof nonceStr !== 'string' || nonceStr.length < 1 || nonceStr.length > NONCE_MAX_CHARS) return malformed('nonceStr invalid');
  const out: StatusBody = { purchaseId, deviceId, tradeStatus: tradeStatus as TradeStatus, seq, nonceStr };
  if (reason !== undefined && reason !== null) {
    if (typeof reason !== 'string' || Array.from(reason).length > STATUS_REASON_MAX) return malformed('reason invalid');
    out.reason = reason;
  }
  if (endReason !== undefined && endReason !== null) {
    if (typeof endReason !== 'string') return malformed('endReason is not a string');
    const known = endReasonFor(out.tradeStatus, endReason);
    if (known !== undefined) out.endReason = known;
  }
  if (order !== undefined && order !== null) {
    const o = parseOrder(order);
    if (!o.ok) return o;
    if (o.value.purchaseId !== purchaseId) return malformed('order.purchaseId differs from purchaseId');
    out.order = o.value;
  }
  return { ok: true, value: out };
}

/** Decode and check a status body given as the exact JSON text. */
export function parseStatusBody(text: string): ParseResult<StatusBody> {
  const j = safeJson(text);
  if (!j.ok) return malformed('status body is not JSON');
  return parseStatusObject(j.value);
}

/**
 * The exact JSON text of a status body, fields in the documented order; this
 * text is what gets signed. An `endReason` that does not go with the
 * `tradeStatus` is left out (the parser would drop it).
 */
export function encodeStatusBody(body: StatusBody): string {
  const out: Record<string, unknown> = {
    purchaseId: body.purchaseId,
    deviceId: body.deviceId,
    tradeStatus: body.tradeStatus,
    seq: body.seq,
  };
  if (body.order) out.order = orderObject(body.order);
  if (body.reason !== undefined) out.reason = body.reason;
  const endReason = endReasonFor(body.tradeStatus, body.endReason);
  if (endReason !== undefined) out.endReason = endReason;
  out.nonceStr = body.nonceStr;
  return JSON.stringify(out);
}

/** What the device acts on from a (verified) status body. */
export function statusUpdateOf(body: StatusBody, source: StatusSource): StatusUpdate {
  return {
    purchaseId: body.purchaseId,
    tradeStatus: body.tradeStatus,
    seq: body.seq,
    source,
    ...(body.order ? { order: body.order } : {}),
    ...(body.reason !== undefined ? { reason: body.reason } : {}),
    ...(body.endReason !== undefined ? { endReason: body.endReason } : {}),
  };
}

// ── platform → device ─────────────────────────────────────────────────

/** A text frame's JSON object, either way: text, at most `MAX_FRAME_CHARS`, JSON, an object. */
function frameObject(raw: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; reason: 'malformed'; detail: string } {
  if (typeof raw !== 'string') return malformed('frame is not text');
  if (raw.length > MAX_FRAME_CHARS) return malformed('frame too large');
  const j = safeJson(raw);
  if (!j.ok) return malformed('frame is not JSON');
  return isRecord(j.value) ? { ok: true, value: j.value } : malformed('frame is not an object');
}

function finiteT(f: Record<string, unknown>): { t?: number } {
  const t = own(f, 't');
  return typeof t === 'number' && Number.isFinite(t) ? { t } : {};
}

/**
 * Parse one text frame from the platform. Never throws; anything that is not
 * a well-formed frame of a known type is `malformed`, a push without an
 * `authorization` is `unsigned`.
 */
export function parseServerFrame(raw: unknown): ParseResult<ServerFrame> {
  try {
    const o = frameObject(raw);
    if (!o.ok) return o;
    const f = o.value;
    const type = own(f, 'type');
    const id = own(f, 'id');
    const idOf = typeof id === 'string' ? { id } : {};
    switch (type) {
      case 'push': {
        const body = own(f, 'body');
        const authorization = own(f, 'authorization');
        if (typeof body !== 'string') return malformed('push body is not a string');
        if (authorization === undefined || authorization === null || authorization === '')
          return { ok: false, reason: 'unsigned', detail: 'push has no authorization' };
        if (typeof authorization !== 'string') return malformed('push authorization is not a string');
        const status = parseStatusBody(body);
        if (!status.ok) return status;
        return { ok: true, value: { type: 'push', body, authorization, status: status.value } };
      }
      case 'ping':
      case 'pong':
        return { ok: true, value: { type, ...finiteT(f) } };
      case 'subscribed': {
        const purchaseId = own(f, 'purchaseId');
        if (typeof purchaseId !== 'string') return malformed('subscribed without purchaseId');
        return { ok: true, value: { type, purchaseId, ...idOf } };
      }
      case 'error': {
        const code = own(f, 'code');
        const message = own(f, 'message');
        return {
          ok: true,
          value: {
            type,
            code: typeof code === 'string' ? code.slice(0, 64) : 'UNKNOWN',
            message: typeof message === 'string' ? message.slice(0, 512) : '',
            ...idOf,
          },
        };
      }
      default:
        return malformed(`unknown frame type ${short(type)}`);
    }
  } catch (e) {
    // Defensive: nothing above should throw, but a fuzzer must never see an exception.
    return malformed(`unparseable frame: ${short((e as Error)?.message)}`);
  }
}

export type PushParseResult = { ok: true; push: PushFrame } | { ok: false; reason: 'malformed' | 'unsigned'; detail: string };

/**
 * Parse a raw WebSocket message that should be a push. Never throws: returns
 * the push (not yet signature-verified) or a typed refusal.
 */
export function parsePush(raw: unknown): PushParseResult {
  const r = parseServerFrame(raw);
  if (!r.ok) return r;
  if (r.value.type !== 'push') return malformed(`not a push frame: ${r.value.type}`);
  return { ok: true, push: r.value };
}

/** A push frame for an exact, already signed status body text. */
export function encodePushFrame(body: string, authorization: string): string {
  return JSON.stringify({ type: 'push', body, authorization });
}

/** A platform frame as text (for a push: its `body` and `authorization`; `status` is not sent). */
export function encodeServerFrame(frame: ServerFrame): string {
  switch (frame.type) {
    case 'push':
      return encodePushFrame(frame.body, frame.authorization);
    case 'ping':
    case 'pong':
      return JSON.stringify(frame.t !== undefined ? { type: frame.type, t: frame.t } : { type: frame.type });
    case 'subscribed':
      return JSON.stringify({ type: 'subscribed', ...(frame.id !== undefined ? { id: frame.id } : {}), purchaseId: frame.purchaseId });
    case 'error':
      return JSON.stringify({ type: 'error', ...(frame.id !== undefined ? { id: frame.id } : {}), code: frame.code, message: frame.message });
  }
}

// ── device → platform ─────────────────────────────────────────────────

/**
 * A refused device frame. `refusal` is set for a `subscribe` whose fields are
 * wrong: the platform answers it with an `error` frame of that code (and the
 * frame's `id`) instead of closing the socket.
 */
export type ClientFrameResult =
  | { ok: true; value: ClientFrame }
  | { ok: false; reason: 'malformed'; detail: string; refusal?: { id?: string; code: Extract<DeviceLinkErrorCode, 'BAD_REQUEST' | 'UNAUTHORIZED'> } };

function parseSubscribe(f: Record<string, unknown>): ClientFrameResult {
  const id = own(f, 'id');
  const idOf = typeof id === 'string' ? { id: id.slice(0, 64) } : {};
  const refuse = (code: 'BAD_REQUEST' | 'UNAUTHORIZED', detail: string): ClientFrameResult => ({
    ok: false,
    reason: 'malformed',
    detail,
    refusal: { ...idOf, code },
  });
  const deviceId = own(f, 'deviceId');
  const deviceToken = own(f, 'deviceToken');
  const purchaseId = own(f, 'purchaseId');
  const lastSeq = own(f, 'lastSeq');
  if (!isDeviceId(deviceId)) return refuse('UNAUTHORIZED', 'unknown device');
  if (deviceToken !== undefined && deviceToken !== null && typeof deviceToken !== 'string') return refuse('UNAUTHORIZED', 'deviceToken is not a string');
  if (typeof purchaseId !== 'string') return refuse('BAD_REQUEST', 'purchaseId missing');
  if (!isPurchaseId(purchaseId)) return refuse('BAD_REQUEST', 'purchaseId invalid');
  if (lastSeq !== undefined && lastSeq !== null && (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < 0))
    return refuse('BAD_REQUEST', 'lastSeq is not an integer >= 0');
  const value: SubscribeFrame = {
    type: 'subscribe',
    ...idOf,
    purchaseId,
    deviceId,
    ...(typeof deviceToken === 'string' ? { deviceToken } : {}),
    lastSeq: typeof lastSeq === 'number' ? lastSeq : 0,
  };
  return { ok: true, value };
}

/**
 * Parse one text frame from a device (the platform end's parser). Never
 * throws. Not text, not JSON, not an object, an unknown type or a frame
 * without its fields: `malformed` (close with 4400), except a bad
 * `subscribe`, which carries the `refusal` to answer with.
 */
export function parseClientFrame(raw: unknown): ClientFrameResult {
  try {
    const o = frameObject(raw);
    if (!o.ok) return o;
    const f = o.value;
    const type = own(f, 'type');
    switch (type) {
      case 'ping':
      case 'pong':
        return { ok: true, value: { type, ...finiteT(f) } };
      case 'unsubscribe': {
        const purchaseId = own(f, 'purchaseId');
        if (typeof purchaseId !== 'string') return malformed('unsubscribe without purchaseId');
        return { ok: true, value: { type, purchaseId } };
      }
      case 'subscribe':
        return parseSubscribe(f);
      default:
        return malformed(`unknown frame type ${short(type)}`);
    }
  } catch (e) {
    return malformed(`unparseable frame: ${short((e as Error)?.message)}`);
  }
}

/** A device frame as text (a `ClientFrame` holds exactly the fields the wire carries). */
export function encodeClientFrame(frame: ClientFrame): string {
  return JSON.stringify(frame);
}
