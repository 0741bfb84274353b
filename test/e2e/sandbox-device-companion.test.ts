/**
 * The sandbox with the real example audiobook skill (a child process on the
 * partner kit, SQLite) and the device companion's transport: flow A (screen,
 * phone pay page), flow B (screenless, DingDang app page), flow C (resume
 * plays), already-owned, all through real HTTP and WebSockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { createNodeTransport } from '../../src/device/node.js';
import type { StatusUpdate } from '../../src/device/port.js';
import { platformKeys, tradeStatusOf, until, within, deviceAuth, pressPage } from '../support/sandbox.js';
import { deferred } from '../support/helpers.js';

const BIN = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;
const DEVICE = 'spk-e2e';

let child: ChildProcess | undefined;
let sandbox: Sandbox;
let base: string;
let configWarnings: string[] = [];
const api = () => sandbox.client();

before(async () => {
  child = spawn(process.execPath, [BIN, 'example-skill', '--port', '0'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const first = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`example-skill not ready: ${err}`)), 20_000);
    createInterface({ input: child!.stdout! }).once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child!.once('exit', (code) => reject(new Error(`example-skill exited ${code}: ${err}`)));
  });
  const record = JSON.parse(first);
  const config = parseSandboxConfig({ skills: [record], platformPrivateKey: platformKeys().privateKeyPem });
  configWarnings = config.warnings;
  sandbox = await Sandbox.start({ config, timeScale: 0.001, processingMs: 50, device: { repeatStatusMs: 1000 } });
  base = sandbox.url;
  // The skill learns the platform key and pay CGI base from a line on its stdin.
  child.stdin!.write(JSON.stringify({ tskPublicKey: sandbox.tskPublicKey, payBaseUrl: base }) + '\n');
  await new Promise((r) => setTimeout(r, 200));
});

after(async () => {
  await sandbox?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
});

function transport() {
  return createNodeTransport({ platformUrl: base, tskPublicKey: sandbox.tskPublicKey, deviceId: DEVICE, pollIntervalMs: 500, ...deviceAuth(sandbox) });
}

async function watch(t: ReturnType<typeof transport>, purchaseId: string) {
  const updates: StatusUpdate[] = [];
  const paid = deferred<void>();
  const stop = t.subscribe(purchaseId, {
    onUpdate: (u) => {
      updates.push(u);
      if (u.tradeStatus === 'SUCCESS') paid.resolve();
    },
  });
  await until(() => sandbox.device.subscribers(purchaseId) >= 1, 3000, 'subscribed');
  return { updates, stop, success: () => within(paid.promise, 8000, 'a SUCCESS update') };
}

const form = (url: string, action: string) => pressPage(url, action);

test('the example skill record is a valid sandbox skill (its extra url is ignored)', () => {
  assert.deepEqual(configWarnings, ['skills[0].url: unknown field, ignored']);
});

test('flow A + C: screen speaker, phone pays, signed pushes, delivery, resume plays', async () => {
  const t = transport();
  try {
    const said = await api().say({ text: '我要听万古神帝第35集', userId: 'alice', deviceId: DEVICE });
    assert.deepEqual(said.answer.outputSpeech, { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' });
    assert.equal(said.speech, '这是付费内容，需要购买才能播放哦');
    assert.equal(said.error, undefined);
    const charge = said.answer!.directives![0]!;
    assert.equal(charge.payload.chargeInfo.items[0].totalFee, 200);
    const signal = AbortSignal.timeout(8000);
    const { purchaseId } = await t.startPurchase({ mode: 'screen', charge, originalRequest: said.request, purchaseId: said.purchaseId }, signal);
    const w = await watch(t, purchaseId);
    const placed = await t.placeOrder(purchaseId, signal);
    assert.equal(placed.kind, 'order');
    if (placed.kind !== 'order') return;
    assert.equal(placed.order.totalAmt, 200);
    assert.equal((await form(placed.order.payUrl, 'success')).status, 303);
    await w.success();
    assert.deepEqual(
      w.updates
        .filter((u) => u.source === 'push')
        .map((u) => u.tradeStatus)
        .filter((s, i, a) => s !== a[i - 1]),
      ['NOTPAY', 'PROCESSING', 'SUCCESS'],
    );
    const n = await until(
      async () => {
        const x = (await api().notifications()).find((y) => y.transactionId === placed.order.transactionId);
        return x?.state === 'delivered' ? x : undefined;
      },
      5000,
      'delivered',
    );
    assert.equal(n.attempts, 1, 'the partner kit answered SUCCESS to the signed notification');
    const resumed = await t.resume(purchaseId, AbortSignal.timeout(8000));
    assert.equal((resumed.directives[0] as any).type, 'AudioPlayer.Play');
    assert.equal(resumed.shouldEndSession, true);
    const again = await api().say({ text: '我要听万古神帝第35集', userId: 'alice', deviceId: DEVICE });
    assert.equal(again.answer!.directives![0]!.type, 'AudioPlayer.Play', 'alice owns episode 35 now');
    assert.equal(again.purchaseId, undefined);
    w.stop();
  } finally {
    t.close();
  }
});

test('flow B: screenless speaker, the DingDang app orders and pays', async () => {
  const t = transport();
  try {
    const said = await api().say({ text: '播放万古神帝第36集', userId: 'bob', deviceId: DEVICE, mode: 'screenless' });
    const charge = said.answer!.directives![0]!;
    const signal = AbortSignal.timeout(8000);
    const { purchaseId } = await t.startPurchase({ mode: 'screenless', charge, originalRequest: said.request, purchaseId: said.purchaseId }, signal);
    const w = await watch(t, purchaseId);
    assert.match(await (await fetch(`${base}/app/${purchaseId}`)).text(), /万古神帝/);
    assert.equal((await form(`${base}/app/${purchaseId}`, 'success')).status, 303);
    await w.success();
    const withOrder = w.updates.find((u) => u.order);
    assert.ok(withOrder, 'the order reached the speaker');
    const resumed = await t.resume(purchaseId, signal);
    assert.equal((resumed.directives[0] as any).type, 'AudioPlayer.Play');
    w.stop();
  } finally {
    t.close();
  }
});

test('already owned: a second purchase of owned goods goes straight to the resume; a failed payment can be retried', async () => {
  const t = transport();
  try {
    const one = await api().say({ text: '我要听万古神帝第37集', userId: 'carol', deviceId: DEVICE });
    const two = await api().say({ text: '我要听万古神帝第37集', userId: 'carol', deviceId: DEVICE });
    const signal = AbortSignal.timeout(8000);
    for (const s of [one, two])
      await t.startPurchase({ mode: 'screen', charge: s.answer!.directives![0]!, originalRequest: s.request, purchaseId: s.purchaseId }, signal);
    const p1 = await t.placeOrder(one.purchaseId, signal);
    assert.equal(p1.kind, 'order');
    if (p1.kind !== 'order') return;
    // first attempt declined, the retry is a new order that succeeds
    assert.equal(tradeStatusOf(await api().payOrder(p1.order.transactionId, 'fail')), 'FAIL');
    const retry = await t.placeOrder(one.purchaseId, signal);
    assert.equal(retry.kind, 'order');
    if (retry.kind !== 'order') return;
    assert.notEqual(retry.order.transactionId, p1.order.transactionId);
    assert.equal(tradeStatusOf(await api().payOrder(retry.order.transactionId, 'success')), 'SUCCESS');
    await until(
      async () => (await api().notifications()).some((x) => x.transactionId === retry.order.transactionId && x.state === 'delivered'),
      5000,
      'delivered',
    );
    const p2 = await t.placeOrder(two.purchaseId, signal);
    assert.equal(p2.kind, 'already-owned');
    const resumed = await t.resume(two.purchaseId, signal);
    assert.equal((resumed.directives[0] as any).type, 'AudioPlayer.Play');
  } finally {
    t.close();
  }
});

test('late delivery: the resume reaches the skill first; it confirms with /paycgi/orderquery and plays; the late notification is answered SUCCESS', async () => {
  // The example skill waits 3 s for the delivery before it asks the platform; the delivery comes after 4 s.
  await api().setFaults({ delayDeliveryMs: 4000 });
  const t = transport();
  try {
    const said = await api().say({ text: '我要听万古神帝第40集', userId: 'dave', deviceId: DEVICE });
    const signal = AbortSignal.timeout(8000);
    const { purchaseId } = await t.startPurchase(
      { mode: 'screen', charge: said.answer!.directives![0]!, originalRequest: said.request, purchaseId: said.purchaseId },
      signal,
    );
    const placed = await t.placeOrder(purchaseId, signal);
    if (placed.kind !== 'order') throw new Error('expected an order');
    assert.equal(tradeStatusOf(await api().payOrder(placed.order.transactionId, 'success')), 'SUCCESS');
    const calls = async () => (await api().calls()).filter((c) => c.kind === 'deliver' && JSON.parse(c.body).transactionId === placed.order.transactionId);
    assert.equal((await calls()).length, 0, 'no delivery yet');
    const resumed = await t.resume(purchaseId, signal);
    assert.equal((resumed.directives[0] as any).type, 'AudioPlayer.Play', 'the skill asked the platform and delivered itself');
    const asked = (await api().inbound()).filter((x) => x.kind === 'orderquery' && JSON.parse(x.body).tradeNo === placed.order.tradeNo);
    assert.equal(asked.length, 1, 'the skill confirmed the payment with /paycgi/orderquery');
    assert.equal(asked[0]!.retCode, 'SUCCESS', 'its signed request was accepted');
    await until(async () => (await calls()).length === 1, 5000, 'the late delivery notification');
    const [late] = await calls();
    assert.equal(late!.outcome, 'ok');
    assert.equal(late!.retCode, 'SUCCESS', 'a repeat of a handled delivery is answered SUCCESS');
  } finally {
    await api().clearFaults();
    t.close();
  }
});

test('the device companion (statechart) buys and resumes through the sandbox: screen and screenless', async () => {
  const { DeviceCompanion } = await import('../../src/device/node.js');
  for (const mode of ['screen', 'screenless'] as const) {
    const companion = new DeviceCompanion({
      platformUrl: base,
      tskPublicKey: sandbox.tskPublicKey,
      deviceId: DEVICE,
      ...deviceAuth(sandbox),
      mode,
      pollIntervalMs: 500,
      countdownMs: 0,
    });
    const spoken: string[] = [];
    const states: string[] = [];
    companion.on('speak', ({ text }) => spoken.push(text));
    companion.on('state', ({ state }) => states.push(state));
    try {
      const episodeNo = mode === 'screen' ? 41 : 42;
      const said = await api().say({ text: `我要听万古神帝第${episodeNo}集`, userId: `erin-${mode}`, deviceId: DEVICE, mode });
      const running = companion.purchase({
        charge: said.answer!.directives![0]!,
        speech: said.speech,
        originalRequest: said.request,
        purchaseId: said.purchaseId,
      });
      const result = within(running, 15_000, `${mode} purchase`);
      if (mode === 'screen') {
        await until(() => states.includes('goods'), 5000, 'goods shown');
        assert.ok(companion.say('购买'), 'the companion takes "购买"');
        await until(() => states.some((s) => s.startsWith('paying')), 5000, 'pay page');
        const order = await api().purchase(said.purchaseId!);
        assert.equal((await form(`${base}/pay/${order.transactionId}`, 'success')).status, 303);
      } else {
        await until(() => states.some((s) => s.startsWith('app')), 5000, 'app prompt');
        assert.equal((await form(`${base}/app/${said.purchaseId}`, 'success')).status, 303);
      }
      const r = await result;
      assert.equal(r.paid, true, `${mode}: paid (verified push or poll)`);
      assert.equal((r.resume?.directives[0] as any)?.type, 'AudioPlayer.Play', `${mode}: the resume plays`);
      assert.ok(spoken.length > 0);
    } finally {
      companion.stop();
    }
  }
});
