/**
 * The default `PaymentTransport`: HTTP + WebSocket JSON to the platform, as
 * specified in docs/device-protocol.md. Browser-safe (global `fetch` and
 * `WebSocket`); in Node 20 pass `WebSocket` from `ws` (or use
 * `createNodeTransport` from `dingdang-pay/device/node`).
 */
import {
  deviceLinkPath,
  deviceStreamUrl,
  InvalidArgumentError,
  isDeviceId,
  isDeviceMode,
  isPurchaseId,
  LINK_ID_RULE,
  parseCancelReply,
  parsePlaceOrderReply,
  parseRefreshOrderReply,
  parseResumeReply,
  parseSelectElementReply,
  parseStartPurchaseReply,
  parseStatusReply,
  selectElementBody,
  startPurchaseBody,
  statusUpdateOf,
  type Clock,
  type DeviceLinkRoute,
  type DeviceOrder,
  type PlaceOrderResult,
  type ReplyResult,
  type ResumeResult,
  type SelectElementRequest,
  type SelectElementResult,
  type StartPurchaseRequest,
  type StatusBody,
  type StatusUpdate,
} from '../../protocol/browser.js';
import { DeviceTransportError } from '../errors.js';
import type { PaymentTransport, SubscriptionListener } from '../port.js';
import type { BackoffOptions } from './backoff.js';
import { HttpClient, type FetchLike, type SignedReply } from './http-client.js';
import { SignatureChecker } from './signature-checker.js';
import { Subscription, type TransportSubscriptionListener } from './subscription.js';
import { globalWebSocket, type WebSocketConstructor } from './web-socket.js';

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
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive number of milliseconds`);
  return value;
}

function checkPurchaseId(purchaseId: unknown): string {
  if (!isPurchaseId(purchaseId)) throw new InvalidArgumentError(`purchaseId must be ${LINK_ID_RULE}`);
  return purchaseId;
}

/** The checked value of a verified reply, or the `bad-reply` it is. */
function accepted<T>(what: string, r: ReplyResult<T>): T {
  if (r.ok) return r.value;
  throw new DeviceTransportError('bad-reply', `${what}: ${r.detail}`, { rejection: r.reason });
}

function checkSignal(signal: unknown): void {
  if (!signal || typeof (signal as AbortSignal).aborted !== 'boolean') throw new InvalidArgumentError('an AbortSignal is required');
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('options are required');
  const { platformUrl, tskPublicKey, deviceId, deviceToken } = options;
  if (typeof platformUrl !== 'string' || !/^https?:\/\/[^/\s]+/i.test(platformUrl)) throw new InvalidArgumentError('platformUrl must be an http(s) URL');
  if (!isDeviceId(deviceId)) throw new InvalidArgumentError(`deviceId must be ${LINK_ID_RULE}`);
  if (deviceToken !== undefined && (typeof deviceToken !== 'string' || deviceToken === '' || /[\r\n]/.test(deviceToken)))
    throw new InvalidArgumentError('deviceToken must be a non-empty single-line string');
  if (!tskPublicKey || (typeof tskPublicKey !== 'string' && typeof tskPublicKey !== 'object'))
    throw new InvalidArgumentError('tskPublicKey (PEM, Base64 SPKI or CryptoKey) is required');
  if (options.wsUrl !== undefined && !/^wss?:\/\//i.test(options.wsUrl)) throw new InvalidArgumentError('wsUrl must be a ws(s) URL');
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 2000);
  const silenceMs = positive('silenceMs', options.silenceMs, 3 * pollIntervalMs);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 15_000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 10_000);
  const maxReplyBytes = positive('maxReplyBytes', options.maxReplyBytes, 1024 * 1024);
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function') throw new InvalidArgumentError('no global fetch: pass options.fetch');

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
  const wsUrl = options.wsUrl ?? deviceStreamUrl(platformUrl);
  const WebSocketCtor = options.WebSocket ?? globalWebSocket();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const call = (route: DeviceLinkRoute, purchaseId: string, body: unknown, signal: AbortSignal): Promise<SignedReply> =>
    http.request(route === 'status' ? 'GET' : 'POST', deviceLinkPath(route, checkPurchaseId(purchaseId)), body, signal);

  async function fetchStatus(purchaseId: string, signal: AbortSignal): Promise<StatusBody> {
    const reply = await call('status', purchaseId, undefined, signal);
    return accepted('status', parseStatusReply(reply.text, purchaseId, deviceId));
  }

  const transport: HttpTransport = {
    async startPurchase(request: StartPurchaseRequest, signal: AbortSignal) {
      checkSignal(signal);
      if (!request || typeof request !== 'object') throw new InvalidArgumentError('request is required');
      if (!isDeviceMode(request.mode)) throw new InvalidArgumentError('mode must be "screen" or "screenless"');
      if (!request.charge || typeof request.charge !== 'object') throw new InvalidArgumentError('charge directive is required');
      if (request.purchaseId !== undefined) checkPurchaseId(request.purchaseId);
      const reply = await http.request('POST', deviceLinkPath('start'), startPurchaseBody(request), signal);
      const { purchaseId } = accepted('startPurchase', parseStartPurchaseReply(reply.json, request.purchaseId));
      return { purchaseId };
    },

    async placeOrder(purchaseId: string, signal: AbortSignal): Promise<PlaceOrderResult> {
      checkSignal(signal);
      const reply = await call('order', purchaseId, {}, signal);
      return accepted('placeOrder', parsePlaceOrderReply(reply.json, purchaseId));
    },

    async refreshOrder(purchaseId: string, signal: AbortSignal): Promise<DeviceOrder> {
      checkSignal(signal);
      const reply = await call('refresh', purchaseId, {}, signal);
      return accepted('refreshOrder', parseRefreshOrderReply(reply.json, purchaseId));
    },

    async queryStatus(purchaseId: string, signal: AbortSignal): Promise<StatusUpdate> {
      checkSignal(signal);
      return statusUpdateOf(await fetchStatus(purchaseId, signal), 'poll');
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
      const reply = await call('cancel', purchaseId, { reason: 'user' }, signal);
      accepted('cancel', parseCancelReply(reply.json, purchaseId));
    },

    async resume(purchaseId: string, signal: AbortSignal): Promise<ResumeResult> {
      checkSignal(signal);
      const reply = await call('resume', purchaseId, {}, signal);
      return accepted('resume', parseResumeReply(reply.json, purchaseId));
    },

    // Not idempotent (each call is one Display.ElementSelected turn): never retried here.
    async selectElement(request: SelectElementRequest, signal: AbortSignal): Promise<SelectElementResult> {
      checkSignal(signal);
      const reply = await http.request('POST', deviceLinkPath('select'), selectElementBody(request), signal);
      return accepted('select', parseSelectElementReply(reply.json, request.token));
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
