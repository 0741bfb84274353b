/**
 * Typed errors of the device transport. Codes come from the shared hierarchy
 * (src/protocol/errors.ts): `ERR_TRANSPORT` with a stable `reason`,
 * `ERR_REMOTE` for a platform refusal, `ERR_TIMEOUT`, `ERR_SIGNATURE`.
 */
import { RemoteError, TimeoutError, TransportError } from '../../protocol/browser.js';

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

/** For a `bad-reply`: which rule the reply broke (reported to subscribers as a rejection). */
export type ReplyRejection = 'malformed' | 'wrong-purchase' | 'wrong-device';

export class DeviceTransportError extends TransportError {
  readonly reason: TransportFailure;
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
