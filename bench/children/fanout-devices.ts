/**
 * Child of `fanout-p99`: N device transports (the real HTTP + WebSocket
 * device transport, one socket each), each with one purchase ordered and
 * subscribed on the platform. Line protocol (JSON per line):
 *   argv: url, tskPublicKey, N, deviceToken (the sandbox's per-run device token, from its ready line)
 *   out {"ready":true,"sockets":N,"orders":[[purchaseId, transactionId], …],"setupMs":…}
 *   in  {"cmd":"report"} → out {"t1":[[purchaseId, status, epochMs], …]}  (first verified arrival of each)
 *   in  {"cmd":"exit"}
 */
import { createInterface } from 'node:readline';
import { createNodeTransport } from '../../src/device/node.js';
import type { HttpTransport } from '../../src/device/transport/index.js';
import { BENCH_CHARGE } from '../support/lean-transport.js';

const [url, key, nArg, deviceToken] = process.argv.slice(2);
const N = Number(nArg);
const epoch = () => performance.timeOrigin + performance.now();
const say = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
const transports: HttpTransport[] = [];
const orders: Array<[string, string]> = [];
const t1 = new Map<string, number>();
let closes = 0;
let pushed = 0;

const charge = {
  ...BENCH_CHARGE,
  payload: { chargeInfo: { name: '万古神帝第35集', items: [{ itemId: 'ep35', itemName: '单集', price: 100, count: 2, totalFee: 200 }] } },
};

let setupRetries = 0;
/** Setup only: a refused connection under load is retried (counted), never a measured step. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= 5 || (e as { code?: string }).code !== 'ERR_TRANSPORT') throw e;
      setupRetries++;
      await new Promise((r) => setTimeout(r, 200 * (i + 1)));
    }
  }
}

const start = performance.now();
let next = 0;
async function lane(): Promise<void> {
  while (next < N) {
    const i = next++;
    const transport = createNodeTransport({
      platformUrl: url!,
      tskPublicKey: key!,
      deviceId: `spk-fan-${i}`,
      ...(deviceToken ? { deviceToken } : {}),
      requestTimeoutMs: 60_000,
      pollIntervalMs: 60_000,
    });
    transports.push(transport);
    const signal = AbortSignal.timeout(120_000);
    const { purchaseId } = await retry(() => transport.startPurchase({ mode: 'screen', charge: charge, originalRequest: { i } }, signal));
    const placed = await retry(() => transport.placeOrder(purchaseId, signal));
    if (placed.kind !== 'order') throw new Error('no order');
    await new Promise<void>((resolve) => {
      transport.subscribe(purchaseId, {
        onUpdate: (u) => {
          // First arrival of each result by any path (a push, or a re-query after a reconnect).
          const k = `${u.purchaseId}\n${u.tradeStatus}`;
          if (!t1.has(k)) {
            t1.set(k, epoch());
            if (u.source === 'push') pushed++;
          }
          if (u.tradeStatus === 'NOTPAY') resolve();
        },
        onConnection: (s) => {
          if (s === 'open') resolve();
          if (s === 'closed') closes++;
        },
      });
    });
    orders.push([purchaseId, placed.order.transactionId]);
  }
}
await Promise.all(Array.from({ length: 24 }, lane));
say({ ready: true, sockets: transports.length, orders, setupMs: performance.now() - start, setupRetries });

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { cmd: string };
  if (msg.cmd === 'report') say({ t1: [...t1.entries()].map(([k, v]) => [...k.split('\n'), v]), closes, pushed });
  if (msg.cmd === 'exit') break;
}
for (const t of transports) t.close();
process.exit(0);
