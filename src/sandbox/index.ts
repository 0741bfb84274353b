/**
 * `dingdang-pay/sandbox`: a local DingDang platform — the pay CGI, outbound
 * create-order / delivery / refund notifications, skill routing with
 * TSK-HMAC-signed requests, scripted payment outcomes and faults — and the
 * typed client of its control API. See docs/sandbox.md. Depends on
 * `protocol` only.
 *
 * The public surface, named one by one: starting a sandbox and its config,
 * the typed client, the errors, and the types the control API and the
 * platform's events speak. The parts inside (order book, scheduler,
 * notifier, skill requests, routing) are not exported.
 */

// ── running a sandbox ──
export { Sandbox, startSandbox, type SandboxOptions } from './sandbox.js';
export { Platform, type PlatformEvents, type PlatformOptions, type InboundRecord } from './platform.js';
export { DEVICE_STREAM_PATH, type DeviceLink, type DeviceLinkOptions } from './device-link.js';
export type { PayCgi } from './paycgi.js';
export {
  DEFAULT_RESPONSE_TIMEOUT_MS,
  SKILL_DEPLOYMENTS,
  loadSandboxConfig,
  parseSandboxConfig,
  type DeviceConfig,
  type LoadConfigOptions,
  type SandboxConfig,
  type SandboxConfigInput,
  type SkillConfig,
  type SkillConfigInput,
  type SkillDeployment,
  type EntitySlotKind,
  type EntityValue,
  type SlotKind,
  type UtteranceSpec,
} from './config.js';

// ── the typed client of the control API ──
export { SandboxClient, type SandboxClientOptions, type CallOptions, type EventsOptions } from './client.js';
export {
  SANDBOX_EVENT_NAMES,
  type ControlBody,
  type ControlReply,
  type ControlRoute,
  type ControlRoutes,
  type FaultsReply,
  type FaultsRequest,
  type IntentRequestBody,
  type AccountLink,
  type LinkRequest,
  type OrderReply,
  type PayReply,
  type PayRequest,
  type PurchaseReply,
  type SandboxEvent,
  type SandboxEventMap,
  type SandboxEventName,
  type SandboxInfo,
  type SandboxRoot,
  type SayRequest,
  type SelectRequest,
  type SkillInfo,
  type StartPurchaseRequest,
  type TurnFields,
} from './control-types.js';

// ── errors ──
export {
  HttpError,
  SANDBOX_ERROR_CODES,
  SandboxApiError,
  SandboxConfigError,
  SandboxStateError,
  type ControlApiError,
  type OrderBookReason,
  type SandboxErrorCode,
} from './errors.js';

// ── what the platform speaks of ──
export {
  PAY_OUTCOMES,
  type DeviceMode,
  type DeviceOrderView,
  type PayOutcome,
  type PlaceOrderOutcome,
  type Purchase,
  type PurchaseState,
  type PurchaseStatus,
  type ResumeOutcome,
  type StartPurchaseInput,
} from './purchase-book.js';
export { SKILL_FALLBACK_SPEECH, type DeviceSession, type SayInput, type SayReply, type SkillErrorEvent } from './skill-router.js';
export { TRADE_STATUS_DESC, REFUND_STATUS_DESC, tradeStatusDesc, type DingDangOrder, type RefundRecord } from './order-book.js';
export {
  WECHAT_RETRY_SCHEDULE_MS,
  DEFAULT_KEEP_FINISHED_NOTIFICATIONS,
  OutboxFullError,
  type CallKind,
  type CallRecord,
  type NotificationState,
  type OutboxLimits,
} from './outbound.js';
export type { SignerOptions, SignFunction, SignPriority } from './signer.js';
export type { FaultSettings, FaultState, PartnerCall, PartnerFault } from './faults.js';
