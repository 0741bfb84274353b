/**
 * The default `PaymentTransport`: HTTP + WebSocket JSON to the platform, as
 * specified in docs/device-protocol.md. Browser-safe (global `fetch` and
 * `WebSocket`); in Node 20 pass `WebSocket` from `ws` (or use
 * `createNodeTransport` from `dingdang-pay/device/node`).
 */
import { InvalidArgumentError, type Clock } from '../../protocol/browser.js';
import type {
  DeviceOrder,
  PaymentTransport,
  PlaceOrderResult,
  ResumeResult,
  StartPurchaseRequest,
  StatusUpdate,
  SubscriptionListener,
} from '../port.js';
import type { BackoffOptions } from './backoff.js';
import { DeviceTransportError } from './errors.js';
import { ID_RE, parseOrder, parseStatusBody, type StatusBody } from './frames.js';
import { HttpClient, type FetchLike } from './http.js';
import { globalWebSocket, streamUrlOf, type WebSocketConstructor } from './socket.js';
import { Subscription, type TransportSubscriptionListener } from './subscription.js';
import { SignatureChecker } from './verify.js';

export { Backoff, type BackoffOptions } from './backoff.js';
export { SeqGate, type SeqVerdict } from './dedupe.js';
export {
  DeviceTransportError,
  PlatformError,
  RequestTimeoutError,
  type ReplyRejection,
  type TransportFailure,
} from './errors.js';
export {
  MAX_FRAME_CHARS,
  parseOrder,
  parsePush,
  parseServerFrame,
  parseStatusBody,
  parseStatusObject,
  type ClientFrame,
  type ParseFailure,
  type ParseResult,
  type PushFrame,
  type PushParseResult,
  type ServerFrame,
  type StatusBody,
} from './frames.js';
export type { FetchLike } from './http.js';
export { streamUrlOf, type WebSocketConstructor, type WebSocketLike } from './socket.js';
export type { RejectReason, TransportSubscriptionListener } from './subscription.js';
export { SignatureChecker } from './verify.js';

export interface HttpTransportOptions {
  /** Base URL of the platform, e.g. `https://platform.example` (paths go under `/device/v1`). */
  platformUrl: string;
  /** `TSKPublicKey`: PEM, bare Base64 SPKI, or an imported CryptoKey. Verifies every push and reply. */
  tskPublicKey: string | CryptoKey;
  deviceId: string;
  deviceToken?: string;
  /** WebSocket constructor; default the global one. Without any, the transport polls only. */
  WebSocket?: WebSocketConstructor;
  /** Default the global fetch. */
  fetch?: FetchLike;
  /** Override of `ws(s)://…/device/v1/stream`. */
  wsUrl?: string;
  /** Status polling period while pushes do not flow; default 2000 ms. */
  pollIntervalMs?: number;
  /** No verified push for this long on an open socket → poll; default 3 × pollIntervalMs. */
  silenceMs?: number;
  /** JSON ping period; a ping unanswered for a whole period kills the socket. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Per HTTP request, and to open + subscribe the socket; default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Reconnect backoff (default 500 ms doubling to 15 s, 50–100 % jitter). */
  reconnect?: BackoffOptions;
  /** Device clock for the ±3-minute signature window; default Date.now. */
  now?: Clock;
  /** Signature window; default 3 minutes. */
  toleranceMs?: number;
  /** Largest accepted reply body; default 1 MiB. */
  maxReplyBytes?: number;
}

/** The transport, with a few extras beyond the port (all optional to use). */
export interface HttpTransport extends PaymentTransport {
  subscribe(purchaseId: string, listener: SubscriptionListener | TransportSubscriptionListener): () => void;
  /** Import `TSKPublicKey` now, so that a bad key fails early (`KeyError`). */
  ready(): Promise<void>;
  /** Live subscriptions and in-flight HTTP requests (for leak checks). */
  readonly stats: { subscriptions: number; pendingRequests: number };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds`);
  return value;
}

function checkPurchaseId(purchaseId: unknown): string {
  if (typeof purchaseId !== 'string' || !ID_RE.test(purchaseId))
    throw new InvalidArgumentError('purchaseId must be 1-64 characters of [0-9A-Za-z._-]');
  return purchaseId;
}

function checkSignal(signal: unknown): AbortSignal {
  if (!signal || typeof (signal as AbortSignal).aborted !== 'boolean')
    throw new InvalidArgumentError('an AbortSignal is required');
  return signal as AbortSignal;
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('options are required');
  const { platformUrl, tskPublicKey, deviceId, deviceToken } = options;
  if (typeof platformUrl !== 'string' || !/^https?:\/\/[^/\s]+/i.test(platformUrl))
    throw new InvalidArgumentError('platformUrl must be an http(s) URL');
  if (typeof deviceId !== 'string' || !ID_RE.test(deviceId))
    throw new InvalidArgumentError('deviceId must be 1-64 characters of [0-9A-Za-z._-]');
  if (deviceToken !== undefined && (typeof deviceToken !== 'string' || deviceToken === '' || /[\r\n]/.test(deviceToken)))
    throw new InvalidArgumentError('deviceToken must be a non-empty single-line string');
  if (!tskPublicKey || (typeof tskPublicKey !== 'string' && typeof tskPublicKey !== 'object'))
    throw new InvalidArgumentError('tskPublicKey (PEM, Base64 SPKI or CryptoKey) is required');
  if (options.wsUrl !== undefined && !/^wss?:\/\//i.test(options.wsUrl))
    throw new InvalidArgumentError('wsUrl must be a ws(s) URL');
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 2000);
  const silenceMs = positive('silenceMs', options.silenceMs, 3 * pollIntervalMs);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 15_000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 10_000);
  const maxReplyBytes = positive('maxReplyBytes', options.maxReplyBytes, 1024 * 1024);
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function')
    throw new InvalidArgumentError('no global fetch: pass options.fetch');

  const checker = new SignatureChecker(tskPublicKey, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.toleranceMs !== undefined ? { toleranceMs: positive('toleranceMs', options.toleranceMs, 0) } : {}),
  });
  const http = new HttpClient({
    baseUrl: platformUrl.replace(/\/+$/, '') + '/device/v1',
    deviceId,
    ...(deviceToken !== undefined ? { deviceToken } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    requestTimeoutMs,
    maxReplyBytes,
    checker,
  });
  const wsUrl = options.wsUrl ?? streamUrlOf(platformUrl);
  const WebSocketCtor = options.WebSocket ?? globalWebSocket();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const path = (purchaseId: string, rest = '') => `/purchases/${encodeURIComponent(checkPurchaseId(purchaseId))}${rest}`;

  function samePurchase(json: Record<string, unknown>, purchaseId: string, what: string): void {
    if (json.purchaseId !== purchaseId)
      throw new DeviceTransportError('bad-reply', `${what}: reply is about another purchase`, { rejection: 'wrong-purchase' });
  }

  function order(v: unknown, purchaseId: string, what: string): DeviceOrder {
    const o = parseOrder(v);
    if (!o.ok) throw new DeviceTransportError('bad-reply', `${what}: ${o.detail}`);
    if (o.value.purchaseId !== purchaseId)
      throw new DeviceTransportError('bad-reply', `${what}: order of another purchase`, { rejection: 'wrong-purchase' });
    return o.value;
  }

  async function fetchStatus(purchaseId: string, signal: AbortSignal): Promise<StatusBody> {
    const reply = await http.request('GET', path(purchaseId, '/status'), undefined, signal);
    const s = parseStatusBody(reply.text);
    if (!s.ok) throw new DeviceTransportError('bad-reply', `status: ${s.detail}`);
    if (s.value.purchaseId !== purchaseId)
      throw new DeviceTransportError('bad-reply', 'status of another purchase', { rejection: 'wrong-purchase' });
    if (s.value.deviceId !== deviceId)
      throw new DeviceTransportError('bad-reply', 'status for another device', { rejection: 'wrong-device' });
    return s.value;
  }

  const transport: HttpTransport = {
    async startPurchase(request: StartPurchaseRequest, signal: AbortSignal) {
      checkSignal(signal);
      if (!request || typeof request !== 'object') throw new InvalidArgumentError('request is required');
      if (request.mode !== 'screen' && request.mode !== 'screenless')
        throw new InvalidArgumentError('mode must be "screen" or "screenless"');
      if (!request.charge || typeof request.charge !== 'object') throw new InvalidArgumentError('charge directive is required');
      const body: Record<string, unknown> = {
        mode: request.mode,
        charge: request.charge,
        originalRequest: request.originalRequest ?? null,
      };
      if (request.purchaseId !== undefined) body.purchaseId = checkPurchaseId(request.purchaseId);
      const reply = await http.request('POST', '/purchases', body, signal);
      const purchaseId = reply.json.purchaseId;
      if (typeof purchaseId !== 'string' || !ID_RE.test(purchaseId))
        throw new DeviceTransportError('bad-reply', 'startPurchase: reply has no valid purchaseId');
      if (request.purchaseId !== undefined && purchaseId !== request.purchaseId)
        throw new DeviceTransportError('bad-reply', 'startPurchase: reply names another purchase', { rejection: 'wrong-purchase' });
      return { purchaseId };
    },

    async placeOrder(purchaseId: string, signal: AbortSignal): Promise<PlaceOrderResult> {
      checkSignal(signal);
      const reply = await http.request('POST', path(purchaseId, '/order'), {}, signal);
      samePurchase(reply.json, purchaseId, 'placeOrder');
      if (reply.json.kind === 'already-owned') return { kind: 'already-owned' };
      if (reply.json.kind !== 'order') throw new DeviceTransportError('bad-reply', 'placeOrder: unknown kind');
      return { kind: 'order', order: order(reply.json.order, purchaseId, 'placeOrder') };
    },

    async refreshOrder(purchaseId: string, signal: AbortSignal): Promise<DeviceOrder> {
      checkSignal(signal);
      const reply = await http.request('POST', path(purchaseId, '/order/refresh'), {}, signal);
      samePurchase(reply.json, purchaseId, 'refreshOrder');
      return order(reply.json.order, purchaseId, 'refreshOrder');
    },

    async queryStatus(purchaseId: string, signal: AbortSignal): Promise<StatusUpdate> {
      checkSignal(signal);
      const s = await fetchStatus(purchaseId, signal);
      return {
        purchaseId: s.purchaseId,
        tradeStatus: s.tradeStatus,
        seq: s.seq,
        source: 'poll',
        ...(s.order ? { order: s.order } : {}),
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
      };
    },

    subscribe(purchaseId: string, listener: SubscriptionListener | TransportSubscriptionListener): () => void {
      checkPurchaseId(purchaseId);
      if (!listener || typeof listener.onUpdate !== 'function') throw new InvalidArgumentError('listener.onUpdate is required');
      if (closed) throw new DeviceTransportError('closed', 'subscribe: transport is closed');
      const sub: Subscription = new Subscription(
        {
          purchaseId,
          deviceId,
          ...(deviceToken !== undefined ? { deviceToken } : {}),
          wsUrl,
          WebSocket: WebSocketCtor,
          checker,
          fetchStatus,
          pollIntervalMs,
          silenceMs,
          heartbeatMs,
          connectTimeoutMs: requestTimeoutMs,
          backoff: { ...options.reconnect },
          onEnd: () => subscriptions.delete(sub),
        },
        listener,
      );
      subscriptions.add(sub);
      sub.start();
      return () => sub.stop();
    },

    async cancel(purchaseId: string, signal: AbortSignal): Promise<void> {
      checkSignal(signal);
      const reply = await http.request('POST', path(purchaseId, '/cancel'), { reason: 'user' }, signal);
      samePurchase(reply.json, purchaseId, 'cancel');
    },

    async resume(purchaseId: string, signal: AbortSignal): Promise<ResumeResult> {
      checkSignal(signal);
      const reply = await http.request('POST', path(purchaseId, '/resume'), {}, signal);
      samePurchase(reply.json, purchaseId, 'resume');
      const { outputSpeech, directives, shouldEndSession } = reply.json;
      if (outputSpeech !== undefined && outputSpeech !== null && typeof outputSpeech !== 'string')
        throw new DeviceTransportError('bad-reply', 'resume: outputSpeech is not a string');
      if (directives !== undefined && !Array.isArray(directives))
        throw new DeviceTransportError('bad-reply', 'resume: directives is not an array');
      if (shouldEndSession !== undefined && typeof shouldEndSession !== 'boolean')
        throw new DeviceTransportError('bad-reply', 'resume: shouldEndSession is not a boolean');
      return {
        directives: (directives as unknown[] | undefined) ?? [],
        ...(typeof outputSpeech === 'string' ? { outputSpeech } : {}),
        ...(typeof shouldEndSession === 'boolean' ? { shouldEndSession } : {}),
      };
    },

    close(): void {
      closed = true;
      for (const s of [...subscriptions]) s.stop();
      subscriptions.clear();
      http.close();
    },

    async ready(): Promise<void> {
      await checker.key();
    },

    get stats() {
      return { subscriptions: subscriptions.size, pendingRequests: http.pending };
    },
  };
  return transport;
}
