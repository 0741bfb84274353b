/**
 * Dialog scripts, replayed against a sandbox: the device companion runs in
 * this process with the real HTTP + WebSocket transport; the script says
 * things, touches the screen, pays (or not) through the sandbox's control
 * API, injects faults and waits for milestones. Every device event goes to a
 * JSON-lines transcript.
 *
 *   { "mode"?: "screen" | "screenless", "payWindowSeconds"?: n, "expectTimeoutMs"?: n,
 *     "steps": [ {"say": "…"}, {"touch": "buy"}, {"pay": "success"}, {"fault": "drop-socket"},
 *                {"wait": 500}, {"expect": "paid"}, {"expectSpeech": "开始播放"}, … ] }
 */
import { createNodeTransport, DeviceCompanion, type ScreenView, type TouchTarget } from '../device/node.js';
import { DingDangPayError } from '../protocol/errors.js';
import { SpeakerHost } from './host.js';
import { platformSay } from './speaker-server.js';
import { startDemoStack, type DemoStack } from './stack.js';

export type Mode = 'screen' | 'screenless';

export const MILESTONES = [
  'goods',
  'qr',
  'app-prompt',
  'processing',
  'paid',
  'failed',
  'cancelled',
  'expired',
  'resumed',
  'delivered',
  // beyond the list of the issue:
  'owned',
  'playing',
  'reconnected',
  'timed-out',
] as const;
export type Milestone = (typeof MILESTONES)[number];

/** Named faults → the sandbox's fault settings (POST /sandbox/v1/faults). */
export const FAULTS: Record<string, Record<string, unknown> | 'clear'> = {
  'drop-socket': { dropSocket: true },
  'duplicate-push': { duplicatePush: 2 },
  'delay-push': { delayPushMs: 1000 },
  'reorder-push': { reorderPush: true },
  'duplicate-delivery': { duplicateDelivery: 3 },
  'late-delivery': { lateDeliveryMs: 500 },
  'partner-timeout': { partner: { mode: 'timeout', calls: ['createOrder'] } },
  'partner-fail': { partner: { mode: 'fail', calls: ['createOrder'] } },
  'already-owned': { alreadyOwned: true },
  'clock-skew': { clockSkewMs: 60_000 },
  clear: 'clear',
};

const TOUCHES: readonly TouchTarget[] = ['buy', 'cancel', 'refresh', 'retry', 'close'];
const PAYS = ['success', 'fail', 'cancel', 'none'] as const;

export type Step =
  | { say: string }
  | { touch: TouchTarget }
  | { pay: (typeof PAYS)[number] }
  | { fault: string | Record<string, unknown> }
  | { wait: number }
  | { expect: Milestone; timeoutMs?: number }
  | { expectSpeech: string; timeoutMs?: number }
  /** The example skill's deliver hook ran exactly n times in all (waits for it, then checks no more come). */
  | { expectDeliveries: number; timeoutMs?: number }
  /** The same goods are bought meanwhile on another device (the DingDang app), so create order will answer ALREADY_OWNED. */
  | { ownElsewhere: true };

export interface Script {
  mode?: Mode;
  payWindowSeconds?: number;
  expectTimeoutMs?: number;
  description?: string;
  steps: Step[];
}

export class ScriptError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_SCRIPT', message);
  }
}

const STEP_KEYS = ['say', 'touch', 'pay', 'fault', 'wait', 'expect', 'expectSpeech', 'expectDeliveries', 'ownElsewhere'];

function posInt(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new ScriptError(`${where} must be an integer 0–${max}`);
  return v;
}

/** Validate a decoded script; every problem names the step. */
export function parseScript(value: unknown): Script {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScriptError('a script is a JSON object { "steps": [...] }');
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['mode', 'steps', 'payWindowSeconds', 'expectTimeoutMs', 'description', '$schema', 'comment'].includes(k)) throw new ScriptError(`unknown field "${k}"`);
  const script: Script = { steps: [] };
  if (o.mode !== undefined) {
    if (o.mode !== 'screen' && o.mode !== 'screenless') throw new ScriptError('mode must be "screen" or "screenless"');
    script.mode = o.mode;
  }
  if (o.payWindowSeconds !== undefined) {
    script.payWindowSeconds = posInt(o.payWindowSeconds, 'payWindowSeconds', 86_400);
    if (script.payWindowSeconds < 1) throw new ScriptError('payWindowSeconds must be at least 1');
  }
  if (o.expectTimeoutMs !== undefined) script.expectTimeoutMs = posInt(o.expectTimeoutMs, 'expectTimeoutMs', 600_000);
  if (typeof o.description === 'string') script.description = o.description;
  if (!Array.isArray(o.steps) || o.steps.length === 0) throw new ScriptError('steps must be a non-empty array');
  script.steps = o.steps.map((s, i) => parseStep(s, i + 1));
  return script;
}

function parseStep(s: unknown, n: number): Step {
  const where = `step ${n}`;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new ScriptError(`${where} must be an object such as {"say": "…"}`);
  const o = s as Record<string, unknown>;
  const kinds = Object.keys(o).filter((k) => STEP_KEYS.includes(k));
  if (kinds.length !== 1) throw new ScriptError(`${where} must have exactly one of ${STEP_KEYS.join(', ')}`);
  for (const k of Object.keys(o)) if (k !== kinds[0] && k !== 'timeoutMs' && k !== 'comment') throw new ScriptError(`${where}: unknown field "${k}"`);
  const timeout = o.timeoutMs === undefined ? {} : { timeoutMs: posInt(o.timeoutMs, `${where}.timeoutMs`, 600_000) };
  switch (kinds[0]) {
    case 'say':
      if (typeof o.say !== 'string' || !o.say.trim()) throw new ScriptError(`${where}: say must be a non-empty string`);
      return { say: o.say };
    case 'touch':
      if (!TOUCHES.includes(o.touch as TouchTarget)) throw new ScriptError(`${where}: touch must be one of ${TOUCHES.join(', ')}`);
      return { touch: o.touch as TouchTarget };
    case 'pay':
      if (!PAYS.includes(o.pay as (typeof PAYS)[number])) throw new ScriptError(`${where}: pay must be one of ${PAYS.join(', ')}`);
      return { pay: o.pay as (typeof PAYS)[number] };
    case 'fault':
      if (typeof o.fault === 'string') {
        if (!(o.fault in FAULTS)) throw new ScriptError(`${where}: unknown fault "${o.fault}"; known: ${Object.keys(FAULTS).join(', ')} (or an object of sandbox fault settings)`);
        return { fault: o.fault };
      }
      if (typeof o.fault === 'object' && o.fault !== null && !Array.isArray(o.fault)) return { fault: o.fault as Record<string, unknown> };
      throw new ScriptError(`${where}: fault must be a name or an object of sandbox fault settings`);
    case 'wait':
      return { wait: posInt(o.wait, `${where}.wait`, 600_000) };
    case 'expect':
      if (!MILESTONES.includes(o.expect as Milestone)) throw new ScriptError(`${where}: expect must be one of ${MILESTONES.join(', ')}`);
      return { expect: o.expect as Milestone, ...timeout };
    case 'expectSpeech':
      if (typeof o.expectSpeech !== 'string' || !o.expectSpeech) throw new ScriptError(`${where}: expectSpeech must be a non-empty string`);
      return { expectSpeech: o.expectSpeech, ...timeout };
    case 'expectDeliveries':
      return { expectDeliveries: posInt(o.expectDeliveries, `${where}.expectDeliveries`, 1000), ...timeout };
    case 'ownElsewhere':
      if (o.ownElsewhere !== true) throw new ScriptError(`${where}: ownElsewhere must be true`);
      return { ownElsewhere: true };
  }
  throw new ScriptError(`${where}: unknown step`);
}

export interface SimulationOptions {
  script: Script;
  /** Overrides the script's mode. */
  mode?: Mode;
  /** A sandbox config naming other skills (default: the example audiobook skill). */
  configFile?: string;
  /** One transcript line (a JSON object) at a time. */
  emit: (event: Record<string, unknown>) => void;
  /** Default timeout of each expectation, ms (default 10 000; the script's expectTimeoutMs wins). */
  expectTimeoutMs?: number;
}

export interface SimulationResult {
  ok: boolean;
  steps: number;
  /** 1-based index of the failed step (0 for a failed final check). */
  failedStep?: number;
  step?: Step;
  message?: string;
}

class StepFailure extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run a script. Never throws for a failed expectation: the result says which step failed. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { script } = options;
  const mode: Mode = options.mode ?? script.mode ?? 'screen';
  const defaultTimeout = script.expectTimeoutMs ?? options.expectTimeoutMs ?? 10_000;
  const started = Date.now();
  const emit = (type: string, fields: Record<string, unknown> = {}) => options.emit({ t: Date.now() - started, type, ...fields });

  const stack: DemoStack = await startDemoStack({
    ...(options.configFile !== undefined ? { configFile: options.configFile } : {}),
    sandbox: {
      timeScale: 0.01,
      callTimeoutMs: 2000,
      ...(script.payWindowSeconds !== undefined ? { payWindowMs: script.payWindowSeconds * 1000 } : {}),
      device: { repeatStatusMs: 2000 },
    },
  });
  const base = stack.sandbox.url;
  const deviceId = 'sim-speaker';
  const companion = new DeviceCompanion({
    transport: createNodeTransport({ platformUrl: base, tskPublicKey: stack.sandbox.tskPublicKey, deviceId, pollIntervalMs: 1000 }),
    mode,
    countdownMs: 0,
  });
  const host = new SpeakerHost(companion, (text) => platformSay(base, text, deviceId, mode));

  // ── what happened, in order ──
  const milestones: Array<{ name: Milestone; t: number }> = [];
  const speech: string[] = [];
  let milestoneCursor = 0;
  let speechCursor = 0;
  let purchaseId: string | undefined;
  let sawClosed = false;
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const w of [...waiters]) w();
  };
  const reach = (name: Milestone) => {
    milestones.push({ name, t: Date.now() - started });
    emit('milestone', { name });
    changed();
  };
  const STATE_MILESTONE: Record<string, Milestone> = {
    goods: 'goods',
    'paying.awaitingScan': 'qr',
    'app.pushed': 'app-prompt',
    'paying.confirming': 'processing',
    'app.confirming': 'processing',
    payFailed: 'failed',
    orderFailed: 'failed',
    failed: 'failed',
    cancelled: 'cancelled',
    expired: 'expired',
    timedOut: 'timed-out',
  };
  companion.on('state', (s) => {
    emit('state', { state: s.state, previous: s.previous ?? null, purchaseId: s.purchaseId ?? null, tradeStatus: s.tradeStatus ?? null });
    const m = STATE_MILESTONE[s.state];
    if (m) reach(m);
  });
  // `paid` and `owned` are passed through at once (on to the resume): their prompts mark them.
  companion.on('speak', (e) => {
    if (e.key === 'paid' || e.key === 'owned') reach(e.key);
  });
  companion.on('render', (v: ScreenView) => emit('render', renderSummary(v)));
  companion.on('connection', (c) => {
    emit('connection', { state: c });
    if (c === 'closed') sawClosed = true;
    if (c === 'open' && sawClosed) {
      sawClosed = false;
      reach('reconnected');
    }
  });
  companion.on('rejected', (r) => emit('rejected', { ...r }));
  companion.on('error', (e) => emit('error', { code: e.code, step: e.step ?? null, causeCode: e.causeCode ?? null, message: e.message }));
  companion.on('notice', (n) => emit('notice', { ...n }));
  companion.on('resume', (r) => {
    emit('resume', { purchaseId: r.purchaseId ?? null, alreadyOwned: r.alreadyOwned, outputSpeech: r.result.outputSpeech ?? null, directives: r.directives.map((d) => (d as { type?: unknown })?.type ?? null) });
    reach('resumed');
  });
  host.on('speak', (e) => {
    speech.push(e.text);
    emit('speak', { text: e.text, from: e.from });
    changed();
  });
  host.on('play', (p) => {
    emit('play', { title: p.title, resumed: p.resumed, url: p.url ?? null });
    reach('playing');
  });
  host.on('purchase', (e) => {
    purchaseId = e.purchaseId;
    emit('purchase', { purchaseId: e.purchaseId ?? null });
  });
  host.on('end', (r) => emit('end', { outcome: r.outcome, purchaseId: r.purchaseId ?? null, paid: r.paid, alreadyOwned: r.alreadyOwned }));
  host.on('failure', (e) => emit('failure', { ...e }));

  // Deliveries: the sandbox's notification log (any skill) and, for the example, its deliver hook.
  const deliveredTx = new Set<string>();
  let deliveriesSeen = 0;
  let currentTx: string | undefined;
  const pollDeliveries = async () => {
    try {
      if (purchaseId) currentTx = ((await control(base, 'GET', `/purchases/${encodeURIComponent(purchaseId)}`)) as { transactionId?: string }).transactionId;
      const list = (await control(base, 'GET', '/notifications')) as { notifications: Array<{ kind: string; transactionId: string; state: string; attempts: number }> };
      for (const n of list.notifications) {
        if (n.kind !== 'deliver' || n.state !== 'delivered' || deliveredTx.has(n.transactionId)) continue;
        deliveredTx.add(n.transactionId);
        // How many delivery notifications the platform sent for it (duplicates included).
        const calls = (await control(base, 'GET', '/calls')) as { calls: Array<{ kind: string; body: string }> };
        const sent = calls.calls.filter((c) => c.kind === 'deliver' && c.body.includes(n.transactionId)).length;
        emit('delivered', { transactionId: n.transactionId, attempts: n.attempts, notificationsSent: sent });
        reach('delivered');
      }
    } catch {
      // the next poll tries again
    }
    while (deliveriesSeen < stack.deliveries.length) {
      const d = stack.deliveries[deliveriesSeen++]!;
      emit('deliver-hook', { tradeNo: d.tradeNo, attempt: d.attempt, itemIds: d.itemIds });
      changed();
    }
  };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await pollDeliveries();
      await sleep(150);
    }
  })();

  /** Wait (bounded) until `check` returns true, re-checking on every event. */
  const until = (check: () => boolean, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (check()) return resolve(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      const tick = setInterval(() => check() && done(true), 200);
      const w = () => check() && done(true);
      const done = (v: boolean) => {
        clearTimeout(timer);
        clearInterval(tick);
        waiters.delete(w);
        resolve(v);
      };
      waiters.add(w);
    });

  const needPurchase = async (): Promise<string> => {
    if (!purchaseId) await until(() => purchaseId !== undefined, 3000);
    if (!purchaseId) throw new StepFailure('no purchase has started (say something the skill charges for first)');
    return purchaseId;
  };

  emit('start', { sandbox: base, mode, skills: stack.config.skills.map((s) => s.skillId), steps: script.steps.length, ...(script.description ? { description: script.description } : {}) });
  let result: SimulationResult = { ok: true, steps: script.steps.length };
  try {
    for (let i = 0; i < script.steps.length; i++) {
      const step = script.steps[i]!;
      emit('step', { step: i + 1, ...step });
      try {
        await runStep(step);
      } catch (e) {
        const message = e instanceof StepFailure ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
        result = { ok: false, steps: script.steps.length, failedStep: i + 1, step, message };
        emit('fail', { step: i + 1, ...step, message, milestones: milestones.map((m) => m.name), state: companion.state ?? null });
        return result;
      }
    }
    // Final check: exactly-once delivery for the example skill, whatever the script asked.
    await sleep(300);
    await pollDeliveries();
    const per = new Map<string, number>();
    for (const d of stack.deliveries) per.set(d.tradeNo, (per.get(d.tradeNo) ?? 0) + 1);
    for (const [tradeNo, n] of per)
      if (n > 1) {
        result = { ok: false, steps: script.steps.length, failedStep: 0, message: `order ${tradeNo} was delivered ${n} times (exactly once expected)` };
        emit('fail', { step: 0, message: result.message });
        return result;
      }
    emit('done', { ok: true, milestones: milestones.map((m) => m.name), deliveries: stack.deliveries.length });
    return result;
  } finally {
    polling = false;
    await poller;
    host.stop();
    await stack.close();
  }

  async function runStep(step: Step): Promise<void> {
    if ('say' in step) {
      const r = await host.hear(step.say);
      emit('heard', { text: step.say, handledBy: r.handledBy, ...(r.intent ? { intent: r.intent } : {}) });
      if (r.handledBy === 'error') throw new StepFailure(`the platform could not take "${step.say}"`);
      return;
    }
    if ('touch' in step) {
      if (!host.touch(step.touch)) throw new StepFailure(`nothing to touch: no purchase is running`);
      return;
    }
    if ('pay' in step) {
      const id = await needPurchase();
      if (step.pay === 'none') return; // the user never pays
      const r = (await control(base, 'POST', `/purchases/${encodeURIComponent(id)}/pay`, { outcome: step.pay })) as { tradeStatus?: string; alreadyOwned?: boolean };
      emit('paid-on-phone', { purchaseId: id, outcome: step.pay, tradeStatus: r.tradeStatus ?? null });
      return;
    }
    if ('fault' in step) {
      const f = typeof step.fault === 'string' ? FAULTS[step.fault]! : step.fault;
      const r = f === 'clear' ? await control(base, 'DELETE', '/faults') : await control(base, 'POST', '/faults', f);
      emit('fault', { fault: step.fault, state: r });
      return;
    }
    if ('wait' in step) return sleep(step.wait);
    if ('ownElsewhere' in step) {
      const id = await needPurchase();
      const p = (await control(base, 'GET', `/purchases/${encodeURIComponent(id)}`)) as { charge: unknown; originalRequest: unknown; skillId: string };
      const other = (await control(base, 'POST', '/purchases', { mode: 'screenless', charge: p.charge, originalRequest: p.originalRequest, skillId: p.skillId, deviceId: 'another-device' })) as {
        purchaseId: string;
      };
      const order = (await control(base, 'POST', `/purchases/${encodeURIComponent(other.purchaseId)}/pay`, { outcome: 'success' })) as { transactionId: string };
      // Owned once the delivery notification went through.
      if (!(await until(() => deliveredTx.has(order.transactionId), 10_000))) throw new StepFailure('the purchase on the other device was not delivered');
      emit('owned-elsewhere', { purchaseId: other.purchaseId, transactionId: order.transactionId });
      return;
    }
    if ('expect' in step && step.expect === 'delivered') {
      // A state, not an event: the delivery notification may beat the resume or follow it.
      const timeout = step.timeoutMs ?? defaultTimeout;
      if (!(await until(() => currentTx !== undefined && deliveredTx.has(currentTx), timeout)))
        throw new StepFailure(`waited ${timeout} ms for the delivery of the current order (${currentTx ?? 'no order yet'})`);
      emit('expect', { expect: step.expect, ok: true, transactionId: currentTx });
      return;
    }
    if ('expect' in step) {
      const timeout = step.timeoutMs ?? defaultTimeout;
      const found = () => milestones.findIndex((m, idx) => idx >= milestoneCursor && m.name === step.expect);
      if (!(await until(() => found() >= 0, timeout)))
        throw new StepFailure(`waited ${timeout} ms for "${step.expect}"; since the last expectation: [${milestones.slice(milestoneCursor).map((m) => m.name).join(', ')}], device state ${companion.state ?? 'none'}`);
      milestoneCursor = found() + 1;
      emit('expect', { expect: step.expect, ok: true });
      return;
    }
    if ('expectSpeech' in step) {
      const timeout = step.timeoutMs ?? defaultTimeout;
      const found = () => speech.findIndex((s, idx) => idx >= speechCursor && s.includes(step.expectSpeech));
      if (!(await until(() => found() >= 0, timeout)))
        throw new StepFailure(`waited ${timeout} ms for speech containing "${step.expectSpeech}"; heard since: ${JSON.stringify(speech.slice(speechCursor))}`);
      speechCursor = found() + 1;
      emit('expect', { expectSpeech: step.expectSpeech, ok: true });
      return;
    }
    if ('expectDeliveries' in step) {
      if (!stack.skill) throw new StepFailure('expectDeliveries counts the example skill\'s deliveries; not available with --config');
      const timeout = step.timeoutMs ?? defaultTimeout;
      await until(() => stack.deliveries.length >= step.expectDeliveries, timeout);
      await sleep(500); // duplicates and late copies have time to show up
      await pollDeliveries();
      if (stack.deliveries.length !== step.expectDeliveries)
        throw new StepFailure(`the skill delivered ${stack.deliveries.length} times, expected ${step.expectDeliveries}`);
      emit('expect', { expectDeliveries: step.expectDeliveries, ok: true });
      return;
    }
  }
}

function renderSummary(v: ScreenView): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: v.kind, state: v.state, title: v.title, actions: v.actions };
  if (v.kind === 'pay') Object.assign(out, { payUrl: v.payUrl, amount: v.amountText, countdown: v.countdown.text, phase: v.phase });
  if (v.kind === 'goods') Object.assign(out, { goods: v.goods.name, amount: v.goods.totalText });
  if (v.kind === 'result') Object.assign(out, { outcome: v.outcome, ...(v.detail ? { detail: v.detail } : {}) });
  return out;
}

/** The sandbox's control API (JSON). Throws with the platform's message on non-2xx. */
export async function control(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}/sandbox/v1${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new StepFailure(`sandbox ${method} ${path}: HTTP ${res.status} ${json.error?.message ?? ''}`.trim());
  return json;
}
