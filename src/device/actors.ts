/**
 * The machine's effects as named XState actors (SPEC §6). The machine
 * (machine.ts) is set up with `unprovidedActors`, which only fail loudly;
 * `purchaseMachine.provide({ actors: createTransportActors(transport) })`
 * swaps in the real ones over a `PaymentTransport`.
 *
 * Promise actors pass XState's AbortSignal to the transport, so stopping the
 * machine (or leaving the state) aborts the call. The status watcher is an
 * invoked callback actor: it owns one subscription and any status queries in
 * flight, and its cleanup releases all of them.
 */
import { fromCallback, fromPromise, type CallbackActorLogic, type PromiseActorLogic } from 'xstate';
import { DingDangPayError, TRADE_STATUSES, type TradeStatus } from '../protocol/browser.js';
import { DeviceProtocolError } from './errors.js';
import type { DeviceOrder, PaymentTransport, PlaceOrderResult, ResumeResult, StartPurchaseRequest, StatusUpdate } from './port.js';

export interface StartInput {
  request: StartPurchaseRequest;
}
export interface PurchaseIdInput {
  purchaseId: string;
}
export interface PlaceOrderInput extends PurchaseIdInput {
  /** The goods' total in fen; an order for another amount is refused. */
  expectedTotal: number;
}

/** Commands the machine sends to the status watcher. `asked`: the user asked ("支付好了吗"): `QUERIED` follows the answer. */
export type WatchCommand = { type: 'QUERY'; asked?: boolean };

/** Events the status watcher sends back to the machine. */
export type WatchEvent =
  | { type: 'STATUS'; update: StatusUpdate }
  | { type: 'QUERY_FAILED'; error: { code: string; message: string } }
  | { type: 'REJECTED'; reason: string; detail?: string }
  | { type: 'CONNECTION'; state: 'connecting' | 'open' | 'closed' | 'polling' }
  /** A status query the user asked for was answered (after its STATUS, if the answer was news). */
  | { type: 'QUERIED' };

/** The machine's effects by name, with their inputs and outputs (what `provide({ actors })` takes). */
export type PurchaseActors = {
  startPurchase: PromiseActorLogic<{ purchaseId: string }, StartInput>;
  placeOrder: PromiseActorLogic<PlaceOrderResult, PlaceOrderInput>;
  refreshOrder: PromiseActorLogic<DeviceOrder, PlaceOrderInput>;
  cancelPurchase: PromiseActorLogic<void, PurchaseIdInput>;
  resumePurchase: PromiseActorLogic<ResumeResult, PurchaseIdInput>;
  watchStatus: CallbackActorLogic<WatchCommand, PurchaseIdInput>;
};

const notProvided = (name: string) => async (): Promise<never> => {
  throw new DingDangPayError('ERR_DEVICE_NOT_PROVIDED', `actor ${name} was not provided (use createTransportActors)`);
};

/** The machine's defaults: every effect fails loudly (`ERR_DEVICE_NOT_PROVIDED`) instead of hanging. */
export const unprovidedActors: PurchaseActors = {
  startPurchase: fromPromise<{ purchaseId: string }, StartInput>(notProvided('startPurchase')),
  placeOrder: fromPromise<PlaceOrderResult, PlaceOrderInput>(notProvided('placeOrder')),
  refreshOrder: fromPromise<DeviceOrder, PlaceOrderInput>(notProvided('refreshOrder')),
  cancelPurchase: fromPromise<void, PurchaseIdInput>(notProvided('cancelPurchase')),
  resumePurchase: fromPromise<ResumeResult, PurchaseIdInput>(notProvided('resumePurchase')),
  watchStatus: fromCallback<WatchCommand, PurchaseIdInput>(({ sendBack }) => {
    sendBack({ type: 'QUERY_FAILED', error: { code: 'ERR_DEVICE_NOT_PROVIDED', message: 'actor watchStatus was not provided' } });
  }),
};

function checkOrder(order: unknown, expectedTotal: number): DeviceOrder {
  const o = order as Partial<DeviceOrder> | null;
  if (!o || typeof o !== 'object') throw new DeviceProtocolError('order missing');
  if (typeof o.payUrl !== 'string' || !o.payUrl) throw new DeviceProtocolError('order has no payUrl');
  if (typeof o.transactionId !== 'string' || typeof o.tradeNo !== 'string') throw new DeviceProtocolError('order ids missing');
  if (!Number.isSafeInteger(o.totalAmt)) throw new DeviceProtocolError('order totalAmt is not integer fen');
  if (expectedTotal > 0 && o.totalAmt !== expectedTotal)
    throw new DeviceProtocolError(`order amount ${String(o.totalAmt)} differs from the goods total ${expectedTotal}`);
  return o as DeviceOrder;
}

/** A status update the machine may look at (shape only; signatures are the transport's job). */
export function isStatusUpdate(u: unknown): u is StatusUpdate {
  const s = u as Partial<StatusUpdate> | null;
  return (
    !!s && typeof s === 'object' && typeof s.purchaseId === 'string' && Number.isSafeInteger(s.seq) && TRADE_STATUSES.includes(s.tradeStatus as TradeStatus)
  );
}

export function createTransportActors(transport: PaymentTransport): PurchaseActors {
  return {
    startPurchase: fromPromise<{ purchaseId: string }, StartInput>(async ({ input, signal }) => {
      const r = await transport.startPurchase(input.request, signal);
      if (!r || typeof r.purchaseId !== 'string' || !r.purchaseId) throw new DeviceProtocolError('startPurchase gave no purchaseId');
      return r;
    }),
    placeOrder: fromPromise<PlaceOrderResult, PlaceOrderInput>(async ({ input, signal }) => {
      const r = await transport.placeOrder(input.purchaseId, signal);
      if (r?.kind === 'already-owned') return r;
      if (r?.kind !== 'order') throw new DeviceProtocolError('placeOrder gave an unknown result');
      return { kind: 'order', order: checkOrder(r.order, input.expectedTotal) };
    }),
    refreshOrder: fromPromise<DeviceOrder, PlaceOrderInput>(async ({ input, signal }) =>
      checkOrder(await transport.refreshOrder(input.purchaseId, signal), input.expectedTotal),
    ),
    cancelPurchase: fromPromise<void, PurchaseIdInput>(async ({ input, signal }) => {
      await transport.cancel(input.purchaseId, signal);
    }),
    resumePurchase: fromPromise<ResumeResult, PurchaseIdInput>(async ({ input, signal }) => {
      const r = await transport.resume(input.purchaseId, signal);
      return { ...r, directives: Array.isArray(r?.directives) ? r.directives : [] };
    }),
    watchStatus: fromCallback<WatchCommand, PurchaseIdInput>(({ input, sendBack, receive }) => {
      let closed = false;
      const inFlight = new Set<AbortController>();
      const send = (e: WatchEvent) => {
        if (!closed) sendBack(e);
      };
      const deliver = (u: unknown) => {
        if (isStatusUpdate(u)) send({ type: 'STATUS', update: u });
        else send({ type: 'REJECTED', reason: 'malformed', detail: 'status update of unknown shape' });
      };
      const unsubscribe = transport.subscribe(input.purchaseId, {
        onUpdate: deliver,
        onRejected: (info) => send({ type: 'REJECTED', reason: info.reason, ...(info.detail !== undefined ? { detail: info.detail } : {}) }),
        onConnection: (state) => send({ type: 'CONNECTION', state }),
      });
      receive((cmd) => {
        if (cmd.type !== 'QUERY' || closed) return;
        const ac = new AbortController();
        inFlight.add(ac);
        transport
          .queryStatus(input.purchaseId, ac.signal)
          .then(
            (u) => {
              deliver(u);
              if (cmd.asked) send({ type: 'QUERIED' });
            },
            (err: unknown) => {
              const e = err instanceof DingDangPayError ? err : undefined;
              send({
                type: 'QUERY_FAILED',
                error: { code: e?.code ?? 'ERR_UNKNOWN', message: err instanceof Error ? err.message : String(err) },
              });
            },
          )
          .finally(() => inFlight.delete(ac));
      });
      return () => {
        closed = true;
        for (const ac of inFlight) ac.abort();
        inFlight.clear();
        unsubscribe();
      };
    }),
  };
}

export type TransportActors = PurchaseActors;
