/**
 * What happened during a simulation, in order: every device and host event
 * as one JSON-lines transcript record, the milestones reached, what the
 * speaker said, and the deliveries (the sandbox's notification log, and the
 * example skill's deliver hook). Expectations wait on it.
 */
import type { DeviceCompanion, ScreenView } from '../device/node.js';
import { sleep } from '../protocol/sleep.js';
import { until } from '../protocol/until.js';
import type { SandboxClient } from '../sandbox/client.js';
import type { SpeakerHost } from './host.js';
import type { Milestone } from './simulate-script.js';
import type { DeliveryInfo } from './stack.js';

/** A step that did not hold: the simulation stops there, with this message. */
export class StepFailure extends Error {}

/** Device states → milestones (`paid` and `owned` come from their prompts: the states pass at once). */
export const STATE_MILESTONE: Record<string, Milestone> = {
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

/** A screen view, as the transcript records it. */
export function renderSummary(v: ScreenView): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: v.kind, state: v.state, title: v.title, actions: v.actions };
  if (v.kind === 'pay') Object.assign(out, { payUrl: v.payUrl, amount: v.amountText, countdown: v.countdown.text, phase: v.phase });
  if (v.kind === 'goods') Object.assign(out, { goods: v.goods.name, amount: v.goods.totalText });
  if (v.kind === 'result') Object.assign(out, { outcome: v.outcome, ...(v.detail ? { detail: v.detail } : {}) });
  return out;
}

export class Transcript {
  readonly milestones: Array<{ name: Milestone; t: number }> = [];
  readonly speech: string[] = [];
  /** What an `expect` / `expectSpeech` looks at starts here (after the previous match). */
  milestoneCursor = 0;
  speechCursor = 0;
  /** Titles of the items that started playing, in order. */
  readonly plays: string[] = [];
  playCursor = 0;
  /** The running purchase (the latest the host started). */
  purchaseId: string | undefined;
  private readonly waiters = new Set<() => void>();
  constructor(
    private readonly out: (event: Record<string, unknown>) => void,
    /** Epoch ms the lines' `t` counts from. */
    private readonly started = Date.now(),
  ) {}

  /** One transcript line. */
  emit(type: string, fields: Record<string, unknown> = {}): void {
    this.out({ t: Date.now() - this.started, type, ...fields });
  }

  reach(name: Milestone): void {
    this.milestones.push({ name, t: Date.now() - this.started });
    this.emit('milestone', { name });
    this.changed();
  }

  /** Something happened: waiting expectations check again. */
  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Wait (bounded) until `check` holds, re-checking on every event and every 200 ms. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    return until(check, {
      timeoutMs,
      intervalMs: 200,
      wake: (w) => {
        this.waiters.add(w);
        return () => this.waiters.delete(w);
      },
    });
  }

  /** The running purchase's id; waits a moment for one to start. */
  async needPurchase(): Promise<string> {
    if (!this.purchaseId) await this.until(() => this.purchaseId !== undefined, 3000);
    if (!this.purchaseId) throw new StepFailure('no purchase has started (say something the skill charges for first)');
    return this.purchaseId;
  }

  /** Record every event of the device companion and the host. */
  watch(companion: DeviceCompanion, host: SpeakerHost): void {
    let sawClosed = false;
    companion.on('state', (s) => {
      this.emit('state', { state: s.state, previous: s.previous ?? null, purchaseId: s.purchaseId ?? null, tradeStatus: s.tradeStatus ?? null });
      const m = STATE_MILESTONE[s.state];
      if (m) this.reach(m);
    });
    // `paid` and `owned` are passed through at once (on to the resume): their prompts mark them.
    companion.on('speak', (e) => {
      if (e.key === 'paid' || e.key === 'owned') this.reach(e.key);
    });
    companion.on('render', (v: ScreenView) => this.emit('render', renderSummary(v)));
    companion.on('connection', (c) => {
      this.emit('connection', { state: c });
      if (c === 'closed') sawClosed = true;
      if (c === 'open' && sawClosed) {
        sawClosed = false;
        this.reach('reconnected');
      }
    });
    companion.on('rejected', (r) => this.emit('rejected', { ...r }));
    companion.on('error', (e) => this.emit('error', { code: e.code, step: e.step ?? null, causeCode: e.causeCode ?? null, message: e.message }));
    companion.on('notice', (n) => this.emit('notice', { ...n }));
    companion.on('resume', (r) => {
      this.emit('resume', {
        purchaseId: r.purchaseId ?? null,
        alreadyOwned: r.alreadyOwned,
        outputSpeech: r.result.outputSpeech ?? null,
        directives: r.directives.map((d) => (d as { type?: unknown })?.type ?? null),
      });
      this.reach('resumed');
    });
    host.on('speak', (e) => {
      this.speech.push(e.text);
      this.emit('speak', { text: e.text, from: e.from });
      this.changed();
    });
    host.on('play', (p) => {
      this.plays.push(p.title);
      this.emit('play', { title: p.title, token: p.item.token, position: p.position, cause: p.cause, resumed: p.resumed, url: p.url ?? null });
      this.reach('playing');
    });
    host.on('locked', (e) => {
      this.emit('locked', { title: e.item.title, token: e.item.token, position: e.position, cause: e.cause });
      this.reach('locked');
    });
    host.on('playerStopped', (e) => {
      this.emit('player-stopped', { title: e.item.title, token: e.item.token, reason: e.reason, text: e.text });
      this.reach('player-stopped');
    });
    host.on('purchase', (e) => {
      this.purchaseId = e.purchaseId;
      this.emit('purchase', { purchaseId: e.purchaseId ?? null });
    });
    host.on('end', (r) => this.emit('end', { outcome: r.outcome, purchaseId: r.purchaseId ?? null, paid: r.paid, alreadyOwned: r.alreadyOwned }));
    host.on('failure', (e) => this.emit('failure', { ...e }));
  }
}

/**
 * Deliveries as they happen: the sandbox's notification log (any skill),
 * polled, and the example skill's deliver hook runs.
 */
export class DeliveryWatch {
  /** Transaction ids the platform delivered (its delivery notification went through). */
  readonly delivered = new Set<string>();
  /** The running purchase's order, once it has one. */
  currentTx: string | undefined;
  private hooksSeen = 0;
  private polling = false;
  private poller: Promise<void> | undefined;

  constructor(
    private readonly client: SandboxClient,
    private readonly hookRuns: readonly DeliveryInfo[],
    private readonly transcript: Transcript,
  ) {}

  /** One look at the sandbox and the hook runs. */
  async poll(): Promise<void> {
    const t = this.transcript;
    try {
      if (t.purchaseId) this.currentTx = (await this.client.purchase(t.purchaseId)).transactionId;
      for (const n of await this.client.notifications()) {
        if (n.kind !== 'deliver' || n.state !== 'delivered' || this.delivered.has(n.transactionId)) continue;
        this.delivered.add(n.transactionId);
        // How many delivery notifications the platform sent for it (duplicates included).
        const sent = (await this.client.calls()).filter((c) => c.kind === 'deliver' && c.body.includes(n.transactionId)).length;
        t.emit('delivered', { transactionId: n.transactionId, attempts: n.attempts, notificationsSent: sent });
        t.reach('delivered');
      }
    } catch {
      // the next poll tries again
    }
    while (this.hooksSeen < this.hookRuns.length) {
      const d = this.hookRuns[this.hooksSeen++]!;
      t.emit('deliver-hook', { tradeNo: d.tradeNo, attempt: d.attempt, itemIds: d.itemIds });
      t.changed();
    }
  }

  /** Poll every `everyMs` until `stop`. */
  start(everyMs = 150): void {
    this.polling = true;
    this.poller = (async () => {
      while (this.polling) {
        await this.poll();
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
  }
}
