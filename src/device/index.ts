/**
 * `dingdang-pay/device`: the browser-safe device companion. No Node
 * built-ins, no server code, no private keys (a test bundles this entry with
 * esbuild for the browser platform).
 */
export * from './port.js';
export {
  CompanionError,
  DeviceCompanion,
  createCompanion,
  findChargeDirective,
  type CompanionErrorCode,
  type CompanionEvents,
  type CompanionOptions,
  type PurchaseRequest,
  type PurchaseResult,
  type ResumeEvent,
  type SpeakEvent,
  type StateEvent,
} from './companion.js';
export {
  DEFAULT_DELAYS,
  FINAL_STATES,
  purchaseMachine,
  stateKey,
  toErrorInfo,
  type DelayName,
  type ErrorInfo,
  type PurchaseContext,
  type PurchaseEmitted,
  type PurchaseEvent,
  type PurchaseInput,
  type PurchaseMachine,
  type PurchaseOutcome,
  type PurchaseSnapshot,
  type WatchCommand,
} from './machine.js';
export { createTransportActors, DeviceProtocolError, isStatusUpdate, type TransportActors } from './actors.js';
export {
  FLOW_INTENTS,
  eventForIntent,
  intentFromName,
  matchIntent,
  normalizeUtterance,
  type FlowIntent,
  type IntentMatch,
} from './intents.js';
export { LOCALES, helpText, prompt, statusText, type Locale, type PromptContext, type PromptKey } from './prompts.js';
export {
  countdown,
  goodsCard,
  qrImage,
  renderView,
  type Countdown,
  type GoodsCard,
  type GoodsLine,
  type QrImage,
  type RenderContext,
  type ScreenView,
  type TouchTarget,
} from './render.js';
export { machineToMermaid } from './diagram.js';
export {
  createHttpTransport,
  DeviceTransportError,
  PlatformError,
  RequestTimeoutError,
  type FetchLike,
  type HttpTransport,
  type HttpTransportOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './transport/index.js';
