/**
 * The device transport against a real platform end (test/support/fake-platform.ts:
 * node:http + ws on 127.0.0.1, port 0, signing with its own RSA key).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FakePlatform, waitUntil } from '../support/fake-platform.js';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions, type WebSocketConstructor } from '../../src/device/transport/index.js';
import { DeviceTransportError, PlatformError, RequestTimeoutError } from '../../src/device/errors.js';
import type { StatusUpdate } from '../../src/device/port.js';
import { DingDangPayError, SignatureError, TimeoutError, TransportError } from '../../src/protocol/errors.js';
import type { SubscribeFrame } from '../../src/protocol/device-link.js';
import fc from 'fast-check';

const WS = WebSocket as unknown as WebSocketConstructor;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const signal = () => new AbortController().signal;

const charge = {
  type: 'Connections.SendRequest' as const,
  name: 'Charge' as const,
  payload: { chargeInfo: { name: '第二集', items: [{ itemId: 'ep2', itemName: '第二集', price: 200, count: 1, totalFee: 200 }] } },
};

function recorder() {
  const updates: StatusUpdate[] = [];
  const rejected: Array<{ reason: string; detail?: string }> = [];
  const connection: string[] = [];
  const errors: DingDangPayError[] = [];
  return {
    updates,
    rejected,
    connection,
    errors,
    listener: {
      onUpdate: (u: StatusUpdate) => void updates.push(u),
      onRejected: (r: { reason: string; detail?: string }) => void rejected.push(r),
      onConnection: (s: string) => void connection.push(s),
      onError: (e: DingDangPayError) => void errors.push(e),
    },
    statuses: () => updates.map((u) => `${u.tradeStatus}#${u.seq}`),
  };
}

let platform: FakePlatform;
const transports: HttpTransport[] = [];

function transport(overrides: Partial<HttpTransportOptions> = {}): HttpTransport {
  const t = createHttpTransport({
    platformUrl: platform.url,
    tskPublicKey: platform.publicKeyPem,
    deviceId: platform.deviceId,
    deviceToken: platform.deviceToken!,
    WebSocket: WS,
    pollIntervalMs: 100,
    silenceMs: 60_000, // pushes flow unless a test says otherwise
    heartbeatMs: 5_000,
    requestTimeoutMs: 2_000,
    reconnect: { initialMs: 30, maxMs: 200 },
    ...overrides,
  });
  transports.push(t);
  return t;
}

function resetBehaviour(): void {
  Object.assign(platform.behaviour, {
    pushes: true,
    pongs: true,
    ackSubscribe: true,
    refuseSubscribe: undefined,
    signReplies: 'valid',
    signPushes: 'valid',
    delayMs: {},
    hang: new Set(),
    failNext: {},
    transformReply: undefined,
    chunked: false,
  });
}

/** Subscribe and wait until the socket is subscribed and the first status (seq 1) has been applied. */
async function subscribed(t: HttpTransport, purchaseId: string, rec = recorder()) {
  const stop = t.subscribe(purchaseId, rec.listener);
  await waitUntil(() => platform.subscribers(purchaseId) === 1 && rec.connection.at(-1) === 'open', 3000, 'subscribed');
  await waitUntil(() => rec.updates.length >= 1, 3000, 'first status');
  return { rec, stop };
}

before(async () => {
  platform = await FakePlatform.start();
});
after(async () => {
  for (const t of transports) t.close();
  await platform.close();
});

describe('device transport over HTTP + WebSocket', () => {
  test('a screen purchase: start, order, pushed PROCESSING and SUCCESS, resume — device headers sent', async () => {
    resetBehaviour();
    const t = transport();
    const { purchaseId } = await t.startPurchase({ mode: 'screen', charge, originalRequest: { intent: 'play', ep: 2 } }, signal());
    const start = platform.requestsTo('start').at(-1)!;
    assert.equal(start.headers['x-dingdang-device-id'], platform.deviceId);
    assert.equal(start.headers['x-dingdang-device-token'], platform.deviceToken);
    assert.deepEqual(JSON.parse(start.body).originalRequest, { intent: 'play', ep: 2 });
    assert.deepEqual(platform.purchase(purchaseId).charge, charge);

    const placed = await t.placeOrder(purchaseId, signal());
    assert.equal(placed.kind, 'order');
    assert.ok(placed.kind === 'order' && placed.order.payUrl.startsWith('https://pay.example.test/'));
    assert.equal(placed.kind === 'order' && placed.order.totalAmt, 200);

    const { rec, stop } = await subscribed(t, purchaseId);
    platform.setStatus(purchaseId, 'PROCESSING');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'PROCESSING'), 3000, 'PROCESSING');
    platform.setStatus(purchaseId, 'SUCCESS');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS');
    const success = rec.updates.find((u) => u.tradeStatus === 'SUCCESS')!;
    assert.equal(success.order?.transactionId, placed.kind === 'order' ? placed.order.transactionId : '');
    assert.deepEqual(rec.rejected, []);

    const answer = await t.resume(purchaseId, signal());
    assert.equal(answer.outputSpeech, '购买成功，现在为你播放。');
    assert.equal((answer.directives[0] as { type: string }).type, 'AudioPlayer.Play');
    assert.equal(answer.shouldEndSession, true);
    stop();
  });

  test('a socket dropped mid-purchase: reconnect, re-subscribe, re-query; the update still arrives', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    const acked = platform.subscribesAcked;
    const statusQueries = platform.requestsTo('status').length;

    // Pushes are off while the socket is down, so only the re-query can bring PROCESSING.
    platform.behaviour.pushes = false;
    assert.equal(platform.dropSockets(), 1);
    platform.setStatus(p.purchaseId, 'PROCESSING');
    await waitUntil(() => rec.connection.includes('closed'), 2000, 'closed reported');
    platform.behaviour.pushes = true;

    await waitUntil(() => platform.subscribesAcked > acked, 3000, 're-subscribe');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'PROCESSING'), 3000, 'PROCESSING after reconnect');
    assert.ok(platform.requestsTo('status').length > statusQueries, 'status re-queried');
    // Re-query after the re-subscribe itself, not only by the polling while down.
    await waitUntil(
      () => {
        const log = platform.log;
        const resubscribed = log.lastIndexOf(`subscribed:${p.purchaseId}`);
        return resubscribed > log.lastIndexOf('drop') && log.indexOf(`http:status:${p.purchaseId}`, resubscribed) > resubscribed;
      },
      3000,
      'status query after the re-subscribe',
    );
    const resub = platform.framesIn.filter((f): f is SubscribeFrame => f.type === 'subscribe' && f.purchaseId === p.purchaseId).at(-1)!;
    assert.equal(resub.deviceToken, platform.deviceToken, 'the re-subscribe is authenticated');

    // After the reconnect pushes flow again.
    platform.setStatus(p.purchaseId, 'SUCCESS');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS');
    assert.deepEqual(rec.statuses(), ['NOTPAY#1', 'PROCESSING#2', 'SUCCESS#3']);
    stop();
  });

  test('duplicate and out-of-order pushes: each seq delivered once, older ones ignored and reported', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    p.seq = 3;
    p.tradeStatus = 'PROCESSING';
    platform.push(p.purchaseId);
    platform.push(p.purchaseId); // the same seq again, new nonce and signature
    platform.push(p.purchaseId, { seq: 2, tradeStatus: 'NOTPAY' }); // arrives late
    platform.push(p.purchaseId, { seq: 3 });
    platform.push(p.purchaseId, { seq: 5, tradeStatus: 'FAIL', reason: '余额不足' });
    platform.push(p.purchaseId, { seq: 4, tradeStatus: 'PROCESSING' });
    await waitUntil(() => rec.rejected.filter((r) => r.reason === 'stale-seq').length === 2, 3000, 'two stale pushes');
    await sleep(50);
    assert.deepEqual(rec.statuses(), ['NOTPAY#1', 'PROCESSING#3', 'FAIL#5']);
    assert.equal(rec.updates.at(-1)!.reason, '余额不足');
    assert.equal(rec.rejected.length, 2, JSON.stringify(rec.rejected));
    stop();
  });

  test('unsigned, forged, foreign-key, wrong-algorithm and garbage pushes are rejected, reported, never delivered', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    const body = platform.statusBody(p.purchaseId, { seq: 9, tradeStatus: 'SUCCESS' });
    platform.sendRaw(p.purchaseId, platform.pushFrame(body, 'none'));
    platform.sendRaw(p.purchaseId, JSON.stringify({ type: 'push', body, authorization: '' }));
    platform.push(p.purchaseId, { seq: 9, tradeStatus: 'NOTPAY' }, 'forged'); // signed NOTPAY, sent as SUCCESS
    platform.push(p.purchaseId, { seq: 9, tradeStatus: 'SUCCESS' }, 'other-key');
    platform.push(p.purchaseId, { seq: 9, tradeStatus: 'SUCCESS' }, 'hmac-header');
    platform.sendRaw(p.purchaseId, 'not json at all');
    platform.sendRaw(p.purchaseId, JSON.stringify({ type: 'push', body: { tradeStatus: 'SUCCESS' }, authorization: 'x' }));
    // Correctly signed, but for another device / another purchase.
    platform.push(p.purchaseId, { seq: 9, tradeStatus: 'SUCCESS', deviceId: 'spk-evil' });
    platform.push(p.purchaseId, { seq: 9, tradeStatus: 'SUCCESS', purchaseId: 'someoneElse' });
    await waitUntil(() => rec.rejected.length >= 9, 3000, 'nine rejections');
    assert.deepEqual(
      rec.rejected.map((r) => r.reason),
      ['unsigned', 'unsigned', 'bad-signature', 'bad-signature', 'algorithm-mismatch', 'malformed', 'malformed', 'wrong-device', 'wrong-purchase'],
    );
    assert.deepEqual(rec.statuses(), ['NOTPAY#1'], 'nothing forged was acted on');
    // The subscription is still healthy: a genuine push gets through.
    platform.setStatus(p.purchaseId, 'PROCESSING');
    await waitUntil(() => rec.updates.length === 2, 3000, 'genuine push');
    assert.deepEqual(rec.statuses(), ['NOTPAY#1', 'PROCESSING#2']);
    stop();
  });

  test('stale and future timestamps are rejected; the window follows the injected device clock', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    platform.push(p.purchaseId, { seq: 7, tradeStatus: 'SUCCESS' }, 'stale');
    platform.push(p.purchaseId, { seq: 7, tradeStatus: 'SUCCESS' }, 'future');
    await waitUntil(() => rec.rejected.length === 2, 3000, 'two rejections');
    assert.deepEqual(
      rec.rejected.map((r) => r.reason),
      ['stale', 'future'],
    );
    assert.deepEqual(rec.statuses(), ['NOTPAY#1']);
    stop();

    // A device whose clock is 10 minutes ahead refuses the platform's fresh signatures, replies included.
    const skewed = transport({ now: () => Date.now() + 10 * 60_000 });
    await assert.rejects(skewed.queryStatus(p.purchaseId, signal()), (e: unknown) => {
      assert.ok(e instanceof SignatureError);
      assert.equal(e.code, 'ERR_SIGNATURE');
      assert.equal(e.reason, 'stale');
      return true;
    });
  });

  test('a server that goes silent: polling takes over and delivers SUCCESS', async () => {
    resetBehaviour();
    const t = transport({ silenceMs: 300, pollIntervalMs: 100 });
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    platform.behaviour.pushes = false;
    platform.setStatus(p.purchaseId, 'PROCESSING');
    platform.setStatus(p.purchaseId, 'SUCCESS');
    assert.equal(platform.connections >= 1, true, 'the socket itself stays up');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS by polling');
    const success = rec.updates.find((u) => u.tradeStatus === 'SUCCESS')!;
    assert.equal(success.source, 'poll');
    assert.equal(success.seq, 3);
    assert.ok(rec.connection.includes('polling'));
    // SUCCESS is final: polling stops.
    const polls = platform.requestsTo('status').length;
    await sleep(350);
    assert.equal(platform.requestsTo('status').length, polls, 'no polling after SUCCESS');
    stop();
  });

  test('a late NOTPAY after SUCCESS changes nothing (push or poll)', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    platform.setStatus(p.purchaseId, 'SUCCESS');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS');
    platform.push(p.purchaseId, { seq: 1, tradeStatus: 'NOTPAY' }); // older: reported
    platform.push(p.purchaseId, { seq: 2, tradeStatus: 'NOTPAY' }); // same seq as SUCCESS: a duplicate, dropped
    platform.push(p.purchaseId, { seq: 0, tradeStatus: 'PROCESSING' });
    await waitUntil(() => rec.rejected.length === 2, 3000, 'late pushes reported');
    await sleep(50);
    assert.deepEqual(
      rec.rejected.map((r) => r.reason),
      ['stale-seq', 'stale-seq'],
    );
    assert.deepEqual(rec.statuses(), ['NOTPAY#1', 'SUCCESS#2']);
    // A direct query still tells the truth, and the subscription stays on SUCCESS.
    assert.equal((await t.queryStatus(p.purchaseId, signal())).tradeStatus, 'SUCCESS');
    stop();
  });

  test('the heartbeat detects a dead connection and reconnects', async () => {
    resetBehaviour();
    const t = transport({ heartbeatMs: 100 });
    const p = platform.addPurchase();
    const { rec, stop } = await subscribed(t, p.purchaseId);
    const accepted = platform.connectionsAccepted;
    platform.behaviour.pongs = false; // the connection looks alive at TCP level but answers nothing
    platform.behaviour.pushes = false;
    await waitUntil(() => rec.connection.includes('closed'), 2000, 'dead connection detected');
    const detected = Date.now();
    platform.behaviour.pongs = true;
    platform.behaviour.pushes = true;
    await waitUntil(() => platform.connectionsAccepted > accepted && rec.connection.at(-1) === 'open', 3000, 'reconnected');
    assert.ok(Date.now() - detected < 3000);
    const pings = platform.framesIn.filter((f) => f.type === 'ping');
    assert.ok(pings.length >= 1 && typeof pings[0]!.t === 'number', 'JSON ping frames were sent');
    stop();
  });

  test('every request times out rather than hanging, and honours AbortSignal', async () => {
    resetBehaviour();
    const t = transport({ requestTimeoutMs: 150 });
    const p = platform.addPurchase();
    platform.behaviour.hang = new Set(['start', 'order', 'refresh', 'status', 'cancel', 'resume']);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['startPurchase', () => t.startPurchase({ mode: 'screenless', charge, originalRequest: null }, signal())],
      ['placeOrder', () => t.placeOrder(p.purchaseId, signal())],
      ['refreshOrder', () => t.refreshOrder(p.purchaseId, signal())],
      ['queryStatus', () => t.queryStatus(p.purchaseId, signal())],
      ['cancel', () => t.cancel(p.purchaseId, signal())],
      ['resume', () => t.resume(p.purchaseId, signal())],
    ];
    const started = Date.now();
    const results = await Promise.allSettled(calls.map(([, call]) => call()));
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    results.forEach((r, i) => {
      assert.equal(r.status, 'rejected', calls[i]![0]);
      const e = r.reason;
      assert.ok(e instanceof RequestTimeoutError && e instanceof TimeoutError, `${calls[i]![0]}: ${e}`);
      assert.equal(e.code, 'ERR_TIMEOUT');
    });

    // The caller's abort wins over the timeout.
    const slow = transport({ requestTimeoutMs: 5000 });
    const ac = new AbortController();
    const pending = slow.queryStatus(p.purchaseId, ac.signal);
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(pending, (e: unknown) => e instanceof DeviceTransportError && e.reason === 'aborted' && e.code === 'ERR_TRANSPORT');
    await assert.rejects(slow.cancel(p.purchaseId, AbortSignal.abort()), (e: unknown) => e instanceof DeviceTransportError && e.reason === 'aborted');

    // A reply slower than the timeout (but not hung) times out too.
    platform.behaviour.hang = new Set();
    platform.behaviour.delayMs = { status: 400 };
    await assert.rejects(t.queryStatus(p.purchaseId, signal()), RequestTimeoutError);
    platform.behaviour.delayMs = {};
    assert.equal(t.stats.pendingRequests, 0);
    assert.equal(slow.stats.pendingRequests, 0);
  });

  test('a subscribe that is never acknowledged times out and is retried; polling covers the gap', async () => {
    resetBehaviour();
    platform.behaviour.ackSubscribe = false;
    const t = transport({ requestTimeoutMs: 150 });
    const p = platform.addPurchase();
    const rec = recorder();
    const stop = t.subscribe(p.purchaseId, rec.listener);
    const accepted = platform.connectionsAccepted;
    platform.setStatus(p.purchaseId, 'PROCESSING');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'PROCESSING'), 3000, 'PROCESSING by polling');
    assert.equal(rec.updates.at(-1)!.source, 'poll');
    await waitUntil(() => platform.connectionsAccepted >= accepted + 2, 3000, 'retries');
    platform.behaviour.ackSubscribe = true;
    await waitUntil(() => rec.connection.at(-1) === 'open', 3000, 'open at last');
    stop();
  });

  test('a refused subscribe is reported and retried with growing, jittered backoff; pushes resume once accepted', async () => {
    resetBehaviour();
    platform.behaviour.refuseSubscribe = 'UNAUTHORIZED';
    const t = transport({ reconnect: { initialMs: 40, maxMs: 320, random: () => 0.5 } });
    const p = platform.addPurchase();
    const rec = recorder();
    const first = platform.connectionTimes.length;
    const stop = t.subscribe(p.purchaseId, rec.listener);
    await waitUntil(() => platform.connectionTimes.length >= first + 5, 5000, 'five attempts');
    const times = platform.connectionTimes.slice(first, first + 5);
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    // Nominal 40, 80, 160, 320 ms at 75 % (random 0.5): 30, 60, 120, 240 ms plus connect time.
    [30, 60, 120, 240].forEach((min, i) => assert.ok(gaps[i]! >= min - 5, `gap ${i} = ${gaps[i]} ms, expected >= ${min}`));
    assert.ok(gaps[3]! > gaps[0]!, `backoff grows: ${gaps.join(', ')}`);
    const refused = rec.errors.find((e) => e instanceof PlatformError);
    assert.ok(refused instanceof PlatformError && refused.platformCode === 'UNAUTHORIZED' && refused.status === 401);
    assert.equal(platform.subscribers(p.purchaseId), 0);
    platform.behaviour.refuseSubscribe = undefined;
    await waitUntil(() => rec.connection.at(-1) === 'open', 3000, 'accepted at last');
    platform.push(p.purchaseId, { seq: 10, tradeStatus: 'PROCESSING' });
    await waitUntil(() => rec.updates.some((u) => u.seq === 10 && u.source === 'push'), 3000, 'push after acceptance');
    stop();
  });

  test('platform errors, unsigned and forged replies become typed errors', async () => {
    resetBehaviour();
    const t = transport();
    const p = platform.addPurchase();

    await assert.rejects(t.resume(p.purchaseId, signal()), (e: unknown) => {
      assert.ok(e instanceof PlatformError && e instanceof DingDangPayError);
      assert.equal(e.code, 'ERR_REMOTE');
      assert.equal(e.status, 409);
      assert.equal(e.platformCode, 'NOT_PAID');
      return true;
    });
    const wrongToken = transport({ deviceToken: 'nope' });
    await assert.rejects(
      wrongToken.queryStatus(p.purchaseId, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 401 && e.platformCode === 'UNAUTHORIZED',
    );
    await assert.rejects(t.queryStatus('unknown1', signal()), (e: unknown) => e instanceof PlatformError && e.platformCode === 'NOT_FOUND');

    for (const [mode, reason] of [
      ['none', 'malformed-header'],
      ['forged', 'bad-signature'],
      ['other-key', 'bad-signature'],
      ['stale', 'stale'],
    ] as const) {
      platform.behaviour.signReplies = mode;
      await assert.rejects(t.placeOrder(p.purchaseId, signal()), (e: unknown) => e instanceof SignatureError && e.reason === reason, mode);
    }
    platform.behaviour.signReplies = 'valid';

    p.placeOrderAnswer = 'already-owned';
    assert.deepEqual(await t.placeOrder(p.purchaseId, signal()), { kind: 'already-owned' });
    p.placeOrderAnswer = { refuse: 'SOLD_OUT' };
    await assert.rejects(
      t.placeOrder(p.purchaseId, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 409 && e.message.includes('SOLD_OUT'),
    );
    p.placeOrderAnswer = 'order';

    const first = await t.placeOrder(p.purchaseId, signal());
    const fresh = await t.refreshOrder(p.purchaseId, signal());
    assert.ok(first.kind === 'order' && first.order.payUrl !== fresh.payUrl);
    await t.cancel(p.purchaseId, signal());
    assert.equal(platform.purchase(p.purchaseId).cancelled, true);

    // Bad arguments fail before any request.
    const before = platform.requests.length;
    await assert.rejects(t.queryStatus('../etc', signal()), (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT');
    await assert.rejects(
      t.placeOrder(p.purchaseId, undefined as unknown as AbortSignal),
      (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT',
    );
    assert.throws(
      () => t.subscribe(p.purchaseId, {} as never),
      (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT',
    );
    assert.equal(platform.requests.length, before);
    assert.throws(
      () => createHttpTransport({ platformUrl: 'ftp://x', tskPublicKey: 'k', deviceId: 'd' }),
      (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT',
    );
    assert.throws(
      () => transport({ pollIntervalMs: -1 }),
      (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT',
    );
    const badKey = transport({ tskPublicKey: 'bm90IGEga2V5' });
    await assert.rejects(badKey.ready(), (e: unknown) => (e as DingDangPayError).code === 'ERR_KEY');
  });

  test('selectElement: the request as the contract writes it, the verified answer with its purchase; unsigned, forged or another element refused', async () => {
    resetBehaviour();
    const t = transport();
    const r = await t.selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal());
    const sent = platform.requestsTo('select').at(-1)!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/device/v1/elements/selected');
    assert.equal(sent.headers['x-dingdang-device-id'], platform.deviceId);
    assert.equal(sent.headers['x-dingdang-device-token'], platform.deviceToken);
    assert.deepEqual(JSON.parse(sent.body), { token: 'ep4', mode: 'screen', cause: 'ended' }, 'no skillId when none is set');
    assert.equal(r.token, 'ep4');
    assert.equal(r.skillId, 'fake-skill');
    assert.equal((r.directives[0] as { name?: string }).name, 'Charge');
    assert.ok(r.purchaseId && platform.purchases.has(r.purchaseId), 'the purchase the platform opened');
    const again = await t.selectElement!({ token: 'ep5', mode: 'screenless', cause: 'tap', skillId: 's1' }, signal());
    assert.deepEqual(platform.selects.at(-1), { token: 'ep5', mode: 'screenless', cause: 'tap', skillId: 's1' });
    assert.equal(again.skillId, 's1');
    assert.notEqual(again.purchaseId, r.purchaseId, 'each call is its own turn');

    for (const [mode, reason] of [
      ['none', 'malformed-header'],
      ['forged', 'bad-signature'],
      ['other-key', 'bad-signature'],
      ['stale', 'stale'],
    ] as const) {
      platform.behaviour.signReplies = mode;
      await assert.rejects(
        t.selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal()),
        (e: unknown) => e instanceof SignatureError && e.reason === reason,
        mode,
      );
    }
    platform.behaviour.signReplies = 'valid';
    // Signed, but about another element: never acted on.
    platform.behaviour.transformReply = (route, text) => (route === 'select' ? text.replace('"token":"ep4"', '"token":"ep9"') : text);
    await assert.rejects(
      t.selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal()),
      (e: unknown) => e instanceof DeviceTransportError && e.reason === 'bad-reply' && e.rejection === 'wrong-element',
    );
    platform.behaviour.transformReply = (route, text) => (route === 'select' ? text.replace(/"purchaseId":"[^"]*"/, '"purchaseId":"../x"') : text);
    await assert.rejects(
      t.selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal()),
      (e: unknown) => e instanceof DeviceTransportError && e.rejection === 'malformed',
    );
    platform.behaviour.transformReply = undefined;
    platform.behaviour.failNext.select = { status: 404, code: 'NOT_FOUND', message: 'no skill' };
    await assert.rejects(
      t.selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 404 && e.platformCode === 'NOT_FOUND',
    );
    await assert.rejects(
      transport({ deviceToken: 'nope' }).selectElement!({ token: 'ep4', mode: 'screen', cause: 'ended' }, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 401 && e.platformCode === 'UNAUTHORIZED',
    );
    await assert.rejects(
      t.selectElement!({ token: '', mode: 'screen', cause: 'ended' }, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 400 && e.platformCode === 'BAD_REQUEST',
    );
  });

  test('replies are verified over their exact bytes, whatever their formatting; oversized replies are refused', async () => {
    resetBehaviour();
    const t = transport({ maxReplyBytes: 4096 });
    const p = platform.addPurchase({ tradeStatus: 'FAIL', reason: '余额不足' });
    // Pretty-printed with \u escapes and a trailing newline: not what JSON.stringify would give back.
    platform.behaviour.transformReply = (_route, text) =>
      JSON.stringify(JSON.parse(text), null, 3).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
    const s = await t.queryStatus(p.purchaseId, signal());
    assert.equal(s.reason, '余额不足');
    platform.behaviour.transformReply = (_route, text) => text.slice(0, -1) + `, "pad": "${'x'.repeat(5000)}"}`;
    await assert.rejects(t.queryStatus(p.purchaseId, signal()), (e: unknown) => e instanceof DeviceTransportError && e.reason === 'bad-reply');
    platform.behaviour.chunked = true; // no content-length: the limit holds while reading
    await assert.rejects(t.queryStatus(p.purchaseId, signal()), (e: unknown) => e instanceof DeviceTransportError && /exceeds 4096/.test(e.message));
    platform.behaviour.transformReply = undefined;
    assert.equal((await t.queryStatus(p.purchaseId, signal())).tradeStatus, 'FAIL', 'chunked replies verify');
    platform.behaviour.chunked = false;
    platform.behaviour.transformReply = () => '["not", "an", "object"]';
    await assert.rejects(t.queryStatus(p.purchaseId, signal()), (e: unknown) => e instanceof DeviceTransportError && e.reason === 'bad-reply');
    platform.behaviour.transformReply = (_route, text) => text.replace(/"purchaseId":"[^"]+"/, '"purchaseId":"other1"');
    await assert.rejects(t.queryStatus(p.purchaseId, signal()), (e: unknown) => e instanceof DeviceTransportError && e.rejection === 'wrong-purchase');
    platform.behaviour.transformReply = undefined;
  });

  test('any script of pushes: only verified ones are delivered, each seq once and in increasing order (property)', async () => {
    resetBehaviour();
    const t = transport();
    const push = fc.record({
      seq: fc.integer({ min: 0, max: 8 }),
      tradeStatus: fc.constantFrom('NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'),
      mode: fc.constantFrom('valid', 'valid', 'valid', 'forged', 'none', 'other-key', 'stale'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(push, { maxLength: 12 }), async (script) => {
        const p = platform.addPurchase();
        const { rec, stop } = await subscribed(t, p.purchaseId);
        try {
          for (const step of script) platform.push(p.purchaseId, { seq: step.seq, tradeStatus: step.tradeStatus }, step.mode);
          platform.push(p.purchaseId, { seq: 1000, tradeStatus: 'SUCCESS' }); // sentinel: everything before it was handled
          await waitUntil(() => rec.updates.some((u) => u.seq === 1000), 3000, 'sentinel');
          let last = 1;
          const expected = ['NOTPAY#1'];
          let rejections = 0;
          for (const step of script) {
            if (step.mode !== 'valid') rejections++;
            else if (step.seq > last) {
              last = step.seq;
              expected.push(`${step.tradeStatus}#${step.seq}`);
            } else if (step.seq < last) rejections++;
          }
          expected.push('SUCCESS#1000');
          assert.deepEqual(rec.statuses(), expected);
          assert.equal(rec.rejected.length, rejections, JSON.stringify(rec.rejected));
        } finally {
          stop();
        }
      }),
      { numRuns: 15 },
    );
  });

  test('without any WebSocket the transport polls only, and says so', async () => {
    resetBehaviour();
    const t = createHttpTransport({
      platformUrl: platform.url,
      tskPublicKey: platform.publicKeyBase64, // bare Base64 SPKI works too
      deviceId: platform.deviceId,
      deviceToken: platform.deviceToken!,
      pollIntervalMs: 50,
    });
    transports.push(t);
    const p = platform.addPurchase();
    const rec = recorder();
    const stop = t.subscribe(p.purchaseId, rec.listener);
    platform.setStatus(p.purchaseId, 'SUCCESS');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS by polling');
    assert.ok(rec.errors.some((e) => e instanceof TransportError && /polling only/.test(e.message)));
    assert.equal(platform.subscribers(p.purchaseId), 0);
    stop();
  });

  test('close() releases every socket, timer and request; nothing is delivered afterwards', async () => {
    resetBehaviour();
    const baseline = platform.connections;
    const t = transport({ heartbeatMs: 50, requestTimeoutMs: 20_000 });
    const a = platform.addPurchase();
    const b = platform.addPurchase();
    const ra = await subscribed(t, a.purchaseId);
    const rb = await subscribed(t, b.purchaseId);
    assert.equal(t.stats.subscriptions, 2);
    await waitUntil(() => platform.connections === baseline + 2, 2000, 'two sockets');
    platform.behaviour.hang = new Set(['status']);
    const hung = t.queryStatus(a.purchaseId, signal()).then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitUntil(() => platform.requestsTo('status').some((r) => r.path.includes(a.purchaseId)) && t.stats.pendingRequests >= 1, 5000, 'request in flight');

    t.close();
    const e = await hung;
    assert.ok(e instanceof DeviceTransportError && e.reason === 'closed', String(e));
    await waitUntil(() => platform.connections === baseline, 3000, 'server sees every socket closed');
    assert.deepEqual(t.stats, { subscriptions: 0, pendingRequests: 0 });
    const counts = [ra.rec.updates.length, rb.rec.updates.length, ra.rec.connection.length];
    platform.behaviour.hang = new Set();
    platform.setStatus(a.purchaseId, 'SUCCESS');
    await sleep(200);
    assert.deepEqual([ra.rec.updates.length, rb.rec.updates.length, ra.rec.connection.length], counts, 'silent after close');
    assert.equal(platform.connections, baseline, 'no reconnect after close');
    await assert.rejects(t.queryStatus(a.purchaseId, signal()), (e: unknown) => e instanceof DeviceTransportError && e.reason === 'closed');
    assert.throws(
      () => t.subscribe(a.purchaseId, ra.rec.listener),
      (e: unknown) => e instanceof DeviceTransportError && e.reason === 'closed',
    );
    // Unsubscribing one purchase only closes its own socket.
    const t2 = transport();
    const s1 = await subscribed(t2, a.purchaseId);
    const s2 = await subscribed(t2, b.purchaseId);
    s1.stop();
    s1.stop(); // idempotent
    await waitUntil(() => platform.connections === baseline + 1, 3000, 'one socket left');
    assert.ok(platform.framesIn.some((f) => f.type === 'unsubscribe' && f.purchaseId === a.purchaseId));
    s2.stop();
    await waitUntil(() => platform.connections === baseline, 3000, 'none left');
    assert.equal(t2.stats.subscriptions, 0);
  });
});

describe('no leaked handles', () => {
  test('a transport and a platform, used and closed, leave no sockets or timers behind', async () => {
    const baseline = process.getActiveResourcesInfo();
    const own = await FakePlatform.start({ keyPair: platform.keys });
    const t = createHttpTransport({
      platformUrl: own.url,
      tskPublicKey: own.publicKeyPem,
      deviceId: own.deviceId,
      deviceToken: own.deviceToken!,
      WebSocket: WS,
      pollIntervalMs: 50,
      heartbeatMs: 50,
      reconnect: { initialMs: 20, maxMs: 50 },
    });
    const p = own.addPurchase();
    const rec = recorder();
    t.subscribe(p.purchaseId, rec.listener);
    await waitUntil(() => rec.connection.at(-1) === 'open', 3000, 'open');
    own.dropSockets();
    await waitUntil(() => own.subscribesAcked >= 2, 3000, 'reconnected');
    own.setStatus(p.purchaseId, 'PROCESSING');
    await waitUntil(() => rec.updates.some((u) => u.tradeStatus === 'PROCESSING'), 3000, 'PROCESSING');
    t.close();
    await waitUntil(() => own.connections === 0, 3000, 'sockets closed');
    await own.close();
    const count = (list: string[], kind: string) => list.filter((x) => x === kind).length;
    await waitUntil(
      () => {
        const now = process.getActiveResourcesInfo();
        return ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'].every((k) => count(now, k) <= count(baseline, k) + (k === 'Timeout' ? 1 : 0));
      },
      3000,
      `no leaked handles (baseline ${baseline.join(',')}; now ${process.getActiveResourcesInfo().join(',')})`,
    );
  });
});
