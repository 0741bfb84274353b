/**
 * The transport port: everything the device companion needs from the
 * platform, behind one interface (SPEC §6). The default implementation is
 * HTTP + WebSocket JSON (`transport/`), documented in docs/device-protocol.md;
 * a real device SDK can be plugged in instead. The statechart never sees
 * sockets: it sees these calls and verified `StatusUpdate`s.
 *
 * The values that cross the port (`DeviceOrder`, `StatusUpdate`,
 * `ResumeResult`, …) are the device-link contract's (src/protocol/device-link.ts).
 *
 * Every method takes an AbortSignal and must settle (resolve or reject with a
 * typed error) when it is aborted: nothing waits forever.
 */
import type * as Link from '../protocol/browser.js';

export type {
  ConnectionState,
  DeviceMode,
  DeviceOrder,
  PlaceOrderResult,
  ResumeResult,
  SelectCause,
  SelectElementRequest,
  SelectElementResult,
  StartPurchaseRequest,
  StatusUpdate,
} from '../protocol/browser.js';

export interface SubscriptionListener {
  /**
   * A verified status of the purchase, from a push or a poll. An update with
   * a lower `seq` than one already applied is stale; the transport delivers
   * only updates whose platform signature (TSK-RSA2, `TSKPublicKey`) verified.
   */
  onUpdate(update: Link.StatusUpdate): void;
  /** A push was rejected (unsigned, forged, stale, malformed); never acted on. */
  onRejected?(info: { reason: string; detail?: string }): void;
  /** Connection changes, for display and tests. */
  onConnection?(state: Link.ConnectionState): void;
}

export interface PaymentTransport {
  /** Register the purchase with the platform; screenless: the platform pushes the goods to the DingDang app. */
  startPurchase(request: Link.StartPurchaseRequest, signal: AbortSignal): Promise<{ purchaseId: string }>;
  /** Screen flow: the user ordered; the platform calls create order and creates its own order. */
  placeOrder(purchaseId: string, signal: AbortSignal): Promise<Link.PlaceOrderResult>;
  /** The payment window expired: a fresh payment URL / order window. */
  refreshOrder(purchaseId: string, signal: AbortSignal): Promise<Link.DeviceOrder>;
  /** Ask the platform for the purchase's status (after reconnect, or when pushes stop). Verified. */
  queryStatus(purchaseId: string, signal: AbortSignal): Promise<Link.StatusUpdate>;
  /**
   * Listen for verified status updates of one purchase. The transport owns the
   * socket: heartbeat, reconnect with backoff, re-subscribe and re-query after
   * reconnect, polling fallback. Returns the cleanup that releases everything.
   */
  subscribe(purchaseId: string, listener: SubscriptionListener): () => void;
  /** The user cancelled; best effort. */
  cancel(purchaseId: string, signal: AbortSignal): Promise<void>;
  /** Flow C: tell the platform payment is complete; it re-runs the original intent and returns the skill's answer. */
  resume(purchaseId: string, signal: AbortSignal): Promise<Link.ResumeResult>;
  /**
   * The player reached a playlist item marked `pay: true` (or the user picked
   * an element): the platform sends the skill `Display.ElementSelected` and
   * returns its answer, verified; a Charge in it comes with the `purchaseId`
   * the platform opened (docs/device-protocol.md §3.8). Optional: a transport
   * without it leaves the player stopped at the item.
   */
  selectElement?(request: Link.SelectElementRequest, signal: AbortSignal): Promise<Link.SelectElementResult>;
  /** Release sockets and timers of every subscription. */
  close(): void;
}
