/**
 * `dingdang-pay/partner`: what a skill backend needs — signed, validated,
 * exactly-once handlers for the platform's calls, the pay client for
 * `/paycgi/*`, refunds, the store contract and stores, the Node `http`
 * adapter, the errors. The Express and Fastify adapters are
 * `dingdang-pay/partner/express` and `dingdang-pay/partner/fastify`, so that
 * this entry needs neither framework (not even its types). Never imports
 * device or sandbox code.
 *
 * Every name is listed: the pipeline, the resolved context (it holds the
 * private key) and the interface logic stay inside the kit.
 */

// The handlers and their options.
export { createPartnerHandlers } from './handlers.js';
export type { PartnerHandlers } from './handlers.js';
export { DEFAULT_MAX_BODY_BYTES } from './partner-context.js';
export type { PartnerOptions, ReplayGuard } from './partner-context.js';
export { storeReplayGuard, type StoreReplayGuardOptions } from './store-replay-guard.js';
export type { PartnerHandler, PartnerRequest, PartnerRequestHead, PartnerResponse } from './make-handler.js';
export { isLocalPeer, type PeerLimitOptions } from './peer-budget.js';

// The partner's own code the handlers call.
export { catalogFrom } from './catalog.js';
export type { CatalogHook, CatalogItem, DeliverContext, DeliverHook, OrderContext, RefundHook, RefundNotifyContext, UserHook } from './hooks.js';

// The entitlement lifecycle: purchase history, credits (our own extension).
export { consumeCredits, creditsOf, listPurchases } from './purchases.js';
export type { PurchasesOptions } from './purchases.js';

// The Node `http` adapter.
export { DEFAULT_PARTNER_PATHS, nodeHttpHandler, partnerRequestListener, writePartnerResponse, type NodeHttpPartnerOptions } from './adapters/node-http.js';
export type { PartnerPaths } from './adapters/node-http.js';

// Calls to the platform, refunds.
export { createPayClient, PayClient } from './pay-client.js';
export type {
  CallOptions,
  OrderQueryInput,
  OrderQueryResult,
  PayClientOptions,
  RefundInput,
  RefundQueryInput,
  RefundQueryResult,
  RefundResult,
} from './pay-client.js';
export { requestRefund } from './refund.js';
export type { RefundDeps, RequestRefundInput } from './refund.js';

// Reconciliation: what the notifications did not settle, through the pay interfaces.
export { createReconciler } from './reconciler.js';
export type { ReconcileReport, Reconciler, ReconcilerOptions } from './reconciler.js';

// Observability (our own extension): typed events, and adapters to a pino logger / a prom-client Registry the caller passes in.
export { combineObservers } from './observer.js';
export type {
  DeliveryEvent,
  DeliverySource,
  PartnerEvent,
  PartnerIds,
  PartnerInterface,
  PartnerObserver,
  ReconcileFailedEvent,
  ReconcileItemEvent,
  ReconcilePassEvent,
  RefundEvent,
  RefundSource,
  RequestEvent,
} from './observer.js';
export { pinoObserver } from './observability/pino.js';
export type { PinoLikeLogger } from './observability/pino.js';
export { createPromObserver, DEFAULT_DELIVERY_BUCKETS } from './observability/prom.js';
export type { PromClientLike, PromObserverOptions, PromRegistry } from './observability/prom.js';

// The store contract and the stores.
export type {
  CheckedDeliveryClaim,
  CreditConsumption,
  CreditGrant,
  CreditRefund,
  DeliveryClaim,
  DeliveryExpectation,
  NewOrder,
  OrderCloseReason,
  OrderReconcileState,
  PartnerOrder,
  PartnerOrderStatus,
  PartnerStore,
  Purchase,
  PurchasePage,
  PurchasePageOptions,
  PurchaseStatus,
  ReconcileClaimOptions,
  ReconcileOrderClaim,
  ReconcileRefundClaim,
  ReconcileSettle,
  Refund,
} from './store.js';
export {
  MemoryPartnerStore,
  POSTGRES_SCHEMA,
  POSTGRES_SCHEMA_VERSION,
  PostgresPartnerStore,
  SQLITE_SCHEMA,
  SQLITE_SCHEMA_VERSION,
  SqlitePartnerStore,
} from './stores/index.js';
export type { LeaseClock, PostgresStoreOptions, SqliteStoreOptions, SqliteSynchronous } from './stores/index.js';

// Errors.
export { DeliveryTimeoutError, PARTNER_ERROR_CODES, PayRedirectError, PayRemoteError, RefundError, RefusedError, StoreError } from './errors.js';
export type { PartnerErrorCode, PayOperation, RefundErrorCode, StoreErrorCode } from './errors.js';
