/**
 * Typed errors of the sandbox. All extend DingDangPayError (stable `code`).
 */
import { DingDangPayError } from '../protocol/errors.js';

/** The sandbox configuration is unusable. `path` names the offending field (e.g. `skills[0].skillPublicKey`). */
export class SandboxConfigError extends DingDangPayError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_SANDBOX_CONFIG', path ? `config ${path}: ${message}` : `config: ${message}`, options);
    this.path = path;
  }
}

/** Why an order-book operation was refused. Stable, switchable. */
export type OrderBookReason =
  | 'UNKNOWN_ORDER'
  | 'UNKNOWN_REFUND'
  | 'UNKNOWN_PURCHASE'
  | 'UNKNOWN_SKILL'
  | 'DUPLICATE_TRADE_NO'
  | 'NOT_PAID'
  | 'ALREADY_FINAL'
  | 'EXPIRED'
  | 'AMOUNT_MISMATCH'
  | 'REFUND_EXCEEDS_PAID'
  | 'REFUND_CONFLICT'
  | 'ORDER_MISMATCH'
  | 'BAD_STATE';

/** An order, refund or purchase operation the platform refuses; no state changed. */
export class SandboxStateError extends DingDangPayError {
  readonly reason: OrderBookReason;
  constructor(reason: OrderBookReason, message: string) {
    super('ERR_STATE', message);
    this.reason = reason;
  }
}
