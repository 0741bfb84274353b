/**
 * latency-push-p99 and latency-recover-p99: the sandbox platform and a device
 * companion (the real HTTP + WebSocket transport, default options) in one
 * process over loopback; the sandbox tests' skill backend answers the
 * platform's create-order and delivery calls from a child process.
 *
 * push: the order is scanned (PROCESSING reached the device), then t0 = the
 * sandbox marks it paid (`book.pay`), t1 = the companion emits the render of
 * the paid state. recover: the device's socket is killed, the order is paid
 * 50–200 ms later while the device is offline (that push is lost), t0 = the
 * kill, t1 = the paid render, reached by reconnect + re-query or by polling.
 */
import { DeviceCompanion } from '../../src/device/companion.js';
import { createNodeTransport } from '../../src/device/node.js';
import type { ScreenView } from '../../src/device/render.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateTskKeyPair } from '../../src/protocol/index.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { skillInput } from '../../test/support/sandbox.js';
import { median, nowMs, percentile, repoRoot, round, scaled, type Figure, type FigureResult } from '../lib.js';
import { BENCH_CHARGE } from '../support/lean-transport.js';

interface Pair {
  sandbox: Sandbox;
  close(): Promise<void>;
}

/**
 * The sandbox in this process; its skill backend (create order, delivery) in
 * a child process (bench/children/fanout-backend.ts), so the partner's crypto
 * does not share the event loop with the path being measured.
 */
async function startPair(): Promise<Pair> {
  const keys = generateTskKeyPair();
  const backend = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/children/fanout-backend.ts'), keys.publicKeyBase64], {
    cwd: repoRoot,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('skill backend not ready in 30 s')), 30_000);
    createInterface({ input: backend.stdout }).once('line', (l) => (clearTimeout(t), resolve(l)));
    backend.once('exit', () => reject(new Error('skill backend exited')));
  });
  const { url } = JSON.parse(line) as { url: string };
  const config = parseSandboxConfig({ skills: [skillInput(url)], platformPrivateKey: keys.privateKeyPem });
  const sandbox = await Sandbox.start({ config, timeScale: 1, processingMs: 0, device: { repeatStatusMs: 0 } });
  return {
    sandbox,
    async close() {
      await sandbox.close();
      backend.stdin.end();
      backend.kill('SIGKILL');
    },
  };
}

function waitFor<T>(register: (done: (v: T) => void) => () => void, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms: ${what}`));
    }, ms);
    off = register((v) => {
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

/** One device; `measure(transactionId)` runs between "pay page shown" and "paid". */
async function purchases(pair: Pair, n: number, measure: (tid: string, companion: DeviceCompanion) => Promise<number>): Promise<number[]> {
  const transport = createNodeTransport({
    platformUrl: pair.sandbox.url,
    tskPublicKey: pair.sandbox.tskPublicKey,
    deviceId: 'spk-bench-1',
    ...(pair.sandbox.deviceToken !== undefined ? { deviceToken: pair.sandbox.deviceToken } : {}),
  });
  const companion = new DeviceCompanion({ transport, countdownMs: 0, resume: false });
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const pay = waitFor<ScreenView & { kind: 'pay' }>(
        (done) => {
          const h = (v: ScreenView) => v.kind === 'pay' && done(v);
          const s = (e: { state: string }) => e.state === 'goods' && queueMicrotask(() => companion.touch('buy'));
          companion.on('render', h);
          companion.on('state', s);
          return () => {
            companion.off('render', h);
            companion.off('state', s);
          };
        },
        10_000,
        'pay page',
      );
      const result = companion.purchase({ charge: BENCH_CHARGE, speech: '这是付费内容，需要购买才能播放哦', originalRequest: { intent: 'play', i } });
      const view = await pay;
      const tid = decodeURIComponent(view.payUrl.split('/pay/')[1] ?? '');
      // Wait until the device's socket carries the subscription (so the first push is not a race with subscribe).
      const end = Date.now() + 5000;
      while (pair.sandbox.device.subscribers(companion.context?.purchaseId ?? '') < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
      samples.push(await measure(tid, companion));
      const r = await result;
      if (!r.paid) throw new Error(`purchase ${i} ended ${r.outcome}`);
    }
  } finally {
    companion.stop();
    transport.close();
  }
  return samples;
}

const paidRender = (companion: DeviceCompanion) =>
  waitFor<number>(
    (done) => {
      const h = (v: ScreenView) => (v.state === 'paid' || v.state === 'done' ? done(nowMs()) : undefined);
      companion.on('render', h);
      return () => companion.off('render', h);
    },
    15_000,
    'paid render',
  );

const scanned = (companion: DeviceCompanion) =>
  waitFor<void>(
    (done) => {
      const h = (e: { state: string }) => e.state === 'paying.confirming' && done();
      companion.on('state', h);
      return () => companion.off('state', h);
    },
    5_000,
    'PROCESSING on the device',
  );

function summary(samples: number[], p: number): FigureResult {
  return {
    value: round(percentile(samples, p)),
    notes: { samples: samples.length, median: round(median(samples)), max: round(Math.max(...samples)) },
  };
}

export const latencyPush: Figure = {
  name: 'latency-push-p99',
  unit: 'ms',
  op: '<=',
  target: 15,
  what: 'sandbox marks the order paid → the companion renders the paid state (signed WS push, WebCrypto verify), loopback, one process',
  async run() {
    const pair = await startPair();
    try {
      const book = pair.sandbox.platform.book;
      const n = scaled(200, 20);
      const samples = await purchases(pair, n + 10, async (tid, companion) => {
        const s = scanned(companion);
        book.scan(tid);
        await s;
        const rendered = paidRender(companion);
        const t0 = nowMs();
        book.pay(tid);
        return (await rendered) - t0;
      });
      return summary(samples.slice(10), 99); // the first 10 warm up
    } finally {
      await pair.close();
    }
  },
};

export const latencyRecover: Figure = {
  name: 'latency-recover-p99',
  unit: 'ms',
  op: '<=',
  target: 3000,
  what: 'device socket killed, order paid while offline → paid render via reconnect + re-query or polling (transport defaults)',
  async run() {
    const pair = await startPair();
    try {
      const book = pair.sandbox.platform.book;
      const n = scaled(40, 8);
      const samples = await purchases(pair, n, async (tid, companion) => {
        const rendered = paidRender(companion);
        const t0 = nowMs();
        pair.sandbox.device.dropSockets();
        // Paid a moment later, while the device is offline: an immediate re-query on close would still see NOTPAY.
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
        book.scan(tid);
        book.pay(tid);
        return (await rendered) - t0;
      });
      return summary(samples, 99);
    } finally {
      await pair.close();
    }
  },
};
