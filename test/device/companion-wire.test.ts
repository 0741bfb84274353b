// The companion over the real default transport (HTTP + WebSocket, signed
// replies and pushes) against the fake platform server on 127.0.0.1:0.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DeviceCompanion } from '../../src/device/companion.js';
import type { WebSocketConstructor } from '../../src/device/transport/index.js';
import type { ResumeEvent, SpeakEvent } from '../../src/device/companion.js';
import { FakePlatform, waitUntil } from '../support/fake-platform.js';
import { CHARGE } from '../support/statechart.js';

let platform: FakePlatform;
before(async () => {
  platform = await FakePlatform.start();
});
after(async () => {
  await platform.close();
});

function companionFor(mode: 'screen' | 'screenless') {
  const c = new DeviceCompanion({
    platformUrl: platform.url,
    tskPublicKey: platform.publicKeyPem,
    deviceId: platform.deviceId,
    ...(platform.deviceToken ? { deviceToken: platform.deviceToken } : {}),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    pollIntervalMs: 200,
    mode,
    countdownMs: 0,
  });
  const states: string[] = [];
  const speech: SpeakEvent[] = [];
  const resumes: ResumeEvent[] = [];
  const rejected: string[] = [];
  c.on('state', (e) => states.push(e.state));
  c.on('speak', (e) => speech.push(e));
  c.on('resume', (e) => resumes.push(e));
  c.on('rejected', (e) => rejected.push(e.reason));
  return { c, states, speech, resumes, rejected };
}

test('screen purchase end to end over HTTP + WebSocket: forged push ignored, socket drop survived, resume delivered', async () => {
  const { c, states, speech, resumes, rejected } = companionFor('screen');
  try {
    const original = { intent: 'play', episode: 2 };
    const done = c.purchase({ charge: CHARGE, speech: '这是付费内容，需要购买才能播放哦', originalRequest: original });
    await waitUntil(() => states.includes('goods'), 5000, 'goods');
    const pid = c.context!.purchaseId!;
    assert.deepEqual(platform.purchase(pid).originalRequest, original);
    await waitUntil(() => platform.subscribers(pid) === 1, 5000, 'subscribed');

    c.say('确认购买');
    await waitUntil(() => states.includes('paying.awaitingScan'), 5000, 'pay page');
    const view = c.view()!;
    assert.equal(view.kind, 'pay');
    assert.equal(view.kind === 'pay' && view.qr.text, platform.purchase(pid).order!.payUrl);

    // A forged SUCCESS push is reported and ignored.
    platform.push(pid, { tradeStatus: 'SUCCESS', seq: 99 }, 'forged');
    await waitUntil(() => rejected.length > 0, 5000, 'rejected');
    assert.equal(c.state, 'paying.awaitingScan');
    assert.equal(c.context!.paid, false);

    platform.setStatus(pid, 'PROCESSING');
    await waitUntil(() => c.state === 'paying.confirming', 5000, 'confirming');
    assert.equal(speech.at(-1)!.text, '已扫码，请在手机上确认支付。');

    // The network drops; meanwhile the payment succeeds. Reconnect + re-query must find it.
    platform.dropSockets();
    platform.setStatus(pid, 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(r.paid, true);
    assert.equal(resumes.length, 1);
    assert.deepEqual(resumes[0]!.originalRequest, original);
    assert.equal((resumes[0]!.directives[0] as { type: string }).type, 'AudioPlayer.Play');
    assert.equal(platform.purchase(pid).resumeCount, 1);

    // Late NOTPAY after SUCCESS: nobody is subscribed any more; nothing changes.
    await waitUntil(() => platform.subscribers(pid) === 0, 5000, 'unsubscribed');
    const n = states.length;
    platform.push(pid, { tradeStatus: 'NOTPAY', seq: 1 });
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(states.length, n);
    assert.deepEqual(c.resources(), { purchases: 0, timers: 0, subscriptions: 0 });
  } finally {
    c.stop();
  }
  await waitUntil(() => platform.connections === 0, 5000, 'sockets closed after stop');
});

test('screenless purchase end to end: app prompt, pushes spoken, resume', async () => {
  const { c, states, speech, resumes } = companionFor('screenless');
  try {
    const done = c.purchase({ charge: CHARGE, originalRequest: { intent: 'play' } });
    await waitUntil(() => states.includes('app.pushed'), 5000, 'app prompt');
    assert.match(speech.at(-1)!.text, /已将商品信息推送到叮当APP/);
    const pid = c.context!.purchaseId!;
    await waitUntil(() => platform.subscribers(pid) === 1, 5000, 'subscribed');
    platform.setStatus(pid, 'NOTPAY', {
      order: { purchaseId: pid, transactionId: 'DD1', tradeNo: 'T1', totalAmt: 200, payUrl: 'https://pay.example.test/x', expiresAt: Date.now() + 60_000 },
    });
    await waitUntil(() => c.state === 'app.ordered', 5000, 'ordered');
    platform.setStatus(pid, 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(resumes.length, 1);
  } finally {
    c.stop();
  }
});
