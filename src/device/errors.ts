/**
 * Errors of the device companion (`dingdang-pay/device`), in one place. Every
 * one extends `DingDangPayError` (src/protocol/errors.ts), so `instanceof`
 * and the stable string `code` work as in the rest of the package;
 * `DEVICE_ERROR_CODES` maps each code to its class.
 *
 * | class | `code` | thrown by |
 * |---|---|---|
 * | `DeviceTransportError` | `ERR_TRANSPORT` (`reason`: `network`, `aborted`, `closed`, `bad-reply`) | the HTTP + WebSocket transport |
 * | `RequestTimeoutError` | `ERR_TIMEOUT` | the transport: no reply within `requestTimeoutMs` |
 * | `PlatformError` | `ERR_REMOTE` (`status`, `platformCode`) | the transport: the platform answered an error (docs/device-protocol.md §3.7) |
 * | `DeviceProtocolError` | `ERR_DEVICE_PROTOCOL` | the machine's actors: an answer of the transport the device cannot use |
 * | `CompanionError` | `ERR_DEVICE_BUSY`, `ERR_DEVICE_STOPPED`, `ERR_DEVICE_BAD_CHARGE`, `ERR_DEVICE_CONFIG`, `ERR_DEVICE_STEP` | the companion |
 * | `QrCapacityError` | `ERR_DEVICE_QR_TOO_LONG` (`bytes`, `maxBytes`) | the QR encoder (`qrImage`): a text longer than version 40 holds |
 *
 * The device also throws the protocol's errors: `InvalidArgumentError`
 * (`ERR_INVALID_ARGUMENT`), `SignatureError` (`ERR_SIGNATURE`, a reply whose
 * platform signature did not verify), `KeyError` (`ERR_KEY`, an unusable
 * `TSKPublicKey`).
 */
import { DingDangPayError, RemoteError, TimeoutError, TransportError, type ReplyRejection } from '../protocol/browser.js';

/** Why a transport call failed, stable and safe to switch on. */
export type TransportFailure =
  /** fetch failed: DNS, refused, reset, CORS. */
  | 'network'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The transport was closed (`close()`), so the call cannot run. */
  | 'closed'
  /** A 2xx reply that is not the JSON the protocol promises, too big, or about another purchase. */
  | 'bad-reply';

export class DeviceTransportError extends TransportError {
  readonly reason: TransportFailure;
  /** For a `bad-reply`: which rule the reply broke (reported to subscribers as a rejection). */
  readonly rejection: ReplyRejection | undefined;
  constructor(reason: TransportFailure, message: string, options?: { cause?: unknown; rejection?: ReplyRejection }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.rejection = options?.rejection ?? (reason === 'bad-reply' ? 'malformed' : undefined);
  }
}

/** The request did not finish within the transport's request timeout. */
export class RequestTimeoutError extends TimeoutError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** The platform answered with an error (docs/device-protocol.md §3.7). */
export class PlatformError extends RemoteError {
  /** HTTP status. */
  readonly status: number;
  /** The platform's error code, e.g. `UNAUTHORIZED`, `NOT_PAID`; `UNKNOWN` when the reply had none. */
  readonly platformCode: string;
  constructor(status: number, platformCode: string, message: string) {
    super(`platform answered ${status} ${platformCode}: ${message}`, platformCode);
    this.status = status;
    this.platformCode = platformCode;
  }
}

/** An answer from the transport the device cannot use. */
export class DeviceProtocolError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_DEVICE_PROTOCOL', message);
  }
}

/** The purchase step a failure belongs to (the machine's `step` of its error info). */
export type PurchaseStep = 'start' | 'order' | 'refresh' | 'resume' | 'cancel' | 'query';

export type CompanionErrorCode = 'ERR_DEVICE_BUSY' | 'ERR_DEVICE_STOPPED' | 'ERR_DEVICE_BAD_CHARGE' | 'ERR_DEVICE_CONFIG' | 'ERR_DEVICE_STEP';

/** Errors of the companion itself; `step` errors wrap a failed transport call. */
export class CompanionError extends DingDangPayError {
  declare readonly code: CompanionErrorCode;
  /** For ERR_DEVICE_STEP: which step failed and the transport's own code. */
  readonly step: PurchaseStep | undefined;
  readonly causeCode: string | undefined;
  constructor(code: CompanionErrorCode, message: string, options: { cause?: unknown; step?: PurchaseStep; causeCode?: string } = {}) {
    super(code, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.step = options.step;
    this.causeCode = options.causeCode;
  }
}

/** A text too long for a QR code: more UTF-8 bytes than version 40 holds in byte mode at level M. */
export class QrCapacityError extends DingDangPayError {
  /** The text's UTF-8 length. */
  readonly bytes: number;
  /** The most version 40 holds: 2,331. */
  readonly maxBytes: number;
  constructor(bytes: number, maxBytes: number) {
    super('ERR_DEVICE_QR_TOO_LONG', `a QR code (level M) holds at most ${maxBytes} bytes, the text has ${bytes}`);
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** Every code the device layer's own classes carry, and the class that carries it. */
export const DEVICE_ERROR_CODES = {
  ERR_TRANSPORT: DeviceTransportError,
  ERR_TIMEOUT: RequestTimeoutError,
  ERR_REMOTE: PlatformError,
  ERR_DEVICE_PROTOCOL: DeviceProtocolError,
  ERR_DEVICE_BUSY: CompanionError,
  ERR_DEVICE_STOPPED: CompanionError,
  ERR_DEVICE_BAD_CHARGE: CompanionError,
  ERR_DEVICE_CONFIG: CompanionError,
  ERR_DEVICE_STEP: CompanionError,
  ERR_DEVICE_QR_TOO_LONG: QrCapacityError,
} as const;
export type DeviceErrorCode = keyof typeof DEVICE_ERROR_CODES;
