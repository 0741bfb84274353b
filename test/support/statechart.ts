/**
 * Model-based exploration of the purchase statechart.
 *
 * Totals come from the machine definition (walk `machine.root`: every state
 * node, every `transitions` entry and `always`). The explorer runs the real
 * machine with stub actors (`machine.provide`), a simulated clock for the
 * named delays, and an inspector that records which transition definitions
 * actually fired (`@xstate.microstep` → `_transitions`) and which states were
 * active. It walks breadth-first: from every distinct situation it tries every
 * host event, every status push the watcher can deliver, every settlement of
 * every pending actor, and the next timer; each path is replayed on a fresh
 * actor.
 */
import { createActor, fromCallback, fromPromise, SimulatedClock, type AnyStateMachine, type AnyTransitionDefinition } from 'xstate';
import type { EndReason, TradeStatus } from '../../src/protocol/index.js';
import { allStateNodes, ownTransitions } from '../../src/device/diagram.js';
import { DEFAULT_DELAYS, purchaseMachine, type PurchaseEvent, type PurchaseInput } from '../../src/device/machine.js';
import type { DeviceOrder } from '../../src/device/port.js';

export function transitionKey(t: AnyTransitionDefinition): string {
  const list = ownTransitions(t.source);
  const i = list.indexOf(t);
  if (i >= 0) return `${t.source.id}#${i}`;
  // Fallback: structural match (same event, same targets, same guard object).
  const j = list.findIndex(
    (x) =>
      x.eventType === t.eventType &&
      x.guard === t.guard &&
      JSON.stringify((x.target ?? []).map((n) => n.id)) === JSON.stringify((t.target ?? []).map((n) => n.id)),
  );
  return `${t.source.id}#${j}`;
}

/** Every state and transition of a machine definition, as keys. */
export function definition(machine: AnyStateMachine): { states: string[]; transitions: string[] } {
  const nodes = allStateNodes(machine);
  const transitions: string[] = [];
  for (const n of [machine.root, ...nodes]) for (const t of ownTransitions(n)) transitions.push(transitionKey(t));
  return { states: nodes.map((n) => n.id), transitions };
}

export class Coverage {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();
  /** The event of every microstep that turned `context.paid` on, and every one that turned it off. */
  readonly paidBy: unknown[] = [];
  readonly unpaidBy: unknown[] = [];
  private paidNow = new WeakMap<object, boolean>();
  constructor(readonly machine: AnyStateMachine) {}
  /** An `inspect` callback for createActor. */
  inspector = (ev: { type: string; snapshot?: unknown; _transitions?: AnyTransitionDefinition[]; actorRef?: unknown; rootId?: string }) => {
    if (ev.type === '@xstate.microstep' && ev._transitions) for (const t of ev._transitions) this.transitions.add(transitionKey(t));
    if ((ev.type === '@xstate.microstep' || ev.type === '@xstate.snapshot') && isMachineSnap(ev.snapshot)) {
      if (ev.snapshot.machine !== this.machine) return;
      const paid = (ev.snapshot as { context?: { paid?: boolean } }).context?.paid === true;
      const ref = ev.actorRef as object;
      const before = this.paidNow.get(ref) ?? false;
      if (paid !== before) (paid ? this.paidBy : this.unpaidBy).push((ev as { event?: unknown }).event);
      this.paidNow.set(ref, paid);
      for (const id of activeIds(this.machine.root.id, ev.snapshot.value)) this.states.add(id);
    }
  };
  report(): { states: [number, number]; transitions: [number, number]; missingStates: string[]; missingTransitions: string[] } {
    const def = definition(this.machine);
    return {
      states: [def.states.filter((s) => this.states.has(s)).length, def.states.length],
      transitions: [def.transitions.filter((t) => this.transitions.has(t)).length, def.transitions.length],
      missingStates: def.states.filter((s) => !this.states.has(s)),
      missingTransitions: def.transitions.filter((t) => !this.transitions.has(t)),
    };
  }
}

function isMachineSnap(s: unknown): s is { value: unknown; machine: unknown } {
  return !!s && typeof s === 'object' && 'value' in s && 'machine' in s;
}

export function activeIds(rootId: string, value: unknown, prefix = rootId): string[] {
  if (typeof value === 'string') return [`${prefix}.${value}`];
  const out: string[] = [];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(`${prefix}.${k}`);
      out.push(...activeIds(rootId, v, `${prefix}.${k}`));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

type ActorName = 'startPurchase' | 'placeOrder' | 'refreshOrder' | 'cancelPurchase' | 'resumePurchase';

export type Step =
  | { kind: 'send'; event: PurchaseEvent }
  | { kind: 'status'; status: TradeStatus; fresh: boolean; withOrder: boolean; endReason?: EndReason }
  | { kind: 'watch'; event: PurchaseEvent }
  | { kind: 'resolve'; actor: ActorName; variant: number }
  | { kind: 'reject'; actor: ActorName }
  | { kind: 'tick' };

const order = (n: number): DeviceOrder => ({
  purchaseId: 'P1',
  transactionId: `DD${n}`,
  tradeNo: `T${n}`,
  totalAmt: 200,
  payUrl: `https://pay.example/${n}`,
  expiresAt: 1_000_000,
});

const OUTPUTS: Record<ActorName, unknown[]> = {
  startPurchase: [{ purchaseId: 'P1' }],
  // The third order's code is still valid when the user says "刷新" (an hour left on the wall clock the guard reads).
  placeOrder: [{ kind: 'order', order: order(1) }, { kind: 'already-owned' }, { kind: 'order', order: { ...order(3), expiresAt: Date.now() + 3_600_000 } }],
  refreshOrder: [order(2)],
  cancelPurchase: [undefined],
  resumePurchase: [{ outputSpeech: 'ok', directives: [{ type: 'AudioPlayer.Play' }] }],
};

const HOST_EVENTS: PurchaseEvent[] = [
  { type: 'CONFIRM' },
  { type: 'CANCEL' },
  { type: 'REFRESH' },
  { type: 'QUERY' },
  { type: 'HELP' },
  { type: 'REPEAT' },
  { type: 'PRICE' },
  { type: 'WHAT' },
];
const WATCH_EVENTS: PurchaseEvent[] = [
  { type: 'REJECTED', reason: 'bad-signature' },
  { type: 'CONNECTION', state: 'polling' },
  { type: 'QUERY_FAILED', error: { code: 'ERR_TRANSPORT', message: 'down' } },
  { type: 'QUERIED' },
];
const STATUSES: TradeStatus[] = ['NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'];
/** The `endReason`s tried with each status (a FAIL is a payment failure, or the user cancelled on the phone / in the app). */
const END_REASONS_OF: Partial<Record<TradeStatus, (EndReason | undefined)[]>> = { FAIL: [undefined, 'cancelled'] };

export const CHARGE = {
  type: 'Connections.SendRequest' as const,
  name: 'Charge' as const,
  payload: {
    chargeInfo: { name: '相声第2集', items: [{ itemId: 'ep2', itemName: '第2集', price: 200, count: 1, totalFee: 200 }] },
  },
};

export const INPUTS: PurchaseInput[] = [
  { mode: 'screen', charge: CHARGE, originalRequest: { intent: 'play', episode: 2 } },
  { mode: 'screen', charge: CHARGE, originalRequest: { intent: 'play' }, resume: false },
  { mode: 'screenless', charge: CHARGE, originalRequest: { intent: 'play' } },
  { mode: 'screenless', charge: CHARGE, originalRequest: { intent: 'play' }, resume: false },
];

const STEP_MS = 1000;

/** A controllable run of the machine: stub actors, simulated clock, coverage inspector. */
export class Harness {
  readonly clock = new SimulatedClock();
  readonly pending = new Map<ActorName, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  sendBack: ((e: PurchaseEvent) => void) | undefined;
  queries = 0;
  watchStarts = 0;
  watchStops = 0;
  readonly machine: AnyStateMachine;
  readonly actor;

  constructor(input: PurchaseInput, coverage?: Coverage, machine?: AnyStateMachine) {
    this.machine = machine ?? Harness.machine();
    this.actor = createActor(this.machine as typeof purchaseMachine, {
      input,
      clock: this.clock,
      ...(coverage ? { inspect: coverage.inspector } : {}),
    });
    Harness.current = this;
  }

  static current: Harness | undefined;

  /** The machine with stub actors and 1-second delays. One instance, so coverage keys stay stable. */
  private static cached: AnyStateMachine | undefined;
  static machine(): AnyStateMachine {
    if (Harness.cached) return Harness.cached;
    const stub = (name: ActorName) =>
      fromPromise<unknown, unknown>(({ signal }) => {
        const h = Harness.current!;
        return new Promise((resolve, reject) => {
          h.pending.set(name, { resolve, reject });
          signal.addEventListener('abort', () => h.pending.delete(name));
        });
      });
    const delays = Object.fromEntries([...Object.keys(DEFAULT_DELAYS), 'PAY_WINDOW'].map((k) => [k, STEP_MS]));
    Harness.cached = purchaseMachine.provide({
      actors: {
        startPurchase: stub('startPurchase'),
        placeOrder: stub('placeOrder'),
        refreshOrder: stub('refreshOrder'),
        cancelPurchase: stub('cancelPurchase'),
        resumePurchase: stub('resumePurchase'),
        watchStatus: fromCallback(({ sendBack, receive }) => {
          const h = Harness.current!;
          h.watchStarts++;
          h.sendBack = sendBack;
          receive(() => h.queries++);
          return () => {
            h.watchStops++;
            h.sendBack = undefined;
          };
        }),
      } as never,
      delays,
    }) as AnyStateMachine;
    return Harness.cached;
  }

  start(): void {
    this.actor.start();
  }

  get snapshot() {
    return this.actor.getSnapshot();
  }

  /** The steps worth trying from here. */
  candidates(): Step[] {
    const snap = this.snapshot;
    if (snap.status !== 'active') return [];
    const out: Step[] = [];
    // Every host event, even where nothing handles it: ignored events must change nothing.
    for (const event of HOST_EVENTS) out.push({ kind: 'send', event });
    if (this.sendBack) {
      for (const event of WATCH_EVENTS) if (snap.can(event)) out.push({ kind: 'watch', event });
      for (const status of STATUSES)
        for (const endReason of END_REASONS_OF[status] ?? [undefined])
          for (const withOrder of [false, true])
            for (const fresh of [true, false]) {
              const step: Step = { kind: 'status', status, fresh, withOrder, ...(endReason ? { endReason } : {}) };
              if (snap.can(this.statusEvent(step))) out.push(step);
            }
    }
    for (const [name] of this.pending) {
      OUTPUTS[name].forEach((_, variant) => out.push({ kind: 'resolve', actor: name, variant }));
      out.push({ kind: 'reject', actor: name });
    }
    out.push({ kind: 'tick' });
    return out;
  }

  statusEvent(step: Extract<Step, { kind: 'status' }>): PurchaseEvent {
    const ctx = this.snapshot.context;
    return {
      type: 'STATUS',
      update: {
        purchaseId: ctx.purchaseId ?? 'P1',
        tradeStatus: step.status,
        seq: step.fresh ? ctx.lastSeq + 1 : ctx.lastSeq,
        source: 'push',
        ...(step.withOrder ? { order: order(3) } : {}),
        ...(step.status === 'FAIL' ? { reason: step.endReason === 'cancelled' ? '用户取消了支付' : '余额不足' } : {}),
        ...(step.endReason ? { endReason: step.endReason } : {}),
      },
    };
  }

  async apply(step: Step): Promise<void> {
    switch (step.kind) {
      case 'send':
        this.actor.send(step.event);
        break;
      case 'watch':
        this.sendBack?.(step.event);
        break;
      case 'status':
        this.sendBack?.(this.statusEvent(step));
        break;
      case 'resolve': {
        const p = this.pending.get(step.actor);
        this.pending.delete(step.actor);
        p?.resolve(OUTPUTS[step.actor][step.variant]);
        break;
      }
      case 'reject': {
        const p = this.pending.get(step.actor);
        this.pending.delete(step.actor);
        p?.reject(new Error(`${step.actor} failed`));
        break;
      }
      case 'tick':
        this.clock.increment(STEP_MS);
        break;
    }
    await settle();
  }

  signature(): string {
    const s = this.snapshot;
    const c = s.context;
    const liveCode = !!c.order && c.order.expiresAt > Date.now();
    return JSON.stringify([s.status, s.value, c.mode, c.resumeEnabled, c.lastSeq >= 0, !!c.order, liveCode, [...this.pending.keys()].sort(), !!this.sendBack]);
  }

  stop(): void {
    this.actor.stop();
    if (Harness.current === this) Harness.current = undefined;
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'send':
    case 'watch':
      return s.event.type;
    case 'status':
      return `STATUS ${s.status}${s.endReason ? ` (${s.endReason})` : ''}${s.fresh ? '' : ' (stale)'}${s.withOrder ? ' +order' : ''}`;
    case 'resolve':
      return `${s.actor} → ${s.variant}`;
    case 'reject':
      return `${s.actor} ✗`;
    case 'tick':
      return 'tick';
  }
}

/**
 * Breadth-first exploration from every input. Returns the coverage and the
 * number of distinct situations visited.
 */
export async function explore(options: { maxDepth?: number; maxNodes?: number } = {}): Promise<{ coverage: Coverage; nodes: number }> {
  const machine = Harness.machine();
  const coverage = new Coverage(machine);
  const maxDepth = options.maxDepth ?? 25;
  const maxNodes = options.maxNodes ?? 5000;
  const seen = new Set<string>();
  let nodes = 0;
  for (const input of INPUTS) {
    let frontier: Step[][] = [[]];
    for (let depth = 0; depth <= maxDepth && frontier.length > 0; depth++) {
      const next: Step[][] = [];
      for (const path of frontier) {
        const h = new Harness(input, coverage, machine);
        h.start();
        await settle();
        for (const step of path) await h.apply(step);
        const sig = `${JSON.stringify(input)}|${h.signature()}`;
        if (!seen.has(sig)) {
          seen.add(sig);
          nodes++;
          if (nodes > maxNodes) throw new Error('exploration too large');
          for (const step of h.candidates()) next.push([...path, step]);
        }
        h.stop();
      }
      frontier = next;
    }
  }
  return { coverage, nodes };
}
