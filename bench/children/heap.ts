/**
 * Child process of `heap-growth` (run with --expose-gc): N sequential screen
 * purchases on ONE DeviceCompanion over the in-memory LeanTransport; each goes
 * goods → buy → QR → PROCESSING (+duplicate, +stale) → SUCCESS → resume → done.
 * Prints `RESULT {"growthMB":..., ...}`: heapUsed after N purchases minus
 * heapUsed after a warm-up, both after full GCs.
 */
import { DeviceCompanion } from '../../src/device/companion.js';
import { BENCH_CHARGE, LeanTransport } from '../support/lean-transport.js';

const N = Number(process.argv[2] ?? 1000);
const WARMUP = Number(process.argv[3] ?? 100);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const transport = new LeanTransport();
const companion = new DeviceCompanion({ transport, countdownMs: 0 });
companion.on('state', (e) => {
  if (e.state === 'goods') queueMicrotask(() => companion.touch('buy'));
});
let paid = 0;

async function one(i: number): Promise<void> {
  const r = await companion.purchase({ charge: BENCH_CHARGE, speech: '这是付费内容，需要购买才能播放哦', originalRequest: { intent: 'play', i } });
  if (r.outcome !== 'done' || !r.paid) throw new Error(`purchase ${i} ended ${r.outcome} paid=${r.paid}`);
  paid++;
}

async function settle(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setImmediate(r));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

for (let i = 0; i < WARMUP; i++) await one(i);
const h0 = await settle();
const t0 = performance.now();
for (let i = 0; i < N; i++) await one(i);
const ms = performance.now() - t0;
const h1 = await settle();
const res = companion.resources();
companion.stop();
console.log(
  'RESULT ' +
    JSON.stringify({
      growthMB: (h1 - h0) / (1024 * 1024),
      heapBeforeMB: h0 / 1048576,
      heapAfterMB: h1 / 1048576,
      paid,
      msPerPurchase: ms / N,
      transportLive: transport.live,
      resources: res,
    }),
);
