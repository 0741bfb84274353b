/**
 * Refunds that survive crashes and retries: the refund is recorded in the
 * store (unique `refundTradeNo`, bounded by the order total) BEFORE the
 * platform is asked, so a retry — after a timeout, or after a restart —
 * reuses the same `refundTradeNo` and can never refund twice.
 *
 *   store.saveRefund(PROCESSING)  →  pay.refund(same refundTradeNo)  →  store.updateRefund
 */
import { InvalidArgumentError, isOrderNo, randomNonce, type Clock, type Fen, type OrderDetail } from '../protocol/index.js';
import { PayRemoteError, RefundError } from './errors.js';
import { codeOf, emit, type PartnerObserver, type RefundEvent } from './observer.js';
import type { PayClient, RefundQueryResult } from './pay-client.js';
import type { PartnerHandlers } from './handlers.js';
import type { PartnerOrder, PartnerStore, Refund } from './store.js';

export interface RequestRefundInput {
  tradeNo: string;
  refundAmt: Fen;
  /** Reuse it to retry; generated (and returned) when omitted. */
  refundTradeNo?: string;
  refundDesc?: string;
  /** Default: no detail lines. */
  refundDetails?: OrderDetail[];
}

export interface RefundDeps {
  store: PartnerStore;
  pay: PayClient;
  now?: Clock;
  /**
   * The backend's handlers: when the platform's refund query settles the
   * refund here (a FAIL answer to a refund it did accept), the answer is
   * applied through `handlers.refundFromQuery` — exactly a refund result
   * notification's effect, `revokeOnRefund` of the handlers included.
   */
  handlers?: Pick<PartnerHandlers, 'refundFromQuery'>;
  /**
   * Without `handlers`: whether a refund the query reports SUCCESS revokes
   * what the order granted (as `PartnerOptions.revokeOnRefund`). Default true.
   */
  revokeOnRefund?: boolean | ((ctx: { order: PartnerOrder; refund: { refundTradeNo: string; refundAmt: number } }) => boolean);
  /** Told about the refund's steps (observer.ts; our own extension): requested, final, failed. */
  observer?: PartnerObserver;
}

/**
 * Refund (part of) a paid order. Resolves with the stored refund (status
 * `PROCESSING` until the platform's refund result notification or a
 * `refundQuery` says otherwise). Errors: `RefundError` (unknown / unpaid
 * order, `refundTradeNo` reused for another refund), `StoreError`
 * `ERR_REFUND_EXCEEDS` (more than what is left of the order), the pay
 * client's errors. After a `TimeoutError` / `TransportError` the refund stays
 * `PROCESSING`: call again with the same `refundTradeNo`.
 */
export async function requestRefund(deps: RefundDeps, input: RequestRefundInput): Promise<Refund> {
  if (!input || !isOrderNo(input.tradeNo)) throw new InvalidArgumentError('tradeNo must be 1–32 characters of [0-9A-Za-z]');
  if (!Number.isSafeInteger(input.refundAmt) || input.refundAmt < 1) throw new InvalidArgumentError('refundAmt must be a positive integer number of fen');
  const refundTradeNo = input.refundTradeNo ?? randomNonce(32);
  if (!isOrderNo(refundTradeNo)) throw new InvalidArgumentError('refundTradeNo must be 1–32 characters of [0-9A-Za-z]');
  const now = deps.now ?? (() => Date.now());

  const order = await deps.store.getOrder(input.tradeNo);
  if (!order) throw new RefundError('ERR_REFUND_UNKNOWN_ORDER', `no order ${input.tradeNo}`);
  if (order.transactionId === null) throw new RefundError('ERR_REFUND_NOT_PAID', `order ${input.tradeNo} has no payment (no delivery notification yet)`);
  if (input.refundAmt > order.totalAmt) throw new InvalidArgumentError(`refundAmt ${input.refundAmt} exceeds the order total ${order.totalAmt}`);

  const existing = await deps.store.getRefund(refundTradeNo);
  if (existing && (existing.tradeNo !== input.tradeNo || existing.refundAmt !== input.refundAmt))
    throw new RefundError('ERR_REFUND_CONFLICT', `refundTradeNo ${refundTradeNo} already names another refund`);
  const tell = (outcome: RefundEvent['outcome'], refund: Pick<Refund, 'status'>, reason?: string) =>
    emit(deps.observer, {
      type: 'refund',
      source: 'request',
      outcome,
      refundTradeNo,
      tradeNo: order.tradeNo,
      refundAmt: input.refundAmt,
      status: refund.status,
      ...(reason !== undefined ? { reason } : {}),
    });
  if (existing && existing.status !== 'PROCESSING') return (tell('duplicate', existing), existing);

  // Recorded first: the bound is enforced by the store, and a retry finds it.
  const saved =
    existing ??
    (await deps.store.saveRefund({
      refundTradeNo,
      tradeNo: order.tradeNo,
      refundAmt: input.refundAmt,
      status: 'PROCESSING',
      refundTransactionId: null,
      createdAt: now(),
    }));
  // A concurrent call with the same refundTradeNo may have saved another refund first: never send a conflicting one.
  if (saved.tradeNo !== input.tradeNo || saved.refundAmt !== input.refundAmt)
    throw new RefundError('ERR_REFUND_CONFLICT', `refundTradeNo ${refundTradeNo} already names another refund`);
  if (saved.status !== 'PROCESSING') return (tell('duplicate', saved), saved);

  try {
    const reply = await deps.pay.refund({
      transactionId: order.transactionId,
      tradeNo: order.tradeNo,
      refundTradeNo,
      totalAmt: order.totalAmt,
      refundAmt: input.refundAmt,
      ...(input.refundDesc !== undefined ? { refundDesc: input.refundDesc } : {}),
      refundDetails: input.refundDetails ?? [],
    });
    const sent = (await deps.store.updateRefund(refundTradeNo, { refundTransactionId: reply.refundTransactionId })) ?? saved;
    tell(sent.status === 'PROCESSING' ? 'requested' : 'final', sent);
    return sent;
  } catch (e) {
    // A refusal frees the amount again only once the platform says it knows no such refund (a FAIL
    // to a repeated request may hide one it did accept); anything else stays PROCESSING for a retry.
    if (e instanceof PayRemoteError && (e.reply as { retCode?: string } | undefined)?.retCode === 'FAIL') {
      const known = await deps.pay.refundQuery({ refundTradeNo }).then(
        (q) => q,
        (qe: unknown) => (qe instanceof PayRemoteError && (qe.reply as { retCode?: string } | undefined)?.retCode === 'FAIL' ? null : undefined),
      );
      if (known === null) {
        const failed = await deps.store.updateRefund(refundTradeNo, { status: 'FAIL' }).catch(() => undefined);
        if (failed) {
          tell('final', failed, codeOf(e));
          throw e;
        }
      } else if (known && known.refundAmt === input.refundAmt) {
        const found = await settleFromQuery(deps, order, known, saved);
        tell(found.status === 'PROCESSING' ? 'requested' : 'final', found);
        return found;
      }
    }
    tell('failed', { status: 'PROCESSING' }, codeOf(e));
    throw e;
  }
}

/** The refund as the platform's refund query has it, with a notification's effect (the status; SUCCESS revokes). */
async function settleFromQuery(deps: RefundDeps, order: PartnerOrder, q: RefundQueryResult, saved: Refund): Promise<Refund> {
  if (deps.handlers) {
    await deps.handlers.refundFromQuery(q);
    return (await deps.store.getRefund(saved.refundTradeNo)) ?? saved;
  }
  const r =
    (await deps.store.updateRefund(saved.refundTradeNo, {
      status: q.refundStatus,
      refundTransactionId: q.refundTransactionId,
    })) ?? saved;
  const rule = deps.revokeOnRefund ?? true;
  if (
    r.status === 'SUCCESS' &&
    (rule === true || (typeof rule === 'function' && rule({ order, refund: { refundTradeNo: r.refundTradeNo, refundAmt: r.refundAmt } })))
  )
    await deps.store.revokeEntitlements(order.tradeNo);
  return r;
}
