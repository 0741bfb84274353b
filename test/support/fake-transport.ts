/**
 * An in-memory `PaymentTransport`: the fake platform at the outermost edge of
 * the device companion. Each method answers by a per-method script (default:
 * a well-behaved platform), honours its AbortSignal, and is counted, so tests
 * can check that nothing is left pending or subscribed.
 */
import {
  TimeoutError,
  TransportError,
  type ConnectionState,
  type DeviceOrder,
  type PlaceOrderResult,
  type ResumeResult,
  type SelectElementRequest,
  type SelectElementResult,
  type StartPurchaseRequest,
  type StatusUpdate,
  type TradeStatus,
} from '../../src/protocol/index.js';
import type { PaymentTransport, SubscriptionListener } from '../../src/device/port.js';

type Method = 'startPurchase' | 'placeOrder' | 'refreshOrder' | 'queryStatus' | 'cancel' | 'resume' | 'selectElement';

/** What a method does on its next call: a value, an error, or hang until aborted. */
export type Reply<T> = { value: T } | { error: unknown } | { hang: true } | { delayMs: number; value: T };

export interface Call {
  method: Method | 'subscribe' | 'unsubscribe' | 'close';
  purchaseId?: string;
  request?: StartPurchaseRequest;
  select?: SelectElementRequest;
}

export class FakeTransport implements PaymentTransport {
  readonly calls: Call[] = [];
  /** Queued replies per method; when empty the default platform answers. */
  private readonly scripts = new Map<Method, Reply<unknown>[]>();
  private readonly listeners = new Map<string, Set<SubscriptionListener>>();
  private readonly pending = new Set<{ method: Method }>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private seqs = new Map<string, number>();
  private lastStatus = new Map<string, StatusUpdate>();
  private orders = new Map<string, DeviceOrder>();
  private nextPurchase = 1;
  private nextOrder = 1;
  closed = false;
  /** Payment window of default orders, ms from now. */
  orderTtlMs = 60_000;
  totalFen = 200;
  resumeAnswer: ResumeResult = {
    outputSpeech: '好的，开始播放第2集。',
    directives: [{ type: 'AudioPlayer.Play', playBehavior: 'REPLACE_ALL', audioItem: { stream: { url: 'https://cdn.example/ep2.mp3', token: 'ep2' } } }],
    shouldEndSession: true,
  };

  /** What the skill answers to Display.ElementSelected by default: a Charge for the item, with the purchase the platform opened. */
  selectAnswer = (r: SelectElementRequest): SelectElementResult => ({
    token: r.token,
    outputSpeech: '这是付费内容，需要购买才能播放哦',
    directives: [
      {
        type: 'Connections.SendRequest',
        name: 'Charge',
        payload: { chargeInfo: { name: `万古神帝 ${r.token}`, items: [{ itemId: r.token, itemName: r.token, count: 1, price: 200, totalFee: 200 }] } },
      },
    ],
    shouldEndSession: true,
    purchaseId: `SEL${this.nextPurchase++}`,
    skillId: r.skillId ?? 'skill-1',
  });

  /** Queue the next reply(ies) of a method. */
  script<T>(method: Method, ...replies: Reply<T>[]): this {
    const q = this.scripts.get(method) ?? [];
    q.push(...(replies as Reply<unknown>[]));
    this.scripts.set(method, q);
    return this;
  }

  get openSubscriptions(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
  get pendingCalls(): number {
    return this.pending.size;
  }
  callsOf(method: Call['method']): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** A fresh order for a purchase (what the platform returns after create order). */
  makeOrder(purchaseId: string, overrides: Partial<DeviceOrder> = {}): DeviceOrder {
    const n = this.nextOrder++;
    const order: DeviceOrder = {
      purchaseId,
      transactionId: `DD${String(n).padStart(6, '0')}`,
      tradeNo: `T${n}`,
      totalAmt: this.totalFen,
      payUrl: `https://pay.example/qr/${purchaseId}/${n}`,
      expiresAt: Date.now() + this.orderTtlMs,
      ...overrides,
    };
    this.orders.set(purchaseId, order);
    return order;
  }

  /**
   * The platform pushes a status. `seq` defaults to the next one; pass an
   * explicit (lower or equal) seq to simulate stale and duplicate pushes.
   */
  push(purchaseId: string, tradeStatus: TradeStatus, extra: Partial<StatusUpdate> = {}): StatusUpdate {
    const seq = extra.seq ?? (this.seqs.get(purchaseId) ?? 0) + 1;
    this.seqs.set(purchaseId, Math.max(seq, this.seqs.get(purchaseId) ?? 0));
    const update: StatusUpdate = { purchaseId, tradeStatus, seq, source: 'push', ...extra };
    const prev = this.lastStatus.get(purchaseId);
    if (!prev || prev.seq < seq) this.lastStatus.set(purchaseId, { ...update, source: 'poll' });
    for (const l of [...(this.listeners.get(purchaseId) ?? [])]) l.onUpdate(update);
    return update;
  }

  /** Deliver anything at all as an update (malformed shapes). */
  pushRaw(purchaseId: string, raw: unknown): void {
    for (const l of [...(this.listeners.get(purchaseId) ?? [])]) l.onUpdate(raw as StatusUpdate);
  }

  /** The transport rejected a push (unsigned, forged). */
  rejectPush(purchaseId: string, reason: string, detail?: string): void {
    for (const l of [...(this.listeners.get(purchaseId) ?? [])]) l.onRejected?.({ reason, ...(detail ? { detail } : {}) });
  }

  connection(purchaseId: string, state: ConnectionState): void {
    for (const l of [...(this.listeners.get(purchaseId) ?? [])]) l.onConnection?.(state);
  }

  /** Record a status on the platform without pushing it (a missed push; only a query finds it). */
  setStatusSilently(purchaseId: string, tradeStatus: TradeStatus, extra: Partial<StatusUpdate> = {}): void {
    const seq = extra.seq ?? (this.seqs.get(purchaseId) ?? 0) + 1;
    this.seqs.set(purchaseId, seq);
    this.lastStatus.set(purchaseId, { purchaseId, tradeStatus, seq, source: 'poll', ...extra });
  }

  private run<T>(method: Method, signal: AbortSignal, fallback: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TransportError('transport closed'));
    if (!signal || typeof signal.aborted !== 'boolean') return Promise.reject(new TypeError('signal required'));
    const reply = (this.scripts.get(method)?.shift() ?? { value: undefined, useDefault: true }) as Reply<T> & {
      useDefault?: boolean;
    };
    const token = { method };
    this.pending.add(token);
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        this.pending.delete(token);
        signal.removeEventListener('abort', onAbort);
        if (timer) {
          clearTimeout(timer);
          this.timers.delete(timer);
        }
      };
      const onAbort = () => {
        done();
        reject(new TimeoutError(`${method} aborted`));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
      const answer = () => {
        done();
        if ('error' in reply) reject(reply.error);
        else {
          try {
            resolve(reply.useDefault ? fallback() : (reply as { value: T }).value);
          } catch (e) {
            reject(e);
          }
        }
      };
      if ('hang' in reply) return;
      if ('delayMs' in reply) {
        timer = setTimeout(answer, reply.delayMs);
        this.timers.add(timer);
        return;
      }
      queueMicrotask(answer);
    });
  }

  startPurchase(request: StartPurchaseRequest, signal: AbortSignal): Promise<{ purchaseId: string }> {
    this.calls.push({ method: 'startPurchase', request });
    return this.run('startPurchase', signal, () => ({ purchaseId: request.purchaseId ?? `P${this.nextPurchase++}` }));
  }
  placeOrder(purchaseId: string, signal: AbortSignal): Promise<PlaceOrderResult> {
    this.calls.push({ method: 'placeOrder', purchaseId });
    return this.run('placeOrder', signal, () => ({ kind: 'order' as const, order: this.makeOrder(purchaseId) }));
  }
  refreshOrder(purchaseId: string, signal: AbortSignal): Promise<DeviceOrder> {
    this.calls.push({ method: 'refreshOrder', purchaseId });
    return this.run('refreshOrder', signal, () => this.makeOrder(purchaseId));
  }
  queryStatus(purchaseId: string, signal: AbortSignal): Promise<StatusUpdate> {
    this.calls.push({ method: 'queryStatus', purchaseId });
    return this.run('queryStatus', signal, () => {
      const s = this.lastStatus.get(purchaseId);
      if (s) return { ...s, source: 'poll' as const };
      const order = this.orders.get(purchaseId);
      return { purchaseId, tradeStatus: 'NOTPAY' as const, seq: 0, source: 'poll' as const, ...(order ? { order } : {}) };
    });
  }
  subscribe(purchaseId: string, listener: SubscriptionListener): () => void {
    this.calls.push({ method: 'subscribe', purchaseId });
    const set = this.listeners.get(purchaseId) ?? new Set();
    set.add(listener);
    this.listeners.set(purchaseId, set);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.calls.push({ method: 'unsubscribe', purchaseId });
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(purchaseId);
    };
  }
  cancel(purchaseId: string, signal: AbortSignal): Promise<void> {
    this.calls.push({ method: 'cancel', purchaseId });
    return this.run('cancel', signal, () => undefined);
  }
  resume(purchaseId: string, signal: AbortSignal): Promise<ResumeResult> {
    this.calls.push({ method: 'resume', purchaseId });
    return this.run('resume', signal, () => structuredClone(this.resumeAnswer));
  }
  selectElement(request: SelectElementRequest, signal: AbortSignal): Promise<SelectElementResult> {
    this.calls.push({ method: 'selectElement', select: request });
    return this.run('selectElement', signal, () => this.selectAnswer(request));
  }
  close(): void {
    this.calls.push({ method: 'close' });
    this.closed = true;
    this.listeners.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
