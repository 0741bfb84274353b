/**
 * Errors of the partner stores. Every failure a store reports is a
 * `StoreError` (a `DingDangPayError`) with a stable `code`; bad arguments are
 * `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`) and change nothing.
 */
import { DingDangPayError } from '../../protocol/index.js';

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

export class StoreError extends DingDangPayError {
  declare readonly code: StoreErrorCode;
  /** True when the same call may succeed later (busy database, lost connection, timeout). */
  readonly retryable: boolean;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? false;
  }
}
