/**
 * The sandbox's device link (docs/device-protocol.md) through real HTTP and
 * WebSockets: signed replies, subscribe + signed pushes on every status
 * change with increasing seq, push faults (duplicate, delay, reorder, drop
 * the socket), device auth; then a whole purchase driven by the device
 * companion's own transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { verifyRsa2 } from '../../src/protocol/tsk-node.js';
import { createNodeTransport } from '../../src/device/node.js';
import type { StatusUpdate } from '../../src/device/port.js';
import { api, control, deviceAuthFor, deviceTokenFor, pressPage, startPair, until, within } from '../support/sandbox.js';
import { deferred } from '../support/helpers.js';

const DEVICE = 'spk-test-1';

async function device(base: string, method: string, path: string, body?: unknown, deviceId = DEVICE, token = deviceTokenFor(base)) {
  const headers: Record<string, string> = { 'x-dingdang-device-id': deviceId };
  if (token !== undefined) headers['x-dingdang-device-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/device/v1${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const raw = await res.text();
  return { status: res.status, raw, json: JSON.parse(raw), authorization: res.headers.get('authorization'), headers: res.headers };
}

interface Stream {
  ws: WebSocket;
  frames: any[];
  pushes: any[];
  closed: Promise<number>;
}

async function openStream(base: string): Promise<Stream> {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/device/v1/stream');
  const frames: any[] = [];
  const pushes: any[] = [];
  const closed = deferred<number>();
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    frames.push(f);
    if (f.type === 'push') pushes.push({ ...f, status: JSON.parse(f.body) });
  });
  ws.on('close', (code) => closed.resolve(code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, pushes, closed: closed.promise };
}

/** A screen purchase for DEVICE via the device API, with an order. */
async function startScreenPurchase(base: string, text = '我要听万古神帝第35集') {
  const said = await api(base).say({ text, deviceId: DEVICE });
  const charge = said.answer!.directives![0]!;
  const started = await device(base, 'POST', '/purchases', { mode: 'screen', charge, originalRequest: said.request, purchaseId: said.purchaseId });
  return { said, started };
}

test('device HTTP: signed replies, ownership, errors, CORS', async () => {
  const pair = await startPair();
  const base = pair.sandbox.url;
  const key = pair.sandbox.tskPublicKey;
  try {
    const { said, started } = await startScreenPurchase(base);
    assert.equal(started.status, 200, started.raw);
    assert.equal(verifyRsa2(started.raw, started.authorization, key).ok, true);
    assert.deepEqual(started.json, { purchaseId: said.purchaseId, tradeStatus: 'NOTPAY', seq: 1 });
    const id = said.purchaseId;
    const placed = await device(base, 'POST', `/purchases/${id}/order`, {});
    assert.equal(placed.status, 200, placed.raw);
    assert.equal(verifyRsa2(placed.raw, placed.authorization, key).ok, true);
    assert.equal(placed.json.kind, 'order');
    assert.equal(placed.json.order.purchaseId, id);
    const st = await device(base, 'GET', `/purchases/${id}/status`);
    assert.equal(verifyRsa2(st.raw, st.authorization, key).ok, true);
    assert.equal(st.json.purchaseId, id);
    assert.equal(st.json.deviceId, DEVICE);
    assert.equal(st.json.tradeStatus, 'NOTPAY');
    assert.equal(st.json.seq, 2);
    assert.equal(st.json.order.transactionId, placed.json.order.transactionId);
    assert.match(st.json.nonceStr, /^[0-9A-Za-z]{32}$/);
    // another device: 404, never a hint
    assert.equal((await device(base, 'GET', `/purchases/${id}/status`, undefined, 'spk-other')).status, 404);
    assert.equal((await device(base, 'POST', `/purchases/${id}/order`, {}, 'spk-other')).json.error.code, 'NOT_FOUND');
    assert.equal((await device(base, 'GET', `/purchases/${id}/status`, undefined, 'bad id!')).status, 401);
    assert.equal((await device(base, 'POST', '/purchases', { mode: 'tv', charge: {} })).json.error.code, 'BAD_REQUEST');
    assert.equal((await device(base, 'POST', '/purchases', { mode: 'screen', charge: { type: 'x' } })).status, 400);
    assert.equal((await device(base, 'POST', `/purchases/${id}/resume`, {})).json.error.code, 'NOT_PAID');
    // a new purchase started by the device from a Charge directive
    const fresh = await device(base, 'POST', '/purchases', { mode: 'screenless', charge: said.answer!.directives![0]!, originalRequest: said.request });
    assert.equal(fresh.status, 201);
    assert.notEqual(fresh.json.purchaseId, id);
    // cancel, idempotent
    const c1 = await device(base, 'POST', `/purchases/${fresh.json.purchaseId}/cancel`, { reason: 'user' });
    assert.deepEqual(c1.json, { purchaseId: fresh.json.purchaseId, cancelled: true });
    assert.equal((await device(base, 'POST', `/purchases/${fresh.json.purchaseId}/cancel`, { reason: 'user' })).json.cancelled, true);
    const pre = await fetch(`${base}/device/v1/purchases`, { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-dingdang-device-id/);
    assert.match(placed.headers.get('access-control-expose-headers') ?? '', /Authorization/i);
    // the device link stays open to every origin; the control API answers its own (and allowed) origins only
    assert.equal((await fetch(`${base}/device/v1/purchases`, { method: 'OPTIONS', headers: { origin: 'http://elsewhere.test' } })).status, 204);
    const pre2 = await fetch(`${base}/sandbox/v1/say`, { method: 'OPTIONS', headers: { origin: base } });
    assert.equal(pre2.status, 204);
    assert.equal(pre2.headers.get('access-control-allow-origin'), base);
    assert.equal((await fetch(`${base}/sandbox/v1/info`)).headers.get('access-control-allow-origin'), null);
  } finally {
    await pair.close();
  }
});

test('device stream: subscribe, signed pushes on every change with rising seq, auth errors', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  const key = pair.sandbox.tskPublicKey;
  let s: Stream | undefined;
  try {
    const { said } = await startScreenPurchase(base);
    const id = said.purchaseId;
    s = await openStream(base);
    s.ws.send(JSON.stringify({ type: 'ping', t: 42 }));
    s.ws.send(JSON.stringify({ type: 'subscribe', id: 'bad', purchaseId: id, deviceId: 'spk-other', ...deviceAuthFor(base) }));
    s.ws.send(JSON.stringify({ type: 'subscribe', id: 's1', purchaseId: id, deviceId: DEVICE, lastSeq: 0, ...deviceAuthFor(base) }));
    await until(() => s!.pushes.length >= 1, 3000, 'first push');
    assert.deepEqual(s.frames[0], { type: 'pong', t: 42 });
    assert.deepEqual(s.frames[1], { type: 'error', id: 'bad', code: 'NOT_FOUND', message: 'no such purchase' });
    assert.deepEqual(s.frames[2], { type: 'subscribed', id: 's1', purchaseId: id });
    assert.equal(s.pushes[0].status.seq, 1);
    await device(base, 'POST', `/purchases/${id}/order`, {});
    const tid = (await api(base).purchase(id)).transactionId;
    await api(base).payOrder(tid, 'success');
    await until(() => s!.pushes.some((p) => p.status.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS push');
    const statuses = s.pushes.map((p) => [p.status.tradeStatus, p.status.seq]);
    assert.deepEqual(statuses, [
      ['NOTPAY', 1],
      ['NOTPAY', 2],
      ['PROCESSING', 3],
      ['SUCCESS', 4],
    ]);
    for (const p of s.pushes) {
      assert.equal(verifyRsa2(p.body, p.authorization, key).ok, true, 'every push is signed over its exact body');
      assert.equal(p.status.deviceId, DEVICE);
      assert.equal(p.status.purchaseId, id);
    }
    assert.equal(s.pushes[1].status.order.transactionId, tid);
    // a bad frame closes the socket with 4400
    s.ws.send('not json');
    assert.equal(await s.closed, 4400);
  } finally {
    s?.ws.terminate();
    await pair.close();
  }
});

test('push faults: duplicate, reorder, delay, drop the socket; FAIL carries a spoken reason', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0, reorderHoldMs: 300 } });
  const base = pair.sandbox.url;
  let s: Stream | undefined;
  try {
    const { said } = await startScreenPurchase(base);
    const id = said.purchaseId;
    s = await openStream(base);
    s.ws.send(JSON.stringify({ type: 'subscribe', id: 's1', purchaseId: id, deviceId: DEVICE, lastSeq: 0, ...deviceAuthFor(base) }));
    await until(() => s!.pushes.length === 1, 3000, 'initial push');
    // duplicate: each push twice, byte-identical
    await api(base).setFaults({ duplicatePush: 1 });
    await device(base, 'POST', `/purchases/${id}/order`, {});
    await until(() => s!.pushes.length === 3, 3000, 'duplicated push');
    assert.equal(s.pushes[1].body, s.pushes[2].body);
    // reorder: the PROCESSING push arrives after the FAIL push
    await api(base).setFaults({ duplicatePush: 0, reorderPush: true });
    const tid = (await api(base).purchase(id)).transactionId;
    await api(base).payOrder(tid, 'fail');
    await until(() => s!.pushes.length === 5, 3000, 'reordered pushes');
    assert.deepEqual(
      s.pushes.slice(3).map((p) => [p.status.tradeStatus, p.status.seq]),
      [
        ['FAIL', 4],
        ['PROCESSING', 3],
      ],
    );
    assert.equal(s.pushes[3].status.reason, '银行卡余额不足');
    // delay
    await api(base).setFaults({ reorderPush: false, delayPushMs: 250 });
    const t0 = Date.now();
    await device(base, 'POST', `/purchases/${id}/order`, {}); // retry after FAIL: a new order (NOTPAY, seq 5)
    await until(() => s!.pushes.length === 6, 3000, 'delayed push');
    assert.ok(Date.now() - t0 >= 200, 'the push was held back');
    assert.equal(s.pushes[5].status.seq, 5);
    // drop the socket
    const dropped = await api(base).setFaults({ delayPushMs: 0, dropSocket: true });
    assert.equal(dropped.dropped, 1);
    assert.equal(await s.closed, 1006);
    assert.equal(pair.sandbox.device.connections, 0);
    // a missed push is recoverable by query
    const tid2 = (await api(base).purchase(id)).transactionId;
    await api(base).payOrder(tid2, 'success');
    const st = await device(base, 'GET', `/purchases/${id}/status`);
    assert.equal(st.json.tradeStatus, 'SUCCESS');
    assert.equal(st.json.seq, 7);
    assert.equal((await control(base, 'POST', '/faults', { dropSocket: 'yes' })).status, 400);
  } finally {
    s?.ws.terminate();
    await pair.close();
  }
});

test('configured devices need their token (HTTP and stream)', async () => {
  const { parseSandboxConfig } = await import('../../src/sandbox/config.js');
  const { Sandbox } = await import('../../src/sandbox/sandbox.js');
  const { skillInput, platformKeys } = await import('../support/sandbox.js');
  const config = parseSandboxConfig({
    skills: [skillInput('http://127.0.0.1:9')],
    platformPrivateKey: platformKeys().privateKeyPem,
    devices: [{ deviceId: DEVICE, deviceToken: 'tok-1' }],
  });
  const sb = await Sandbox.start({ config });
  let s: Stream | undefined;
  try {
    assert.equal((await device(sb.url, 'GET', '/purchases/x/status')).json.error.code, 'UNAUTHORIZED');
    assert.equal((await device(sb.url, 'GET', '/purchases/x/status', undefined, DEVICE, 'wrong')).status, 401);
    assert.equal((await device(sb.url, 'GET', '/purchases/x/status', undefined, DEVICE, 'tok-1')).status, 404);
    assert.equal((await device(sb.url, 'GET', '/purchases/x/status', undefined, 'spk-unknown', 'tok-1')).status, 401);
    s = await openStream(sb.url);
    s.ws.send(JSON.stringify({ type: 'subscribe', id: 'a', purchaseId: 'x', deviceId: DEVICE, deviceToken: 'nope' }));
    await until(() => s!.frames.length === 1, 3000, 'error frame');
    assert.equal(s.frames[0].code, 'UNAUTHORIZED');
  } finally {
    s?.ws.terminate();
    await sb.close();
  }
});

test('the device companion transport runs a whole purchase against the sandbox', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 1000 } });
  const base = pair.sandbox.url;
  const transport = createNodeTransport({
    platformUrl: base,
    tskPublicKey: pair.sandbox.tskPublicKey,
    deviceId: DEVICE,
    pollIntervalMs: 500,
    ...deviceAuthFor(base),
  });
  const updates: StatusUpdate[] = [];
  let unsubscribe = () => {};
  try {
    const said = await api(base).say({ text: '我要听万古神帝第35集', deviceId: DEVICE });
    const signal = AbortSignal.timeout(5000);
    const { purchaseId } = await transport.startPurchase(
      { mode: 'screen', charge: said.answer!.directives![0]!, originalRequest: said.request, purchaseId: said.purchaseId },
      signal,
    );
    assert.equal(purchaseId, said.purchaseId);
    const paid = deferred<void>();
    unsubscribe = transport.subscribe(purchaseId, {
      onUpdate: (u) => {
        updates.push(u);
        if (u.tradeStatus === 'SUCCESS') paid.resolve();
      },
    });
    const placed = await transport.placeOrder(purchaseId, signal);
    assert.equal(placed.kind, 'order');
    if (placed.kind !== 'order') return;
    await until(() => pair.sandbox.device.subscribers(purchaseId) === 1, 3000, 'subscribed');
    // the phone scans and pays on the sandbox's pay page
    const page = await fetch(placed.order.payUrl);
    assert.match(await page.text(), /扫码支付/);
    const form = await pressPage(placed.order.payUrl, 'success');
    assert.equal(form.status, 303);
    await within(paid.promise, 5000, 'a SUCCESS update');
    assert.ok(updates.some((u) => u.tradeStatus === 'SUCCESS' && u.source === 'push'));
    const seqs = updates.map((u) => u.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'updates arrive in seq order',
    );
    const answer = await transport.resume(purchaseId, AbortSignal.timeout(5000));
    assert.equal(answer.outputSpeech, '购买成功，开始播放万古神帝第35集');
    const status = await transport.queryStatus(purchaseId, AbortSignal.timeout(5000));
    assert.equal(status.tradeStatus, 'SUCCESS');
    await until(() => pair.backend.of('/deliver').length >= 1, 3000, 'delivery notification');
  } finally {
    unsubscribe();
    transport.close();
    await pair.close();
  }
});

test('screenless: the DingDang app page orders and pays; the device gets NOTPAY+order, PROCESSING, SUCCESS', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  let s: Stream | undefined;
  try {
    const said = await api(base).say({ text: '我要听万古神帝第35集', deviceId: DEVICE, mode: 'screenless' });
    const id = said.purchaseId;
    const started = await device(base, 'POST', '/purchases', {
      mode: 'screenless',
      charge: said.answer!.directives![0]!,
      originalRequest: said.request,
      purchaseId: id,
    });
    assert.equal(started.status, 200);
    s = await openStream(base);
    s.ws.send(JSON.stringify({ type: 'subscribe', id: 's1', purchaseId: id, deviceId: DEVICE, lastSeq: 0, ...deviceAuthFor(base) }));
    await until(() => s!.pushes.length === 1, 3000, 'initial push');
    const app = await fetch(`${base}/app/${id}`);
    const html = await app.text();
    assert.equal(app.status, 200);
    assert.match(html, /万古神帝第35集/);
    assert.match(html, /¥2\.00/);
    assert.match(html, /id="app-pay"/);
    const post = await pressPage(`${base}/app/${id}`, 'success');
    assert.equal(post.status, 303);
    await until(() => s!.pushes.some((p) => p.status.tradeStatus === 'SUCCESS'), 3000, 'SUCCESS push');
    const seen = s.pushes.map((p) => [p.status.tradeStatus, p.status.seq, Boolean(p.status.order)]);
    assert.deepEqual(seen, [
      ['NOTPAY', 1, false],
      ['NOTPAY', 2, true],
      ['PROCESSING', 3, true],
      ['SUCCESS', 4, true],
    ]);
    const after = await (await fetch(`${base}/app/${id}`)).text();
    assert.match(after, /支付成功/);
    assert.doesNotMatch(after, /id="app-pay"/, 'no buttons once paid');
    // the phone pay page of the same order
    const tid = s.pushes[1].status.order.transactionId;
    const page = await (await fetch(`${base}/pay/${tid}`)).text();
    assert.match(page, /支付成功/);
    assert.doesNotMatch(page, /id="pay-success"/);
    const svg = await fetch(`${base}/pay/${tid}/qr.svg`);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.match(await svg.text(), /<svg/);
    assert.equal((await fetch(`${base}/pay/nosuch`)).status, 404);
    assert.equal((await fetch(`${base}/app/nosuch`)).status, 404);
    const bad = await fetch(`${base}/pay/${tid}`, {
      method: 'POST',
      body: 'action=steal',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    assert.equal(bad.status, 403, 'no page token');
    assert.equal((await api(base).order(tid)).tradeStatus, 'SUCCESS', 'nothing changed');
    // cancel on the app page of another purchase
    const s2 = await api(base).say({ text: '我要听万古神帝第36集', deviceId: DEVICE, mode: 'screenless', userId: 'u2' });
    await pressPage(`${base}/app/${s2.purchaseId}`, 'cancel');
    assert.equal((await api(base).purchase(s2.purchaseId!)).state, 'cancelled');
  } finally {
    s?.ws.terminate();
    await pair.close();
  }
});
