/**
 * subscribe-repeat-ratio: what a repeated device subscribe costs the sandbox
 * now that it reuses the signed push (src/sandbox/device-link.ts, docs/sandbox.md
 * "Bounded work"). One raw WebSocket, one purchase; a round sends
 * unsubscribe + subscribe pairs pipelined and waits for every push. Baseline:
 * a sandbox with `reusePushMs: 0` (every such subscribe signs a fresh push,
 * as before); measured: the default (the kept signed push is sent again).
 * Value = baseline ms/op ÷ measured ms/op, rounds interleaved, median. Notes:
 * plain repeated subscribes (nothing new: only `subscribed`) in ms/op. The
 * socket outbox cap is lifted (every pipelined subscribe must get its push).
 */
import WebSocket from 'ws';
import { generateTskKeyPair } from '../../src/protocol/index.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { skillInput } from '../../test/support/sandbox.js';
import { median, nowMs, round, scaled, type Figure } from '../lib.js';
import { BENCH_CHARGE } from '../support/lean-transport.js';

const DEVICE = 'spk-bench-sub';

interface Rig {
  sandbox: Sandbox;
  ws: WebSocket;
  purchaseId: string;
  pushes: number;
  subscribed: number;
  waiters: Array<() => void>;
}

async function rig(reusePushMs: number | undefined, keys: ReturnType<typeof generateTskKeyPair>): Promise<Rig> {
  // The skill is never called here (the purchase is started directly): any URL does.
  const config = parseSandboxConfig({ skills: [skillInput('http://127.0.0.1:9')], platformPrivateKey: keys.privateKeyPem });
  const sandbox = await Sandbox.start({
    config,
    device: { repeatStatusMs: 0, maxQueuedPerSocket: 1_000_000, ...(reusePushMs !== undefined ? { reusePushMs } : {}) },
  });
  const purchase = sandbox.platform.startPurchase({ mode: 'screen', charge: BENCH_CHARGE, skillId: config.skills[0]!.skillId, deviceId: DEVICE });
  const ws = new WebSocket(sandbox.url.replace(/^http/, 'ws') + '/device/v1/stream');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const r: Rig = { sandbox, ws, purchaseId: purchase.purchaseId, pushes: 0, subscribed: 0, waiters: [] };
  ws.on('message', (d) => {
    const type = (JSON.parse(String(d)) as { type: string }).type;
    if (type === 'push') r.pushes++;
    if (type === 'subscribed') r.subscribed++;
    for (const w of r.waiters.splice(0)) w();
  });
  return r;
}

async function until(r: Rig, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('no answer within 30 s');
    await new Promise<void>((resolve) => {
      r.waiters.push(resolve);
      setTimeout(resolve, 100).unref();
    });
  }
}

const subscribe = (r: Rig) => JSON.stringify({ type: 'subscribe', purchaseId: r.purchaseId, deviceId: DEVICE });
const unsubscribe = (r: Rig) => JSON.stringify({ type: 'unsubscribe', purchaseId: r.purchaseId });

/** ms per unsubscribe + subscribe pair (each answered with a push). */
async function resubscribes(r: Rig, n: number): Promise<number> {
  const target = r.pushes + n;
  const t0 = nowMs();
  for (let i = 0; i < n; i++) {
    r.ws.send(unsubscribe(r));
    r.ws.send(subscribe(r));
  }
  await until(r, () => r.pushes >= target);
  return (nowMs() - t0) / n;
}

/** ms per repeated subscribe with nothing new (answered `subscribed` only). */
async function repeats(r: Rig, n: number): Promise<number> {
  const target = r.subscribed + n;
  const t0 = nowMs();
  for (let i = 0; i < n; i++) r.ws.send(subscribe(r));
  await until(r, () => r.subscribed >= target);
  return (nowMs() - t0) / n;
}

async function close(r: Rig): Promise<void> {
  r.ws.terminate();
  await r.sandbox.close();
}

export const subscribeRepeatRatio: Figure = {
  name: 'subscribe-repeat-ratio',
  unit: 'x',
  op: '>=',
  target: 3,
  what: 'ms per device re-subscribe that signs a fresh push (reusePushMs 0) ÷ ms per re-subscribe answered with the kept signed push (default)',
  async run() {
    const keys = generateTskKeyPair();
    const fresh = await rig(0, keys);
    const reuse = await rig(undefined, keys);
    try {
      await resubscribes(fresh, 50);
      await resubscribes(reuse, 50);
      const n = scaled(400, 50);
      const ratios: number[] = [];
      const a: number[] = [];
      const b: number[] = [];
      const c: number[] = [];
      for (let i = 0; i < scaled(9, 3); i++) {
        const f = await resubscribes(fresh, n);
        const u = await resubscribes(reuse, n);
        ratios.push(f / u);
        a.push(f);
        b.push(u);
        c.push(await repeats(reuse, n));
      }
      const signatures = reuse.sandbox.platform.signer.signatures.device;
      return {
        value: round(median(ratios)),
        notes: {
          'signing ms/op': round(median(a)),
          'reusing ms/op': round(median(b)),
          'repeated subscribe ms/op': round(median(c)),
          'signatures (reusing sandbox)': signatures,
          rounds: ratios.length,
        },
      };
    } finally {
      await close(fresh);
      await close(reuse);
    }
  },
};
