/**
 * The partner's persistence contract (SPEC §4): one interface, three
 * implementations (memory for tests, SQLite embedded default, PostgreSQL for
 * several backend instances). Exactly-once delivery rests on the store: its
 * transaction / unique constraint decides who records a delivery, never an
 * in-memory lock. All methods are async so every backend fits.
 */
import type { Fen, OrderDetail, RefundStatus } from '../protocol/index.js';

export type PartnerOrderStatus = 'CREATED' | 'DELIVERED';

export interface PartnerOrder {
  tradeNo: string;
  skillId: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  status: PartnerOrderStatus;
  /** DingDang order id, known from the delivery notification on. */
  transactionId: string | null;
  createdAt: number;
  deliveredAt: number | null;
  /** Credits the order adds when delivered (our own extension, see `CreditGrant`); absent when none. */
  credits?: CreditGrant[];
}

/**
 * Our own extension (DingDang defines no consumables): what one order line
 * of a credit pack (e.g. "10次点播卡") adds to the user's balance when the
 * order is delivered, instead of a one-time entitlement. Computed by the kit
 * from the catalog item (`credits × quantity`) and stored with the order, so
 * the store adds it in the same transaction that records the delivery.
 */
export interface CreditGrant {
  /** The order line (an itemId of `details`). */
  itemId: string;
  /** The balance it adds to (1–64 characters; the catalog's `creditBalance`, default the itemId). */
  balance: string;
  /** Credits added (≥ 1). */
  count: number;
  /**
   * What a refund of the order (`revokeEntitlements`) does: `remaining` takes
   * back what is left of them (at most `count`, never below zero), `keep`
   * leaves the balance alone.
   */
  onRefund: CreditRefund;
}

export type CreditRefund = 'remaining' | 'keep';

/** How a purchase stands in the history: delivered; refunded (money back, goods kept); revoked (what it granted taken back). */
export type PurchaseStatus = 'delivered' | 'refunded' | 'revoked';

/** One delivered order of a user (`listPurchases`). */
export interface Purchase {
  tradeNo: string;
  details: OrderDetail[];
  totalAmt: Fen;
  /** When the order was created (the user's purchase; the history is ordered by it). */
  createdAt: number;
  deliveredAt: number;
  status: PurchaseStatus;
  /** Sum of its SUCCESS refunds (fen). */
  refundedAmt: Fen;
  credits?: CreditGrant[];
}

export interface PurchasePageOptions {
  /** 1–100. */
  limit: number;
  /** `nextCursor` of the previous page; absent or null for the newest. */
  cursor?: string | null;
}

export interface PurchasePage {
  /** Newest first (createdAt, then tradeNo, descending). */
  purchases: Purchase[];
  /** Pass it back for the next (older) page; null when there is none. */
  nextCursor: string | null;
}

/** Result of `consumeCredits`: `ok` false when the balance was short (then nothing was taken). */
export interface CreditConsumption {
  ok: boolean;
  /** The balance after the call. */
  balance: number;
}

export interface NewOrder {
  tradeNo: string;
  skillId: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  createdAt: number;
  /** Our own extension: credits delivery adds (see `CreditGrant`); each `itemId` one of `details`. */
  credits?: CreditGrant[];
}

/** Result of trying to claim the delivery of an order. */
export type DeliveryClaim =
  /** This caller owns the delivery now: run the `deliver` hook, then `completeDelivery`. */
  | { kind: 'claimed'; order: PartnerOrder; attempt: number }
  /** Someone already completed it: answer SUCCESS, do nothing. */
  | { kind: 'already-delivered'; order: PartnerOrder }
  /** Another caller holds a live claim (lease not expired): answer FAIL so the platform retries later. */
  | { kind: 'in-progress'; order: PartnerOrder }
  | { kind: 'unknown-order' };

/** What a delivery notification says about its order; checked by `claimDeliveryChecked`. */
export interface DeliveryExpectation {
  skillId: string;
  userToken: string;
  totalAmt: Fen;
}

/**
 * Result of `claimDeliveryChecked`: a `DeliveryClaim`, or `mismatch` when the
 * stored order differs from the notification (skillId, userToken, totalAmt, or
 * a recorded transactionId): then nothing was written.
 */
export type CheckedDeliveryClaim = DeliveryClaim | { kind: 'mismatch'; order: PartnerOrder };

export interface Refund {
  refundTradeNo: string;
  tradeNo: string;
  refundAmt: Fen;
  status: RefundStatus;
  refundTransactionId: string | null;
  createdAt: number;
}

/**
 * Why the reconciler (reconciler.ts) closed an open order locally: `NOTPAY`
 * (still unpaid long after its payment window), `FAIL` (the platform says the
 * payment failed), `UNKNOWN` (the platform does not know the order, long after
 * its payment window). A closed order is no longer checked; it stays
 * `CREATED`, so a later real delivery notification still delivers it.
 */
export type OrderCloseReason = 'NOTPAY' | 'FAIL' | 'UNKNOWN';

/** Which items a reconcile pass claims (`claimReconcileOrders`, `claimReconcileRefunds`). */
export interface ReconcileClaimOptions {
  /** Only items created at or before this time (epoch ms). */
  createdBefore: number;
  /** The caller's clock (epoch ms): due back-offs are compared with it, and expired leases (the PostgreSQL store compares leases with the database's clock unless `leaseClock: 'caller'`). */
  now: number;
  /** At most this many items (a bounded batch). */
  limit: number;
  /** The claim's lease (ms): no other pass claims the item before `now + leaseMs`. */
  leaseMs: number;
}

/** An order claimed for one reconcile pass; `checks` counts the passes that claimed it, this one included (the claim's token). */
export interface ReconcileOrderClaim {
  order: PartnerOrder;
  checks: number;
}

/** A refund claimed for one reconcile pass; `checks` as for orders. */
export interface ReconcileRefundClaim {
  refund: Refund;
  checks: number;
}

/**
 * How a reconcile pass ends for an item: check it again at `nextCheckAt`
 * (back-off), close it locally (orders only), or `done` (settled by other
 * means, e.g. delivered or refund final: only the lease is dropped).
 */
export type ReconcileSettle = { nextCheckAt: number } | { close: OrderCloseReason } | { done: true };

/** What the reconciler has recorded about an order (`getReconcileState`). */
export interface OrderReconcileState {
  /** Passes that claimed the order so far. */
  checks: number;
  /** When it is due again (null: as soon as it is old enough). */
  nextCheckAt: number | null;
  /** Lease end of the pass that holds it (null: none). */
  reconcileUntil: number | null;
  closedAt: number | null;
  closeReason: OrderCloseReason | null;
}

export interface PartnerStore {
  /** Create the schema if missing (idempotent). */
  init(): Promise<void>;
  /** Insert an order; throws a StoreError with code ERR_DUPLICATE when `tradeNo` exists. */
  createOrder(order: NewOrder): Promise<PartnerOrder>;
  getOrder(tradeNo: string): Promise<PartnerOrder | undefined>;
  /**
   * Atomically claim the delivery of `tradeNo` for `transactionId` with a
   * lease (ms). A claim whose lease expired (its holder crashed) can be taken
   * over: the hook then runs again with the same idempotency key, so the hook
   * is at-least-once with key `tradeNo` and the record is exactly-once.
   */
  claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim>;
  /**
   * Optional, for one round trip per delivery: `claimDelivery` that first
   * compares the order with the notification (`expect`, and a recorded
   * `transactionId` with `transactionId`) and answers `mismatch` without writing
   * anything when they differ, in any status. The delivery handler uses it when
   * present; otherwise it reads the order (`getOrder`) and checks it before
   * `claimDelivery`. All built-in stores implement it.
   */
  claimDeliveryChecked?(tradeNo: string, transactionId: string, expect: DeliveryExpectation, leaseMs: number, now: number): Promise<CheckedDeliveryClaim>;
  /** Record the delivery as done (idempotent); also grants the entitlements. */
  completeDelivery(tradeNo: string, now: number): Promise<PartnerOrder>;
  /**
   * Give up a claim without delivering (the hook failed), so a retry can claim at once.
   * With `attempt` (the claim's), only that claim is released: a holder whose lease
   * expired and was taken over cannot cancel the newer claim.
   */
  releaseDelivery(tradeNo: string, attempt?: number): Promise<void>;
  /** Entitlements: which item ids the user owns (delivered orders). */
  ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean>;
  /** Record a refund request (unique `refundTradeNo`); returns the existing one on repeat. */
  saveRefund(refund: Refund): Promise<Refund>;
  getRefund(refundTradeNo: string): Promise<Refund | undefined>;
  updateRefund(refundTradeNo: string, patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): Promise<Refund | undefined>;
  /**
   * Take back what a delivered order granted (a refund): its entitlements are
   * removed, its credits with `onRefund: 'remaining'` are taken back (what is
   * left of them, never below zero), the order is marked revoked (purchase
   * history); the delivery record stays. Returns how many entitlements and
   * credit grants were taken back (0 when already revoked, or the order is
   * not delivered: then nothing is marked). Idempotent.
   */
  revokeEntitlements(tradeNo: string): Promise<number>;
  /**
   * Purchase history (optional; all built-in stores): the user's delivered
   * orders, newest first, one bounded page at a time. A bad cursor is an
   * `InvalidArgumentError`. See `listPurchases` (purchases.ts).
   */
  listPurchases?(skillId: string, userToken: string, options: PurchasePageOptions): Promise<PurchasePage>;
  /** Credits (our own extension; optional, all built-in stores): the user's balance, 0 when none. */
  getCredits?(skillId: string, userToken: string, balance: string): Promise<number>;
  /**
   * Take `count` (≥ 1) credits from the balance atomically: all or nothing,
   * never below zero, exact under concurrent consumers on one database.
   */
  consumeCredits?(skillId: string, userToken: string, balance: string, count: number): Promise<CreditConsumption>;
  /**
   * Replay protection shared by every instance on this store: record `nonce`
   * until `expiresAt` (epoch ms); true when it was new (or its previous record
   * had expired by `now`), false for a replay. Optional: a store without it
   * leaves the per-process guard in place. See `storeReplayGuard`.
   */
  rememberNonce?(nonce: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * Reconciliation (reconciler.ts), optional in the interface, implemented by
   * all built-in stores. Atomically claims up to `limit` open orders —
   * `CREATED`, not closed, created at or before `createdBefore`, due
   * (`nextCheckAt` null or passed) and not held by another pass (its lease
   * over) — with a lease, oldest due first. Two passes, in any processes
   * sharing the store, never hold the same order at once.
   */
  claimReconcileOrders?(options: ReconcileClaimOptions): Promise<ReconcileOrderClaim[]>;
  /**
   * End the pass on an order claimed with `checks`: drop the lease and record
   * the next check, or close the order locally (only while it is `CREATED`).
   * False (and nothing changed) when that claim is no longer the order's
   * (its lease expired and another pass claimed it).
   */
  settleReconcileOrder?(tradeNo: string, checks: number, settle: ReconcileSettle, now: number): Promise<boolean>;
  /** As `claimReconcileOrders`, for refunds still `PROCESSING`. */
  claimReconcileRefunds?(options: ReconcileClaimOptions): Promise<ReconcileRefundClaim[]>;
  /** As `settleReconcileOrder`, for a refund (`close` is not allowed: a refund ends by its status). */
  settleReconcileRefund?(refundTradeNo: string, checks: number, settle: { nextCheckAt: number } | { done: true }, now: number): Promise<boolean>;
  /** What reconciliation recorded about an order; undefined when there is no such order. */
  getReconcileState?(tradeNo: string): Promise<OrderReconcileState | undefined>;
  /**
   * True when several backend instances share this store (PostgreSQL; SQLite
   * opened with `shared: true`): the handlers then use the store's replay
   * guard by default.
   */
  readonly shared?: boolean;
  close(): Promise<void>;
}
