/**
 * The purchase statechart: one XState v5 machine for one purchase on one
 * speaker (SPEC §2 flows A, B, C and §6), laid out as the seed draws it:
 *
 * * `starting` — the platform registers the purchase (pay1/pay2 steps 1–4);
 * * `checkout.screen` — flow A, the screen speaker (pay1): goods shown, the
 *   user orders, the pay page with the QR code, scanned, the result push;
 * * `checkout.screenless` — flow B, the screenless speaker (pay2): goods,
 *   order and payment happen in the DingDang app; the speaker speaks and
 *   waits for the result push;
 * * `resume` — flow C (pay3): paid (or already owned), the platform re-runs
 *   the user's request, the skill's final answer comes back;
 * * the outcomes: `done`, `resumeFailed`, `cancelled`, `timedOut`,
 *   `unresolved`, `failed`.
 *
 * What both flows share is written once on `checkout`: the status watcher,
 * the verified SUCCESS that leads to the resume, "支付好了吗" (also asks the
 * platform), cancel (`checkout.cancelling`) and the watcher's reports; help
 * and repeat are answered everywhere (root). Each flow adds only where a
 * FAIL or PROCESSING push takes it.
 *
 * The machine is pure. Every effect is a named actor (actors.ts; calls to the
 * `PaymentTransport`) or a named action (`emit`ted events the companion turns
 * into speech and screens); the default actors only fail loudly, the
 * companion swaps in real ones with `purchaseMachine.provide`. Every waiting
 * state has a named delay (overridable with `provide({ delays })`). Actor
 * results are assigned inline, typed by `setup({ actors })`.
 *
 * Safety rules encoded here:
 * * `resume.paid` is entered only from a `STATUS` event whose verified update
 *   says `SUCCESS` for this purchase with a fresh `seq` — nothing else says
 *   "paid".
 * * A `STATUS` with a `seq` not above the last applied one, or for another
 *   purchase, is ignored (duplicates, out-of-order pushes).
 * * After `paid` the status watcher is gone (it lives in `checkout`) and no
 *   state after it handles `STATUS`: a late `NOTPAY` changes nothing; SUCCESS
 *   is never undone.
 */
import { and, assign, emit, sendTo, setup, type SnapshotFrom } from 'xstate';
import { DingDangPayError, sumFen, type ChargeDirective, type TradeStatus } from '../protocol/browser.js';
import { unprovidedActors, type WatchCommand, type WatchEvent } from './actors.js';
import type { DeviceMode, DeviceOrder, PlaceOrderResult, ResumeResult } from './port.js';
import type { PromptKey } from './prompts.js';

export type { PlaceOrderInput, PurchaseIdInput, StartInput, WatchCommand, WatchEvent } from './actors.js';

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

/** Events the host (through the companion) and the status watcher send to the machine. */
export type PurchaseEvent =
  | { type: 'CONFIRM' }
  | { type: 'CANCEL' }
  | { type: 'REFRESH' }
  | { type: 'QUERY' }
  | { type: 'HELP' }
  | { type: 'REPEAT' }
  /** "多少钱": the goods and the amount. */
  | { type: 'PRICE' }
  /** "这是什么": the goods and the amount. */
  | { type: 'WHAT' }
  | WatchEvent;

/** What the machine tells its host. */
export type PurchaseEmitted =
  | { type: 'prompt'; key: PromptKey; context: PurchaseContext }
  | { type: 'help'; context: PurchaseContext }
  | { type: 'repeat' }
  /** An answer about the goods on screen ("多少钱", "这是什么"): their name and the amount. */
  | { type: 'answer'; topic: 'price' | 'what'; context: PurchaseContext }
  | { type: 'status'; context: PurchaseContext }
  | { type: 'rejected'; reason: string; detail?: string }
  | { type: 'connection'; state: 'connecting' | 'open' | 'closed' | 'polling' }
  | { type: 'notice'; code: string; message: string };

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

/** "刷新" while the code has more than this left: the speaker says it is still valid (no new code). */
export const STILL_VALID_MS = 30_000;

export function toErrorInfo(error: unknown, step: ErrorInfo['step']): ErrorInfo {
  if (error instanceof DingDangPayError) return { code: error.code, message: error.message, step };
  if (error instanceof Error) return { code: 'ERR_UNKNOWN', message: error.message, step };
  return { code: 'ERR_UNKNOWN', message: String(error), step };
}

function chargeTotal(charge: ChargeDirective): number {
  try {
    return sumFen(charge.payload.chargeInfo.items.map((i) => i.totalFee));
  } catch {
    return 0;
  }
}

const freshUpdate = (context: PurchaseContext, update: { purchaseId: string; seq: number }): boolean =>
  update.purchaseId === context.purchaseId && Number.isSafeInteger(update.seq) && update.seq > context.lastSeq;

export const purchaseMachine = setup({
  types: {
    context: {} as PurchaseContext,
    events: {} as PurchaseEvent,
    input: {} as PurchaseInput,
    emitted: {} as PurchaseEmitted,
  },
  actors: unprovidedActors,
  guards: {
    isScreen: ({ context }) => context.mode === 'screen',
    resumeEnabled: ({ context }) => context.resumeEnabled,
    isAlreadyOwned: (_, params: { result: PlaceOrderResult }) => params.result.kind === 'already-owned',
    isFresh: ({ context, event }) => event.type === 'STATUS' && freshUpdate(context, event.update),
    isSuccess: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'SUCCESS',
    // A payment failure: FAIL for any reason but a cancel. A FAIL that says the user cancelled (`endReason`) is `isCancelledEnd`.
    isFail: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'FAIL' && event.update.endReason !== 'cancelled',
    isCancelledEnd: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'FAIL' && event.update.endReason === 'cancelled',
    isProcessing: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'PROCESSING',
    isNotPay: ({ event }) => event.type === 'STATUS' && event.update.tradeStatus === 'NOTPAY',
    hasOrderInUpdate: ({ event }) => event.type === 'STATUS' && event.update.order !== undefined,
    codeStillValid: ({ context }) => typeof context.order?.expiresAt === 'number' && context.order.expiresAt - Date.now() > STILL_VALID_MS,
  },
  actions: {
    announce: emit(({ context }, params: { key: PromptKey }) => ({ type: 'prompt' as const, key: params.key, context })),
    sayHelp: emit(({ context }) => ({ type: 'help' as const, context })),
    sayAgain: emit({ type: 'repeat' as const }),
    sayStatus: emit(({ context }) => ({ type: 'status' as const, context })),
    queryStatus: sendTo('watch', { type: 'QUERY' } satisfies WatchCommand),
    askStatus: sendTo('watch', { type: 'QUERY', asked: true } satisfies WatchCommand),
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
    markOwned: assign({ alreadyOwned: true }),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1, error: undefined }),
    assignError: assign({
      error: (_, params: { step: ErrorInfo['step']; error: unknown }) => toErrorInfo(params.error, params.step),
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
    PRICE: { actions: emit(({ context }) => ({ type: 'answer' as const, topic: 'price' as const, context })) },
    WHAT: { actions: emit(({ context }) => ({ type: 'answer' as const, topic: 'what' as const, context })) },
  },
  states: {
    // pay1/pay2 steps 1–4: the platform takes the Charge directive.
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
        onDone: [
          { guard: 'isScreen', target: 'checkout.screen', actions: assign({ purchaseId: ({ event }) => event.output.purchaseId }) },
          { target: 'checkout.screenless', actions: assign({ purchaseId: ({ event }) => event.output.purchaseId }) },
        ],
        onError: { target: 'failed', actions: { type: 'assignError', params: ({ event }) => ({ step: 'start', error: event.error }) } },
      },
      after: { START_TIMEOUT: { target: 'failed', actions: { type: 'assignTimeout', params: { step: 'start' } } } },
      on: { CANCEL: 'cancelled' },
    },

    // Both flows: the status watcher and what every status push, cancel and
    // status question does, whichever flow runs. Always entered through a flow.
    checkout: {
      description: 'both flows: status pushes, cancel',
      invoke: {
        id: 'watch',
        src: 'watchStatus',
        input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
      },
      on: {
        STATUS: [
          { guard: and(['isFresh', 'isSuccess']), target: 'resume.paid', actions: ['applyStatus', 'markPaid'] },
          // Cancelled anywhere (the phone's pay page, the DingDang app, another cancel): the purchase ends cancelled, no retry.
          { guard: and(['isFresh', 'isCancelledEnd']), target: '#purchase.cancelled', actions: 'applyStatus' },
          { guard: 'isFresh', actions: 'applyStatus' },
        ],
        // "支付好了吗": the platform is asked; the answer is said once it came (a failed check says so).
        QUERY: { actions: [{ type: 'announce', params: { key: 'checking' } }, 'askStatus'] },
        QUERIED: { actions: 'sayStatus' },
        CANCEL: '.cancelling',
        REJECTED: { actions: 'reportRejected' },
        CONNECTION: { actions: 'reportConnection' },
        QUERY_FAILED: { actions: 'reportQueryFailed' },
      },
      initial: 'screen',
      states: {
        // Flow A, pay1: the screen speaker shows the goods, orders, shows the
        // pay page (QR code), and shows the result push.
        screen: {
          description: 'flow A (pay1): screen speaker',
          initial: 'goods',
          on: {
            STATUS: [
              { guard: and(['isFresh', 'isFail']), target: '.payFailed', actions: 'applyStatus' },
              { guard: and(['isFresh', 'isProcessing']), target: '.paying.confirming', actions: 'applyStatus' },
            ],
          },
          states: {
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
                  {
                    guard: { type: 'isAlreadyOwned', params: ({ event }) => ({ result: event.output }) },
                    target: '#purchase.resume.owned',
                    actions: 'markOwned',
                  },
                  {
                    target: 'paying',
                    actions: assign({ order: ({ context, event }) => (event.output.kind === 'order' ? event.output.order : context.order) }),
                  },
                ],
                onError: {
                  target: 'orderFailed',
                  actions: { type: 'assignError', params: ({ event }) => ({ step: 'order', error: event.error }) },
                },
              },
              after: { ORDER_TIMEOUT: { target: 'orderFailed', actions: { type: 'assignTimeout', params: { step: 'order' } } } },
            },
            orderFailed: {
              entry: { type: 'announce', params: { key: 'orderFailed' } },
              on: {
                CONFIRM: { target: 'ordering', actions: 'countAttempt' },
                REFRESH: { target: 'ordering', actions: 'countAttempt' },
              },
              after: { OFFER_WAIT: '#purchase.timedOut' },
            },
            paying: {
              description: 'the pay page',
              initial: 'awaitingScan',
              states: {
                awaitingScan: {
                  entry: { type: 'announce', params: { key: 'pay' } },
                  on: {
                    // Scanned (pay1 step 13). The same push in any other state of the flow is handled on `screen`.
                    STATUS: { guard: and(['isFresh', 'isProcessing']), target: 'confirming', actions: 'applyStatus' },
                    REFRESH: [
                      // The code on screen still works: say so and for how long, instead of a refresh that changes nothing visible.
                      { guard: 'codeStillValid', actions: { type: 'announce', params: { key: 'stillValid' } } },
                      { target: '#purchase.checkout.screen.refreshing', actions: 'countAttempt' },
                    ],
                  },
                  after: { PAY_WINDOW: '#purchase.checkout.screen.expired' },
                },
                confirming: {
                  entry: { type: 'announce', params: { key: 'confirming' } },
                  on: {
                    STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'awaitingScan', actions: 'applyStatus' },
                  },
                  after: { CONFIRM_TIMEOUT: '#purchase.checkout.screen.verifying' },
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
                onDone: { target: 'paying', actions: assign({ order: ({ event }) => event.output, failReason: undefined }) },
                onError: {
                  target: 'orderFailed',
                  actions: { type: 'assignError', params: ({ event }) => ({ step: 'refresh', error: event.error }) },
                },
              },
              after: {
                REFRESH_TIMEOUT: { target: 'orderFailed', actions: { type: 'assignTimeout', params: { step: 'refresh' } } },
              },
            },
            payFailed: {
              entry: { type: 'announce', params: { key: 'payFailed' } },
              on: {
                CONFIRM: { target: 'ordering', actions: 'countAttempt' },
                REFRESH: { target: 'ordering', actions: 'countAttempt' },
              },
              after: { OFFER_WAIT: '#purchase.timedOut' },
            },
            verifying: {
              entry: [{ type: 'announce', params: { key: 'verifying' } }, 'queryStatus'],
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'paying', actions: 'applyStatus' },
              },
              after: { VERIFY_TIMEOUT: '#purchase.unresolved' },
            },
          },
        },

        // Flow B, pay2: goods, order and payment happen in the DingDang app;
        // the screenless speaker says where to look and speaks the result push.
        screenless: {
          description: 'flow B (pay2): in the DingDang app',
          initial: 'pushed',
          on: {
            STATUS: [
              { guard: and(['isFresh', 'isFail']), target: '.payFailed', actions: 'applyStatus' },
              { guard: and(['isFresh', 'isProcessing']), target: '.confirming', actions: 'applyStatus' },
            ],
          },
          states: {
            pushed: {
              entry: { type: 'announce', params: { key: 'app' } },
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay', 'hasOrderInUpdate']), target: 'ordered', actions: 'applyStatus' },
              },
              after: { APP_WAIT: 'verifying' },
            },
            ordered: {
              entry: { type: 'announce', params: { key: 'appOrdered' } },
              on: {
                // Paying in the app (pay2 step 12). The same push in any other state of the flow is handled on `screenless`.
                STATUS: { guard: and(['isFresh', 'isProcessing']), target: 'confirming', actions: 'applyStatus' },
              },
              after: { APP_WAIT: 'verifying' },
            },
            confirming: {
              entry: { type: 'announce', params: { key: 'appConfirming' } },
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'ordered', actions: 'applyStatus' },
              },
              after: { CONFIRM_TIMEOUT: 'verifying' },
            },
            payFailed: {
              entry: { type: 'announce', params: { key: 'payFailed' } },
              on: {
                CONFIRM: { target: 'refreshing', actions: 'countAttempt' },
                REFRESH: { target: 'refreshing', actions: 'countAttempt' },
                STATUS: { guard: and(['isFresh', 'isNotPay', 'hasOrderInUpdate']), target: 'ordered', actions: 'applyStatus' },
              },
              after: { OFFER_WAIT: '#purchase.timedOut' },
            },
            refreshing: {
              entry: { type: 'announce', params: { key: 'refreshing' } },
              invoke: {
                src: 'refreshOrder',
                input: ({ context }) => ({ purchaseId: context.purchaseId ?? '', expectedTotal: context.totalFen }),
                onDone: { target: 'ordered', actions: assign({ order: ({ event }) => event.output, failReason: undefined }) },
                onError: {
                  target: 'orderFailed',
                  actions: { type: 'assignError', params: ({ event }) => ({ step: 'refresh', error: event.error }) },
                },
              },
              after: {
                REFRESH_TIMEOUT: { target: 'orderFailed', actions: { type: 'assignTimeout', params: { step: 'refresh' } } },
              },
            },
            orderFailed: {
              entry: { type: 'announce', params: { key: 'orderFailed' } },
              on: {
                CONFIRM: { target: 'refreshing', actions: 'countAttempt' },
                REFRESH: { target: 'refreshing', actions: 'countAttempt' },
              },
              after: { OFFER_WAIT: '#purchase.timedOut' },
            },
            verifying: {
              entry: [{ type: 'announce', params: { key: 'verifying' } }, 'queryStatus'],
              on: {
                STATUS: { guard: and(['isFresh', 'isNotPay']), target: 'ordered', actions: 'applyStatus' },
              },
              after: { VERIFY_TIMEOUT: '#purchase.unresolved' },
            },
          },
        },

        // The platform answers a cancel with a FAIL push for the order: that
        // is the cancel confirming itself, not a failed payment (the flows'
        // FAIL handling is not above this state). Only a SUCCESS (the user
        // paid before the cancel landed) still counts, through `checkout`.
        cancelling: {
          on: { CANCEL: {} },
          invoke: {
            src: 'cancelPurchase',
            input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
            onDone: '#purchase.cancelled',
            onError: {
              target: '#purchase.cancelled',
              actions: { type: 'assignError', params: ({ event }) => ({ step: 'cancel', error: event.error }) },
            },
          },
          after: { CANCEL_TIMEOUT: '#purchase.cancelled' },
        },
      },
    },

    // Flow C, pay3: paid (or already owned) → the platform re-runs the user's
    // request → the skill's final answer. Always entered at `paid` or `owned`.
    resume: {
      description: "flow C (pay3): the user's request re-run",
      initial: 'paid',
      states: {
        paid: {
          entry: { type: 'announce', params: { key: 'paid' } },
          always: [{ guard: 'resumeEnabled', target: 'resuming' }, { target: '#purchase.done' }],
        },
        owned: {
          entry: { type: 'announce', params: { key: 'owned' } },
          always: [{ guard: 'resumeEnabled', target: 'resuming' }, { target: '#purchase.done' }],
        },
        resuming: {
          invoke: {
            src: 'resumePurchase',
            input: ({ context }) => ({ purchaseId: context.purchaseId ?? '' }),
            onDone: { target: '#purchase.done', actions: assign({ resumeResult: ({ event }) => event.output }) },
            onError: {
              target: '#purchase.resumeFailed',
              actions: { type: 'assignError', params: ({ event }) => ({ step: 'resume', error: event.error }) },
            },
          },
          after: {
            RESUME_TIMEOUT: { target: '#purchase.resumeFailed', actions: { type: 'assignTimeout', params: { step: 'resume' } } },
          },
        },
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
 * The public name of every leaf state, by its path in the machine: what the
 * companion's `state` events, `renderView`, `helpText`, simulate's milestones
 * and the docs call it. These names predate the layout by flow and stay as
 * they were (`app.*` is the screenless flow; `refreshing`, `orderFailed`,
 * `payFailed` and `verifying` are one name in both flows).
 */
export const PUBLIC_STATE_NAMES: Readonly<Record<string, string>> = {
  starting: 'starting',
  'checkout.screen.goods': 'goods',
  'checkout.screen.ordering': 'ordering',
  'checkout.screen.orderFailed': 'orderFailed',
  'checkout.screen.paying.awaitingScan': 'paying.awaitingScan',
  'checkout.screen.paying.confirming': 'paying.confirming',
  'checkout.screen.expired': 'expired',
  'checkout.screen.refreshing': 'refreshing',
  'checkout.screen.payFailed': 'payFailed',
  'checkout.screen.verifying': 'verifying',
  'checkout.screenless.pushed': 'app.pushed',
  'checkout.screenless.ordered': 'app.ordered',
  'checkout.screenless.confirming': 'app.confirming',
  'checkout.screenless.payFailed': 'payFailed',
  'checkout.screenless.refreshing': 'refreshing',
  'checkout.screenless.orderFailed': 'orderFailed',
  'checkout.screenless.verifying': 'verifying',
  'checkout.cancelling': 'cancelling',
  'resume.paid': 'paid',
  'resume.owned': 'owned',
  'resume.resuming': 'resuming',
  done: 'done',
  resumeFailed: 'resumeFailed',
  cancelled: 'cancelled',
  timedOut: 'timedOut',
  unresolved: 'unresolved',
  failed: 'failed',
};

/** The dotted path of the active leaf state: `checkout.screen.paying.awaitingScan`, `done`… */
export function statePath(value: SnapshotFrom<typeof purchaseMachine>['value'] | string): string {
  const parts: string[] = [];
  let v: unknown = value;
  while (v && typeof v === 'object') {
    const [k, inner] = Object.entries(v as Record<string, unknown>)[0] ?? [];
    if (k === undefined) break;
    parts.push(k);
    v = inner;
  }
  if (typeof v === 'string') parts.push(v);
  return parts.join('.');
}

/**
 * The public name of the active leaf state (`PUBLIC_STATE_NAMES`): `goods`,
 * `paying.confirming`, `app.pushed`, `done`… A path the table does not know
 * is returned as it is.
 */
export function stateKey(value: SnapshotFrom<typeof purchaseMachine>['value'] | string): string {
  const path = statePath(value);
  return PUBLIC_STATE_NAMES[path] ?? path;
}
