/**
 * Errors of the partner kit (`dingdang-pay/partner`). Every one extends
 * `DingDangPayError`, so `instanceof` and the stable string `code` work as in
 * the rest of the package; `PARTNER_ERROR_CODES` maps each code to its class.
 *
 * | class | `code` | thrown by |
 * |---|---|---|
 * | `RefusedError` | `ERR_REFUSED` | the handlers' own checks; answered as a signed FAIL with its `retMsg` |
 * | `DeliveryTimeoutError` | `ERR_DELIVERY_TIMEOUT` | the deliver hook ran past `deliverTimeoutMs` (a `RefusedError`; the claim is kept) |
 * | `RefundError` | `ERR_REFUND_UNKNOWN_ORDER`, `ERR_REFUND_NOT_PAID`, `ERR_REFUND_CONFLICT` | `requestRefund`, before the platform is asked |
 * | `RefundError` | `ERR_REFUND_MISMATCH` | reported (`onError`), never thrown: a refund notification that disagrees with the partner's books |
 * | `PayRemoteError` | `ERR_REMOTE` | the pay client: the platform answered FAIL, or a reply about another order |
 * | `PayRedirectError` | `ERR_PAY_REDIRECT` | the pay client: the platform answered 3xx (never followed: the signed body goes nowhere else) |
 * | `StoreError` | `ERR_DUPLICATE`, `ERR_NOT_FOUND`, `ERR_REFUND_EXCEEDS`, `ERR_CLOSED`, `ERR_STORE` | the stores |
 *
 * The partner kit also throws the protocol's errors: `InvalidArgumentError`
 * (`ERR_INVALID_ARGUMENT`), `ValidationError` (`ERR_VALIDATION`),
 * `SignatureError` (`ERR_SIGNATURE`), `KeyError` (`ERR_KEY`), `TimeoutError`
 * (`ERR_TIMEOUT`), `TransportError` (`ERR_TRANSPORT`).
 */
import { clampRetMsg, DingDangPayError, RemoteError, SignatureError, ValidationError } from '../protocol/index.js';

/** A refusal that is answered as a signed FAIL with this short `retMsg`. */
export class RefusedError extends DingDangPayError {
  declare readonly code: 'ERR_REFUSED' | 'ERR_DELIVERY_TIMEOUT';
  /** At most 32 characters (the seed's limit). */
  readonly retMsg: string;
  /** `code` is for the subclasses; a plain refusal is `ERR_REFUSED`. */
  constructor(retMsg: string, message = retMsg, code: 'ERR_REFUSED' | 'ERR_DELIVERY_TIMEOUT' = 'ERR_REFUSED') {
    super(code, message);
    this.retMsg = clampRetMsg(retMsg);
  }
}

/**
 * The deliver hook did not finish within `deliverTimeoutMs`. The reply is a
 * FAIL "delivery timed out", but the claim is kept: the hook may still finish
 * (then its success is recorded), so the platform's retry does not run it twice.
 */
export class DeliveryTimeoutError extends RefusedError {
  declare readonly code: 'ERR_DELIVERY_TIMEOUT';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('delivery timed out', `the deliver hook did not finish within ${timeoutMs} ms`, 'ERR_DELIVERY_TIMEOUT');
    this.timeoutMs = timeoutMs;
  }
}

export type RefundErrorCode = 'ERR_REFUND_UNKNOWN_ORDER' | 'ERR_REFUND_NOT_PAID' | 'ERR_REFUND_CONFLICT' | 'ERR_REFUND_MISMATCH';

/** A refund the partner side refuses before asking the platform. */
export class RefundError extends DingDangPayError {
  declare readonly code: RefundErrorCode;
  constructor(code: RefundErrorCode, message: string) {
    super(code, message);
  }
}

export type PayOperation = 'orderQuery' | 'refund' | 'refundQuery';

/** The platform answered `retCode: FAIL` (or a reply that does not match the request). Code `ERR_REMOTE`. */
export class PayRemoteError extends RemoteError {
  readonly operation: PayOperation;
  readonly reply: unknown;
  constructor(operation: PayOperation, message: string, retMsg: string | undefined, reply: unknown) {
    super(message, retMsg);
    this.operation = operation;
    this.reply = reply;
  }
}

/**
 * The platform answered a pay call with an HTTP redirect (3xx). The pay client
 * never follows one — the signed request body would travel to a server that
 * is not the platform — and never retries it. Code `ERR_PAY_REDIRECT`.
 */
export class PayRedirectError extends DingDangPayError {
  declare readonly code: 'ERR_PAY_REDIRECT';
  readonly operation: PayOperation;
  /** The HTTP status (300–399). */
  readonly status: number;
  /** The `Location` header as received, if any (for the logs; never requested). */
  readonly location: string | undefined;
  constructor(operation: PayOperation, status: number, location: string | undefined) {
    super('ERR_PAY_REDIRECT', `${operation}: the platform answered HTTP ${status} (redirect${location ? ` to ${location}` : ''}); not followed`);
    this.operation = operation;
    this.status = status;
    this.location = location;
  }
}

export type StoreErrorCode =
  /** `createOrder` with a `tradeNo` that already exists. */
  | 'ERR_DUPLICATE'
  /** The order (or refund) named does not exist. */
  | 'ERR_NOT_FOUND'
  /** `saveRefund` would take the refunds of an order past its `totalAmt`. */
  | 'ERR_REFUND_EXCEEDS'
  /** The store was closed. */
  | 'ERR_CLOSED'
  /** The backend failed (I/O, lock wait, connection, timeout); see `cause`. */
  | 'ERR_STORE';

/**
 * Every failure a store reports; bad arguments are `InvalidArgumentError`
 * (`ERR_INVALID_ARGUMENT`) instead, and change nothing.
 */
export class StoreError extends DingDangPayError {
  declare readonly code: StoreErrorCode;
  /** True when the same call may succeed later (busy database, lost connection, timeout). */
  readonly retryable: boolean;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? false;
  }
}

/** Every code the partner kit's own errors carry, and the class that carries it. */
export const PARTNER_ERROR_CODES = {
  ERR_REFUSED: RefusedError,
  ERR_DELIVERY_TIMEOUT: DeliveryTimeoutError,
  ERR_REFUND_UNKNOWN_ORDER: RefundError,
  ERR_REFUND_NOT_PAID: RefundError,
  ERR_REFUND_CONFLICT: RefundError,
  ERR_REFUND_MISMATCH: RefundError,
  ERR_REMOTE: PayRemoteError,
  ERR_PAY_REDIRECT: PayRedirectError,
  ERR_DUPLICATE: StoreError,
  ERR_NOT_FOUND: StoreError,
  ERR_REFUND_EXCEEDS: StoreError,
  ERR_CLOSED: StoreError,
  ERR_STORE: StoreError,
} as const;
export type PartnerErrorCode = keyof typeof PARTNER_ERROR_CODES;

/** The `retMsg` a signed FAIL carries for an error: its own for a refusal, a bad signature or message; else "internal error". */
export function retMsgOf(error: unknown): string {
  if (error instanceof RefusedError || error instanceof ValidationError || error instanceof SignatureError) return error.retMsg;
  return 'internal error';
}
