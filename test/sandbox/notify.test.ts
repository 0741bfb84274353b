/**
 * The sandbox's outbound side through real HTTP to a little skill backend:
 * create order (signed both ways, details from the Charge items), delivery
 * notifications retried on a scaled schedule until SUCCESS, duplicates and
 * late copies, partner faults, refund PROCESSING → SUCCESS with the refund
 * notification, HMAC-signed skill requests, and the resume (flow C).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from '../../src/protocol/validate.js';
import { verifyHmac } from '../../src/protocol/tsk-node.js';
import { WECHAT_RETRY_SCHEDULE_MS } from '../../src/sandbox/outbound.js';
import { normalizeNumber, UtteranceMatcher } from '../../src/sandbox/skill.js';
import { SandboxApiError } from '../../src/sandbox/errors.js';
import { api, control, nonce, orderOf, postSigned, SKILL_ID, SKILL_SECRET, startPair, tradeStatusOf, until } from '../support/sandbox.js';

async function purchase(base: string, text = '我要听万古神帝第35集', userId = 'user-1') {
  return api(base).say({ text, userId });
}

test('utterance → HMAC-signed IntentRequest in the real envelope; Charge opens a purchase', async () => {
  const pair = await startPair();
  try {
    const said = await purchase(pair.sandbox.url);
    assert.equal(said.matched, true);
    assert.equal(said.skillId, SKILL_ID);
    assert.equal(said.requestType, 'IntentRequest');
    assert.equal(said.request.intent.name, 'play');
    assert.deepEqual(said.request.intent.slots, {
      album: { name: 'album', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '万古神帝', origin: '万古神帝' } }] },
      index: { name: 'index', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '35', origin: '35' } }] },
    });
    assert.match(said.purchaseId, /^[0-9A-Za-z._-]{1,64}$/);
    assert.deepEqual(said.answer.outputSpeech, { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' });
    assert.equal(said.speech, '这是付费内容，需要购买才能播放哦');
    assert.equal(said.shouldEndSession, true);
    assert.equal(said.error, undefined);
    const [req] = pair.backend.of('/skill');
    assert.ok(req);
    assert.equal(req.verified, true, 'the skill verified TSK-HMAC-SHA256-BASIC with its SkillSecret');
    assert.match(req.authorization!, /^TSK-HMAC-SHA256-BASIC Datetime=\d{8}T\d{6}Z, Signature=[0-9a-f]{64}$/);
    assert.equal(verifyHmac(req.raw, req.authorization, 'wrong-secret').ok, false);
    assert.equal(verifyHmac(req.raw + ' ', req.authorization, SKILL_SECRET).ok, false, 'signature covers the exact bytes');
    const env = req.body;
    assert.equal(env.version, '1.0');
    assert.deepEqual(Object.keys(env), ['version', 'session', 'context', 'request']);
    assert.deepEqual(env.session, { new: true, sessionId: said.sessionId });
    assert.equal(env.context.System.application.applicationId, SKILL_ID);
    assert.equal(env.context.System.user.userId, 'user-1');
    assert.equal(typeof env.context.System.device.deviceId, 'string');
    assert.deepEqual(env.context.System.device.supportedInterfaces, { AudioPlayer: { Play: true, Stop: true, ClearQueue: true }, 'Sandbox.Screen': {} });
    assert.equal(env.request.type, 'IntentRequest');
    assert.equal(env.request.queryText, '我要听万古神帝第35集');
    assert.equal(env.request.dialogState, 'STARTED');
    assert.match(env.request.timestamp, /^\d{8}T\d{6}Z$/, 'compact timestamp');
    assert.equal(req.authorization!.match(/Datetime=(\S+),/)![1], env.request.timestamp, 'the signature datetime is the request timestamp');
    assert.equal(env.request.intent.name, 'play');
    assert.equal(env.request.intent.confirmationStatus, 'NONE');
    assert.equal(env.request.intent.slots.album.values[0].value.value, '万古神帝');
    assert.equal(env.request.intent.slots.index.values[0].value.value, '35');
    const none = await api(pair.sandbox.url).say({ text: '今天天气怎么样' });
    assert.equal(none.matched, false);
    assert.equal(pair.backend.of('/skill').length, 1, 'an unmatched utterance reaches no skill');
    await assert.rejects(api(pair.sandbox.url).say({ text: '' }), (e: unknown) => e instanceof SandboxApiError && e.status === 400);
    const invalid = await api(pair.sandbox.url).say({ text: '我要听坏账第1集' });
    assert.equal(invalid.error?.code, 100501, 'an invalid Charge from the skill is an invalid answer');
    assert.match(invalid.error?.reason ?? '', /totalFee/);
    assert.equal(invalid.answer, undefined);
    assert.equal(invalid.speech, '抱歉，技能暂时无法回答，请稍后再试');
    assert.equal((await api(pair.sandbox.url).purchases()).length, 1, 'no purchase from it');
  } finally {
    await pair.close();
  }
});

test('matcher: declared samples, built-in audiobook samples, Chinese numerals', () => {
  const m = new UtteranceMatcher([
    { skillId: 'a', utterances: [] },
    { skillId: 'b', utterances: [{ intent: 'weather', samples: ['{city}天气怎么样', '{city}的天气'] }] },
  ]);
  assert.deepEqual(m.match('我要听万古神帝第35集')?.slots.index, {
    name: 'index',
    confirmationStatus: 'NONE',
    values: [{ value: { type: 'text', value: '35', origin: '35' } }],
  });
  assert.deepEqual(m.match('我要听万古神帝第三十五集')?.slots.index?.values[0]?.value, { type: 'text', value: '35', origin: '三十五' });
  assert.equal(m.match('播放，万古神帝。')?.slots.album?.values[0]?.value.type, 'text');
  assert.deepEqual(m.match('播放，万古神帝。')?.slots.album?.values[0]?.value, { type: 'text', value: '万古神帝', origin: '万古神帝' });
  assert.equal(m.match('我要听万古神帝')?.intent, 'play');
  assert.equal(m.match('我要听万古神帝第几集')?.slots.index, undefined, 'a number slot needs a number: the sample without {index} matches instead');
  const w = m.match('北京天气怎么样');
  assert.equal(w?.skillId, 'b');
  assert.deepEqual(w?.slots.city?.values[0]?.value, { type: 'text', value: '北京', origin: '北京' });
  assert.equal(m.match('北京天气怎么样', 'a'), undefined);
  assert.equal(m.match('随便说说'), undefined);
  assert.equal(normalizeNumber('十'), '10');
  assert.equal(normalizeNumber('一百零二'), '102');
  assert.equal(normalizeNumber('二十'), '20');
  assert.equal(normalizeNumber('035'), '35');
});

test('create order: signed both ways, amount = totalFee, quantity = count; refusals and partner faults', async () => {
  const pair = await startPair({ callTimeoutMs: 400 });
  const base = pair.sandbox.url;
  try {
    const said = await purchase(base);
    const placed = await api(base).placeOrder(said.purchaseId!);
    assert.equal(placed.kind, 'order');
    const [create] = pair.backend.of('/create');
    assert.ok(create);
    assert.equal(create.verified, true, 'the backend verified the platform signature');
    const v = validate('createOrderRequest', create.body);
    assert.equal(v.ok, true);
    assert.equal(create.body.skillId, SKILL_ID);
    assert.equal(create.body.userToken, 'user-1');
    assert.deepEqual(create.body.details, [{ itemId: 'ep35', quantity: 2, amount: 200 }]);
    assert.equal(create.body.totalAmt, 200);
    assert.match(create.body.nonceStr, /^[0-9A-Za-z]{32}$/);
    const order = orderOf(placed);
    assert.match(order.transactionId, /^DD/);
    assert.equal(order.payUrl, `${base}/pay/${order.transactionId}`);
    assert.ok(order.expiresAt > Date.now());
    const calls = (await api(base).calls()).filter((c) => c.kind === 'createOrder');
    assert.equal(calls[0].outcome, 'ok', 'the platform verified the backend reply');
    // repeat while open: the same order, no second create-order call
    const again = orderOf(await api(base).placeOrder(said.purchaseId!));
    assert.equal(again.transactionId, order.transactionId);
    assert.equal(pair.backend.of('/create').length, 1);

    // the backend refuses
    pair.backend.createPlan.push('SOLD_OUT');
    const p2 = await purchase(base, '我要听万古神帝第36集', 'user-2');
    const refused = await control(base, 'POST', `/purchases/${p2.purchaseId}/order`);
    assert.equal(refused.status, 502);
    assert.equal(refused.json.error.retMsg, 'SOLD_OUT');
    // partner timeout fault: the request goes out, the reply is lost
    await api(base).setFaults({ partner: { mode: 'timeout', calls: ['createOrder'] } });
    const before = pair.backend.of('/create').length;
    const timedOut = await control(base, 'POST', `/purchases/${p2.purchaseId}/order`);
    assert.equal(timedOut.status, 504);
    assert.equal(pair.backend.of('/create').length, before + 1);
    assert.equal((await api(base).faults()).partner, null, 'a one-shot fault clears itself');
    // an unsigned reply is not trusted: no order
    pair.backend.createPlan.push('UNSIGNED');
    const unsigned = await control(base, 'POST', `/purchases/${p2.purchaseId}/order`);
    assert.equal(unsigned.status, 502);
    assert.equal(unsigned.json.error.code, 'ERR_SIGNATURE');
    assert.equal((await api(base).orders()).length, 1, 'no DingDang order from an unverified reply');
    const ok = await control(base, 'POST', `/purchases/${p2.purchaseId}/order`);
    assert.equal(ok.status, 200);
    // already owned
    pair.backend.createPlan.push('ALREADY_OWNED');
    const p3 = await purchase(base, '我要听万古神帝第37集', 'user-3');
    const owned = await api(base).placeOrder(p3.purchaseId!);
    assert.deepEqual(owned, { kind: 'already-owned' });
    pair.backend.owned.add('user-3');
    const resumed = await api(base).resume(p3.purchaseId!);
    assert.equal(resumed.outputSpeech, '开始播放', 'the original IntentRequest is re-run');
    const rerun = pair.backend.of('/skill').at(-1)!.body;
    assert.equal(rerun.request.type, 'IntentRequest');
    assert.notEqual(rerun.request.requestId, p3.request.requestId, 'a fresh requestId');
    assert.deepEqual(rerun.request.intent, p3.request.intent);
    assert.equal(rerun.session.sessionId, p3.sessionId, 'in the session the Charge was answered in');
    // scripted already-owned (no call at all)
    await api(base).setFaults({ alreadyOwned: true });
    const p4 = await purchase(base, '我要听万古神帝第38集', 'user-4');
    const n = pair.backend.of('/create').length;
    assert.equal((await api(base).placeOrder(p4.purchaseId!)).kind, 'already-owned');
    assert.equal(pair.backend.of('/create').length, n);
  } finally {
    await pair.close();
  }
});

test('delivery notification: retried on the scaled schedule until the backend answers SUCCESS', async () => {
  // schedule 1 s, 2 s, 4 s platform time at scale 0.02 → 20, 40, 80 ms real
  const pair = await startPair({ timeScale: 0.02, retryScheduleMs: [1000, 2000, 4000], callTimeoutMs: 300 });
  const base = pair.sandbox.url;
  try {
    // every kind of failure once: FAIL, HTTP 500, an unsigned reply, no reply (timeout)
    pair.backend.deliverPlan.push('FAIL', 'http500', 'unsigned', 'hang', 'SUCCESS');
    const said = await purchase(base);
    const placed = orderOf(await api(base).placeOrder(said.purchaseId!));
    const tid = placed.transactionId;
    assert.equal(tradeStatusOf(await api(base).payOrder(tid, 'success')), 'SUCCESS');
    const state = await until(
      async () => {
        const n = (await api(base).notifications()).find((x) => x.transactionId === tid);
        return n && n.state !== 'pending' ? n : undefined;
      },
      5000,
      'notification settled',
    );
    const got = pair.backend.of('/deliver');
    // FAIL, 500, unsigned reply, hang → after the 3 waits the schedule is exhausted: gave up after 4 attempts
    assert.equal(state.state, 'gave-up');
    assert.equal(state.attempts, 4);
    assert.equal(got.length, 4);
    for (const d of got) {
      assert.equal(d.verified, true);
      assert.equal(validate('deliverNotifyRequest', d.body).ok, true);
      assert.deepEqual(
        { skillId: d.body.skillId, transactionId: d.body.transactionId, tradeNo: d.body.tradeNo, totalAmt: d.body.totalAmt, userToken: d.body.userToken },
        { skillId: SKILL_ID, transactionId: tid, tradeNo: placed.tradeNo, totalAmt: 200, userToken: 'user-1' },
      );
    }
    assert.equal(new Set(got.map((d) => d.body.nonceStr)).size, 4, 'a fresh nonce for every attempt');
    const gaps = got.slice(1).map((d, i) => d.at - got[i]!.at);
    assert.ok(gaps[0]! >= 15, `first wait ≈ 20 ms, got ${gaps[0]}`);
    assert.ok(gaps[1]! >= 35, `second wait ≈ 40 ms, got ${gaps[1]}`);
    assert.ok(gaps[2]! >= 75, `third wait ≈ 80 ms, got ${gaps[2]}`);
  } finally {
    await pair.close();
  }
});

test('delivery: WeChat schedule (scaled) keeps retrying until SUCCESS; then stops', async () => {
  assert.deepEqual(
    WECHAT_RETRY_SCHEDULE_MS.map((ms) => ms / 1000),
    [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600],
  );
  // total schedule 86 640 s; at 0.00001 it is ~0.87 s real
  const pair = await startPair({ timeScale: 0.00001 });
  const base = pair.sandbox.url;
  try {
    pair.backend.deliverPlan.push(...Array<'FAIL'>(9).fill('FAIL'), 'SUCCESS');
    const said = await purchase(base);
    const tid = orderOf(await api(base).placeOrder(said.purchaseId!)).transactionId;
    await api(base).payOrder(tid, 'success');
    const state = await until(
      async () => {
        const n = (await api(base).notifications()).find((x) => x.transactionId === tid);
        return n?.state === 'delivered' ? n : undefined;
      },
      8000,
      'delivered',
    );
    assert.equal(state.attempts, 10);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pair.backend.of('/deliver').length, 10, 'no notification after SUCCESS');

    // all 16 attempts fail → gave up
    pair.backend.deliverPlan.push(...Array<'FAIL'>(20).fill('FAIL'));
    const s2 = await purchase(base, '我要听万古神帝第2集', 'user-9');
    const o2 = orderOf(await api(base).placeOrder(s2.purchaseId!));
    await api(base).payOrder(o2.transactionId, 'success');
    const gave = await until(
      async () => {
        const n = (await api(base).notifications()).find((x) => x.transactionId === o2.transactionId);
        return n?.state === 'gave-up' ? n : undefined;
      },
      8000,
      'gave up',
    );
    assert.equal(gave.attempts, 16, 'first attempt + 15 retries');
  } finally {
    await pair.close();
  }
});

test('delivery duplicates on demand: concurrent copies, a late copy, a manual copy, partner FAIL fault', async () => {
  const pair = await startPair({ timeScale: 0.001, retryScheduleMs: [10, 10, 10] });
  const base = pair.sandbox.url;
  try {
    await api(base).setFaults({ duplicateDelivery: 2, lateDeliveryMs: 150 });
    const said = await purchase(base);
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    await api(base).payOrder(o.transactionId, 'success');
    await until(() => pair.backend.of('/deliver').length >= 3, 3000, '3 concurrent notifications');
    await until(() => pair.backend.of('/deliver').length >= 4, 3000, 'the late copy');
    const got = pair.backend.of('/deliver');
    assert.equal(got.length, 4);
    assert.ok(got.every((d) => d.verified && d.body.transactionId === o.transactionId));
    assert.equal(new Set(got.map((d) => d.body.nonceStr)).size, 4);
    assert.ok(got[3]!.at - got[0]!.at >= 120, 'the late copy comes after lateDeliveryMs');
    const calls = (await api(base).calls()).filter((c) => c.kind === 'deliver');
    assert.deepEqual(calls.map((c) => c.copy).sort(), ['duplicate', 'duplicate', 'late', 'primary']);
    const manual = await api(base).notifyOrder(o.transactionId);
    assert.equal(manual?.retCode, 'SUCCESS');
    assert.equal(pair.backend.of('/deliver').length, 5);
    await api(base).clearFaults();

    // partner answers FAIL twice (injected): the platform retries
    await api(base).setFaults({ partner: { mode: 'fail', calls: ['deliver'], count: 2 } });
    const s2 = await purchase(base, '我要听万古神帝第2集', 'user-2');
    const o2 = orderOf(await api(base).placeOrder(s2.purchaseId!));
    await api(base).payOrder(o2.transactionId, 'success');
    const st = await until(
      async () => {
        const n = (await api(base).notifications()).find((x) => x.transactionId === o2.transactionId);
        return n?.state === 'delivered' ? n : undefined;
      },
      3000,
      'delivered',
    );
    assert.equal(st.attempts, 3);
    assert.equal(pair.backend.of('/deliver').filter((d) => d.body.transactionId === o2.transactionId).length, 3);
    await api(base).clearFaults();

    // dropped before it reaches the backend (until cleared): the backend never hears of the payment; the platform keeps trying
    await api(base).setFaults({ partner: { mode: 'drop', calls: ['deliver'], count: 0 } });
    const s4 = await purchase(base, '我要听万古神帝第4集', 'user-4');
    const o4 = orderOf(await api(base).placeOrder(s4.purchaseId!));
    await api(base).payOrder(o4.transactionId, 'success');
    await until(
      async () => ((await api(base).notifications()).find((x) => x.transactionId === o4.transactionId)?.attempts ?? 0) >= 2 || undefined,
      3000,
      'two dropped attempts',
    );
    assert.equal(pair.backend.of('/deliver').filter((d) => d.body.transactionId === o4.transactionId).length, 0, 'nothing reached the backend');
    const dropped = (await api(base).calls()).filter((c) => c.kind === 'deliver' && c.body.includes(o4.transactionId));
    assert.ok(dropped.length >= 2 && dropped.every((c) => c.fault === 'drop' && c.outcome === 'error'), JSON.stringify(dropped.map((c) => c.fault)));
    assert.equal((await api(base).notifications()).find((x) => x.transactionId === o4.transactionId)?.state === 'delivered', false);
    // unpaid orders are not notified
    const s3 = await purchase(base, '我要听万古神帝第3集', 'user-3');
    const o3 = orderOf(await api(base).placeOrder(s3.purchaseId!));
    assert.equal((await control(base, 'POST', `/orders/${o3.transactionId}/notify`)).status, 409);
  } finally {
    await pair.close();
  }
});

test('refund: PROCESSING → SUCCESS after the scaled delay, then a signed refund notification', async () => {
  const pair = await startPair({ timeScale: 0.001, refundDelayMs: 200_000 }); // 200 ms
  const base = pair.sandbox.url;
  try {
    const said = await purchase(base);
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    await api(base).payOrder(o.transactionId, 'success');
    const r = await postSigned(`${base}/paycgi/refund`, {
      skillId: SKILL_ID,
      tradeNo: o.tradeNo,
      refundTradeNo: 'RN1',
      totalAmt: 200,
      refundAmt: 150,
      refundDetails: [{ itemId: 'ep35', quantity: 1, amount: 150 }],
      nonceStr: nonce(),
    });
    assert.equal(r.json.retCode, 'SUCCESS', r.raw);
    const q = await postSigned(`${base}/paycgi/refundquery`, { skillId: SKILL_ID, refundTradeNo: 'RN1', nonceStr: nonce() });
    assert.equal(q.json.refundStatus, 'PROCESSING');
    assert.equal(pair.backend.of('/refund-notify').length, 0);
    const n = await until(() => pair.backend.of('/refund-notify')[0], 3000, 'refund notification');
    assert.equal(n.verified, true);
    const v = validate('refundNotifyRequest', n.body);
    assert.equal(v.ok, true);
    assert.equal(n.body.refundStatus, 'SUCCESS');
    assert.equal(n.body.refundStatusDesc, '退款成功');
    assert.equal(n.body.refundTransactionId, r.json.refundTransactionId);
    assert.equal(n.body.refundTradeNo, 'RN1');
    assert.equal(n.body.refundAmt, 150);
    assert.equal(n.body.totalAmt, 200);
    const q2 = await postSigned(`${base}/paycgi/refundquery`, { skillId: SKILL_ID, refundTradeNo: 'RN1', nonceStr: nonce() });
    assert.equal(q2.json.refundStatus, 'SUCCESS');
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(pair.backend.of('/refund-notify').length, 1, 'notified once after SUCCESS');
  } finally {
    await pair.close();
  }
});

test('payment outcomes and the resume: Connections.Response Charge, HMAC-signed, answer returned', async () => {
  const pair = await startPair({ payWindowMs: 150 });
  const base = pair.sandbox.url;
  try {
    const said = await purchase(base);
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    assert.equal((await control(base, 'POST', `/purchases/${said.purchaseId}/resume`)).status, 409, 'not paid yet');
    assert.equal(tradeStatusOf(await api(base).payPurchase(said.purchaseId!, 'success')), 'SUCCESS');
    const resumed = await api(base).resume(said.purchaseId!);
    assert.equal(resumed.outputSpeech, '购买成功，开始播放万古神帝第35集', 'the speech as a string (contract C)');
    assert.deepEqual(resumed.directives, [
      { type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'http://x/35.mp3', token: 'ep35' }, info: { title: '万古神帝 第35集' } }] },
    ]);
    assert.equal(resumed.shouldEndSession, true);
    assert.equal(resumed.error, undefined);
    const req = pair.backend.of('/skill').at(-1)!;
    assert.equal(req.verified, true);
    assert.equal(validate('chargeResponseEvent', req.body.request).ok, true);
    assert.equal(req.body.session, undefined, 'Connections.Response carries no session');
    assert.match(req.body.request.timestamp, /^\d{8}T\d{6}Z$/);
    assert.deepEqual(req.body.request.payload, { dingdangOrderId: o.transactionId, partnerOrderId: o.tradeNo });
    const again = await api(base).resume(said.purchaseId!);
    assert.deepEqual(again, resumed, 'a repeated resume returns the same answer');

    // fail, cancel, never pays (window expires)
    const f = await purchase(base, '我要听万古神帝第2集', 'u2');
    const fo = orderOf(await api(base).placeOrder(f.purchaseId!));
    assert.equal(tradeStatusOf(await api(base).payOrder(fo.transactionId, 'fail')), 'FAIL');
    const retry = orderOf(await api(base).placeOrder(f.purchaseId!));
    assert.notEqual(retry.transactionId, fo.transactionId, 'a retry after FAIL is a new order');
    const c = await purchase(base, '我要听万古神帝第3集', 'u3');
    const co = orderOf(await api(base).placeOrder(c.purchaseId!));
    const cancelled = await api(base).payOrder(co.transactionId, 'cancel');
    assert.ok('tradeStatus' in cancelled);
    assert.equal(cancelled.tradeStatus, 'FAIL');
    assert.equal(cancelled.reason, 'cancelled');
    const n = await purchase(base, '我要听万古神帝第4集', 'u4');
    const no = orderOf(await api(base).placeOrder(n.purchaseId!));
    assert.equal(tradeStatusOf(await api(base).payOrder(no.transactionId, 'none')), 'NOTPAY');
    const expired = await until(
      async () => {
        const x = await api(base).order(no.transactionId);
        return x.expired ? x : undefined;
      },
      3000,
      'expired',
    );
    assert.equal(expired.tradeStatus, 'NOTPAY');
    assert.equal(expired.tradeStatusDesc, '未支付(已过期)');
    assert.equal((await control(base, 'POST', `/orders/${no.transactionId}/pay`, { outcome: 'success' })).status, 409);
    assert.equal((await control(base, 'POST', `/orders/${no.transactionId}/pay`, { outcome: 'maybe' })).status, 400);
    assert.equal((await control(base, 'POST', `/orders/nosuch/pay`, { outcome: 'success' })).status, 404);
  } finally {
    await pair.close();
  }
});

test("the partner kit's PayClient against the sandbox: orderquery, partial refunds, repeat, refundquery, FAIL as PayRemoteError", async () => {
  const { PayClient, PayRemoteError } = await import('../../src/partner/pay-client.js');
  const { SKILL_PRIVATE } = await import('../support/sandbox.js');
  // The refund stays PROCESSING for 2 s (scaled), long enough to see it even on a loaded machine.
  const pair = await startPair({ timeScale: 0.001, refundDelayMs: 2_000_000 });
  const base = pair.sandbox.url;
  try {
    const client = new PayClient({ skillId: SKILL_ID, skillPrivateKey: SKILL_PRIVATE, tskPublicKey: pair.sandbox.tskPublicKey, baseUrl: base, retries: 0 });
    const said = await purchase(base);
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    assert.equal((await client.orderQuery({ tradeNo: o.tradeNo })).tradeStatus, 'NOTPAY');
    await assert.rejects(
      client.refund({ transactionId: o.transactionId, totalAmt: 200, refundAmt: 50, refundDetails: [] }),
      (e: unknown) => e instanceof PayRemoteError && e.retMsg === 'order not paid',
    );
    await api(base).payOrder(o.transactionId, 'success');
    const q = await client.orderQuery({ transactionId: o.transactionId });
    assert.deepEqual([q.tradeStatus, q.tradeNo, q.totalAmt], ['SUCCESS', o.tradeNo, 200]);
    const r1 = await client.refund({
      tradeNo: o.tradeNo,
      refundTradeNo: 'PC1',
      totalAmt: 200,
      refundAmt: 150,
      refundDetails: [{ itemId: 'ep35', quantity: 1, amount: 150 }],
    });
    const again = await client.refund({
      tradeNo: o.tradeNo,
      refundTradeNo: 'PC1',
      totalAmt: 200,
      refundAmt: 150,
      refundDetails: [{ itemId: 'ep35', quantity: 1, amount: 150 }],
    });
    assert.equal(again.refundTransactionId, r1.refundTransactionId);
    await assert.rejects(
      client.refund({ tradeNo: o.tradeNo, refundTradeNo: 'PC2', totalAmt: 200, refundAmt: 51, refundDetails: [] }),
      (e: unknown) => e instanceof PayRemoteError && e.retMsg === 'refundAmt exceeds paid amount',
    );
    assert.equal((await client.refundQuery({ refundTradeNo: 'PC1' })).refundStatus, 'PROCESSING');
    const done = await until(
      async () => {
        const x = await client.refundQuery({ refundTransactionId: r1.refundTransactionId });
        return x.refundStatus === 'SUCCESS' ? x : undefined;
      },
      10_000,
      'refund SUCCESS',
    );
    assert.equal(done.refundAmt, 150);
  } finally {
    await pair.close();
  }
});

test('closing the sandbox aborts calls in flight and stops retries', async () => {
  const pair = await startPair({ callTimeoutMs: 20_000, retryScheduleMs: [10, 10] });
  const base = pair.sandbox.url;
  try {
    pair.backend.deliverPlan.push('hang');
    const said = await purchase(base);
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    await api(base).payOrder(o.transactionId, 'success');
    await until(() => pair.backend.of('/deliver').length === 1, 3000, 'the hanging delivery');
    const t0 = Date.now();
    await pair.sandbox.close();
    await until(() => pair.backend.hungUp === 1, 2000, 'the platform hung up');
    assert.ok(Date.now() - t0 < 2000, 'no 20 s wait for the call timeout');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pair.backend.of('/deliver').length, 1, 'no retry after close');
  } finally {
    await pair.close();
  }
});
