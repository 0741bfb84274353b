/**
 * Frames of the device stream and the status body (docs/device-protocol.md
 * §4), with parsers that never throw: garbage in, typed rejection out.
 */
import { isFen, isOrderNo, TRADE_STATUSES, type TradeStatus } from '../../protocol/browser.js';
import type { DeviceOrder } from '../port.js';

/** Frames larger than this are rejected unread. */
export const MAX_FRAME_CHARS = 64 * 1024;
export const ID_RE = /^[0-9A-Za-z._-]{1,64}$/;
const REASON_MAX = 64;
const NONCE_MAX = 32;

/** The signed status of one purchase, as pushed or polled. */
export interface StatusBody {
  purchaseId: string;
  deviceId: string;
  tradeStatus: TradeStatus;
  seq: number;
  order?: DeviceOrder;
  reason?: string;
  nonceStr: string;
}

/** Why an incoming frame or reply body was refused before signature checks. */
export type ParseFailure = 'malformed' | 'unsigned';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: ParseFailure; detail: string };

export interface PushFrame {
  type: 'push';
  /** The exact signed JSON text. */
  body: string;
  /** `TSK-RSA2 Datetime=..., Signature=...` over the UTF-8 bytes of `body`. */
  authorization: string;
  /** `body` decoded and checked (not yet verified). */
  status: StatusBody;
}

export type ServerFrame =
  | PushFrame
  | { type: 'pong'; t?: number }
  | { type: 'ping'; t?: number }
  | { type: 'subscribed'; id?: string; purchaseId: string }
  | { type: 'error'; id?: string; code: string; message: string };

export type ClientFrame =
  | { type: 'subscribe'; id: string; purchaseId: string; deviceId: string; deviceToken?: string; lastSeq: number }
  | { type: 'unsubscribe'; purchaseId: string }
  | { type: 'ping'; t: number }
  | { type: 'pong'; t?: number };

const bad = (detail: string): { ok: false; reason: 'malformed'; detail: string } => ({
  ok: false,
  reason: 'malformed',
  detail,
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function safeJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function short(v: unknown): string {
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return (s ?? String(v)).slice(0, 40);
  } catch {
    return '?';
  }
}

/** Check a `DeviceOrder` object (docs §3.2). */
export function parseOrder(v: unknown, path = 'order'): ParseResult<DeviceOrder> {
  if (!isRecord(v)) return bad(`${path} is not an object`);
  const purchaseId = own(v, 'purchaseId');
  const transactionId = own(v, 'transactionId');
  const tradeNo = own(v, 'tradeNo');
  const totalAmt = own(v, 'totalAmt');
  const payUrl = own(v, 'payUrl');
  const expiresAt = own(v, 'expiresAt');
  if (typeof purchaseId !== 'string' || !ID_RE.test(purchaseId)) return bad(`${path}.purchaseId invalid`);
  if (typeof transactionId !== 'string' || transactionId.length < 1 || transactionId.length > 64)
    return bad(`${path}.transactionId invalid`);
  if (!isOrderNo(tradeNo)) return bad(`${path}.tradeNo invalid`);
  if (!isFen(totalAmt)) return bad(`${path}.totalAmt is not integer fen`);
  if (typeof payUrl !== 'string' || payUrl.length > 2048 || !/^https?:\/\/\S+$/i.test(payUrl))
    return bad(`${path}.payUrl is not an http(s) URL`);
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0)
    return bad(`${path}.expiresAt is not epoch ms`);
  return { ok: true, value: { purchaseId, transactionId, tradeNo, totalAmt, payUrl, expiresAt } };
}

/** Check a decoded status body (docs §4.3). Unknown fields are ignored. */
export function parseStatusObject(v: unknown): ParseResult<StatusBody> {
  if (!isRecord(v)) return bad('status body is not an object');
  const purchaseId = own(v, 'purchaseId');
  const deviceId = own(v, 'deviceId');
  const tradeStatus = own(v, 'tradeStatus');
  const seq = own(v, 'seq');
  const nonceStr = own(v, 'nonceStr');
  const reason = own(v, 'reason');
  const order = own(v, 'order');
  if (typeof purchaseId !== 'string' || !ID_RE.test(purchaseId)) return bad('purchaseId invalid');
  if (typeof deviceId !== 'string' || !ID_RE.test(deviceId)) return bad('deviceId invalid');
  if (typeof tradeStatus !== 'string' || !(TRADE_STATUSES as readonly string[]).includes(tradeStatus))
    return bad(`tradeStatus invalid: ${short(tradeStatus)}`);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return bad('seq is not an integer >= 0');
  if (typeof nonceStr !== 'string' || nonceStr.length < 1 || nonceStr.length > NONCE_MAX) return bad('nonceStr invalid');
  const out: StatusBody = { purchaseId, deviceId, tradeStatus: tradeStatus as TradeStatus, seq, nonceStr };
  if (reason !== undefined && reason !== null) {
    if (typeof reason !== 'string' || Array.from(reason).length > REASON_MAX) return bad('reason invalid');
    out.reason = reason;
  }
  if (order !== undefined && order !== null) {
    const o = parseOrder(order);
    if (!o.ok) return o;
    if (o.value.purchaseId !== purchaseId) return bad('order.purchaseId differs from purchaseId');
    out.order = o.value;
  }
  return { ok: true, value: out };
}

/** Decode and check a status body given as the exact JSON text. */
export function parseStatusBody(text: string): ParseResult<StatusBody> {
  const j = safeJson(text);
  if (!j.ok) return bad('status body is not JSON');
  return parseStatusObject(j.value);
}

/**
 * Parse one text frame from the server. Never throws; anything that is not a
 * well-formed frame of a known type is `malformed`, a push without an
 * `authorization` is `unsigned`.
 */
export function parseServerFrame(raw: unknown): ParseResult<ServerFrame> {
  try {
    if (typeof raw !== 'string') return bad('frame is not text');
    if (raw.length > MAX_FRAME_CHARS) return bad('frame too large');
    const j = safeJson(raw);
    if (!j.ok) return bad('frame is not JSON');
    const f = j.value;
    if (!isRecord(f)) return bad('frame is not an object');
    const type = own(f, 'type');
    const id = own(f, 'id');
    const idOf = typeof id === 'string' ? { id } : {};
    switch (type) {
      case 'push': {
        const body = own(f, 'body');
        const authorization = own(f, 'authorization');
        if (typeof body !== 'string') return bad('push body is not a string');
        if (authorization === undefined || authorization === null || authorization === '')
          return { ok: false, reason: 'unsigned', detail: 'push has no authorization' };
        if (typeof authorization !== 'string') return bad('push authorization is not a string');
        const status = parseStatusBody(body);
        if (!status.ok) return status;
        return { ok: true, value: { type: 'push', body, authorization, status: status.value } };
      }
      case 'ping':
      case 'pong': {
        const t = own(f, 't');
        return { ok: true, value: typeof t === 'number' && Number.isFinite(t) ? { type, t } : { type } };
      }
      case 'subscribed': {
        const purchaseId = own(f, 'purchaseId');
        if (typeof purchaseId !== 'string') return bad('subscribed without purchaseId');
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
        return bad(`unknown frame type ${short(type)}`);
    }
  } catch (e) {
    // Defensive: nothing above should throw, but a fuzzer must never see an exception.
    return bad(`unparseable frame: ${short((e as Error)?.message)}`);
  }
}

export type PushParseResult = { ok: true; push: PushFrame } | { ok: false; reason: ParseFailure; detail: string };

/**
 * Parse a raw WebSocket message that should be a push. Never throws: returns
 * the push (not yet signature-verified) or a typed rejection.
 */
export function parsePush(raw: unknown): PushParseResult {
  const r = parseServerFrame(raw);
  if (!r.ok) return r;
  if (r.value.type !== 'push') return bad(`not a push frame: ${r.value.type}`);
  return { ok: true, push: r.value };
}

export function encodeFrame(frame: ClientFrame): string {
  return JSON.stringify(frame);
}
