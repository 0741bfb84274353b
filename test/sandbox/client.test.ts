/**
 * The typed sandbox client (src/sandbox/client.ts) against a real sandbox
 * and skill backend: every route answers the typed reply, a refusal is a
 * SandboxApiError with the HTTP status, code and reason, a silent server a
 * TimeoutError, a closed port a TransportError, the event stream arrives
 * typed and ends on abort; the client bundles for a browser (no Node
 * built-ins).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { TimeoutError, TransportError } from '../../src/protocol/errors.js';
import { SandboxClient, requestJson } from '../../src/sandbox/client.js';
import { SANDBOX_ERROR_CODES, SandboxApiError, SandboxConfigError, SandboxStateError, HttpError } from '../../src/sandbox/errors.js';
import type { SandboxEvent } from '../../src/sandbox/control-types.js';
import { SKILL_ID, startPair, until } from '../support/sandbox.js';

let pair: Awaited<ReturnType<typeof startPair>>;
let client: SandboxClient;

before(async () => {
  pair = await startPair();
  client = new SandboxClient({ baseUrl: pair.sandbox.url + '/', token: pair.sandbox.controlToken });
});

after(async () => {
  await pair.close();
});

test('say → order → pay → resume, typed at every step; the lists and the order', async () => {
  const info = await client.info();
  assert.equal(info.url, pair.sandbox.url);
  assert.equal(info.tskPublicKey, pair.sandbox.tskPublicKey);
  assert.deepEqual(
    info.skills.map((s) => s.skillId),
    [SKILL_ID],
  );

  const said = await client.say({ text: '我要听万古神帝第35集', userId: 'client-u1', deviceId: 'client-dev' });
  assert.equal(said.matched, true);
  assert.equal(said.requestType, 'IntentRequest');
  assert.equal(said.answer?.outputSpeech.text, '这是付费内容，需要购买才能播放哦');
  assert.equal(said.shouldEndSession, true);
  const purchaseId = said.purchaseId!;
  assert.ok(purchaseId);

  const purchase = await client.purchase(purchaseId);
  assert.equal(purchase.skillId, SKILL_ID);
  assert.equal(purchase.status.tradeStatus, 'NOTPAY');
  assert.equal(purchase.charge.payload.chargeInfo.items[0]!.itemId, 'ep35');

  const placed = await client.placeOrder(purchaseId);
  assert.equal(placed.kind, 'order');
  const order = placed.kind === 'order' ? placed.order : assert.fail('no order');
  assert.equal(order.totalAmt, 200);

  const paid = await client.payOrder(order.transactionId, 'success');
  assert.ok('tradeStatus' in paid && paid.tradeStatus === 'SUCCESS' && paid.tradeStatusDesc.length > 0);
  assert.equal((await client.purchaseStatus(purchaseId)).tradeStatus, 'SUCCESS');
  assert.equal((await client.order(order.transactionId)).tradeStatus, 'SUCCESS');
  assert.ok((await client.orders()).some((o) => o.transactionId === order.transactionId));
  await until(async () => (await client.notifications()).some((n) => n.transactionId === order.transactionId && n.state === 'delivered'), 5000, 'delivered');
  assert.ok((await client.calls()).some((c) => c.kind === 'deliver' && c.body.includes(order.transactionId)));

  const resumed = await client.resume(purchaseId);
  assert.equal(resumed.outputSpeech, '购买成功，开始播放万古神帝第35集');
  assert.equal(resumed.directives[0]?.type, 'AudioPlayer.Play');
  const manual = await client.notifyOrder(order.transactionId);
  assert.equal(manual?.retCode, 'SUCCESS');
  assert.deepEqual(await client.refunds(), []);
  assert.ok(Array.isArray(await client.inbound()));
  assert.ok((await client.purchases()).some((p) => p.purchaseId === purchaseId));
  assert.ok(Array.isArray(await client.sessions()));
});

test('a refusal is a SandboxApiError with the status, the code and the reason', async () => {
  await assert.rejects(client.order('nosuch'), (e: unknown) => {
    assert.ok(e instanceof SandboxApiError);
    assert.equal(e.code, 'ERR_SANDBOX_API');
    assert.equal(e.status, 404);
    assert.equal(e.errorCode, 'ERR_STATE');
    assert.equal(e.reason, 'UNKNOWN_ORDER');
    assert.equal(e.call, 'GET /sandbox/v1/orders/nosuch');
    return true;
  });
  await assert.rejects(client.say({ text: '' }), (e: unknown) => e instanceof SandboxApiError && e.status === 400 && e.errorCode === 'ERR_INVALID_ARGUMENT');
  const said = await client.say({ text: '我要听万古神帝第36集', userId: 'client-u2' });
  await assert.rejects(client.resume(said.purchaseId!), (e: unknown) => e instanceof SandboxApiError && e.status === 409 && e.reason === 'NOT_PAID');
  // An id with a slash stays one path segment.
  await assert.rejects(client.purchase('a/b'), (e: unknown) => e instanceof SandboxApiError && e.status === 404 && e.reason === 'UNKNOWN_PURCHASE');
});

test('faults: set, read, drop sockets, clear', async () => {
  const set = await client.setFaults({ duplicatePush: 2, partner: { mode: 'fail', calls: ['deliver'], count: 1 } });
  assert.equal(set.duplicatePush, 2);
  assert.equal(set.partner?.mode, 'fail');
  assert.equal((await client.faults()).duplicatePush, 2);
  assert.equal(await client.dropSockets(), 0, 'no device connected');
  const cleared = await client.clearFaults();
  assert.equal(cleared.duplicatePush, 0);
  assert.equal(cleared.partner, null);
  await assert.rejects(client.setFaults({ duplicatePush: -1 }), (e: unknown) => e instanceof SandboxApiError && e.status === 400);
});

test('events arrive typed and the stream ends on abort', async () => {
  const stop = new AbortController();
  const seen: SandboxEvent[] = [];
  const reading = (async () => {
    for await (const e of client.events({ signal: stop.signal })) {
      seen.push(e);
      if (e.event === 'status') stop.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  const said = await client.say({ text: '我要听万古神帝第37集', userId: 'client-u3' });
  await client.placeOrder(said.purchaseId!);
  await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error('no status event')), 5000))]);
  const purchase = seen.find((e) => e.event === 'purchase');
  assert.equal(purchase?.event === 'purchase' && purchase.data.purchaseId, said.purchaseId);
  const status = seen.find((e) => e.event === 'status');
  assert.equal(status?.event === 'status' && status.data.tradeStatus, 'NOTPAY');
  assert.ok(seen.some((e) => e.event === 'call' && e.data.kind === 'skill'));
  // Breaking out of the loop on the first event ends the iteration too.
  const first = (async () => {
    for await (const e of client.events({ signal: AbortSignal.timeout(5000) })) return e.event;
    return undefined;
  })();
  await new Promise((r) => setTimeout(r, 100));
  await client.say({ text: '今天天气怎么样' });
  await client.say({ text: '我要听万古神帝第38集', userId: 'client-u4' });
  assert.ok(await first, 'an event came, then the loop broke');
});

test('no reply in time is a TimeoutError; nobody listening is a TransportError', async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const started = Date.now();
    await assert.rejects(
      new SandboxClient({ baseUrl: url, timeoutMs: 200 }).info(),
      (e: unknown) => e instanceof TimeoutError && /no reply within 200 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 2000);
    const aborted = new AbortController();
    setTimeout(() => aborted.abort(), 50);
    await assert.rejects(new SandboxClient(url).info({ signal: aborted.signal }), (e: unknown) => e instanceof TimeoutError && /aborted/.test(e.message));
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  }
  await assert.rejects(new SandboxClient(url).info(), (e: unknown) => e instanceof TransportError && e.code === 'ERR_TRANSPORT');
});

test('a 2xx that is not JSON is a TransportError; an error body of the wrong shape still gives the status', async () => {
  const odd: Server = createServer((req, res) => {
    if (req.url === '/sandbox/v1/info') return void res.writeHead(200).end('hello');
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error": "busy"}');
  });
  await new Promise<void>((r) => odd.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
  try {
    await assert.rejects(new SandboxClient(url).info(), (e: unknown) => e instanceof TransportError && /not JSON/.test(e.message));
    await assert.rejects(
      requestJson(`${url}/x`, { method: 'POST', body: {} }),
      (e: unknown) => e instanceof SandboxApiError && e.status === 503 && e.errorCode === 'ERR_HTTP',
    );
  } finally {
    await new Promise<void>((r) => odd.close(() => r()));
  }
});

test('a body over maxBodyBytes is a 413 (ERR_HTTP), the sandbox stays up', async () => {
  const small = await startPair({ maxBodyBytes: 1024 });
  try {
    const c = small.sandbox.client();
    await assert.rejects(c.say({ text: 'x'.repeat(4096) }), (e: unknown) => e instanceof SandboxApiError && e.status === 413 && e.errorCode === 'ERR_HTTP');
    assert.equal((await c.say({ text: '我要听万古神帝第1集' })).matched, true);
  } finally {
    await small.close();
  }
});

test('the error table names one class per code', () => {
  assert.deepEqual(Object.keys(SANDBOX_ERROR_CODES).sort(), ['ERR_HTTP', 'ERR_SANDBOX_API', 'ERR_SANDBOX_CONFIG', 'ERR_STATE']);
  assert.equal(new SANDBOX_ERROR_CODES.ERR_STATE('NOT_PAID', 'x').code, 'ERR_STATE');
  assert.equal(new SANDBOX_ERROR_CODES.ERR_HTTP(413, 'x').code, 'ERR_HTTP');
  assert.equal(new SANDBOX_ERROR_CODES.ERR_SANDBOX_CONFIG('skills', 'x').code, 'ERR_SANDBOX_CONFIG');
  assert.equal(new SANDBOX_ERROR_CODES.ERR_SANDBOX_API('GET /x', 500, {}).code, 'ERR_SANDBOX_API');
  for (const [code, Class] of Object.entries(SANDBOX_ERROR_CODES))
    assert.ok([SandboxStateError, HttpError, SandboxConfigError, SandboxApiError].includes(Class), code);
});

test('the client bundles for a browser: no Node built-ins', async () => {
  const out = await build({
    entryPoints: [new URL('../../src/sandbox/client.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.text;
  assert.ok(js.includes('sandbox/v1'));
  assert.doesNotMatch(js, /from\s*["']node:|require\(["'](node:)?(http|fs|crypto|net)/);
});
