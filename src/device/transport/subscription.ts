/**
 * One live subscription to a purchase's status (docs/device-protocol.md §4):
 * owns its WebSocket, heartbeat, reconnect with jittered backoff,
 * re-subscribe and re-query after every (re)connect, the polling fallback
 * while the socket is down or silent, signature checks and seq dedupe.
 * Only verified, new updates reach `listener.onUpdate`.
 */
import {
  DingDangPayError,
  encodeClientFrame,
  parseServerFrame,
  SignatureError,
  statusMismatch,
  statusOfDeviceLinkError,
  statusUpdateOf,
  STREAM_CLOSE_CODES,
  type ClientFrame,
  type ConnectionState,
  type PushFrame,
  type StatusBody,
  type StatusSource,
} from '../../protocol/browser.js';
import { DeviceTransportError, PlatformError } from '../errors.js';
import type { SubscriptionListener } from '../port.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SeqGate } from './seq-gate.js';
import type { SignatureChecker } from './signature-checker.js';
import { closeGracefully, dropSocket, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './web-socket.js';

/** Why a push or polled status was refused (reported via `onRejected`). */
export type RejectReason =
  | 'malformed'
  | 'unsigned'
  | 'malformed-header'
  | 'algorithm-mismatch'
  | 'stale'
  | 'future'
  | 'bad-signature'
  | 'replay'
  | 'wrong-purchase'
  | 'wrong-device'
  | 'stale-seq';

/** `SubscriptionListener` plus an optional error channel (additive to port.ts). */
export interface TransportSubscriptionListener extends SubscriptionListener {
  /**
   * A failure the transport recovers from by itself (poll failed, subscribe
   * refused, key unusable…), for logs and display. Never means "not paid".
   */
  onError?(error: DingDangPayError): void;
}

export interface SubscriptionOptions {
  purchaseId: string;
  deviceId: string;
  deviceToken?: string;
  wsUrl: string;
  WebSocket: WebSocketConstructor | undefined;
  checker: SignatureChecker;
  /** Fetch and verify the status over HTTP (throws typed errors). */
  fetchStatus: (purchaseId: string, signal: AbortSignal) => Promise<StatusBody>;
  pollIntervalMs: number;
  silenceMs: number;
  heartbeatMs: number;
  /** Budget to open the socket and get `subscribed`. */
  connectTimeoutMs: number;
  backoff: BackoffOptions;
  onEnd: () => void;
}

type Timer = ReturnType<typeof setTimeout>;
let nextId = 0;

export class Subscription {
  private closed = false;
  private ws: WebSocketLike | null = null;
  private subscribed = false;
  private readonly gate = new SeqGate();
  private readonly backoff: Backoff;
  private final = false;
  private polling = false;
  private pollInFlight: AbortController | null = null;
  private reconnectTimer: Timer | undefined;
  private connectTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private silenceTimer: Timer | undefined;
  private pollTimer: Timer | undefined;
  private heardSincePing = true;
  private pingOutstanding = false;
  private subscribeId = '';
  private queue: Promise<void> = Promise.resolve();
  private connectionState: ConnectionState | undefined;
  private warnedNoWebSocket = false;
  private requeryPending = false;

  constructor(
    private readonly options: SubscriptionOptions,
    private readonly listener: TransportSubscriptionListener,
  ) {
    this.backoff = new Backoff(options.backoff);
  }

  start(): void {
    // Poll from the start: the status is asked for even before the socket is up.
    this.enterPolling();
    this.connect();
  }

  /** Release the socket, every timer and the in-flight poll. Idempotent; no callbacks afterwards. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.reconnectTimer, this.connectTimer, this.heartbeatTimer, this.silenceTimer, this.pollTimer]) if (t !== undefined) clearTimeout(t);
    this.reconnectTimer = this.connectTimer = this.heartbeatTimer = this.silenceTimer = this.pollTimer = undefined;
    this.pollInFlight?.abort();
    this.pollInFlight = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) closeGracefully(ws, encodeClientFrame({ type: 'unsubscribe', purchaseId: this.options.purchaseId }));
    this.options.onEnd();
  }

  // ---- socket lifecycle ---------------------------------------------------

  private connect(): void {
    if (this.closed) return;
    const Ctor = this.options.WebSocket;
    if (!Ctor) {
      if (!this.warnedNoWebSocket) {
        this.warnedNoWebSocket = true;
        this.error(new DeviceTransportError('network', 'no WebSocket implementation: polling only'));
      }
      return;
    }
    this.setConnection('connecting');
    let ws: WebSocketLike;
    try {
      ws = new Ctor(this.options.wsUrl);
    } catch (e) {
      this.error(new DeviceTransportError('network', `cannot open ${this.options.wsUrl}: ${(e as Error)?.message}`, { cause: e }));
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.subscribed = false;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      this.lost('no subscribe acknowledgement in time');
    }, this.options.connectTimeoutMs);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.subscribeId = `s${++nextId}`;
      const { purchaseId, deviceId, deviceToken } = this.options;
      const frame: ClientFrame = {
        type: 'subscribe',
        id: this.subscribeId,
        purchaseId,
        deviceId,
        ...(deviceToken !== undefined ? { deviceToken } : {}),
        lastSeq: Math.max(0, this.gate.lastSeq),
      };
      this.send(frame);
      this.startHeartbeat();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.heardSincePing = true;
      this.pingOutstanding = false;
      const data = event.data;
      this.queue = this.queue.then(() => this.handleFrame(data, ws)).catch((e) => this.error(asTyped(e)));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.lost('socket closed');
    };
    ws.onerror = () => {
      // A close event follows; nothing to do here.
    };
  }

  /** The connection is gone or unusable: drop it, poll, and come back later. */
  private lost(why: string): void {
    if (this.closed) return;
    const ws = this.ws;
    this.ws = null;
    this.subscribed = false;
    for (const t of [this.connectTimer, this.heartbeatTimer, this.silenceTimer]) if (t !== undefined) clearTimeout(t);
    this.connectTimer = this.heartbeatTimer = this.silenceTimer = undefined;
    if (ws) dropSocket(ws, STREAM_CLOSE_CODES.deviceGaveUp, why.slice(0, 100));
    this.setConnection('closed');
    this.enterPolling();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private send(frame: ClientFrame): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return;
    try {
      ws.send(encodeClientFrame(frame));
    } catch {
      this.lost('send failed');
    }
  }

  // ---- heartbeat -----------------------------------------------------------

  private startHeartbeat(): void {
    this.heardSincePing = true;
    this.pingOutstanding = false;
    const beat = () => {
      this.heartbeatTimer = undefined;
      if (this.closed || !this.ws) return;
      if (this.pingOutstanding && !this.heardSincePing) {
        this.lost('heartbeat: no answer to ping');
        return;
      }
      this.heardSincePing = false;
      this.pingOutstanding = true;
      this.send({ type: 'ping', t: Date.now() });
      if (this.ws) this.heartbeatTimer = setTimeout(beat, this.options.heartbeatMs);
    };
    this.heartbeatTimer = setTimeout(beat, this.options.heartbeatMs);
  }

  // ---- frames --------------------------------------------------------------

  private async handleFrame(data: unknown, from: WebSocketLike): Promise<void> {
    if (this.closed) return;
    const parsed = parseServerFrame(data);
    if (!parsed.ok) {
      this.reject(parsed.reason, parsed.detail);
      return;
    }
    const frame = parsed.value;
    // Control frames queued from a socket that has since been dropped mean nothing now;
    // its pushes are still verified and may carry news.
    if (from !== this.ws && frame.type !== 'push') return;
    switch (frame.type) {
      case 'ping':
        this.send(frame.t === undefined ? { type: 'pong' } : { type: 'pong', t: frame.t });
        return;
      case 'pong':
        return;
      case 'subscribed':
        if (frame.purchaseId !== this.options.purchaseId || this.subscribed) return;
        if (frame.id !== undefined && frame.id !== this.subscribeId) return;
        this.onSubscribed();
        return;
      case 'error': {
        if (frame.id !== undefined && frame.id !== this.subscribeId) {
          this.error(new PlatformError(statusOfDeviceLinkError(frame.code), frame.code, frame.message || 'stream error'));
          return;
        }
        this.error(new PlatformError(statusOfDeviceLinkError(frame.code), frame.code, frame.message || 'subscribe refused'));
        this.lost(`subscribe refused: ${frame.code}`);
        return;
      }
      case 'push':
        await this.handlePush(frame);
        return;
    }
  }

  private onSubscribed(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.subscribed = true;
    this.backoff.reset();
    this.stopPolling();
    this.setConnection('open');
    this.armSilence();
    // Re-query: a push missed while disconnected is never lost.
    void this.pollOnce();
  }

  private async handlePush(push: PushFrame): Promise<void> {
    let verdict;
    try {
      verdict = await this.options.checker.verify(push.body, push.authorization);
    } catch (e) {
      this.error(asTyped(e));
      return;
    }
    if (this.closed) return;
    if (!verdict.ok) {
      this.reject(verdict.reason, verdict.message);
      return;
    }
    if (!this.belongs(push.status)) return;
    // A verified push, new or repeated: pushes flow, no need to poll.
    if (this.subscribed) {
      this.stopPolling();
      this.armSilence();
      if (this.connectionState === 'polling') this.setConnection('open');
    }
    this.admit(push.status, 'push');
  }

  private belongs(status: StatusBody): boolean {
    const mismatch = statusMismatch(status, this.options.purchaseId, this.options.deviceId);
    if (mismatch) this.reject(mismatch.reason, mismatch.detail);
    return !mismatch;
  }

  private admit(status: StatusBody, source: StatusSource): void {
    if (this.closed) return;
    const verdict = this.gate.admit(status.seq);
    if (verdict === 'duplicate') return;
    if (verdict === 'stale') {
      // A poll answered before a newer push overtook it is a benign race; a stale push is worth reporting.
      if (source === 'push') this.reject('stale-seq', `seq ${status.seq} < ${this.gate.lastSeq} (${status.tradeStatus})`);
      return;
    }
    if (status.tradeStatus === 'SUCCESS') {
      // Final: nothing can change any more; stop asking.
      this.final = true;
      this.stopPolling();
      if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
      this.silenceTimer = undefined;
    }
    try {
      this.listener.onUpdate(statusUpdateOf(status, source));
    } catch (e) {
      this.error(asTyped(e));
    }
  }

  // ---- polling -------------------------------------------------------------

  private armSilence(): void {
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (this.final || this.closed) return;
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      this.enterPolling();
    }, this.options.silenceMs);
  }

  private enterPolling(): void {
    if (this.closed || this.final || this.polling) return;
    this.polling = true;
    this.setConnection('polling');
    this.schedulePoll(0);
  }

  private stopPolling(): void {
    this.polling = false;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private schedulePoll(delay: number): void {
    if (this.closed || !this.polling || this.final || this.pollTimer !== undefined) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.pollOnce().then(() => this.schedulePoll(this.options.pollIntervalMs));
    }, delay);
  }

  /** One status query; at most one in flight (a query asked for meanwhile runs right after). Never rejects. */
  private async pollOnce(): Promise<void> {
    if (this.closed || this.final) return;
    if (this.pollInFlight) {
      this.requeryPending = true;
      return;
    }
    const controller = new AbortController();
    this.pollInFlight = controller;
    try {
      const status = await this.options.fetchStatus(this.options.purchaseId, controller.signal);
      if (this.closed) return;
      this.admit(status, 'poll');
    } catch (e) {
      if (this.closed) return;
      if (e instanceof SignatureError) this.reject(e.reason, e.message);
      else if (e instanceof DeviceTransportError && e.rejection) this.reject(e.rejection, e.message);
      else this.error(asTyped(e));
    } finally {
      if (this.pollInFlight === controller) this.pollInFlight = null;
    }
    if (this.requeryPending && !this.closed) {
      this.requeryPending = false;
      await this.pollOnce();
    }
  }

  // ---- reporting -----------------------------------------------------------

  private setConnection(state: ConnectionState): void {
    if (this.closed || this.connectionState === state) return;
    this.connectionState = state;
    try {
      this.listener.onConnection?.(state);
    } catch {
      // a listener's bug must not break the transport
    }
  }

  private reject(reason: RejectReason | string, detail: string): void {
    if (this.closed) return;
    try {
      this.listener.onRejected?.({ reason, detail });
    } catch {
      // ignore
    }
  }

  private error(error: DingDangPayError): void {
    if (this.closed) return;
    try {
      this.listener.onError?.(error);
    } catch {
      // ignore
    }
  }
}

function asTyped(e: unknown): DingDangPayError {
  if (e instanceof DingDangPayError) return e;
  return new DeviceTransportError('network', (e as Error)?.message ?? String(e), { cause: e });
}
