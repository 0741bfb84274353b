/**
 * A minimal in-memory `PaymentTransport` for the device benchmarks: a
 * well-behaved platform that forgets a purchase as soon as its subscription
 * is released, so any heap growth over many purchases is the companion's,
 * not the fake's. `payOnScan` pays every order right after it is placed
 * (PROCESSING, then SUCCESS pushes, with a duplicate and a stale push).
 */
import type {
  DeviceOrder,
  PaymentTransport,
  PlaceOrderResult,
  ResumeResult,
  StartPurchaseRequest,
  StatusUpdate,
  SubscriptionListener,
} from '../../src/device/port.js';

export class LeanTransport implements PaymentTransport {
  private next = 1;
  private readonly listeners = new Map<string, SubscriptionListener>();
  private readonly status = new Map<string, StatusUpdate>();
  payOnScan = true;

  get live(): number {
    return this.listeners.size + this.status.size;
  }

  startPurchase(_request: StartPurchaseRequest, _signal: AbortSignal): Promise<{ purchaseId: string }> {
    return Promise.resolve({ purchaseId: `P${this.next++}` });
  }

  placeOrder(purchaseId: string, _signal: AbortSignal): Promise<PlaceOrderResult> {
    const order: DeviceOrder = {
      purchaseId,
      transactionId: `DD${purchaseId}`,
      tradeNo: `T${purchaseId}`,
      totalAmt: 200,
      payUrl: `https://pay.example/qr/${purchaseId}`,
      expiresAt: Date.now() + 60_000,
    };
    this.status.set(purchaseId, { purchaseId, tradeStatus: 'NOTPAY', seq: 0, order, source: 'poll' });
    if (this.payOnScan) {
      setImmediate(() => {
        this.push(purchaseId, 'PROCESSING', 1);
        this.push(purchaseId, 'PROCESSING', 1); // duplicate
        this.push(purchaseId, 'NOTPAY', 0); // stale
        this.push(purchaseId, 'SUCCESS', 2);
      });
    }
    return Promise.resolve({ kind: 'order', order });
  }

  refreshOrder(purchaseId: string, signal: AbortSignal): Promise<DeviceOrder> {
    return this.placeOrder(purchaseId, signal).then((r) => (r.kind === 'order' ? r.order : Promise.reject(new Error('no order'))));
  }

  queryStatus(purchaseId: string, _signal: AbortSignal): Promise<StatusUpdate> {
    return Promise.resolve(this.status.get(purchaseId) ?? { purchaseId, tradeStatus: 'NOTPAY', seq: 0, source: 'poll' });
  }

  push(purchaseId: string, tradeStatus: StatusUpdate['tradeStatus'], seq: number): void {
    const update: StatusUpdate = { purchaseId, tradeStatus, seq, source: 'push' };
    const prev = this.status.get(purchaseId);
    if (prev && prev.seq < seq) this.status.set(purchaseId, { ...prev, tradeStatus, seq, source: 'poll' });
    this.listeners.get(purchaseId)?.onUpdate(update);
  }

  subscribe(purchaseId: string, listener: SubscriptionListener): () => void {
    this.listeners.set(purchaseId, listener);
    return () => {
      this.listeners.delete(purchaseId);
      this.status.delete(purchaseId);
    };
  }

  cancel(_purchaseId: string, _signal: AbortSignal): Promise<void> {
    return Promise.resolve();
  }

  resume(_purchaseId: string, _signal: AbortSignal): Promise<ResumeResult> {
    return Promise.resolve({
      outputSpeech: '好的，开始播放。',
      directives: [{ type: 'AudioPlayer.Play', audioItem: { stream: { url: 'https://cdn.example/ep.mp3' } } }],
      shouldEndSession: true,
    });
  }

  close(): void {
    this.listeners.clear();
    this.status.clear();
  }
}

export const BENCH_CHARGE = {
  type: 'Connections.SendRequest' as const,
  name: 'Charge' as const,
  payload: { chargeInfo: { name: '相声第2集', items: [{ itemId: 'ep2', itemName: '第2集', price: 200, count: 1, totalFee: 200 }] } },
};
