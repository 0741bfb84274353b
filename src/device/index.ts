/**
 * `dingdang-pay/device`: the browser-safe device companion. No Node
 * built-ins, no server code, no private keys (a test bundles this entry with
 * esbuild for the browser platform).
 */
export type {
  ConnectionState,
  DeviceMode,
  DeviceOrder,
  PaymentTransport,
  PlaceOrderResult,
  ResumeResult,
  SelectCause,
  SelectElementRequest,
  SelectElementResult,
  StartPurchaseRequest,
  StatusUpdate,
  SubscriptionListener,
} from './port.js';
export {
  CompanionError,
  DEVICE_ERROR_CODES,
  DeviceProtocolError,
  DeviceTransportError,
  PlatformError,
  QrCapacityError,
  RequestTimeoutError,
  type CompanionErrorCode,
  type DeviceErrorCode,
  type PurchaseStep,
  type TransportFailure,
} from './errors.js';
export {
  DeviceCompanion,
  createCompanion,
  type CompanionEvents,
  type CompanionOptions,
  type PurchaseRequest,
  type PurchaseResult,
  type ResumeEvent,
  type SpeakEvent,
  type StateEvent,
} from './companion.js';
export { findChargeDirective } from './find-charge-directive.js';
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
export { DevicePlayer, type DevicePlayerEvents, type PlayerHost, type PlayerItemEvent, type PlayerState } from './player.js';
export {
  PLAYER_DELAYS,
  playerMachine,
  type PlayerContext,
  type PlayerEmitted,
  type PlayerEvent,
  type PlayerInput,
  type PlayerItem,
  type PlayerMachine,
  type PurchaseEnd,
  type StopReason,
} from './player-machine.js';
export { findPlayDirective, playlistItems, playlistOf, positionText } from './playlist.js';
export { createTransportActors, isStatusUpdate, type TransportActors } from './actors.js';
export { FLOW_INTENTS, eventForIntent, intentFromName, matchIntent, normalizeUtterance, stripWakeWord, type FlowIntent, type IntentMatch } from './intents.js';
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
export {
  createHttpTransport,
  type BackoffOptions,
  type FetchLike,
  type HttpTransport,
  type HttpTransportOptions,
  type RejectReason,
  type TransportSubscriptionListener,
  type WebSocketConstructor,
  type WebSocketLike,
} from './transport/index.js';
