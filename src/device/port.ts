/**
 * The transport port: everything the device companion needs from the
 * platform, behind one interface (SPEC §6). The default implementation is
 * HTTP + WebSocket JSON (`transport/`), documented in docs/device-protocol.md;
 * a real device SDK can be plugged in instead. The statechart never sees
 * sockets: it sees these calls and verified `StatusUpdate`s.
 *
 * Every method takes an AbortSignal and must settle (resolve or reject with a
 * typed error) when it is aborted: nothing waits forever.
 */
import type { ChargeDirective, Fen, TradeStatus } from '../protocol/browser.js';

export type DeviceMode = 'screen' | 'screenless';

/** The DingDang order as the device sees it (flow A step 11, flow B via the app). */
export interface DeviceOrder {
  purchaseId: string;
  /** DingDang order id (`transactionId`, a.k.a. `dingdangOrderId`). */
  transactionId: string;
  /** The skill backend's order id. */
  tradeNo: string;
  totalAmt: Fen;
  /** Encoded as the QR code on a screen speaker (WeChat scans it). */
  payUrl: string;
  /** Epoch ms after which the payment URL no longer works. */
  expiresAt: number;
}

export interface StartPurchaseRequest {
  mode: DeviceMode;
  charge: ChargeDirective;
  /** The user's original request, kept for the resume (flow C). Opaque to the device. */
  originalRequest: unknown;
  /** Set when the platform already assigned the purchase (it delivered the directive). */
  purchaseId?: string;
}

export type PlaceOrderResult =
  | { kind: 'order'; order: DeviceOrder }
  /** The skill backend answered that the user already owns the goods: go straight to the resume. */
  | { kind: 'already-owned' };

/**
 * A verified status of one purchase, from a push or a poll. `seq` is the
 * platform's per-purchase sequence number: an update with a lower `seq` than
 * one already applied is stale. The transport delivers only updates whose
 * platform signature (TSK-RSA2, `TSKPublicKey`) verified.
 */
export interface StatusUpdate {
  purchaseId: string;
  tradeStatus: TradeStatus;
  seq: number;
  /** Present once the platform has an order (screenless: created in the app). */
  order?: DeviceOrder;
  /** Short reason for FAIL (e.g. "余额不足"). */
  reason?: string;
  source: 'push' | 'poll';
}

export interface ResumeResult {
  /** The skill's final answer to the re-run original intent (flow C step 5–6). */
  outputSpeech?: string;
  directives: unknown[];
  shouldEndSession?: boolean;
}

export interface SubscriptionListener {
  onUpdate(update: StatusUpdate): void;
  /** A push was rejected (unsigned, forged, stale, malformed); never acted on. */
  onRejected?(info: { reason: string; detail?: string }): void;
  /** Connection changes, for display and tests. */
  onConnection?(state: 'connecting' | 'open' | 'closed' | 'polling'): void;
}

export interface PaymentTransport {
  /** Register the purchase with the platform; screenless: the platform pushes the goods to the DingDang app. */
  startPurchase(request: StartPurchaseRequest, signal: AbortSignal): Promise<{ purchaseId: string }>;
  /** Screen flow: the user ordered; the platform calls create order and creates its own order. */
  placeOrder(purchaseId: string, signal: AbortSignal): Promise<PlaceOrderResult>;
  /** The payment window expired: a fresh payment URL / order window. */
  refreshOrder(purchaseId: string, signal: AbortSignal): Promise<DeviceOrder>;
  /** Ask the platform for the purchase's status (after reconnect, or when pushes stop). Verified. */
  queryStatus(purchaseId: string, signal: AbortSignal): Promise<StatusUpdate>;
  /**
   * Listen for verified status updates of one purchase. The transport owns the
   * socket: heartbeat, reconnect with backoff, re-subscribe and re-query after
   * reconnect, polling fallback. Returns the cleanup that releases everything.
   */
  subscribe(purchaseId: string, listener: SubscriptionListener): () => void;
  /** The user cancelled; best effort. */
  cancel(purchaseId: string, signal: AbortSignal): Promise<void>;
  /** Flow C: tell the platform payment is complete; it re-runs the original intent and returns the skill's answer. */
  resume(purchaseId: string, signal: AbortSignal): Promise<ResumeResult>;
  /** Release sockets and timers of every subscription. */
  close(): void;
}
