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
}

export interface NewOrder {
  tradeNo: string;
  skillId: string;
  userToken: string;
  details: OrderDetail[];
  totalAmt: Fen;
  createdAt: number;
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
   * Take back what an order granted (a refund): its entitlements are removed,
   * the delivery record stays. Returns how many entitlements were removed
   * (0 when already revoked or never granted). Idempotent.
   */
  revokeEntitlements(tradeNo: string): Promise<number>;
  /**
   * Replay protection shared by every instance on this store: record `nonce`
   * until `expiresAt` (epoch ms); true when it was new (or its previous record
   * had expired by `now`), false for a replay. Optional: a store without it
   * leaves the per-process guard in place. See `storeReplayGuard`.
   */
  rememberNonce?(nonce: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * True when several backend instances share this store (PostgreSQL; SQLite
   * opened with `shared: true`): the handlers then use the store's replay
   * guard by default.
   */
  readonly shared?: boolean;
  close(): Promise<void>;
}
