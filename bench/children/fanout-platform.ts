/**
 * Child of `fanout-p99`: the sandbox platform on 127.0.0.1 (its skill
 * backend runs in another process). Line protocol on stdin/stdout (JSON per line):
 *   out {"ready":true,"url":…,"tskPublicKey":…,"signMs":…}
 *   in  {"cmd":"run","rate":R,"seconds":S,"orders":[[purchaseId, transactionId], …]}
 *       → emits R results per second (PROCESSING then SUCCESS of each order, in turn)
 *   out {"ran":true,"emitted":N,"ms":…,"t0":[[purchaseId, status, dueEpochMs, markedEpochMs], …]}
 *   in  {"cmd":"exit"}
 */
import { createInterface } from 'node:readline';
import { sign } from 'node:crypto';
import { loadPrivateKey } from '../../src/protocol/index.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { skillInput } from '../../test/support/sandbox.js';

// argv: skill backend URL (another process), platform private key PEM
const [backendUrl, platformPem] = process.argv.slice(2);
const epoch = () => performance.timeOrigin + performance.now();
const config = parseSandboxConfig({ skills: [skillInput(backendUrl!)], platformPrivateKey: platformPem! });
const sandbox = await Sandbox.start({
  config,
  timeScale: 1,
  processingMs: 0,
  callTimeoutMs: 10_000,
  device: { repeatStatusMs: 0, authTimeoutMs: 60_000, idleTimeoutMs: 600_000 },
});
const pair = { sandbox, close: () => sandbox.close() };
const book = pair.sandbox.platform.book;

// Baseline: how long one RSA-2048 signature takes in this process alone.
const key = loadPrivateKey(platformPem!);
const body = Buffer.from(
  '{"purchaseId":"P1","deviceId":"spk-1","tradeStatus":"SUCCESS","seq":4,"nonceStr":"abcdefghijklmnopqrstuvwxyz012345"}20260101T000000Z',
);
for (let i = 0; i < 20; i++) sign('sha256', body, key);
const t = performance.now();
for (let i = 0; i < 200; i++) sign('sha256', body, key);
const signMs = (performance.now() - t) / 200;

const say = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
say({ ready: true, url: pair.sandbox.url, tskPublicKey: pair.sandbox.tskPublicKey, deviceToken: pair.sandbox.deviceToken, signMs });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { cmd: string; rate?: number; seconds?: number; orders?: Array<[string, string]> };
  if (msg.cmd === 'exit') break;
  if (msg.cmd !== 'run') continue;
  const rate = msg.rate!;
  const total = Math.min(Math.round(rate * msg.seconds!), msg.orders!.length * 2);
  const t0: Array<[string, string, number, number]> = [];
  const start = performance.now();
  const startEpoch = epoch();
  let emitted = 0;
  while (emitted < total) {
    // Emit what is due by now (catch up after a slow tick), then sleep to the next 5 ms step.
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (emitted < due) {
      const [purchaseId, tid] = msg.orders![emitted >> 1]!;
      const status = emitted % 2 === 0 ? 'PROCESSING' : 'SUCCESS';
      // [purchase, status, when the result was due (arrival at the asked rate), when the platform marked it]
      t0.push([purchaseId, status, startEpoch + (emitted / rate) * 1000, epoch()]);
      if (status === 'PROCESSING') book.scan(tid);
      else book.pay(tid);
      emitted++;
    }
    await sleep(5);
  }
  const ms = performance.now() - start;
  await sleep(3000); // let deliveries and pushes drain before the next command
  say({ ran: true, emitted, ms, t0 });
}
await pair.close();
process.exit(0);
