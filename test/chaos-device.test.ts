/**
 * Chaos on the device side: 1,000 purchases by device companions (the real
 * HTTP + WebSocket transport) against the sandbox platform, which duplicates
 * every push and releases pushes out of order, while every socket is killed
 * at random moments. Each purchase is paid (SUCCESS) or declined (FAIL) on
 * the phone's pay page at random. Zero false "paid" (no declined purchase is
 * ever reported paid or enters the paid state), zero missed "paid" (every
 * paid purchase ends paid; the device's answer matches the platform's).
 * CHAOS_PURCHASES / CHAOS_DEVICES change the size (defaults 1000 / 40).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DeviceCompanion, type PurchaseResult } from '../src/device/companion.js';
import { createNodeTransport } from '../src/device/node.js';
import { control, startPair } from './sandbox-support.js';

const PURCHASES = Number(process.env.CHAOS_PURCHASES ?? 1000);
const DEVICES = Number(process.env.CHAOS_DEVICES ?? 40);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Record {
  device: string;
  purchaseId: string;
  outcome: 'success' | 'fail';
  result: PurchaseResult;
  states: string[];
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

describe('chaos: device purchases through socket kills, duplicate and out-of-order pushes', () => {
  let pair: Awaited<ReturnType<typeof startPair>>;
  before(async () => {
    pair = await startPair({ timeScale: 1, processingMs: 0, device: { repeatStatusMs: 2000, reorderHoldMs: 150 } });
    pair.sandbox.platform.faults.set({ duplicatePush: 1, reorderPush: true });
  });
  after(async () => {
    await pair?.close();
  });

  it(`${PURCHASES} purchases: zero false paid, zero missed paid`, { timeout: 240_000 }, async () => {
    const base = pair.sandbox.url;
    const records: Record[] = [];
    let kills = 0;
    let running = true;
    const killer = (async () => {
      while (running) {
        await sleep(100 + Math.random() * 400);
        if (running) kills += pair.sandbox.device.dropSockets() > 0 ? 1 : 0;
      }
    })();

    let next = 0;
    const device = async (d: number) => {
      const deviceId = `spk-chaos-${d}`;
      const transport = createNodeTransport({
        platformUrl: base,
        tskPublicKey: pair.sandbox.tskPublicKey,
        deviceId,
        pollIntervalMs: 400,
        requestTimeoutMs: 5000,
        reconnect: { initialMs: 50, maxMs: 400 },
      });
      // Flow C (resume) is off: it is not what this suite proves, and it halves the work per purchase.
      const companion = new DeviceCompanion({ transport, countdownMs: 0, resume: false });
      try {
        while (next < PURCHASES) {
          const n = next++;
          const outcome: 'success' | 'fail' = Math.random() < 0.6 ? 'success' : 'fail';
          const ep = (n % 90) + 1;
          const charge = {
            type: 'Connections.SendRequest',
            name: 'Charge',
            payload: { chargeInfo: { name: `万古神帝第${ep}集`, items: [{ itemId: `ep${ep}`, itemName: '单集', price: 100, count: 2, totalFee: 200 }] } },
          };
          const states: string[] = [];
          let paidOnPhone = false;
          const onState = (e: { state: string }) => {
            states.push(e.state);
            if (e.state === 'goods') queueMicrotask(() => companion.touch('buy'));
            if (e.state.endsWith('payFailed')) queueMicrotask(() => companion.touch('cancel'));
          };
          const onRender = (v: { kind: string; payUrl?: string }) => {
            if (v.kind !== 'pay' || paidOnPhone || !v.payUrl) return;
            paidOnPhone = true;
            // The phone scans the QR code and pays (or is declined) on the platform's page.
            void fetch(v.payUrl, {
              method: 'POST',
              body: `action=${outcome}`,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              redirect: 'manual',
              signal: AbortSignal.timeout(5000),
            }).then((r) => assert.equal(r.status, 303, `pay page answered ${r.status}`));
          };
          companion.on('state', onState);
          companion.on('render', onRender);
          try {
            const result = await withTimeout(
              companion.purchase({ charge, speech: '这是付费内容，需要购买才能播放哦', originalRequest: { intent: 'play', ep } }),
              30_000,
              `purchase ${n} (${outcome}); states ${states.join(' → ')}`,
            );
            records.push({ device: deviceId, purchaseId: result.purchaseId ?? '?', outcome, result, states });
          } finally {
            companion.off('state', onState);
            companion.off('render', onRender);
          }
        }
      } finally {
        companion.stop();
        transport.close();
      }
    };
    try {
      await Promise.all(Array.from({ length: DEVICES }, (_, d) => device(d)));
    } finally {
      running = false;
      await killer;
    }

    assert.equal(records.length, PURCHASES);
    const falsePaid = records.filter((r) => r.outcome === 'fail' && (r.result.paid || r.states.includes('paid') || r.states.includes('resuming')));
    const missedPaid = records.filter((r) => r.outcome === 'success' && !(r.result.paid && r.result.outcome === 'done'));
    assert.deepEqual(falsePaid.map((r) => [r.purchaseId, r.result.outcome, r.states.join('→')]), [], 'zero false "paid"');
    assert.deepEqual(missedPaid.map((r) => [r.purchaseId, r.result.outcome, r.result.error?.code, r.states.join('→')]), [], 'zero missed "paid"');
    // The platform agrees with every device.
    for (const r of records.slice(0, 50)) {
      const st = await control(base, 'GET', `/purchases/${r.purchaseId}/status`);
      assert.equal(st.json.tradeStatus === 'SUCCESS', r.result.paid, `${r.purchaseId}: platform ${st.json.tradeStatus}, device paid=${r.result.paid}`);
    }
    const paid = records.filter((r) => r.result.paid).length;
    assert.ok(paid > 0 && paid < PURCHASES, 'both outcomes happened');
    assert.ok(kills >= 5, `sockets were killed during the run (${kills})`);
    console.log(`# ${PURCHASES} purchases on ${DEVICES} devices: ${paid} paid, ${PURCHASES - paid} declined, ${kills} socket kills, pushes sent ${pair.sandbox.device.pushesSent}`);
  });
});
