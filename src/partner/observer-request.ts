/**
 * The request event of the pipeline (make-handler.ts): the interface, the
 * outcome, a bounded refusal reason and the verified message's ids. Internal
 * to the kit; our own extension (observer.ts).
 */
import { SignatureError, ValidationError, type MessageKind } from '../protocol/index.js';
import { RefusedError } from './errors.js';
import { emit, type PartnerIds, type PartnerInterface, type PartnerObserver, type RequestEvent } from './observer.js';

/** What the pipeline answered (a `PartnerReply`). */
type Reply = { retCode: string; retMsg?: string; tradeNo?: string };

const INTERFACES: Partial<Record<MessageKind, PartnerInterface>> = {
  createOrderRequest: 'createOrder',
  deliverNotifyRequest: 'deliver',
  refundNotifyRequest: 'refundNotify',
};

/** Refusals that are the backend's own failure, not the request's. */
const BACKEND_FAILURES = new Set(['internal error', 'delivery failed', 'delivery timed out', 'could not record delivery']);

/** A short label for why a request was answered FAIL (bounded: fixed strings, or a retMsg of ≤ 32 characters). */
export function refusalReason(error: unknown, retMsg: string): string {
  if (error instanceof SignatureError) return error.reason === 'replay' ? 'replay' : `signature:${error.reason}`;
  if (error instanceof ValidationError) return 'validation';
  if (error === undefined || error instanceof RefusedError) return retMsg;
  return 'internal';
}

function idsOf(message: unknown, reply: Reply | undefined): PartnerIds {
  const m = (message ?? {}) as Record<string, unknown>;
  const ids: PartnerIds = {};
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : undefined);
  const skillId = str(m.skillId);
  const tradeNo = str(m.tradeNo) ?? str(reply?.tradeNo);
  const transactionId = str(m.transactionId);
  const refundTradeNo = str(m.refundTradeNo);
  if (skillId !== undefined) ids.skillId = skillId;
  if (tradeNo !== undefined) ids.tradeNo = tradeNo;
  if (transactionId !== undefined) ids.transactionId = transactionId;
  if (refundTradeNo !== undefined) ids.refundTradeNo = refundTradeNo;
  return ids;
}

/**
 * Tell the observer how a request ended. `message` is the verified message
 * (undefined when verification refused it: no ids of a forged request).
 */
export function observeRequest(
  observer: PartnerObserver | undefined,
  kind: MessageKind,
  startedAt: number,
  message: unknown,
  reply: Reply,
  error?: unknown,
): void {
  if (!observer) return;
  const iface = INTERFACES[kind];
  if (!iface) return;
  const fail = reply.retCode !== 'SUCCESS';
  const retMsg = typeof reply.retMsg === 'string' ? reply.retMsg : undefined;
  const event: RequestEvent = {
    type: 'request',
    interface: iface,
    outcome: !fail ? 'success' : BACKEND_FAILURES.has(retMsg ?? '') || (error !== undefined && refusalReason(error, '') === 'internal') ? 'error' : 'refused',
    retCode: fail ? 'FAIL' : 'SUCCESS',
    ...(retMsg !== undefined ? { retMsg } : {}),
    ...(fail ? { reason: refusalReason(error, retMsg ?? 'FAIL') } : {}),
    ...idsOf(message, reply),
    durationMs: Math.max(0, performance.now() - startedAt),
  };
  emit(observer, event);
}
