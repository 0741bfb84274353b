import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompanionError, DeviceCompanion, type CompanionOptions, type PurchaseResult, type ResumeEvent, type SpeakEvent } from '../../src/device/companion.js';
import type { ScreenView } from '../../src/device/render.js';
import { FakeTransport } from '../support/fake-transport.js';
import { CHARGE } from '../support/statechart.js';

const SPEECH = '这是付费内容，需要购买才能播放哦';
const ORIGINAL = { intent: 'play_episode', slots: { episode: 2 }, text: '播放第二集' };

/** Records everything a host would see, and waits for states with a timeout. */
function track(c: DeviceCompanion) {
  const states: string[] = [];
  const speech: SpeakEvent[] = [];
  const views: ScreenView[] = [];
  const resumes: ResumeEvent[] = [];
  const errors: CompanionError[] = [];
  const rejected: Array<{ reason: string }> = [];
  const ends: PurchaseResult[] = [];
  const waiters: Array<{ key: string; from: number; resolve: () => void }> = [];
  c.on('state', (e) => {
    states.push(e.state);
    for (const w of [...waiters])
      if (states.indexOf(w.key, w.from) >= 0) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  c.on('speak', (e) => speech.push(e));
  c.on('render', (v) => views.push(v));
  c.on('resume', (e) => resumes.push(e));
  c.on('error', (e) => errors.push(e));
  c.on('rejected', (e) => rejected.push(e));
  c.on('end', (r) => ends.push(r));
  return {
    states,
    speech,
    views,
    resumes,
    errors,
    rejected,
    ends,
    said: () => speech.map((s) => s.text).join(' | '),
    /** Resolves once `key` was entered at or after history index `from`. */
    until(key: string, from = 0, ms = 2000): Promise<void> {
      if (states.indexOf(key, from) >= 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timeout waiting for ${key}; states: ${states.join(' → ')}`)), ms);
        waiters.push({ key, from, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

function setup(options: Partial<CompanionOptions> = {}) {
  const fake = new FakeTransport();
  const companion = new DeviceCompanion({ transport: fake, countdownMs: 0, ...options });
  const t = track(companion);
  return { fake, companion, t };
}

function assertClean(companion: DeviceCompanion, fake: FakeTransport) {
  assert.deepEqual(companion.resources(), { purchases: 0, timers: 0, subscriptions: 0 });
  assert.equal(fake.openSubscriptions, 0, 'transport subscriptions released');
  assert.equal(fake.pendingCalls, 0, 'no transport call left pending');
  assert.equal(companion.busy, false);
}

test('screen purchase (flow A + C): goods → order → QR → scanned → paid → resume, through duplicates and stale pushes', async () => {
  const { fake, companion, t } = setup({ countdownMs: 10 });
  const countdowns: number[] = [];
  companion.on('countdown', (c) => countdowns.push(c.secondsLeft));
  try {
    const done = companion.purchase({ charge: CHARGE, speech: SPEECH, originalRequest: ORIGINAL });
    await t.until('goods');
    assert.equal(t.views.at(-1)?.kind, 'goods');
    assert.match(t.speech.at(-1)!.text, /^这是付费内容，需要购买才能播放哦。相声第2集，2元。/);
    assert.equal(fake.callsOf('startPurchase')[0]?.request?.originalRequest, ORIGINAL);
    assert.equal(fake.callsOf('startPurchase')[0]?.request?.mode, 'screen');

    assert.equal(companion.say('好的下单')?.intent, 'buy');
    await t.until('paying.awaitingScan');
    const pay = t.views.at(-1)!;
    assert.equal(pay.kind, 'pay');
    if (pay.kind !== 'pay') return;
    assert.equal(pay.payUrl, 'https://pay.example/qr/P1/1');
    assert.equal(pay.qr.text, pay.payUrl);
    assert.match(pay.qr.svg, /^<svg/);
    assert.equal(pay.amountText, '¥2.00');
    assert.ok(pay.countdown.secondsLeft > 50 && pay.countdown.secondsLeft <= 60);
    await new Promise((r) => setTimeout(r, 35));
    assert.ok(countdowns.length >= 1, 'countdown ticks on the pay page');

    fake.push('P1', 'PROCESSING');
    assert.equal(companion.state, 'paying.confirming');
    assert.equal(t.speech.at(-1)!.text, '已扫码，请在手机上确认支付。');
    const before = t.states.length;
    fake.push('P1', 'PROCESSING', { seq: 1 }); // duplicate
    fake.push('P1', 'NOTPAY', { seq: 0 }); // out of order
    assert.equal(t.states.length, before, 'duplicate and stale pushes change nothing');
    assert.doesNotMatch(t.said(), /支付成功/, 'nothing said paid before SUCCESS');

    fake.push('P1', 'SUCCESS');
    const result = await done;
    assert.equal(result.outcome, 'done');
    assert.equal(result.paid, true);
    assert.match(t.said(), /支付成功，马上为你继续/);
    // `paid` is a transient state (spoken, then straight on to the resume).
    assert.deepEqual(t.states.slice(-3), ['paying.confirming', 'resuming', 'done']);
    assert.equal(t.speech.find((s) => s.key === 'paid')?.text, '支付成功，马上为你继续。');
    assert.equal(t.resumes.length, 1);
    assert.deepEqual(t.resumes[0]!.originalRequest, ORIGINAL);
    assert.equal((t.resumes[0]!.directives[0] as { type: string }).type, 'AudioPlayer.Play');
    assert.equal(t.views.at(-1)?.kind, 'resumed');
    assert.equal(t.speech.at(-1)!.text, '好的，开始播放第2集。');
    assert.equal(countdowns.length > 0 && companion.resources().timers, 0);

    // A late NOTPAY after SUCCESS: nothing listens, nothing changes.
    const n = t.states.length + t.speech.length;
    fake.push('P1', 'NOTPAY');
    assert.equal(t.states.length + t.speech.length, n);
    assertClean(companion, fake);
    assert.deepEqual(
      fake.calls.map((c) => c.method),
      ['startPurchase', 'subscribe', 'placeOrder', 'unsubscribe', 'resume'],
    );
  } finally {
    companion.stop();
  }
});

test('screenless purchase (flow B): app prompt, order and payment pushes spoken, status question queries the platform, resume', async () => {
  const { fake, companion, t } = setup({ mode: 'screenless' });
  try {
    const done = companion.purchase({ charge: CHARGE, speech: SPEECH, originalRequest: ORIGINAL });
    await t.until('app.pushed');
    assert.match(t.speech.at(-1)!.text, /已将商品信息推送到叮当APP，请在手机上完成支付/);
    assert.equal(fake.callsOf('placeOrder').length, 0, 'the order is placed in the app');

    const order = fake.makeOrder('P1');
    fake.push('P1', 'NOTPAY', { order });
    assert.equal(companion.state, 'app.ordered');
    assert.match(t.speech.at(-1)!.text, /订单已创建/);
    fake.push('P1', 'PROCESSING');
    assert.equal(companion.state, 'app.confirming');

    assert.equal(companion.say('支付好了吗')?.intent, 'status');
    assert.equal(t.speech.at(-1)!.text, '好的，我查一下。', 'the check is announced');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(fake.callsOf('queryStatus').length, 1, 'the status question also queries the platform');
    // The answer is said once the platform answered: a promise kept.
    assert.equal(t.speech.at(-1)!.key, 'status');
    assert.match(t.speech.at(-1)!.text, /确认/);
    assert.equal(companion.state, 'app.confirming', 'a stale poll answer changes nothing');

    fake.push('P1', 'SUCCESS');
    fake.push('P1', 'SUCCESS', { seq: 3 }); // duplicate after the final change
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(t.resumes.length, 1);
    assert.equal(t.speech.filter((s) => s.key === 'paid').length, 1);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('screenless with resume turned off ends after the result, without calling resume', async () => {
  const { fake, companion, t } = setup({ mode: 'screenless', resume: false });
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('app.pushed');
    fake.push('P1', 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(r.paid, true);
    assert.equal(fake.callsOf('resume').length, 0);
    assert.equal(t.resumes.length, 0);
    assert.match(t.said(), /支付成功，谢谢/);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('timeouts: no order → timed out; hanging create order → order failed → retry by voice succeeds', async () => {
  {
    const { fake, companion, t } = setup({ delays: { ORDER_WAIT: 20 } });
    const r = await companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    assert.equal(r.outcome, 'timedOut');
    assert.match(t.speech.at(-1)!.text, /退出购买/);
    assertClean(companion, fake);
    companion.stop();
  }
  const { fake, companion, t } = setup({ delays: { ORDER_TIMEOUT: 20 } });
  try {
    fake.script('placeOrder', { hang: true });
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.touch('buy');
    await t.until('orderFailed');
    assert.equal(fake.pendingCalls, 0, 'the hanging call was aborted');
    assert.equal(t.errors.at(-1)?.code, 'ERR_DEVICE_STEP');
    assert.equal(t.errors.at(-1)?.causeCode, 'ERR_TIMEOUT');
    assert.match(t.speech.at(-1)!.text, /下单没有成功/);
    companion.say('重试');
    await t.until('paying.awaitingScan');
    fake.push('P1', 'SUCCESS');
    assert.equal((await done).outcome, 'done');
    assert.equal(fake.callsOf('placeOrder').length, 2);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('cancel by voice, by touch and by host intent; a hanging cancel call still ends', async () => {
  {
    const { fake, companion, t } = setup();
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    assert.equal(companion.say('算了不买了')?.intent, 'cancel');
    const r = await done;
    assert.equal(r.outcome, 'cancelled');
    assert.equal(fake.callsOf('cancel').length, 1);
    assert.equal(t.speech.at(-1)!.text, '好的，已取消购买。');
    assertClean(companion, fake);
    companion.stop();
  }
  {
    const { fake, companion, t } = setup({ delays: { CANCEL_TIMEOUT: 20 } });
    fake.script('cancel', { hang: true });
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.touch('buy');
    await t.until('paying.awaitingScan');
    assert.equal(companion.touch('cancel'), true);
    companion.touch('cancel'); // twice: no restart of the cancel call
    const r = await done;
    assert.equal(r.outcome, 'cancelled');
    assert.equal(fake.callsOf('cancel').length, 1);
    assertClean(companion, fake);
    companion.stop();
  }
  {
    const { fake, companion, t } = setup();
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    assert.equal(companion.intent('AMAZON.StopIntent'), true);
    assert.equal((await done).outcome, 'cancelled');
    assert.equal(companion.intent('weather.query'), false);
    assertClean(companion, fake);
    companion.stop();
  }
});

test('a payment that succeeds while cancelling is honoured, not lost', async () => {
  const { fake, companion, t } = setup();
  try {
    fake.script('cancel', { hang: true });
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.touch('buy');
    await t.until('paying.awaitingScan');
    companion.cancel();
    assert.equal(companion.state, 'cancelling');
    fake.push('P1', 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(r.paid, true);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test("cancel on the QR screen: the platform's FAIL push for the cancelled order ends as cancelled, not as a failed payment", async () => {
  const { fake, companion, t } = setup({ delays: { CANCEL_TIMEOUT: 300 } });
  try {
    fake.script('cancel', { hang: true });
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.touch('buy');
    await t.until('paying.awaitingScan');
    assert.equal(companion.say('取消')?.intent, 'cancel');
    assert.equal(companion.state, 'cancelling');
    fake.push('P1', 'FAIL', { reason: '用户取消了支付' });
    assert.equal(companion.state, 'cancelling', 'the FAIL push does not turn the cancel into a payment failure');
    fake.push('P1', 'NOTPAY');
    assert.equal(companion.state, 'cancelling');
    companion.cancel();
    const r = await Promise.race([done, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no end')), 5000))]);
    assert.equal(r.outcome, 'cancelled');
    assert.equal(r.paid, false);
    assert.ok(!t.states.includes('payFailed'), t.states.join(' → '));
    assert.doesNotMatch(t.said(), /支付没有成功/);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('expired payment window: offered a fresh code by voice, new QR, then paid', async () => {
  const { fake, companion, t } = setup();
  try {
    fake.orderTtlMs = 40;
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    const firstUrl = (t.views.at(-1) as Extract<ScreenView, { kind: 'pay' }>).payUrl;
    await t.until('expired');
    assert.match(t.speech.at(-1)!.text, /二维码已过期/);
    fake.orderTtlMs = 60_000;
    assert.equal(companion.say('二维码过期了')?.intent, 'refresh');
    const from = t.states.length;
    await t.until('paying.awaitingScan', from);
    const second = t.views.at(-1) as Extract<ScreenView, { kind: 'pay' }>;
    assert.notEqual(second.payUrl, firstUrl);
    assert.equal(second.qr.text, second.payUrl);
    assert.equal(fake.callsOf('refreshOrder').length, 1);
    fake.push('P1', 'SUCCESS');
    assert.equal((await done).outcome, 'done');
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('"刷新二维码" while the code still works: the speaker says so and for how long; no refresh that changes nothing', async () => {
  const { fake, companion, t } = setup();
  try {
    fake.orderTtlMs = 5 * 60_000;
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    assert.equal(companion.say('刷新二维码')?.intent, 'refresh');
    assert.match(t.speech.at(-1)!.text, /^屏幕上的二维码还有效，还可以用5分钟，请直接扫码。$/, 'as the screen shows it: 05:00');
    assert.equal(companion.state, 'paying.awaitingScan');
    assert.equal(fake.callsOf('refreshOrder').length, 0);
    companion.cancel();
    assert.equal((await done).outcome, 'cancelled');
  } finally {
    companion.stop();
  }
});

test('expired and nobody answers: the offer times out and ends', async () => {
  const { fake, companion } = setup({ delays: { PAY_WINDOW: 10, OFFER_WAIT: 10 } });
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    setTimeout(() => companion.say('购买'), 5);
    const r = await done;
    assert.equal(r.outcome, 'timedOut');
    assert.equal(r.paid, false);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('already owned: straight to the resume, nothing paid', async () => {
  const { fake, companion, t } = setup();
  try {
    fake.script('placeOrder', { value: { kind: 'already-owned' } });
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('确认购买');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.equal(r.paid, false);
    assert.equal(r.alreadyOwned, true);
    assert.deepEqual(t.states.slice(-3), ['ordering', 'resuming', 'done']);
    assert.equal(
      t.views.find((v) => v.state === 'resuming')?.kind === 'result' && (t.views.find((v) => v.state === 'resuming') as { outcome: string }).outcome,
      'owned',
    );
    assert.match(t.said(), /你已经买过了/);
    assert.doesNotMatch(t.said(), /支付成功/);
    assert.equal(t.resumes[0]?.alreadyOwned, true);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('a cancel on the phone (FAIL with endReason cancelled) ends the purchase as cancelled, in both modes, before or after ordering; no retry offer', async () => {
  const cases: Array<{ mode: 'screen' | 'screenless'; ordered: boolean }> = [
    { mode: 'screen', ordered: true }, // the WeChat pay page
    { mode: 'screen', ordered: false }, // another cancel while the goods are shown
    { mode: 'screenless', ordered: false }, // the DingDang app, before ordering (no order in the push)
    { mode: 'screenless', ordered: true }, // the DingDang app, after ordering
  ];
  for (const c of cases) {
    const where = `${c.mode}${c.ordered ? ' after ordering' : ' before ordering'}`;
    const { fake, companion, t } = setup({ mode: c.mode });
    try {
      const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
      if (c.mode === 'screen') {
        await t.until('goods');
        if (c.ordered) {
          companion.touch('buy');
          await t.until('paying.awaitingScan');
        }
        fake.push('P1', 'FAIL', { reason: '用户取消了支付', endReason: 'cancelled', ...(c.ordered ? { order: fake.makeOrder('P1') } : {}) });
      } else {
        await t.until('app.pushed');
        if (c.ordered) {
          fake.push('P1', 'NOTPAY', { order: fake.makeOrder('P1') });
          assert.equal(companion.state, 'app.ordered', where);
        }
        fake.push('P1', 'FAIL', { reason: '用户取消了支付', endReason: 'cancelled', ...(c.ordered ? { order: fake.makeOrder('P1') } : {}) });
      }
      const r = await done;
      assert.equal(r.outcome, 'cancelled', where);
      assert.equal(r.paid, false, where);
      assert.ok(!t.states.includes('payFailed'), `${where}: ${t.states.join(' → ')}`);
      assert.equal(t.speech.at(-1)?.key, 'cancelled', where);
      assert.equal(t.speech.at(-1)?.text, '好的，已取消购买。', where);
      assert.doesNotMatch(t.said(), /支付没有成功|重试/, where);
      if (c.mode === 'screen') {
        assert.equal(t.views.at(-1)?.kind, 'result', where);
        assert.equal((t.views.at(-1) as { outcome?: string }).outcome, 'cancelled', where);
        assert.deepEqual(t.views.at(-1)?.actions, ['close'], `${where}: no retry on the screen`);
      }
      assert.equal(fake.callsOf('cancel').length, 0, `${where}: the platform already knows`);
      assertClean(companion, fake);
    } finally {
      companion.stop();
    }
  }
});

test('a payment failure with endReason failed still says why and offers the retry', async () => {
  const { fake, companion, t } = setup();
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    fake.push('P1', 'FAIL', { reason: '余额不足', endReason: 'failed' });
    assert.equal(companion.state, 'payFailed');
    assert.match(t.speech.at(-1)!.text, /支付没有成功：余额不足。说“重试”再试一次/);
    assert.deepEqual(t.views.at(-1)?.actions, ['retry', 'cancel']);
    // The user then cancels on the phone: the purchase ends cancelled.
    fake.push('P1', 'FAIL', { reason: '用户取消了支付', endReason: 'cancelled' });
    assert.equal((await done).outcome, 'cancelled');
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('FAIL says why and offers a retry; the retry places a new order and pays', async () => {
  const { fake, companion, t } = setup();
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    fake.push('P1', 'PROCESSING');
    fake.push('P1', 'FAIL', { reason: '余额不足' });
    assert.equal(companion.state, 'payFailed');
    assert.match(t.speech.at(-1)!.text, /支付没有成功：余额不足/);
    assert.deepEqual(t.views.at(-1)?.actions, ['retry', 'cancel']);
    fake.push('P1', 'FAIL', { seq: 2 }); // duplicate
    assert.equal(t.speech.filter((s) => s.key === 'payFailed').length, 1);
    companion.touch('retry');
    const from = t.states.length;
    await t.until('paying.awaitingScan', from);
    assert.equal(fake.callsOf('placeOrder').length, 2);
    fake.push('P1', 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('a missed SUCCESS push is found by the status query after the confirm timeout', async () => {
  const { fake, companion, t } = setup({ delays: { CONFIRM_TIMEOUT: 15 } });
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    fake.push('P1', 'PROCESSING');
    fake.setStatusSilently('P1', 'SUCCESS');
    const r = await done;
    assert.equal(r.outcome, 'done');
    assert.ok(t.states.includes('verifying'));
    assert.ok(fake.callsOf('queryStatus').length >= 1);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('rejected and malformed pushes are reported, never acted on; repeat and help speak', async () => {
  const { fake, companion, t } = setup();
  try {
    const done = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    await t.until('goods');
    companion.say('买');
    await t.until('paying.awaitingScan');
    const last = t.speech.at(-1)!;
    fake.rejectPush('P1', 'bad-signature', 'forged');
    fake.pushRaw('P1', { purchaseId: 'P1', tradeStatus: 'SUCCESS' }); // no seq
    fake.pushRaw('P1', { purchaseId: 'P1', tradeStatus: 'PAID', seq: 9 });
    assert.deepEqual(
      t.rejected.map((r) => r.reason),
      ['bad-signature', 'malformed', 'malformed'],
    );
    assert.equal(companion.state, 'paying.awaitingScan');
    companion.say('再说一遍');
    assert.equal(t.speech.at(-1)!.text, last.text);
    assert.equal(t.speech.at(-1)!.key, 'repeat');
    companion.say('怎么付款');
    assert.match(t.speech.at(-1)!.text, /微信/);
    assert.equal(companion.say('今天天气怎么样'), null);
    companion.cancel();
    await done;
    // After the purchase the companion claims nothing: the host routes words as usual.
    const n = t.speech.length;
    assert.equal(companion.intent('repeat'), false);
    assert.equal(companion.say('买'), null);
    assert.equal(t.speech.length, n);
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('start failure is an outcome with a typed error; bad input throws typed errors', async () => {
  const { fake, companion, t } = setup();
  try {
    fake.script('startPurchase', { error: new Error('platform down') });
    const r = await companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.error?.step, 'start');
    assert.ok(t.errors[0] instanceof CompanionError);
    assert.equal(t.errors[0].step, 'start');
    assert.match(t.speech.at(-1)!.text, /暂时不可用/);

    const bad = { ...CHARGE, payload: { chargeInfo: { name: 'x', items: [{ itemId: 'a', itemName: 'a', price: 1.5, count: 1, totalFee: 1.5 }] } } };
    assert.throws(
      () => companion.purchase({ charge: bad, originalRequest: null }),
      (e: unknown) => e instanceof CompanionError && e.code === 'ERR_DEVICE_BAD_CHARGE',
    );
    assert.throws(() => companion.purchase({ charge: { type: 'Other' }, originalRequest: null }), { code: 'ERR_DEVICE_BAD_CHARGE' });
    assert.equal(fake.callsOf('startPurchase').length, 1, 'bad input changed nothing');

    const running = companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL });
    assert.throws(() => companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL }), { code: 'ERR_DEVICE_BUSY' });
    companion.cancel();
    await running;
  } finally {
    companion.stop();
  }
  assert.throws(() => companion.purchase({ charge: CHARGE, originalRequest: ORIGINAL }), { code: 'ERR_DEVICE_STOPPED' });
  assert.throws(() => new DeviceCompanion({}), { code: 'ERR_DEVICE_CONFIG' });
  assert.throws(() => new DeviceCompanion({ transport: new FakeTransport(), delays: { NOPE: 1 } as never }), { code: 'ERR_DEVICE_CONFIG' });
  assert.throws(() => new DeviceCompanion({ transport: new FakeTransport(), mode: 'tv' as never }), { code: 'ERR_DEVICE_CONFIG' });
});

test('the skill response itself can start a purchase (Charge directive + outputSpeech)', async () => {
  const { fake, companion, t } = setup();
  try {
    assert.equal(companion.purchaseFromResponse({ directives: [{ type: 'AudioPlayer.Play' }] }, ORIGINAL), undefined);
    const done = companion.purchaseFromResponse({ outputSpeech: SPEECH, directives: [{ type: 'Display.Render' }, CHARGE] }, ORIGINAL)!;
    await t.until('goods');
    assert.match(t.speech.at(-1)!.text, /^这是付费内容/);
    companion.cancel();
    assert.equal((await done).outcome, 'cancelled');
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('several purchases in a row on one companion leave no listeners, timers or subscriptions', async () => {
  const { fake, companion, t } = setup({ countdownMs: 5, delays: { ORDER_WAIT: 30 } });
  const hostListeners = companion.eventNames().map((n) => companion.listenerCount(n));
  try {
    for (let i = 0; i < 6; i++) {
      const pid = `P${i + 1}`;
      const done = companion.purchase({ charge: CHARGE, originalRequest: { n: i } });
      const from = t.states.length;
      await t.until('goods', from);
      if (i % 3 === 0) {
        companion.say('买');
        await t.until('paying.awaitingScan', from);
        fake.push(pid, 'SUCCESS');
      } else if (i % 3 === 1) {
        companion.say('取消');
      } // else: let it time out
      const r = await done;
      assert.equal(r.purchaseId, pid);
      assert.equal(r.outcome, ['done', 'cancelled', 'timedOut'][i % 3]);
      assertClean(companion, fake);
      assert.deepEqual(
        companion.eventNames().map((n) => companion.listenerCount(n)),
        hostListeners,
        'the companion added no listeners of its own',
      );
    }
    assert.equal(t.resumes.length, 2);
    assert.deepEqual(
      t.resumes.map((r) => r.originalRequest),
      [{ n: 0 }, { n: 3 }],
    );
    assert.equal(fake.callsOf('subscribe').length, 6);
    assert.equal(fake.callsOf('unsubscribe').length, 6);

    // stop() mid-purchase: the pending call is aborted, the transport closed, the purchase ends.
    fake.script('placeOrder', { hang: true });
    const last = companion.purchase({ charge: CHARGE, originalRequest: null });
    await t.until('goods', t.states.length);
    companion.say('买');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(fake.pendingCalls, 1);
    companion.stop();
    assert.equal((await last).outcome, 'stopped');
    assert.equal(fake.pendingCalls, 0);
    assert.equal(fake.openSubscriptions, 0);
    assert.equal(fake.closed, true);
    assert.equal(companion.eventNames().length, 0, 'stop removed the host listeners');
  } finally {
    companion.stop();
  }
});

test('en-US: English prompts, views and intents through the same flow', async () => {
  const { fake, companion, t } = setup({ locale: 'en-US' });
  try {
    const done = companion.purchase({ charge: CHARGE, speech: 'This episode is paid content', originalRequest: ORIGINAL });
    await t.until('goods');
    assert.equal(t.speech.at(-1)!.text, 'This episode is paid content. 相声第2集, 2 yuan. Say "buy" to order, or "cancel".');
    assert.equal(companion.say('yes, buy it')?.intent, 'buy');
    await t.until('paying.awaitingScan');
    assert.equal(t.views.at(-1)!.title, 'Scan with WeChat to pay');
    assert.match(t.speech.at(-1)!.text, /^Scan the code on the screen with WeChat to pay 2 yuan, within (1 minute|\d+ seconds)/);
    assert.equal(companion.say('is it paid')?.intent, 'status');
    assert.equal(t.speech.at(-1)!.text, 'Let me check.');
    await new Promise((r) => setTimeout(r, 5));
    assert.match(t.speech.at(-1)!.text, /^No payment yet; you have (\d+ seconds|1 minute) left to pay.$/);
    fake.push('P1', 'SUCCESS');
    assert.equal((await done).outcome, 'done');
    assert.ok(t.speech.some((s) => s.text === 'Payment received. Continuing now.'));
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});

test('the next purchase may start from inside the end handler', async () => {
  const { fake, companion } = setup();
  try {
    let second: Promise<PurchaseResult> | undefined;
    companion.once('end', () => {
      second = companion.purchase({ charge: CHARGE, originalRequest: 2 });
    });
    const first = companion.purchase({ charge: CHARGE, originalRequest: 1 });
    companion.cancel(); // while starting
    assert.equal((await first).outcome, 'cancelled');
    assert.ok(second, 'started from the handler');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(companion.state, 'goods');
    companion.say('取消');
    assert.equal((await second).outcome, 'cancelled');
    assertClean(companion, fake);
  } finally {
    companion.stop();
  }
});
