/**
 * The purchase statechart: one XState v5 machine for one purchase on one
 * speaker (SPEC §2 flows A, B, C and §6).
 *
 * The machine is pure. Every effect is a named actor (calls to the
 * `PaymentTransport`, see actors.ts) or a named action (`emit`ted events the
 * companion turns into speech and screens); the defaults here only fail
 * loudly, the companion swaps in real ones with `purchaseMachine.provide`.
 * Every waiting state has a named delay (overridable with `provide({ delays })`).
 *
 * Safety rules encoded here:
 * * `paid` is entered only from a `STATUS` event whose verified update says
 *   `SUCCESS` for this purchase with a fresh `seq` — nothing else says "paid".
 * * A `STATUS` with a `seq` not above the last applied one, or for another
 *   purchase, is ignored (duplicates, out-of-order pushes).
 * * After `paid` the status watcher is gone (it lives in `active`) and no state
 *   after it handles `STATUS`: a late `NOTPAY` changes nothing; SUCCESS is
 *   never undone.
 */
import { and, assign, emit, fromCallback, fromPromise, not, sendTo, setup, type SnapshotFrom } from 'xstate';
import { DingDangPayError, sumFen, type ChargeDirective, type TradeStatus } from '../protocol/browser.js';
import type {
  DeviceMode,
  DeviceOrder,
  PlaceOrderResult,
  ResumeResult,
  StartPurchaseRequest,
  StatusUpdate,
} from './port.js';
import type { PromptKey } from './prompts.js';

export interface PurchaseInput {
  mode: DeviceMode;
  charge: ChargeDirective;
  /** The skill's own speech that came with the Charge directive ("这是付费内容…"). */
  speech?: string;
  /** The user's original request, kept for the resume (flow C). Opaque. */
  originalRequest: unknown;
  /** Set when the platform already assigned the purchase. */
  purchaseId?: string;
  /** Run flow C (resume) after payment. Default true, both modes. */
  resume?: boolean;
}

export interface ErrorInfo {
  code: string;
  message: string;
  /** Which step failed. */
  step: 'start' | 'order' | 'refresh' | 'resume' | 'cancel' | 'query';
}

export interface PurchaseContext {
  mode: DeviceMode;
  charge: ChargeDirective;
  speech: string | undefined;
  originalRequest: unknown;
  /** Sum of the Charge items, fen. */
  totalFen: number;
  purchaseId: string | undefined;
  order: DeviceOrder | undefined;
  /** Highest `seq` applied; -1 before any update. */
  lastSeq: number;
  tradeStatus: TradeStatus | undefined;
  failReason: string | undefined;
  /** True only after a verified SUCCESS update. */
  paid: boolean;
  alreadyOwned: boolean;
  resumeEnabled: boolean;
  resumeResult: ResumeResult | undefined;
  error: ErrorInfo | undefined;
  /** How many fresh codes / retries the user asked for (for display). */
  attempts: number;
}

/** Events the host (through the companion) and the watcher send to the machine. */
export type PurchaseEvent =
  | { type: 'CONFIRM' }
  | { type: 'CANCEL' }
  | { type: 'REFRESH' }
  | { type: 'QUERY' }
  | { type: 'HELP' }
  | { type: 'REPEAT' }
  | { type: 'STATUS'; update: StatusUpdate }
  | { type: 'QUERY_FAILED'; error: { code: string; message: string } }
  | { type: 'REJECTED'; reason: string; detail?: string }
  | { type: 'CONNECTION'; state: 'connecting' | 'open' | 'closed' | 'polling' };

/** What the machine tells its host. */
export type PurchaseEmitted =
  | { type: 'prompt'; key: PromptKey; context: PurchaseContext }
  | { type: 'help'; context: PurchaseContext }
  | { type: 'repeat' }
  | { type: 'status'; context: PurchaseContext }
  | { type: 'rejected'; reason: string; detail?: string }
  | { type: 'connection'; state: 'connecting' | 'open' | 'closed' | 'polling' }
  | { type: 'notice'; code: string; message: string };

/** Commands the machine sends to the status watcher. */
export type WatchCommand = { type: 'QUERY' };

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

/** Default delays in ms. `PAY_WINDOW` follows the order's `expiresAt`. */
export const DEFAULT_DELAYS = {
  /** Registering the purchase with the platform. */
  START_TIMEOUT: 10_000,
  /** Goods shown, waiting for the user to order. */
  ORDER_WAIT: 60_000,
  /** Placing the order (platform → skill backend create order). */
  ORDER_TIMEOUT: 15_000,
  /** Fallback payment window when an order has no usable `expiresAt`. */
  PAY_WINDOW_FALLBACK: 300_000,
  /** Scanned, waiting for the user to confirm on the phone. */
  CONFIRM_TIMEOUT: 120_000,
  /** An offer (retry, fresh code) waiting for the user's answer. */
  OFFER_WAIT: 30_000,
  /** Getting a fresh payment window. */
  REFRESH_TIMEOUT: 15_000,
  /** Screenless: waiting for the user to order and pay in the DingDang app. */
  APP_WAIT: 300_000,
  /** Last status query before giving up without a result. */
  VERIFY_TIMEOUT: 10_000,
  /** Best-effort cancel call. */
  CANCEL_TIMEOUT: 5_000,
  /** Flow C: waiting for the skill's final answer. */
  RESUME_TIMEOUT: 15_000,
};
export type DelayName = keyof typeof DEFAULT_DELAYS | 'PAY_WINDOW';

export function toErrorInfo(error: unknown, step: ErrorInfo['step']): ErrorInfo {
  if (error instanceof DingDangPayError) return { code: error.code, message: error.message, step };
  if (error instanceof Error) return { code: 'ERR_UNKNOWN', message: error.message, step };
  return { code: 'ERR_UNKNOWN', message: String(error), step };
}

const notProvided = (name: string) => async (): Promise<never> => {
  throw new DingDangPayError('ERR_DEVICE_NOT_PROVIDED', `actor ${name} was not provided (use createTransportActors)`);
};

function chargeTotal(charge: ChargeDirective): number {
  try {
    return sumFen(charge.payload.chargeInfo.items.map((i) => i.totalFee));
  } catch {
    return 0;
  }
}

const freshUpdate = (context: PurchaseContext, update: StatusUpdate): boolean =>
  update.purchaseId === context.purchaseId && Number.isSafeInteger(update.seq) && update.seq > context.lastSeq;

export const purchaseMachine = setup({
  types: {
    context: {} as PurchaseContext,
    events: {} as PurchaseEvent,
    input: {} as PurchaseInput,
    emitted: {} as PurchaseEmitted,
  },
  actors: {
    startPurchase: fromPromise<{ purchaseId: string }, StartInput>(notProvided('startPurchase')),
    placeOrder: fromPromise<PlaceOrderResult, PlaceOrderInput>(notProvided('placeOrder')),
    refreshOrder: fromPromise<DeviceOrder, PlaceOrderInput>(notProvided('refreshOrder')),
    cancelPurchase: fromPromise<void, PurchaseIdInput>(notProvided('cancelPurchase')),
    resumePurchase: fromPromise<ResumeResult, PurchaseIdInput>(notProvided('resumePurchase')),
    watchStatus: fromCallback<WatchCommand, PurchaseIdInput>(({ sendBack }) => {
      sendBack({ type: 'QUERY_FAILED', error: { code: 'ERR_DEVICE_NOT_PROVIDED', message: 'actor watchStatus was not provided' } });
    }),
  },
  guards: {
    isScreen: ({ context }) => context.mode === 'screen',
    resumeEnabled: ({ context }) => context.resumeEnabled,
    isAlreadyOwned: ({ event }) =>
      (event as { output?: PlaceOrderResult }).output?.kind === 'already-owned',
    isFresh: ({ context, event }) => event.type === 'STATUS' && freshUpdate(context, event.update),
    isSuccess: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'SUCCESS',
    isFail: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'FAIL',
    isProcessing: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'PROCESSING',
    isNotPay: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'NOTPAY',
    hasOrderInUpdate: ({ event }) => event.type === 'STATUS' && event.update.order !== undefined,
  },
  actions: {
    announce: emit(({ context }, params: { key: PromptKey }) => ({ type: 'prompt' as const, key: params.key, context })),
    sayHelp: emit(({ context }) => ({ type: 'help' as const, context })),
    sayAgain: emit({ type: 'repeat' as const }),
    sayStatus: emit(({ context }) => ({ type: 'status' as const, context })),
    queryStatus: sendTo('watch', { type: 'QUERY' } as WatchCommand),
    reportRejected: emit(({ event }) =>
      event.type === 'REJECTED'
        ? { type: 'rejected' as const, reason: event.reason, ...(event.detail !== undefined ? { detail: event.detail } : {}) }
        : { type: 'rejected' as const, reason: 'unknown' },
    ),
    reportConnection: emit(({ event }) => ({
      type: 'connection' as const,
      state: event.type === 'CONNECTION' ? event.state : ('closed' as const),
    })),
    reportQueryFailed: emit(({ event }) =>
      event.type === 'QUERY_FAILED'
        ? { type: 'notice' as const, code: event.error.code, message: event.error.message }
        : { type: 'notice' as const, code: 'ERR_UNKNOWN', message: 'unknown' },
    ),
    applyStatus: assign(({ context, event }) => {
      if (event.type !== 'STATUS') return {};
      const u = event.update;
      return {
        lastSeq: u.seq,
        tradeStatus: u.tradeStatus,
        order: u.order ?? context.order,
        failReason: u.tradeStatus === 'FAIL' ? u.reason : context.failReason,
      };
    }),
    markPaid: assign({ paid: true }),
    assignPurchaseId: assign({
      purchaseId: ({ event }) => (event as unknown as { output: { purchaseId: string } }).output.purchaseId,
    }),
    assignPlacedOrder: assign(({ context, event }) => {
      const out = (event as unknown as { output: PlaceOrderResult }).output;
      return out.kind === 'order' ? { order: out.order } : { order: context.order };
    }),
    assignRefreshedOrder: assign({
      order: ({ event }) => (event as unknown as { output: DeviceOrder }).output,
      failReason: undefined,
    }),
    markOwned: assign({ alreadyOwned: true }),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1, error: undefined }),
    assignResume: assign({
      resumeResult: ({ event }) => (event as unknown as { output: ResumeResult }).output,
    }),
    assignError: assign({
      error: ({ event }, params: { step: ErrorInfo['step'] }) =>
        toErrorInfo((event as { error?: unknown }).error, params.step),
    }),
    assignTimeout: assign({
      error: (_, params: { step: ErrorInfo['step'] }): ErrorInfo => ({
        code: 'ERR_TIMEOUT',
        message: `${params.step} timed out`,
        step: params.step,
      }),
    }),
  },
  delays: {
    ...DEFAULT_DELAYS,
    PAY_WINDOW: ({ context }) => {
      const at = context.order?.expiresAt;
      if (typeof at !== 'number' || !Number.isFinite(at)) return DEFAULT_DELAYS.PAY_WINDOW_FALLBACK;
      return Math.max(0, at - Date.now());
    },
  },
}).createMachine({
  id: 'purchase',
  context: ({ input }) => ({
    mode: input.mode,
    charge: input.charge,
    speech: input.speech,
    originalRequest: input.originalRequest,
    totalFen: chargeTotal(input.charge),
    purchaseId: input.purchaseId,
    order: undefined,
    lastSeq: -1,
    tradeStatus: undefined,
    failReason: undefined,
    paid: false,
    alreadyOwned: false,
    resumeEnabled: input.resume ?? true,
    resumeResult: undefined,
    error: undefined,
    attempts: 0,
  }),
  initial: 'starting',
  on: {
    HELP: { actions: 'sayHelp' },
    REPEAT: { actions: 'sayAgain' },
    QUERY: { actions: 'sayStatus' },
  },
  states: {
    starting: {
      invoke: {
        src: 'startPurchase',
        input: ({ context }) => ({
          request: {
            mode: context.mode,
            charge: context.charge,
            originalRequest: context.originalRequest,
            ...(context.purchaseId !== undefined ? { purchaseId: context.purchaseId } : {}),
          },
        }),
        onDone: { target: 'active', actions: 'assignPurchaseId' },
        onError: { target: 'failed', actions: { type: 'assignError', params: { step: 'start' } } },
      },
      after: { START_TIMEOUT: { target: 'failed', actions: { type: 'assignTimeout', params: { step: 'start' } } } },
      on: { CANCEL: 'cancelled' },
    },
    active: {
      invoke: {
        id: 'watch',
        src: 'watchStatus',
        input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
      },
      initial: 'route',
      on: {
        STATUS: [
          { guard: and(['isFresh', 'isSuccess']), target: 'paid', actions: ['applyStatus', 'markPaid'] },
          { guard: and(['isFresh', 'isFail']), target: '.payFailed', actions: 'applyStatus' },
          { guard: and(['isFresh', 'isProcessing', 'isScreen']), target: '.paying.confirming', actions: 'applyStatus' },
          { guard: and(['isFresh', 'isProcessing']), target: '.app.confirming', actions: 'applyStatus' },
          { guard: 'isFresh', actions: 'applyStatus' },
        ],
        QUERY: { actions: ['sayStatus', 'queryStatus'] },
        CANCEL: '.cancelling',
        REJECTED: { actions: 'reportRejected' },
        CONNECTION: { actions: 'reportConnection' },
        QUERY_FAILED: { actions: 'reportQueryFailed' },
      },
      states: {
        route: {
          always: [{ guard: 'isScreen', target: 'goods' }, { target: 'app' }],
        },
        goods: {
          entry: { type: 'announce', params: { key: 'goods' } },
          on: { CONFIRM: 'ordering' },
          after: { ORDER_WAIT: '#purchase.timedOut' },
        },
        ordering: {
          entry: { type: 'announce', params: { key: 'ordering' } },
          invoke: {
            src: 'placeOrder',
            input: ({ context }) => ({ purchaseId: context.purchaseId ?? '', expectedTotal: context.totalFen }),
            onDone: [
              { guard: 'isAlreadyOwned', target: '#purchase.owned', actions: 'markOwned' },
              { target: 'paying', actions: 'assignPlacedOrder' },
            ],
            onError: { target: 'orderFailed', actions: { type: 'assignError', params: { step: 'order' } } },
          },
          after: { ORDER_TIMEOUT: { target: 'orderFailed', actions: { type: 'assignTimeout', params: { step: 'order' } } } },
        },
        orderFailed: {
          entry: { type: 'announce', params: { key: 'orderFailed' } },
          on: {
            CONFIRM: [
              { guard: not('isScreen'), target: 'refreshing', actions: 'countAttempt' },
              { target: 'ordering', actions: 'countAttempt' },
            ],
            REFRESH: [
              { guard: not('isScreen'), target: 'refreshing', actions: 'countAttempt' },
              { target: 'ordering', actions: 'countAttempt' },
            ],
          },
          after: { OFFER_WAIT: '#purchase.timedOut' },
        },
        paying: {
          initial: 'awaitingScan',
          states: {
            awaitingScan: {
              entry: { type: 'announce', params: { key: 'pay' } },
              on: { REFRESH: { target: '#purchase.active.refreshing', actions: 'countAttempt' } },
              after: { PAY_WINDOW: '#purchase.active.expired' },
            },
            confirming: {
              entry: { type: 'announce', params: { key: 'confirming' } },
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'awaitingScan', actions: 'applyStatus' },
              },
              after: { CONFIRM_TIMEOUT: '#purchase.active.verifying' },
            },
          },
        },
        expired: {
          entry: { type: 'announce', params: { key: 'expired' } },
          on: {
            REFRESH: { target: 'refreshing', actions: 'countAttempt' },
            CONFIRM: { target: 'refreshing', actions: 'countAttempt' },
          },
          after: { OFFER_WAIT: '#purchase.timedOut' },
        },
        refreshing: {
          entry: { type: 'announce', params: { key: 'refreshing' } },
          invoke: {
            src: 'refreshOrder',
            input: ({ context }) => ({ purchaseId: context.purchaseId ?? '', expectedTotal: context.totalFen }),
            onDone: [
              { guard: 'isScreen', target: 'paying', actions: 'assignRefreshedOrder' },
              { target: 'app.ordered', actions: 'assignRefreshedOrder' },
            ],
            onError: { target: 'orderFailed', actions: { type: 'assignError', params: { step: 'refresh' } } },
          },
          after: {
            REFRESH_TIMEOUT: { target: 'orderFailed', actions: { type: 'assignTimeout', params: { step: 'refresh' } } },
          },
        },
        app: {
          initial: 'pushed',
          states: {
            pushed: {
              entry: { type: 'announce', params: { key: 'app' } },
              on: {
                STATUS: {
                  guard: and(['isFresh', 'isNotPay', 'hasOrderInUpdate']),
                  target: 'ordered',
                  actions: 'applyStatus',
                },
              },
              after: { APP_WAIT: '#purchase.active.verifying' },
            },
            ordered: {
              entry: { type: 'announce', params: { key: 'appOrdered' } },
              after: { APP_WAIT: '#purchase.active.verifying' },
            },
            confirming: {
              entry: { type: 'announce', params: { key: 'appConfirming' } },
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'ordered', actions: 'applyStatus' },
              },
              after: { CONFIRM_TIMEOUT: '#purchase.active.verifying' },
            },
          },
        },
        payFailed: {
          entry: { type: 'announce', params: { key: 'payFailed' } },
          on: {
            CONFIRM: [
              { guard: 'isScreen', target: 'ordering', actions: 'countAttempt' },
              { target: 'refreshing', actions: 'countAttempt' },
            ],
            REFRESH: [
              { guard: 'isScreen', target: 'ordering', actions: 'countAttempt' },
              { target: 'refreshing', actions: 'countAttempt' },
            ],
            STATUS: {
              guard: and(['isFresh', 'isNotPay', 'hasOrderInUpdate', not('isScreen')]),
              target: 'app.ordered',
              actions: 'applyStatus',
            },
          },
          after: { OFFER_WAIT: '#purchase.timedOut' },
        },
        verifying: {
          entry: [{ type: 'announce', params: { key: 'verifying' } }, 'queryStatus'],
          on: {
            STATUS: [
              { guard: and(['isFresh', 'isNotPay', 'isScreen']), target: 'paying', actions: 'applyStatus' },
              { guard: and(['isFresh', 'isNotPay']), target: 'app.ordered', actions: 'applyStatus' },
            ],
          },
          after: { VERIFY_TIMEOUT: '#purchase.unresolved' },
        },
        cancelling: {
          // The platform answers a cancel with a FAIL push for the order: that
          // is the cancel confirming itself, not a failed payment. Only a
          // SUCCESS (the user paid before the cancel landed) still counts.
          on: {
            CANCEL: {},
            STATUS: [
              { guard: and(['isFresh', 'isSuccess']), target: '#purchase.paid', actions: ['applyStatus', 'markPaid'] },
              { guard: 'isFresh', actions: 'applyStatus' },
            ],
          },
          invoke: {
            src: 'cancelPurchase',
            input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
            onDone: '#purchase.cancelled',
            onError: { target: '#purchase.cancelled', actions: { type: 'assignError', params: { step: 'cancel' } } },
          },
          after: { CANCEL_TIMEOUT: '#purchase.cancelled' },
        },
      },
    },
    paid: {
      entry: { type: 'announce', params: { key: 'paid' } },
      always: [{ guard: 'resumeEnabled', target: 'resuming' }, { target: 'done' }],
    },
    owned: {
      entry: { type: 'announce', params: { key: 'owned' } },
      always: [{ guard: 'resumeEnabled', target: 'resuming' }, { target: 'done' }],
    },
    resuming: {
      invoke: {
        src: 'resumePurchase',
        input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
        onDone: { target: 'done', actions: 'assignResume' },
        onError: { target: 'resumeFailed', actions: { type: 'assignError', params: { step: 'resume' } } },
      },
      after: {
        RESUME_TIMEOUT: { target: 'resumeFailed', actions: { type: 'assignTimeout', params: { step: 'resume' } } },
      },
    },
    done: { type: 'final', entry: { type: 'announce', params: { key: 'done' } } },
    resumeFailed: { type: 'final', entry: { type: 'announce', params: { key: 'resumeFailed' } } },
    cancelled: { type: 'final', entry: { type: 'announce', params: { key: 'cancelled' } } },
    timedOut: { type: 'final', entry: { type: 'announce', params: { key: 'timedOut' } } },
    unresolved: { type: 'final', entry: { type: 'announce', params: { key: 'unresolved' } } },
    failed: { type: 'final', entry: { type: 'announce', params: { key: 'failed' } } },
  },
});

export type PurchaseMachine = typeof purchaseMachine;
export type PurchaseSnapshot = SnapshotFrom<typeof purchaseMachine>;

/** Final states of a purchase, as the companion reports them. */
export type PurchaseOutcome = 'done' | 'resumeFailed' | 'cancelled' | 'timedOut' | 'unresolved' | 'failed';
export const FINAL_STATES: readonly PurchaseOutcome[] = ['done', 'resumeFailed', 'cancelled', 'timedOut', 'unresolved', 'failed'];

/**
 * The leaf state as a short dotted key without the `active.` wrapper:
 * `goods`, `paying.confirming`, `app.pushed`, `done`…
 */
export function stateKey(value: SnapshotFrom<typeof purchaseMachine>['value'] | string): string {
  const parts: string[] = [];
  let v: unknown = value;
  while (v && typeof v === 'object') {
    const [k, inner] = Object.entries(v as Record<string, unknown>)[0] ?? [];
    if (k === undefined) break;
    parts.push(k);
    v = inner;
  }
  if (typeof v === 'string') parts.push(v);
  if (parts[0] === 'active' && parts.length > 1) parts.shift();
  return parts.join('.');
}
