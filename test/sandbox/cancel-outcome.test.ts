/**
 * Why an order ended reaches the device (docs/device-protocol.md §4.3,
 * `endReason`, our extension): a cancel on the WeChat pay page or in the
 * DingDang app, before or after ordering, is a status change with a fresh
 * `seq`, pushed (signed) and answered to a status query, FAIL with
 * `endReason: "cancelled"`; a payment failure is FAIL with `failed`; an
 * expired window NOTPAY with `expired`. The pay interfaces keep the seed's
 * `tradeStatus` values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { verifyRsa2 } from '../../src/protocol/tsk-node.js';
import { api, deviceAuthFor, deviceHeaders, pressPage, startPair, until } from '../support/sandbox.js';

const DEVICE = 'spk-cancel-1';

async function device(base: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { 'x-dingdang-device-id': DEVICE, ...deviceHeaders(base) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/device/v1${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const raw = await res.text();
  return { status: res.status, raw, json: JSON.parse(raw), authorization: res.headers.get('authorization') };
}

interface Push {
  body: string;
  authorization: string;
  status: { tradeStatus: string; seq: number; order?: { transactionId: string }; reason?: string; endReason?: string };
}

/** A socket subscribed to one purchase, collecting its pushes. */
async function subscribe(base: string, purchaseId: string): Promise<{ ws: WebSocket; pushes: Push[] }> {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/device/v1/stream');
  const pushes: Push[] = [];
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (f.type === 'push') pushes.push({ body: f.body, authorization: f.authorization, status: JSON.parse(f.body) });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', id: 's1', purchaseId, deviceId: DEVICE, lastSeq: 0, ...deviceAuthFor(base) }));
  await until(() => pushes.length >= 1, 3000, 'first push');
  return { ws, pushes };
}

/** A purchase of this device, registered by the device link (the speaker's start). */
async function start(base: string, mode: 'screen' | 'screenless', episode = 35) {
  const said = await api(base).say({ text: `我要听万古神帝第${episode}集`, deviceId: DEVICE, mode });
  const started = await device(base, 'POST', '/purchases', {
    mode,
    charge: said.answer!.directives![0]!,
    originalRequest: said.request,
    purchaseId: said.purchaseId,
  });
  assert.equal(started.status, 200, started.raw);
  return said.purchaseId!;
}

/** Press a button on a phone page (form POST, as the browser does). */
async function press(url: string, action: string): Promise<string> {
  const res = await pressPage(url, action);
  assert.equal(res.status, 303);
  return decodeURIComponent(res.headers.get('location') ?? '');
}

/** The last push is a cancel with a fresh seq, signed, and the status query says the same. */
async function assertCancelledPush(base: string, key: string, id: string, pushes: Push[], seqBefore: number, withOrder: boolean) {
  const last = await until(() => pushes.find((p) => p.status.seq > seqBefore), 3000, 'a push with a fresh seq');
  assert.equal(pushes.at(-1), last, 'one push for the cancel');
  assert.equal(last.status.tradeStatus, 'FAIL', 'the seed has no other tradeStatus for it');
  assert.equal(last.status.endReason, 'cancelled');
  assert.equal(last.status.reason, '用户取消了支付');
  assert.equal(last.status.seq, seqBefore + 1);
  assert.equal(Boolean(last.status.order), withOrder);
  assert.equal(verifyRsa2(last.body, last.authorization, key).ok, true, 'signed over its exact body');
  const st = await device(base, 'GET', `/purchases/${id}/status`);
  assert.equal(verifyRsa2(st.raw, st.authorization, key).ok, true);
  assert.deepEqual([st.json.tradeStatus, st.json.seq, st.json.endReason], ['FAIL', last.status.seq, 'cancelled']);
  // A cancelled purchase takes no more orders, and a repeated cancel is no new change.
  assert.equal((await device(base, 'POST', `/purchases/${id}/order`, {})).status, 409);
  assert.deepEqual((await device(base, 'POST', `/purchases/${id}/cancel`, { reason: 'user' })).json, { purchaseId: id, cancelled: true });
  assert.equal((await device(base, 'GET', `/purchases/${id}/status`)).json.seq, last.status.seq);
}

test('screen: cancel on the WeChat pay page after ordering → FAIL, endReason cancelled, fresh seq; the order stays FAIL for the pay interfaces', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  let ws: WebSocket | undefined;
  try {
    const id = await start(base, 'screen');
    const s = await subscribe(base, id);
    ws = s.ws;
    const placed = await device(base, 'POST', `/purchases/${id}/order`, {});
    const tid = placed.json.order.transactionId as string;
    await until(() => s.pushes.some((p) => p.status.seq === 2), 3000, 'order push');
    assert.equal(s.pushes.at(-1)!.status.endReason, undefined, 'an open order has not ended');
    assert.match(await press(`${base}/pay/${tid}`, 'cancel'), /已取消/);
    await assertCancelledPush(base, pair.sandbox.tskPublicKey, id, s.pushes, 2, true);
    const order = await api(base).order(tid);
    assert.equal(order.tradeStatus, 'FAIL');
    assert.equal(order.tradeStatusDesc, '支付失败(已取消)');
    assert.equal((await api(base).purchase(id)).state, 'cancelled');
  } finally {
    ws?.terminate();
    await pair.close();
  }
});

test('screenless: cancel in the DingDang app before ordering → FAIL, endReason cancelled, fresh seq, no order', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  let ws: WebSocket | undefined;
  try {
    const id = await start(base, 'screenless');
    const s = await subscribe(base, id);
    ws = s.ws;
    assert.equal(s.pushes[0]!.status.seq, 1);
    assert.match(await press(`${base}/app/${id}`, 'cancel'), /已取消/);
    await assertCancelledPush(base, pair.sandbox.tskPublicKey, id, s.pushes, 1, false);
    const page = await (await fetch(`${base}/app/${id}`)).text();
    assert.match(page, /已取消/);
    assert.doesNotMatch(page, /id="app-pay"/, 'no buttons once cancelled');
    assert.equal((await api(base).orders()).length, 0, 'no order was made');
  } finally {
    ws?.terminate();
    await pair.close();
  }
});

test('screenless: cancel in the DingDang app after ordering, and through the control API before ordering', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  let ws: WebSocket | undefined;
  try {
    const id = await start(base, 'screenless');
    let s = await subscribe(base, id);
    ws = s.ws;
    // Ordered in the app (the user has not paid yet).
    const ordered = await api(base).payPurchase(id, 'none');
    assert.ok('transactionId' in ordered);
    await until(() => s.pushes.some((p) => p.status.seq === 2 && p.status.order), 3000, 'order push');
    await press(`${base}/app/${id}`, 'cancel');
    await assertCancelledPush(base, pair.sandbox.tskPublicKey, id, s.pushes, 2, true);
    assert.equal((await api(base).order(ordered.transactionId)).tradeStatus, 'FAIL');
    ws.terminate();
    // `pay: cancel` of a purchase is the app's cancel button: before ordering, no order is made.
    const id2 = await start(base, 'screenless', 36);
    s = await subscribe(base, id2);
    ws = s.ws;
    assert.deepEqual(await api(base).payPurchase(id2, 'cancel'), { purchaseId: id2, cancelled: true });
    await assertCancelledPush(base, pair.sandbox.tskPublicKey, id2, s.pushes, 1, false);
    assert.equal((await api(base).purchaseStatus(id2)).endReason, 'cancelled');
  } finally {
    ws?.terminate();
    await pair.close();
  }
});

test('a payment failure is FAIL with endReason failed; a cancel after it is a change of its own; an expired window says expired', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  let ws: WebSocket | undefined;
  try {
    const id = await start(base, 'screen');
    const s = await subscribe(base, id);
    ws = s.ws;
    const tid = (await device(base, 'POST', `/purchases/${id}/order`, {})).json.order.transactionId as string;
    await api(base).payOrder(tid, 'fail');
    const failed = await until(() => s.pushes.find((p) => p.status.tradeStatus === 'FAIL'), 3000, 'FAIL push');
    assert.equal(failed.status.endReason, 'failed');
    assert.equal(failed.status.reason, '银行卡余额不足');
    // The user gives up after the failure (on the speaker): the order is already FAIL, still a fresh seq.
    assert.equal((await device(base, 'POST', `/purchases/${id}/cancel`, { reason: 'user' })).json.cancelled, true);
    await assertCancelledPush(base, pair.sandbox.tskPublicKey, id, s.pushes, failed.status.seq, true);
    ws.terminate();
    // Expired: NOTPAY, endReason expired (a refresh opens a new window and the order is open again).
    const id2 = await start(base, 'screen', 36);
    const s2 = await subscribe(base, id2);
    ws = s2.ws;
    const tid2 = (await device(base, 'POST', `/purchases/${id2}/order`, {})).json.order.transactionId as string;
    await api(base).expireOrder(tid2);
    const expired = await until(() => s2.pushes.find((p) => p.status.endReason === 'expired'), 3000, 'expired push');
    assert.equal(expired.status.tradeStatus, 'NOTPAY');
    await device(base, 'POST', `/purchases/${id2}/order/refresh`, {});
    const refreshed = await until(() => s2.pushes.find((p) => p.status.seq > expired.status.seq), 3000, 'refresh push');
    assert.equal(refreshed.status.endReason, undefined);
  } finally {
    ws?.terminate();
    await pair.close();
  }
});
