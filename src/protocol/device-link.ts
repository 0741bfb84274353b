/**
 * The device ↔ platform link, v1 (docs/device-protocol.md): how a speaker's
 * device companion talks to the platform — HTTP under `/device/v1` and a
 * WebSocket stream of signed status pushes.
 *
 * Our own extension: DingDang publishes no device link (SPEC §6), so this
 * contract is the project's. Both ends use it: the device transport
 * (src/device/transport/) and every platform end (the sandbox, test
 * platforms, a real platform adapter). Browser-safe: types, constants and
 * small pure functions only. Frames and bodies are parsed and encoded in
 * device-link-frames.ts and device-link-bodies.ts.
 */
import type { SkillRetCode } from './skill-types.js';
import type { Fen } from './money.js';
import type { ChargeDirective, TradeStatus } from './types.js';

export const DEVICE_LINK_VERSION = 'v1';
/** Every HTTP path of the link lives under `{platformUrl}` + this. */
export const DEVICE_LINK_BASE_PATH = '/device/v1';
/** The WebSocket stream: `{platformUrl}` + this, scheme `http:` → `ws:`, `https:` → `wss:`. */
export const DEVICE_STREAM_PATH = '/device/v1/stream';
/** HTTP request headers that authenticate the device (§1), lower case. */
export const DEVICE_ID_HEADER = 'x-dingdang-device-id';
export const DEVICE_TOKEN_HEADER = 'x-dingdang-device-token';

// ── ids, modes, connection states ─────────────────────────────────────

/** `purchaseId` and `deviceId`: 1–64 characters of `[0-9A-Za-z._-]`. */
export const LINK_ID_RE = /^[0-9A-Za-z._-]{1,64}$/;
export const PURCHASE_ID_RE = LINK_ID_RE;
export const DEVICE_ID_RE = LINK_ID_RE;
/** The rule of `LINK_ID_RE` in words, for error messages. */
export const LINK_ID_RULE = '1-64 characters of [0-9A-Za-z._-]';

export function isPurchaseId(value: unknown): value is string {
  return typeof value === 'string' && LINK_ID_RE.test(value);
}

/** The same rule as `isPurchaseId` (one function: the device bundle carries it once). */
export const isDeviceId: (value: unknown) => value is string = isPurchaseId;

/** `screen`: the QR code is shown on the speaker (flow A); `screenless`: the goods go to the DingDang app (flow B). */
export const DEVICE_MODES = ['screen', 'screenless'] as const;
export type DeviceMode = (typeof DEVICE_MODES)[number];

export function isDeviceMode(value: unknown): value is DeviceMode {
  return value === 'screen' || value === 'screenless';
}

/**
 * The device's view of its stream (§6): `polling` (status polled: at start,
 * while the socket is down or pushes are silent), `connecting`, `open`
 * (subscribed, pushes flow), `closed` (socket lost; a reconnect is scheduled).
 */
export const CONNECTION_STATES = ['connecting', 'open', 'closed', 'polling'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

// ── limits and codes ──────────────────────────────────────────────────

/** Frames larger than this (characters) are refused unread (§4). */
export const MAX_FRAME_CHARS = 64 * 1024;
/** `reason` of a status body: at most this many characters. */
export const STATUS_REASON_MAX = 64;
/**
 * Why an order ended, on a status body (`endReason`, our own extension, §4.3):
 * `cancelled` — the user said no (on the speaker, on the WeChat pay page, in
 * the DingDang app; before or after ordering), with `FAIL`; `failed` — the
 * payment did not go through (e.g. 余额不足), with `FAIL`; `expired` — the
 * payment window closed unpaid, with `NOTPAY`. The seed's `tradeStatus`
 * values stay as they are: this only says why.
 */
export const END_REASONS = ['cancelled', 'failed', 'expired'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** The `tradeStatus` an `endReason` goes with: `cancelled`/`failed` with `FAIL`, `expired` with `NOTPAY`. */
export const END_REASON_STATUS: Readonly<Record<EndReason, TradeStatus>> = { cancelled: 'FAIL', failed: 'FAIL', expired: 'NOTPAY' };

export function isEndReason(v: unknown): v is EndReason {
  return typeof v === 'string' && (END_REASONS as readonly string[]).includes(v);
}

/** `nonceStr` of a status body: 1 to this many characters. */
export const NONCE_MAX_CHARS = 32;

/** WebSocket close codes of the stream (§5). */
export const STREAM_CLOSE_CODES = {
  /** Either end: unsubscribe, shutdown. */
  normal: 1000,
  /** Device: heartbeat timeout or no `subscribed` in time. */
  deviceGaveUp: 4000,
  /** Platform: protocol violation (bad frame). */
  protocolViolation: 4400,
  /** Platform: not subscribed/authenticated in time. */
  notSubscribed: 4401,
} as const;

/** The platform's error codes (§3.7) and the HTTP status each is answered with. */
export const DEVICE_LINK_ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  ORDER_REFUSED: 409,
  ALREADY_PAID: 409,
  NOT_PAID: 409,
  EXPIRED: 409,
  INTERNAL: 500,
  UPSTREAM: 502,
} as const;
export type DeviceLinkErrorCode = keyof typeof DEVICE_LINK_ERROR_STATUS;

/** The HTTP status of a platform error code; 0 for a code this version does not know. */
export function statusOfDeviceLinkError(code: string): number {
  return Object.prototype.hasOwnProperty.call(DEVICE_LINK_ERROR_STATUS, code) ? DEVICE_LINK_ERROR_STATUS[code as DeviceLinkErrorCode] : 0;
}

// ── HTTP routes ───────────────────────────────────────────────────────

/** The calls of the device (port.ts), by name: six about a purchase, `select` about the player (§3.8). */
export type DeviceLinkRoute = 'start' | 'order' | 'refresh' | 'status' | 'cancel' | 'resume' | 'select';

export interface DeviceLinkRouteSpec {
  method: 'GET' | 'POST';
  /** Below `DEVICE_LINK_BASE_PATH`; `{purchaseId}` is the URL-encoded purchase id. */
  path: string;
}

export const DEVICE_LINK_ROUTES: Readonly<Record<DeviceLinkRoute, DeviceLinkRouteSpec>> = {
  start: { method: 'POST', path: '/purchases' },
  order: { method: 'POST', path: '/purchases/{purchaseId}/order' },
  refresh: { method: 'POST', path: '/purchases/{purchaseId}/order/refresh' },
  status: { method: 'GET', path: '/purchases/{purchaseId}/status' },
  cancel: { method: 'POST', path: '/purchases/{purchaseId}/cancel' },
  resume: { method: 'POST', path: '/purchases/{purchaseId}/resume' },
  select: { method: 'POST', path: '/elements/selected' },
};

/** The path of a call below `DEVICE_LINK_BASE_PATH`, e.g. `/purchases/p1/order`. */
export function deviceLinkPath(route: DeviceLinkRoute, purchaseId?: string): string {
  const { path } = DEVICE_LINK_ROUTES[route];
  return path.replace('{purchaseId}', encodeURIComponent(purchaseId ?? ''));
}

/**
 * The full path of a route as a RegExp with one capture group for the
 * (still URL-encoded) purchase id, for routers that match by pattern.
 */
export function deviceLinkRouteRe(route: DeviceLinkRoute): RegExp {
  const tail = DEVICE_LINK_ROUTES[route].path.replace('{purchaseId}', '([^/]+)');
  return new RegExp(`^${DEVICE_LINK_BASE_PATH.replace(/\//g, '\\/')}${tail.replace(/\//g, '\\/')}$`);
}

let routeRes: Array<{ route: DeviceLinkRoute; method: string; re: RegExp }> | undefined;

/**
 * Which call a request is: by method and full path (query string excluded).
 * `purchaseId` is the decoded path segment, not yet checked against the id
 * pattern; a segment that does not decode gives `undefined` for the match.
 */
export function matchDeviceLinkRoute(method: string, path: string): { route: DeviceLinkRoute; purchaseId?: string } | undefined {
  // Built on first use, so that a bundle that never matches routes (the device) carries none of this.
  routeRes ??= (Object.keys(DEVICE_LINK_ROUTES) as DeviceLinkRoute[]).map((route) => ({
    route,
    method: DEVICE_LINK_ROUTES[route].method,
    re: deviceLinkRouteRe(route),
  }));
  for (const r of routeRes) {
    if (r.method !== method) continue;
    const m = r.re.exec(path);
    if (!m) continue;
    if (m[1] === undefined) return { route: r.route };
    try {
      return { route: r.route, purchaseId: decodeURIComponent(m[1]) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `http://host/x` → `ws://host/x/device/v1/stream` (a trailing slash is dropped). */
export function deviceStreamUrl(platformUrl: string): string {
  const base = platformUrl.replace(/\/+$/, '');
  return base.replace(/^http(s?):/i, (_m, s: string) => `ws${s.toLowerCase()}:`) + DEVICE_STREAM_PATH;
}

// ── bodies ────────────────────────────────────────────────────────────

/** The DingDang order as the device sees it (flow A step 11, flow B via the app; §3.2). */
export interface DeviceOrder {
  purchaseId: string;
  /** DingDang order id (`transactionId`, a.k.a. `dingdangOrderId`). */
  transactionId: string;
  /** The skill backend's order id (`[0-9A-Za-z]{1,32}`). */
  tradeNo: string;
  totalAmt: Fen;
  /** `http(s)` URL, encoded as the QR code on a screen speaker (WeChat scans it). */
  payUrl: string;
  /** Epoch ms after which the payment URL no longer works. */
  expiresAt: number;
}

/** The signed status of one purchase, as pushed (§4.3) or polled (§3.4). */
export interface StatusBody {
  purchaseId: string;
  /** The device the status is for. */
  deviceId: string;
  tradeStatus: TradeStatus;
  /** Per purchase, strictly increasing with every change of status or order. */
  seq: number;
  /** Present once an order exists (screenless: created in the app). */
  order?: DeviceOrder;
  /** Why `FAIL`, short text (≤ 64 characters), e.g. "余额不足". */
  reason?: string;
  /** Why the order ended (our extension, `END_REASONS`); only with the `tradeStatus` it goes with. */
  endReason?: EndReason;
  /** Random per message (1–32 characters). */
  nonceStr: string;
}

export type StatusSource = 'push' | 'poll';

/**
 * A verified status of one purchase as the device acts on it: a status body
 * whose signature verified, minus the fields only the checks need.
 */
export interface StatusUpdate {
  purchaseId: string;
  tradeStatus: TradeStatus;
  seq: number;
  order?: DeviceOrder;
  reason?: string;
  /** Why the order ended: `cancelled` ends the purchase as cancelled, never as a failed payment. */
  endReason?: EndReason;
  source: StatusSource;
}

/** `POST /purchases` (§3.1). `Charge` is the skill's directive; a platform reads it as `unknown` first. */
export interface StartPurchaseRequest<Charge = ChargeDirective> {
  mode: DeviceMode;
  charge: Charge;
  /** The user's original request, kept for the resume (flow C). Opaque to the device. */
  originalRequest: unknown;
  /** Set when the platform already assigned the purchase (it delivered the directive). */
  purchaseId?: string;
}

export interface StartPurchaseReply {
  purchaseId: string;
  tradeStatus: TradeStatus;
  seq: number;
}

/** What placing the order came to (§3.2). */
export type PlaceOrderResult =
  | { kind: 'order'; order: DeviceOrder }
  /** The skill backend answered that the user already owns the goods: go straight to the resume. */
  | { kind: 'already-owned' };

export type PlaceOrderReply = { purchaseId: string } & PlaceOrderResult;

/** `POST …/order/refresh` (§3.3): a new `payUrl` and `expiresAt`. */
export interface RefreshOrderReply {
  purchaseId: string;
  order: DeviceOrder;
}

/** `POST …/cancel` (§3.5). */
export interface CancelRequest {
  reason: string;
}

export interface CancelReply {
  purchaseId: string;
  /** False when the purchase was already paid (a paid purchase is never cancelled). */
  cancelled: boolean;
}

/** The skill's final answer after the payment (flow C, §3.6). */
export interface ResumeResult {
  /** The answer's `outputSpeech.text` as a plain string (or the platform's fallback line). */
  outputSpeech?: string;
  /** The skill's real directives (`AudioPlayer.Play` with a playlist, `Display.RenderTemplate`, …). */
  directives: unknown[];
  shouldEndSession?: boolean;
  /** The skill's answer was refused or the call failed: the platform return code (SKILL-PROTOCOL §5). */
  error?: { code: SkillRetCode; reason: string };
}

export type ResumeReply = { purchaseId: string } & ResumeResult;

/**
 * How the speaker came to an element (§3.8): the previous item ended, the
 * user pressed next / previous, tapped it in the list, asked for it by voice
 * ("播放下一集"), or it is the first item of a new playlist.
 */
export const SELECT_CAUSES = ['ended', 'next', 'previous', 'tap', 'voice', 'start', 'retry'] as const;
export type SelectCause = (typeof SELECT_CAUSES)[number];

/** The longest `token` of an element (a playlist item's `stream.token`, a list item's token). */
export const ELEMENT_TOKEN_MAX = 1024;

/**
 * `POST /elements/selected` (§3.8): the player reached a playlist item marked
 * `pay: true` (or the user picked an element on the screen). The platform
 * sends the skill `Display.ElementSelected { token }` (SKILL-PROTOCOL §4) and
 * answers with the skill's answer; a Charge in it opens a purchase.
 */
export interface SelectElementRequest {
  /** The element's token: the playlist item's `stream.token`. */
  token: string;
  /** The mode of the purchase a Charge answer opens. */
  mode: DeviceMode;
  cause: SelectCause;
  /** The skill whose playlist it is, when the device knows it; else the skill that last answered this device. */
  skillId?: string;
}

/** The skill's answer to `Display.ElementSelected`, as the device acts on it (§3.8). */
export interface SelectElementResult {
  /** The element the answer is about (the request's token). */
  token: string;
  /** The answer's `outputSpeech.text` (or the platform's fallback line with `error`). */
  outputSpeech?: string;
  /** The skill's real directives: a `Connections.SendRequest` Charge, an `AudioPlayer.Play`, … */
  directives: unknown[];
  shouldEndSession?: boolean;
  /** Present when the answer carried a Charge: the purchase the platform opened for it (start it with this id). */
  purchaseId?: string;
  /** The skill that answered. */
  skillId?: string;
  /** The answer was refused or the call failed: the platform return code (SKILL-PROTOCOL §5). */
  error?: { code: SkillRetCode; reason: string };
}

export type SelectElementReply = SelectElementResult;

/** Every non-2xx reply (§3.7). */
export interface DeviceLinkErrorBody {
  error: { code: DeviceLinkErrorCode | (string & {}); message: string };
}

// ── parse results ─────────────────────────────────────────────────────

/** Why an incoming frame was refused before any signature check. */
export type ParseFailure = 'malformed' | 'unsigned';

/** The parsers of this contract never throw: a value, or a typed refusal with a short `detail`. */
export type ParseResult<T, Reason extends string = ParseFailure> = { ok: true; value: T } | { ok: false; reason: Reason; detail: string };

/** Why a (verified) reply or status was refused: not the promised shape, or about another purchase, device or element (§3.8). */
export type ReplyRejection = 'malformed' | 'wrong-purchase' | 'wrong-device' | 'wrong-element';
export type ReplyResult<T> = ParseResult<T, ReplyRejection>;

// ── stream frames (§4) ────────────────────────────────────────────────

export interface SubscribeFrame {
  type: 'subscribe';
  /** The client's correlation id, echoed in the answer (`subscribed` or `error`). */
  id?: string;
  purchaseId: string;
  deviceId: string;
  deviceToken?: string;
  /** The highest `seq` the device has applied (0 if none). */
  lastSeq: number;
}

/** Client → platform. */
export type ClientFrame = SubscribeFrame | { type: 'unsubscribe'; purchaseId: string } | { type: 'ping'; t?: number } | { type: 'pong'; t?: number };

export interface PushFrame {
  type: 'push';
  /** The exact signed JSON text of a status body. */
  body: string;
  /** `TSK-RSA2 Datetime=..., Signature=...` over the UTF-8 bytes of `body`. */
  authorization: string;
  /** `body` decoded and checked (not yet verified). */
  status: StatusBody;
}

/** Platform → client. */
export type ServerFrame =
  | PushFrame
  | { type: 'pong'; t?: number }
  | { type: 'ping'; t?: number }
  | { type: 'subscribed'; id?: string; purchaseId: string }
  | { type: 'error'; id?: string; code: DeviceLinkErrorCode | (string & {}); message: string };
