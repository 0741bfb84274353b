/**
 * Safety on a developer's machine (src/sandbox/safety.ts, docs/sandbox.md):
 * a foreign web origin is refused on the control API before anything
 * changes; the control API and the dashboard need the run's token; a
 * cross-site form post to a phone page changes nothing; a rebinding Host
 * header is refused on HTTP and on the WebSocket upgrade (sandbox and the
 * demo's speaker page server); a device without the run's device token, or
 * not on the configured list, is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { startSpeakerServer, type SpeakerServer } from '../../src/demo/speaker-server.js';
import { api, controlHeaders, orderOf, pageTokenOf, platformKeys, skillInput, startBackend, startPair, type Backend } from '../support/sandbox.js';

const EVIL = 'http://evil.example';
let pair: Awaited<ReturnType<typeof startPair>>;
let base: string;

before(async () => {
  pair = await startPair({ allowedOrigins: ['http://127.0.0.1:9'], allowedHosts: ['sandbox.test'] });
  base = pair.sandbox.url;
});

after(async () => {
  await pair.close();
});

/** A raw request with any Host header (fetch would not let us set it). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function paidFaults(): Promise<unknown> {
  return api(base).faults();
}

test('a foreign Origin is refused on the control API (403, stable code) and changes nothing; allowed origins get CORS for themselves', async () => {
  const before = await paidFaults();
  const res = await fetch(`${base}/sandbox/v1/faults`, {
    method: 'POST',
    headers: { ...controlHeaders(base), origin: EVIL, 'content-type': 'text/plain' },
    body: JSON.stringify({ delayPushMs: 500 }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  assert.deepEqual((await res.json()).error, { code: 'ERR_FORBIDDEN', reason: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' });
  assert.deepEqual(await paidFaults(), before, 'the faults did not change');
  // A say from a foreign page starts no purchase.
  const purchases = (await api(base).purchases()).length;
  const say = await fetch(`${base}/sandbox/v1/say`, {
    method: 'POST',
    headers: { ...controlHeaders(base), origin: EVIL },
    body: JSON.stringify({ text: '我要听万古神帝第35集' }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(say.status, 403);
  assert.equal((await api(base).purchases()).length, purchases);
  // The preflight of a foreign page: refused, no CORS.
  const pre = await fetch(`${base}/sandbox/v1/say`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
  assert.equal(pre.status, 403);
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
  // An allowed origin (option; and one added later) gets CORS for itself, never '*'.
  const ok = await fetch(`${base}/sandbox/v1/orders`, { headers: { ...controlHeaders(base), origin: 'http://127.0.0.1:9' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://127.0.0.1:9');
  const later = 'http://localhost:7';
  assert.equal((await fetch(`${base}/sandbox/v1/orders`, { headers: { ...controlHeaders(base), origin: later } })).status, 403);
  pair.sandbox.allowOrigin(later);
  assert.equal((await fetch(`${base}/sandbox/v1/orders`, { headers: { ...controlHeaders(base), origin: later } })).status, 200);
  assert.throws(
    () => pair.sandbox.allowOrigin('javascript:alert(1)'),
    (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
  );
});

test('the control API needs the run token: missing or wrong → 401 and nothing changes; /info stays open', async () => {
  const before = await paidFaults();
  for (const [headers, reason] of [
    [{}, 'TOKEN_REQUIRED'],
    [{ authorization: 'Bearer wrong-token-wrong-token' }, 'WRONG_TOKEN'],
    [{ authorization: 'Basic Zm9vOmJhcg==' }, 'WRONG_TOKEN'],
  ] as const) {
    const res = await fetch(`${base}/sandbox/v1/faults`, { method: 'POST', headers, body: JSON.stringify({ delayPushMs: 500 }) });
    assert.equal(res.status, 401, reason);
    assert.equal((await res.json()).error.reason, reason);
  }
  assert.deepEqual(await paidFaults(), before);
  // The SSE stream too.
  assert.equal((await fetch(`${base}/sandbox/v1/events`)).status, 401);
  // GET /info (URL + TSKPublicKey) needs none.
  const info = await fetch(`${base}/sandbox/v1/info`);
  assert.equal(info.status, 200);
  assert.equal((await info.json()).tskPublicKey, pair.sandbox.tskPublicKey);
  // A given token is used as is.
  const fixed = await startPair({ controlToken: 'a-fixed-token-of-this-run' });
  try {
    assert.equal(fixed.sandbox.controlToken, 'a-fixed-token-of-this-run');
    assert.equal((await fetch(`${fixed.sandbox.url}/sandbox/v1/orders`, { headers: { authorization: 'Bearer a-fixed-token-of-this-run' } })).status, 200);
  } finally {
    await fixed.close();
  }
  assert.notEqual(pair.sandbox.controlToken, fixed.sandbox.controlToken);
});

test('the dashboard: locked without the token; ?token= sets an HttpOnly SameSite=Strict cookie and redirects; the cookie opens it', async () => {
  const html = { accept: 'text/html' };
  const locked = await fetch(`${base}/`, { headers: html });
  assert.equal(locked.status, 401);
  assert.match(await locked.text(), /id="locked"/);
  assert.equal((await fetch(`${base}/?token=nope`, { headers: html, redirect: 'manual' })).status, 401);
  const opened = await fetch(pair.sandbox.dashboardUrl, { headers: html, redirect: 'manual' });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get('location'), '/');
  const cookie = opened.headers.get('set-cookie') ?? '';
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const jar = cookie.split(';')[0]!;
  const page = await fetch(`${base}/`, { headers: { ...html, cookie: jar } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /id="purchases"/);
  // The cookie carries the token for the dashboard's own control-API links too.
  assert.equal((await fetch(`${base}/sandbox/v1/orders`, { headers: { cookie: jar } })).status, 200);
  // JSON at / (name, URL, TSKPublicKey) stays open.
  assert.equal((await fetch(`${base}/`)).status, 200);
});

test('a cross-site form post to a phone page changes nothing; only the page itself (same origin, its token) pays', async () => {
  const said = await api(base).say({ text: '我要听万古神帝第35集', userId: 'csrf-u', deviceId: 'csrf-dev' });
  const o = orderOf(await api(base).placeOrder(said.purchaseId!));
  const pageHtml = await (await fetch(o.payUrl)).text();
  const token = pageTokenOf(pageHtml);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(o.payUrl, { method: 'POST', body, headers: { ...form, ...headers }, redirect: 'manual' });
  // What a page on another site can send: a form post, no page token (it cannot read the page), or with one, from its origin.
  const tries = [
    await post('action=success', { origin: EVIL, 'sec-fetch-site': 'cross-site' }),
    await post(`action=success&pageToken=${token}`, { origin: EVIL, 'sec-fetch-site': 'cross-site' }),
    await post(`action=success&pageToken=${token}`, { 'sec-fetch-site': 'same-site' }),
    await post(`action=success&pageToken=${token}`, { origin: 'null' }),
    await post('action=success'),
    await post(`action=success&pageToken=${pageTokenOf(await (await fetch(`${base}/app/${said.purchaseId}`)).text())}`),
  ];
  assert.deepEqual(await Promise.all(tries.map(async (r) => [r.status, (await r.json()).error.reason])), [
    [403, 'CROSS_SITE'],
    [403, 'CROSS_SITE'],
    [403, 'CROSS_SITE'],
    [403, 'CROSS_SITE'],
    [403, 'PAGE_TOKEN'],
    [403, 'PAGE_TOKEN'],
  ]);
  assert.equal((await api(base).order(o.transactionId)).tradeStatus, 'NOTPAY', 'nothing changed');
  assert.equal((await api(base).purchase(said.purchaseId!)).state, 'ordered', 'not cancelled either');
  // The page's own post: same origin, its token.
  const own = await post(`action=success&pageToken=${token}`, { origin: base, 'sec-fetch-site': 'same-origin' });
  assert.equal(own.status, 303);
  assert.equal((await api(base).order(o.transactionId)).tradeStatus, 'SUCCESS');
  // The page's status poll needs no control token (whoever has the page sees its order).
  const st = await fetch(`${base}/pay/${o.transactionId}/status`);
  assert.equal(st.status, 200);
  assert.equal((await st.json()).tradeStatus, 'SUCCESS');
});

test('a rebinding Host header is refused (421) on HTTP and on the WebSocket upgrade; the loopback names and configured hosts pass', async () => {
  const port = pair.sandbox.port;
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `localhost.evil.example:${port}`]) {
    const r = await raw('GET', '/sandbox/v1/info', { host });
    assert.equal(r.status, 421, host);
    assert.equal(JSON.parse(r.text).error.reason, 'HOST_NOT_ALLOWED');
    // A state-changing call with the right token too: refused before it runs.
    const f = await raw('POST', '/sandbox/v1/faults', { host, ...controlHeaders(base), 'content-type': 'application/json' }, '{"delayPushMs":700}');
    assert.equal(f.status, 421);
  }
  assert.equal((await api(base).faults()).delayPushMs ?? 0, 0);
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `sandbox.test:${port}`])
    assert.equal((await raw('GET', '/sandbox/v1/info', { host })).status, 200, host);
  // The device stream: the upgrade with a foreign Host is refused before the handshake.
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/device/v1/stream`, { headers: { host: `evil.example:${port}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => {});
  });
  assert.equal(status, 421);
  const ok = new WebSocket(`${base.replace(/^http/, 'ws')}/device/v1/stream`, { headers: { host: `localhost:${port}` } });
  await new Promise<void>((resolve, reject) => {
    ok.once('open', () => resolve());
    ok.once('error', reject);
  });
  ok.close();
});

test('devices: without the run device token (or with a wrong one) refused on HTTP and the stream; with a device list only listed ids', async () => {
  const said = await api(base).say({ text: '我要听万古神帝第36集', userId: 'dev-u', deviceId: 'spk-auth' });
  const dev = (headers: Record<string, string>) =>
    fetch(`${base}/device/v1/purchases/${said.purchaseId}/status`, {
      headers: { 'x-dingdang-device-id': 'spk-auth', ...headers },
      signal: AbortSignal.timeout(5000),
    });
  const none = await dev({});
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error.code, 'UNAUTHORIZED');
  assert.equal((await dev({ 'x-dingdang-device-token': 'not-the-token' })).status, 401);
  assert.equal((await dev({ 'x-dingdang-device-token': pair.sandbox.deviceToken! })).status, 200);
  // The browser device keeps its CORS (any origin) for the device link.
  assert.equal((await fetch(`${base}/device/v1/purchases`, { method: 'OPTIONS', headers: { origin: EVIL } })).headers.get('access-control-allow-origin'), '*');
  // The stream: a subscribe without the token is refused.
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/device/v1/stream`);
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', id: 'n', purchaseId: said.purchaseId, deviceId: 'spk-auth' }));
  const deadline = Date.now() + 3000;
  while (!frames.some((f) => f.id === 'n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  ws.terminate();
  const answer = frames.find((f) => f.id === 'n');
  assert.equal(answer?.type, 'error');
  assert.equal(answer?.code, 'UNAUTHORIZED');
  assert.equal(pair.sandbox.device.subscribers(said.purchaseId!), 0);

  // A configured list: only its ids (with their tokens); no run device token is issued.
  const keys = platformKeys();
  const backend: Backend = await startBackend(keys.publicKeyBase64);
  const listed = await Sandbox.start({
    config: parseSandboxConfig({
      skills: [skillInput(backend.url)],
      platformPrivateKey: keys.privateKeyPem,
      devices: [{ deviceId: 'known-1', deviceToken: 'known-token' }],
    }),
  });
  try {
    assert.equal(listed.deviceToken, undefined);
    const create = (deviceId: string, token: string) =>
      fetch(`${listed.url}/device/v1/purchases/P0000000000000000000000000000000/status`, {
        headers: { 'x-dingdang-device-id': deviceId, 'x-dingdang-device-token': token },
        signal: AbortSignal.timeout(5000),
      });
    const unknown = await create('unknown-9', 'known-token');
    assert.equal(unknown.status, 401);
    assert.equal((await unknown.json()).error.message, 'unknown device');
    assert.equal((await create('known-1', 'known-token')).status, 404, 'known and authenticated: the purchase is what is missing');
  } finally {
    await listed.close();
    await backend.close();
  }
});

test("the demo's speaker page server: a rebinding Host is refused; /api/say takes only same-origin posts", async () => {
  let speaker: SpeakerServer | undefined;
  try {
    speaker = await startSpeakerServer({ platformUrl: base, tskPublicKey: pair.sandbox.tskPublicKey, controlToken: pair.sandbox.controlToken, port: 0 });
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(speaker!.url, { headers: { host }, timeout: 5000 }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status(`evil.example:${speaker.port}`), 421);
    assert.equal(await status(`localhost:${speaker.port}`), 200);
    assert.deepEqual(speaker.origins, [`http://127.0.0.1:${speaker.port}`, `http://localhost:${speaker.port}`]);
    const purchases = (await api(base).purchases()).length;
    const foreign = await fetch(new URL('/api/say', speaker.url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: EVIL, 'sec-fetch-site': 'cross-site' },
      body: JSON.stringify({ text: '我要听万古神帝第37集' }),
    });
    assert.equal(foreign.status, 403);
    assert.equal((await api(base).purchases()).length, purchases, 'nothing reached the platform');
    const own = await fetch(new URL('/api/say', speaker.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: speaker.origins[0]!, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ text: '我要听万古神帝第37集' }),
    });
    assert.equal(own.status, 200);
  } finally {
    await speaker?.close();
  }
});
