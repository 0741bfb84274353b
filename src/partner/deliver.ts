/**
 * 2 通知发货: exactly-once delivery although notifications repeat, arrive
 * concurrently, arrive in several backend processes, and arrive again after
 * a failure.
 *
 * The store decides, never an in-memory lock:
 *   claimDelivery (atomic, with a lease) → deliver hook → completeDelivery.
 *
 * * `already-delivered` → SUCCESS, the hook is not called.
 * * `in-progress` (another caller holds a live lease) → wait briefly for it to
 *   finish (SUCCESS), else FAIL so the platform retries later.
 * * the hook throws → releaseDelivery, FAIL: the platform's retry claims again.
 * * the record fails (completeDelivery throws, or the process dies after the
 *   hook) → FAIL / no answer; the lease expires and the retry runs the hook
 *   again with the same idempotency key (`tradeNo`). So the hook is
 *   at-least-once with a stable key and the record is exactly-once: a hook
 *   that honours its key delivers exactly once.
 */
import type { AckReply, DeliverNotifyRequest } from '../protocol/index.js';
import { sleep } from '../protocol/sleep.js';
import { DeliveryTimeoutError, RefusedError, retMsgOf } from './errors.js';
import type { DeliverContext } from './hooks.js';
import { PendingReply } from './make-handler.js';
import { emit, type DeliveryEvent, type DeliverySource } from './observer.js';
import type { PartnerContext } from './partner-context.js';
import type { CheckedDeliveryClaim, PartnerOrder } from './store.js';
import { USER_TOKEN_MAX } from './stores/common.js';

/**
 * What a paid order's delivery rests on, whatever told of the payment: a
 * signed delivery notification, or a verified order-query answer.
 */
export type DeliveryFacts = Pick<DeliverNotifyRequest, 'skillId' | 'userToken' | 'transactionId' | 'tradeNo' | 'totalAmt'>;

function checkAgainstOrder(order: PartnerOrder, n: DeliveryFacts): void {
  if (order.skillId !== n.skillId) throw new RefusedError('skillId mismatch');
  if (order.userToken !== n.userToken) throw new RefusedError('userToken mismatch');
  if (order.totalAmt !== n.totalAmt) throw new RefusedError('totalAmt mismatch');
  if (order.transactionId !== null && order.transactionId !== n.transactionId) throw new RefusedError('transactionId mismatch');
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

/** The expectation can only match a stored order when it is storable (else the old read-and-check path answers). */
const storable = (n: DeliveryFacts): boolean => n.userToken.length <= USER_TOKEN_MAX && !n.userToken.includes('\u0000');

/**
 * Run the hook with a time limit. When the limit passes first, the reply is
 * FAIL at once, the hook's `signal` is aborted, and the claim is kept: if the
 * hook still finishes, its success is recorded then (its failure releases the
 * claim), so a slow hook does not cause a second run once the platform retries.
 *
 * Cheap for a synchronous hook: the AbortController is made only when the hook
 * reads `signal` (or the limit passes), the timer only when the hook returns a
 * promise, and then it is cleared as soon as the promise settles.
 */
function runHook(ctx: PartnerContext, order: PartnerOrder, transactionId: string, attempt: number): void | Promise<void> {
  let ac: AbortController | undefined;
  const dc: DeliverContext = {
    order,
    transactionId,
    idempotencyKey: order.tradeNo,
    attempt,
    get signal() {
      return (ac ??= new AbortController()).signal;
    },
  };
  const result = ctx.deliver(dc);
  if (!isThenable(result)) return;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      (ac ??= new AbortController()).abort(new Error('deliver hook timed out'));
      const tradeNo = order.tradeNo;
      Promise.resolve(result)
        .then(
          () => ctx.store.completeDelivery(tradeNo, ctx.now()),
          () => ctx.store.releaseDelivery(tradeNo, attempt),
        )
        .catch(() => undefined);
      reject(new DeliveryTimeoutError(ctx.deliverTimeoutMs));
    }, ctx.deliverTimeoutMs);
    result.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Deliver a paid order exactly once (the facts already verified and
 * validated). Resolves once the answer is final, except for the last step:
 * a SUCCESS that waits for the delivery record to be durable is a
 * `PendingReply` (see make-handler.ts).
 */
export async function deliverOnce(ctx: PartnerContext, n: DeliveryFacts, source: DeliverySource = 'notification'): Promise<AckReply | PendingReply<AckReply>> {
  const observer = ctx.observer;
  if (!observer) return deliverChecked(ctx, n);
  // Told how it ended (observer.ts): a SUCCESS without a claim is an exactly-once hit, a recorded claim a delivery.
  const claimed: Claimed = {};
  const event = (outcome: DeliveryEvent['outcome'], extra: Partial<DeliveryEvent> = {}): DeliveryEvent => ({
    type: 'delivery',
    source,
    outcome,
    skillId: n.skillId,
    tradeNo: n.tradeNo,
    transactionId: n.transactionId,
    ...(claimed.attempt !== undefined ? { attempt: claimed.attempt } : {}),
    ...extra,
  });
  try {
    const out = await deliverChecked(ctx, n, claimed);
    if (!(out instanceof PendingReply)) emit(observer, event('duplicate'));
    else
      out.ready.then(
        () => emit(observer, event('delivered', { durationMs: Math.max(0, performance.now() - (claimed.at ?? 0)) })),
        (e: unknown) => emit(observer, event('failed', { reason: retMsgOf(e) })),
      );
    return out;
  } catch (e) {
    emit(observer, event('failed', { reason: retMsgOf(e) }));
    throw e;
  }
}

/** Set by `deliverChecked` when it claimed the order. */
interface Claimed {
  attempt?: number;
  at?: number;
}

async function deliverChecked(ctx: PartnerContext, n: DeliveryFacts, claimed?: Claimed): Promise<AckReply | PendingReply<AckReply>> {
  const store = ctx.store;
  let claim: CheckedDeliveryClaim;
  if (store.claimDeliveryChecked && storable(n)) {
    // One round trip: the store checks the order against the notification and claims it, or changes nothing.
    const expect = { skillId: n.skillId, userToken: n.userToken, totalAmt: n.totalAmt };
    claim = await store.claimDeliveryChecked(n.tradeNo, n.transactionId, expect, ctx.leaseMs, ctx.now());
  } else {
    const order = await store.getOrder(n.tradeNo);
    if (!order) throw new RefusedError('unknown tradeNo');
    checkAgainstOrder(order, n);
    if (order.status === 'DELIVERED') return { retCode: 'SUCCESS' };
    claim = await store.claimDelivery(n.tradeNo, n.transactionId, ctx.leaseMs, ctx.now());
  }
  switch (claim.kind) {
    case 'unknown-order':
      throw new RefusedError('unknown tradeNo');
    case 'mismatch':
      checkAgainstOrder(claim.order, n);
      throw new RefusedError('order mismatch');
    case 'already-delivered':
      checkAgainstOrder(claim.order, n);
      return { retCode: 'SUCCESS' };
    case 'in-progress': {
      checkAgainstOrder(claim.order, n);
      // Another request (here or in another process) is delivering: give it a moment.
      const until = Date.now() + ctx.inProgressWaitMs;
      while (Date.now() < until) {
        await sleep(Math.min(50, ctx.inProgressWaitMs));
        const o = await store.getOrder(n.tradeNo);
        if (o?.status === 'DELIVERED') return { retCode: 'SUCCESS' };
      }
      throw new RefusedError('delivery in progress');
    }
    case 'claimed': {
      if (claimed) [claimed.attempt, claimed.at] = [claim.attempt, performance.now()];
      try {
        checkAgainstOrder(claim.order, n);
        const running = runHook(ctx, claim.order, n.transactionId, claim.attempt);
        if (running) await running;
      } catch (e) {
        if (e instanceof DeliveryTimeoutError) throw e; // the hook may still run: keep the lease
        await store.releaseDelivery(n.tradeNo, claim.attempt).catch(() => undefined);
        if (e instanceof RefusedError) throw e;
        throw new RefusedError('delivery failed', `deliver hook threw: ${(e as Error)?.message ?? String(e)}`);
      }
      // If recording fails, keep the claim: the lease expires and a retry re-runs the (idempotent) hook.
      const recorded = store.completeDelivery(n.tradeNo, ctx.now()).then(
        () => undefined,
        (e: unknown) => {
          throw new RefusedError('could not record delivery', `completeDelivery failed: ${(e as Error)?.message ?? String(e)}`);
        },
      );
      return new PendingReply<AckReply>({ retCode: 'SUCCESS' }, recorded);
    }
  }
}
