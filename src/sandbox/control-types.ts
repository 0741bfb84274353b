/**
 * The control API (`/sandbox/v1`, JSON) as types: every route's request body
 * and reply. The routes (control-api.ts) are typed against this table and
 * the client (client.ts) reads it, so the two cannot drift. Types and the
 * event names only: browser-safe.
 */
import type { AckReply, ChargeDirective } from '../protocol/types.js';
import type { Slot } from '../protocol/skill-types.js';
import type { AccountLink } from './account-links.js';
import type { SkillConfig } from './config.js';
import type { ControlApiError } from './errors.js';
import type { FaultSettings, FaultState } from './faults.js';
import type { DingDangOrder, RefundRecord } from './order-book.js';
import type { CallRecord, NotificationState } from './outbound.js';
import type { InboundRecord } from './platform.js';
import type {
  DeviceMode,
  DeviceOrderView,
  PayOutcome,
  PlaceOrderOutcome,
  Purchase,
  PurchaseStatus,
  ResumeOutcome,
  StartPurchaseInput,
} from './purchase-book.js';
import type { DeviceSession, SayReply, SkillErrorEvent } from './skill-router.js';

export type { ControlApiError };

/** One skill of `GET /info`: its record without the endpoint, secrets and keys. */
export type SkillInfo = Pick<
  SkillConfig,
  | 'skillId'
  | 'name'
  | 'utterances'
  | 'invocationName'
  | 'accountLinking'
  | 'accountLinkingUrl'
  | 'deviceMaker'
  | 'responseTimeoutMs'
  | 'strictSchema'
  | 'deployment'
>;

/** `GET /info`. */
export interface SandboxInfo {
  url: string;
  /** Bare Base64 SPKI of the platform key (`TSKPublicKey`). */
  tskPublicKey: string;
  timeScale: number;
  retryScheduleMs: readonly number[];
  skills: SkillInfo[];
}

/** An order with its status text (`GET /orders/:id` and the pay calls). */
export type OrderReply = DingDangOrder & { tradeStatusDesc: string };

/**
 * A pay call's reply: the order, `{ alreadyOwned: true }` when the user owned
 * the goods (screenless, no order), or `{ purchaseId, cancelled: true }` when
 * a purchase was cancelled before any order (`cancel` of a purchase, as in the DingDang app).
 */
export type PayReply = OrderReply | { alreadyOwned: true } | { purchaseId: string; cancelled: true };

/** Who speaks, on which device (every field optional: the sandbox's defaults). */
export interface TurnFields {
  skillId?: string;
  userId?: string;
  accessToken?: string;
  deviceId?: string;
  mode?: DeviceMode;
}

/** `POST /say`: what the user said. */
export interface SayRequest extends TurnFields {
  text: string;
}

/** `POST /intent`: an intent, already recognised (slots as strings or typed slots). */
export interface IntentRequestBody extends TurnFields {
  intent: string;
  slots?: Record<string, string | Slot>;
  query?: string;
}

/** `POST /select`: `Display.ElementSelected { token }`. */
export interface SelectRequest extends TurnFields {
  token: string;
}

/**
 * `POST /link`, `POST /unlink`: simulated account linking (our own
 * extension): link / unlink the account of `userId` (default the sandbox's
 * default user) with `skillId` (default the only skill).
 */
export interface LinkRequest {
  skillId?: string;
  userId?: string;
}
export type { AccountLink };

/** `POST /purchases`: register a purchase as a device would (the platform reads the body as `StartPurchaseInput`). */
export type StartPurchaseRequest = Omit<StartPurchaseInput, 'charge'> & { charge: ChargeDirective };

/** `POST /orders/:id/pay`, `POST /purchases/:id/pay`. */
export interface PayRequest {
  outcome: PayOutcome;
}

/** `POST /faults`: settings to change, and `dropSocket: true` to kill every device socket now. */
export interface FaultsRequest extends FaultSettings {
  dropSocket?: true;
}

/** `POST /faults` reply: the fault state (and how many sockets were dropped when asked). */
export type FaultsReply = FaultState & { dropped?: number };

/** `GET /purchases/:id`: the purchase and its current status. */
export type PurchaseReply = Purchase & { status: PurchaseStatus };

/** `GET /` without `Accept: text/html`. */
export interface SandboxRoot {
  name: string;
  url: string;
  tskPublicKey: string;
  docs: string;
}

/** What `GET /events` (Server-Sent Events) sends: event name → data. */
export interface SandboxEventMap {
  status: PurchaseStatus;
  purchase: Purchase;
  call: CallRecord;
  skillError: SkillErrorEvent;
  inbound: InboundRecord;
}
export type SandboxEventName = keyof SandboxEventMap;
export type SandboxEvent = { [K in SandboxEventName]: { event: K; data: SandboxEventMap[K] } }[SandboxEventName];
export const SANDBOX_EVENT_NAMES: readonly SandboxEventName[] = ['status', 'purchase', 'call', 'skillError', 'inbound'];

/**
 * Every JSON route of the control API: `"METHOD /path"` (`:id` a path
 * parameter) → its request body and its reply (HTTP 200). Errors are
 * `{ error: ControlApiError }` with a 4xx/5xx status (errors.ts).
 */
export interface ControlRoutes {
  'GET /info': { body: undefined; reply: SandboxInfo };
  'GET /orders': { body: undefined; reply: { orders: OrderReply[] } };
  'GET /orders/:id': { body: undefined; reply: OrderReply };
  'POST /orders/:id/pay': { body: PayRequest; reply: PayReply };
  'POST /orders/:id/expire': { body: undefined; reply: OrderReply };
  /** A manual copy of the delivery notification (the order must be paid); the backend's reply, null when none came. */
  'POST /orders/:id/notify': { body: undefined; reply: { reply: AckReply | null } };
  'GET /refunds': { body: undefined; reply: { refunds: RefundRecord[] } };
  'GET /notifications': { body: undefined; reply: { notifications: NotificationState[] } };
  'GET /calls': { body: undefined; reply: { calls: CallRecord[] } };
  'GET /inbound': { body: undefined; reply: { inbound: InboundRecord[] } };
  'GET /sessions': { body: undefined; reply: { sessions: DeviceSession[] } };
  'GET /faults': { body: undefined; reply: FaultState };
  'POST /faults': { body: FaultsRequest; reply: FaultsReply };
  'DELETE /faults': { body: undefined; reply: FaultState };
  'POST /say': { body: SayRequest; reply: SayReply };
  'POST /intent': { body: IntentRequestBody; reply: SayReply };
  'POST /select': { body: SelectRequest; reply: SayReply };
  /** Link (again: a fresh token); later requests of that user to that skill carry `accessToken`. */
  'POST /link': { body: LinkRequest; reply: AccountLink };
  /** Unlink; `unlinked: false` when there was no link. */
  'POST /unlink': { body: LinkRequest; reply: { skillId: string; userId: string; unlinked: boolean } };
  'GET /links': { body: undefined; reply: { links: AccountLink[] } };
  'GET /purchases': { body: undefined; reply: { purchases: Purchase[] } };
  'POST /purchases': { body: StartPurchaseRequest; reply: Purchase };
  'GET /purchases/:id': { body: undefined; reply: PurchaseReply };
  'POST /purchases/:id/order': { body: undefined; reply: PlaceOrderOutcome };
  'POST /purchases/:id/refresh': { body: undefined; reply: DeviceOrderView };
  'GET /purchases/:id/status': { body: undefined; reply: PurchaseStatus };
  'POST /purchases/:id/cancel': { body: undefined; reply: PurchaseStatus };
  'POST /purchases/:id/pay': { body: PayRequest; reply: PayReply };
  'POST /purchases/:id/resume': { body: undefined; reply: ResumeOutcome };
}
export type ControlRoute = keyof ControlRoutes;
export type ControlReply<R extends ControlRoute> = ControlRoutes[R]['reply'];
export type ControlBody<R extends ControlRoute> = ControlRoutes[R]['body'];
