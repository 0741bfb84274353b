/**
 * The device companion: the facade a speaker's skill runtime embeds.
 *
 *   const companion = new DeviceCompanion({ transport, mode: 'screen' });
 *   companion.on('render', draw).on('speak', tts).on('resume', play);
 *   const result = await companion.purchase({ charge, speech, originalRequest });
 *   companion.say('确认购买'); companion.touch('cancel'); companion.stop();
 *
 * One purchase at a time; several in a row on one companion. Every purchase
 * runs one `purchaseMachine` actor; when it ends, its subscriptions, timers
 * and transport subscription are gone (see `resources()`).
 */
import { EventEmitter } from 'eventemitter3';
import { createActor, type Actor } from 'xstate';
import { validateChargeDirective } from '../protocol/validate-charge.js';
import { createTransportActors } from './actors.js';
import { CompanionError } from './errors.js';
import { findChargeDirective } from './find-charge-directive.js';
import { eventForIntent, intentFromName, matchIntent, type FlowIntent, type IntentMatch } from './intents.js';
import {
  DEFAULT_DELAYS,
  purchaseMachine,
  stateKey,
  type DelayName,
  type ErrorInfo,
  type PurchaseContext,
  type PurchaseEmitted,
  type PurchaseOutcome,
} from './machine.js';
import type { ConnectionState, DeviceMode, PaymentTransport, ResumeResult } from './port.js';
import { answerText, helpText, prompt, statusText, type Locale, type PromptKey } from './prompts.js';
import { DevicePlayer } from './player.js';
import { countdown, renderView, type Countdown, type ScreenView, type TouchTarget } from './render.js';
import { createHttpTransport, type HttpTransportOptions } from './transport/http-transport.js';

export { CompanionError, type CompanionErrorCode } from './errors.js';

export interface CompanionOptions extends Partial<HttpTransportOptions> {
  /** A ready transport; otherwise one is made with `createHttpTransport` from `platformUrl`, `tskPublicKey`, `deviceId`. */
  transport?: PaymentTransport;
  /** Default mode of purchases. Default 'screen'. */
  mode?: DeviceMode;
  locale?: Locale;
  /** Flow C after payment (both modes). Default true. */
  resume?: boolean;
  /** Override any machine delay (ms). */
  delays?: Partial<Record<DelayName, number>>;
  /** Countdown events on the pay page every this many ms; 0 turns them off. Default 1000. */
  countdownMs?: number;
  /** Close the transport on `stop()`. Default true. */
  closeTransportOnStop?: boolean;
}

export interface PurchaseRequest {
  /** The skill's `Connections.SendRequest` / `Charge` directive. */
  charge: unknown;
  /** The skill's speech that came with it. */
  speech?: string;
  /** The user's original request, handed back with the resume. */
  originalRequest: unknown;
  purchaseId?: string;
  mode?: DeviceMode;
  resume?: boolean;
}

export interface PurchaseResult {
  outcome: PurchaseOutcome | 'stopped';
  purchaseId: string | undefined;
  /** True only if a verified update said SUCCESS. */
  paid: boolean;
  alreadyOwned: boolean;
  resume: ResumeResult | undefined;
  error: ErrorInfo | undefined;
}

export interface SpeakEvent {
  text: string;
  /** Prompt key, or 'help' | 'status' | 'repeat', or 'price' | 'what' (an answer about the goods). */
  key: PromptKey | 'help' | 'status' | 'repeat' | 'price' | 'what';
  state: string;
  locale: Locale;
}

export interface StateEvent {
  state: string;
  previous: string | undefined;
  purchaseId: string | undefined;
  tradeStatus: PurchaseContext['tradeStatus'];
}

export interface ResumeEvent {
  purchaseId: string | undefined;
  /** The skill's final answer: speech and directives (e.g. `AudioPlayer.Play`). */
  result: ResumeResult;
  directives: unknown[];
  originalRequest: unknown;
  alreadyOwned: boolean;
}

export interface CompanionEvents {
  state: (e: StateEvent) => void;
  render: (view: ScreenView) => void;
  speak: (e: SpeakEvent) => void;
  resume: (e: ResumeEvent) => void;
  countdown: (c: Countdown) => void;
  error: (e: CompanionError) => void;
  rejected: (info: { reason: string; detail?: string }) => void;
  connection: (state: ConnectionState) => void;
  notice: (info: { code: string; message: string }) => void;
  end: (result: PurchaseResult) => void;
}

type PurchaseActor = Actor<typeof purchaseMachine>;

interface Running {
  actor: PurchaseActor;
  originalRequest: unknown;
  key: string | undefined;
  orderRef: unknown;
  errorRef: unknown;
  disposers: Array<() => void>;
  tick: ReturnType<typeof setInterval> | undefined;
  settle: (r: PurchaseResult) => void;
  finished: boolean;
}

export class DeviceCompanion extends EventEmitter<CompanionEvents> {
  readonly transport: PaymentTransport;
  readonly locale: Locale;
  readonly mode: DeviceMode;
  /** The speaker's player: works through a playlist and sells its `pay: true` items with this companion's purchases. */
  readonly player: DevicePlayer;
  private readonly options: CompanionOptions;
  private readonly machine: typeof purchaseMachine;
  private running: Running | undefined;
  private stopped = false;
  private lastSpoken: SpeakEvent | undefined;
  private lastKey: string | undefined;

  constructor(options: CompanionOptions = {}) {
    super();
    if (!options || typeof options !== 'object') throw new CompanionError('ERR_DEVICE_CONFIG', 'options must be an object');
    const mode = options.mode ?? 'screen';
    if (mode !== 'screen' && mode !== 'screenless') throw new CompanionError('ERR_DEVICE_CONFIG', 'mode must be "screen" or "screenless"');
    const locale = options.locale ?? 'zh-CN';
    if (locale !== 'zh-CN' && locale !== 'en-US') throw new CompanionError('ERR_DEVICE_CONFIG', 'locale must be "zh-CN" or "en-US"');
    const delays: Record<string, number> = {};
    for (const [name, ms] of Object.entries(options.delays ?? {})) {
      if (!(name in DEFAULT_DELAYS) && name !== 'PAY_WINDOW') throw new CompanionError('ERR_DEVICE_CONFIG', `unknown delay ${name}`);
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new CompanionError('ERR_DEVICE_CONFIG', `delay ${name} must be a non-negative number of ms`);
      delays[name] = ms;
    }
    let transport = options.transport;
    if (!transport) {
      const { platformUrl, tskPublicKey, deviceId } = options;
      if (!platformUrl || !tskPublicKey || !deviceId)
        throw new CompanionError('ERR_DEVICE_CONFIG', 'pass a transport, or platformUrl + tskPublicKey + deviceId');
      transport = createHttpTransport({ ...(options as HttpTransportOptions), platformUrl, tskPublicKey, deviceId });
    }
    this.transport = transport;
    this.locale = locale;
    this.mode = mode;
    this.options = options;
    this.machine = purchaseMachine.provide({ actors: createTransportActors(transport), delays });
    this.player = new DevicePlayer(this);
  }

  /** True while a purchase runs. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Short state key of the running purchase (`goods`, `paying.awaitingScan`…), or of the last one. */
  get state(): string | undefined {
    return this.lastKey;
  }

  /** The running purchase's context (read-only snapshot). */
  get context(): Readonly<PurchaseContext> | undefined {
    return this.running?.actor.getSnapshot().context;
  }

  /** The current screen, recomputed now (for a host that redraws on its own clock). */
  view(now = Date.now()): ScreenView | undefined {
    const r = this.running;
    if (!r || !r.key) return undefined;
    return renderView(r.key, r.actor.getSnapshot().context, this.locale, now);
  }

  /**
   * Start a purchase from the Charge directive, the skill's speech and the
   * user's original request. Resolves when the purchase ends (never rejects
   * after it started; failures are outcomes). Throws `CompanionError` for bad
   * input or when busy/stopped.
   */
  purchase(request: PurchaseRequest): Promise<PurchaseResult> {
    if (this.stopped) throw new CompanionError('ERR_DEVICE_STOPPED', 'the companion was stopped');
    if (this.running) throw new CompanionError('ERR_DEVICE_BUSY', 'a purchase is already running');
    if (!request || typeof request !== 'object') throw new CompanionError('ERR_DEVICE_BAD_CHARGE', 'request must be an object');
    const v = validateChargeDirective(request.charge);
    if (!v.ok) {
      const first = v.issues[0];
      throw new CompanionError('ERR_DEVICE_BAD_CHARGE', `invalid Charge directive: ${first ? `${first.path} ${first.message}` : ''}`);
    }
    const mode = request.mode ?? this.mode;
    if (mode !== 'screen' && mode !== 'screenless') throw new CompanionError('ERR_DEVICE_BAD_CHARGE', 'mode must be "screen" or "screenless"');
    if (request.speech !== undefined && typeof request.speech !== 'string') throw new CompanionError('ERR_DEVICE_BAD_CHARGE', 'speech must be a string');

    const actor = createActor(this.machine, {
      input: {
        mode,
        charge: v.value,
        originalRequest: request.originalRequest,
        resume: request.resume ?? this.options.resume ?? true,
        ...(request.speech !== undefined ? { speech: request.speech } : {}),
        ...(request.purchaseId !== undefined ? { purchaseId: request.purchaseId } : {}),
      },
    });
    let settle!: (r: PurchaseResult) => void;
    const done = new Promise<PurchaseResult>((res) => (settle = res));
    const run: Running = {
      actor,
      originalRequest: request.originalRequest,
      key: undefined,
      orderRef: undefined,
      errorRef: undefined,
      disposers: [],
      tick: undefined,
      settle,
      finished: false,
    };
    this.running = run;
    this.lastKey = undefined;

    const onEmit = actor.on('*', (e) => this.onEmitted(run, e));
    run.disposers.push(() => onEmit.unsubscribe());
    const sub = actor.subscribe({
      next: () => this.onSnapshot(run),
      error: (err) => this.finish(run, 'failed', err),
    });
    run.disposers.push(() => sub.unsubscribe());
    actor.start();
    // A machine may finish synchronously (e.g. stopped before start settles).
    if (!run.finished) this.onSnapshot(run);
    return done;
  }

  /**
   * Start a purchase from a whole skill response (`{ directives, outputSpeech }`).
   * Returns undefined when the response carries no Charge directive.
   */
  purchaseFromResponse(
    response: { directives?: unknown; outputSpeech?: unknown },
    originalRequest: unknown,
    extra: Omit<PurchaseRequest, 'charge' | 'originalRequest' | 'speech'> = {},
  ): Promise<PurchaseResult> | undefined {
    const charge = findChargeDirective(response?.directives);
    if (!charge) return undefined;
    const os = response.outputSpeech;
    const speech = typeof os === 'string' ? os : typeof (os as { text?: unknown })?.text === 'string' ? (os as { text: string }).text : undefined;
    return this.purchase({ ...extra, charge, originalRequest, ...(speech !== undefined ? { speech } : {}) });
  }

  /**
   * Feed one utterance (without the wake word: `stripWakeWord`). Returns the
   * flow intent it matched (and handled), or null when it is not ours or no
   * purchase runs: the host routes it as usual. An utterance that names other
   * goods than the running purchase's ("我要买万古神帝第40集" while 第35集 is
   * on screen) is not ours: a new request for the platform.
   */
  say(utterance: string): IntentMatch | null {
    const r = this.running;
    if (!r || r.finished) return null;
    const m = matchIntent(utterance, r.actor.getSnapshot().context.charge.payload.chargeInfo.name);
    if (!m || !this.intent(m.intent)) return null;
    return m;
  }

  /**
   * Feed an intent: one of ours (`buy`, `cancel`, `refresh`, `status`, `help`,
   * `repeat`, `price`, `what`) or a host NLU intent name (`AMAZON.CancelIntent`,
   * `pay.confirm`, `pay.price`…).
   * Returns false when the name is not a flow intent or no purchase runs.
   */
  intent(name: FlowIntent | string): boolean {
    const intent = intentFromName(name);
    const r = this.running;
    if (!intent || !r || r.finished) return false;
    r.actor.send(eventForIntent(intent));
    return true;
  }

  /** A touch on one of the view's `actions`. Returns false when nothing is running or the target is unknown. */
  touch(target: TouchTarget): boolean {
    const r = this.running;
    if (!r || r.finished) return false;
    switch (target) {
      case 'buy':
      case 'retry':
        r.actor.send({ type: 'CONFIRM' });
        return true;
      case 'refresh':
        r.actor.send({ type: 'REFRESH' });
        return true;
      case 'cancel':
      case 'close':
        r.actor.send({ type: 'CANCEL' });
        return true;
      default:
        return false;
    }
  }

  /** Cancel the running purchase (as if the user said "取消"). */
  cancel(): boolean {
    return this.touch('cancel');
  }

  /** Live resources, for leak checks: all zero when no purchase runs. */
  resources(): { purchases: number; timers: number; subscriptions: number } {
    const r = this.running;
    return { purchases: r ? 1 : 0, timers: r?.tick ? 1 : 0, subscriptions: r ? r.disposers.length : 0 };
  }

  /** Stop for good: end the running purchase, release timers, sockets and listeners. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const r = this.running;
    if (r) this.finish(r, 'stopped');
    this.player.dispose();
    if (this.options.closeTransportOnStop ?? true) {
      try {
        this.transport.close();
      } catch {
        // closing is best effort
      }
    }
    this.removeAllListeners();
  }

  // ---- internals -------------------------------------------------------

  private speak(text: string, key: SpeakEvent['key'], state: string): void {
    if (!text) return;
    const e: SpeakEvent = { text, key, state, locale: this.locale };
    this.lastSpoken = e;
    this.emit('speak', e);
  }

  private onEmitted(run: Running, e: PurchaseEmitted): void {
    if (this.running !== run) return;
    const state = run.key ?? '';
    switch (e.type) {
      case 'prompt':
        this.speak(prompt(e.key, e.context, this.locale), e.key, state);
        break;
      case 'help':
        this.speak(helpText(stateKey(run.actor.getSnapshot().value), this.locale), 'help', state);
        break;
      case 'status':
        this.speak(statusText(e.context, this.locale), 'status', state);
        break;
      case 'answer':
        this.speak(answerText(e.topic, e.context, stateKey(run.actor.getSnapshot().value), this.locale), e.topic, state);
        break;
      case 'repeat':
        if (this.lastSpoken) this.emit('speak', { ...this.lastSpoken, key: 'repeat' });
        break;
      case 'rejected':
        this.emit('rejected', { reason: e.reason, ...(e.detail !== undefined ? { detail: e.detail } : {}) });
        break;
      case 'connection':
        this.emit('connection', e.state);
        break;
      case 'notice':
        this.emit('notice', { code: e.code, message: e.message });
        break;
    }
  }

  private onSnapshot(run: Running): void {
    if (this.running !== run || run.finished) return;
    const snap = run.actor.getSnapshot();
    const key = stateKey(snap.value);
    const ctx = snap.context;
    if (ctx.error && ctx.error !== run.errorRef) {
      run.errorRef = ctx.error;
      this.emit(
        'error',
        new CompanionError('ERR_DEVICE_STEP', `${ctx.error.step} failed: ${ctx.error.message}`, {
          step: ctx.error.step,
          causeCode: ctx.error.code,
        }),
      );
    }
    const orderRef = ctx.order ? `${ctx.order.payUrl}|${ctx.order.expiresAt}|${ctx.order.totalAmt}` : undefined;
    if (key !== run.key || orderRef !== run.orderRef) {
      const previous = run.key;
      const changed = key !== run.key;
      run.key = key;
      run.orderRef = orderRef;
      this.lastKey = key;
      if (changed) this.emit('state', { state: key, previous, purchaseId: ctx.purchaseId, tradeStatus: ctx.tradeStatus });
      this.emit('render', renderView(key, ctx, this.locale));
      this.updateTick(run, key);
    }
    if (snap.status === 'done') this.finish(run, key as PurchaseOutcome);
    else if (snap.status === 'error') this.finish(run, 'failed', snap.error);
  }

  private updateTick(run: Running, key: string): void {
    const every = this.options.countdownMs ?? 1000;
    const want = every > 0 && key === 'paying.awaitingScan';
    if (want && !run.tick) {
      run.tick = setInterval(() => {
        const order = run.actor.getSnapshot().context.order;
        if (order) this.emit('countdown', countdown(order.expiresAt));
      }, every);
    } else if (!want && run.tick) {
      clearInterval(run.tick);
      run.tick = undefined;
    }
  }

  private finish(run: Running, outcome: PurchaseResult['outcome'], err?: unknown): void {
    if (run.finished) return;
    run.finished = true;
    if (run.tick) clearInterval(run.tick);
    run.tick = undefined;
    const snap = run.actor.getSnapshot();
    const ctx = snap.context;
    // Stop first: aborts calls in flight and runs the watcher's cleanup (unsubscribe).
    run.actor.stop();
    for (const d of run.disposers.splice(0)) d();
    if (this.running === run) this.running = undefined;
    if (err !== undefined) {
      this.emit('error', new CompanionError('ERR_DEVICE_STEP', `purchase machine failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    const result: PurchaseResult = {
      outcome,
      purchaseId: ctx?.purchaseId,
      paid: ctx?.paid === true,
      alreadyOwned: ctx?.alreadyOwned === true,
      resume: ctx?.resumeResult,
      error: ctx?.error,
    };
    if (outcome === 'done' && ctx?.resumeResult) {
      this.emit('resume', {
        purchaseId: ctx.purchaseId,
        result: ctx.resumeResult,
        directives: ctx.resumeResult.directives,
        originalRequest: run.originalRequest,
        alreadyOwned: ctx.alreadyOwned,
      });
    }
    this.emit('end', result);
    run.settle(result);
  }
}

export function createCompanion(options: CompanionOptions = {}): DeviceCompanion {
  return new DeviceCompanion(options);
}
