/**
 * A misbehaving skill provokes every platform return code the sandbox
 * reports (SKILL-PROTOCOL §5): 100400 (closed port), 100401 (slower than the
 * budget), 100402 (HTTP 500), 100501 (not JSON, bare-string speech), 100502
 * (Dialog.ElicitSlot after a Charge, a non-RenderTemplate directive on
 * SessionEndedRequest, an undefined directive type), 200501 (no
 * outputSpeech), 200502 (card without account linking, feedbackAttributes
 * from an ordinary skill), 200503 (Alexa's `audioItem`). Each is asserted in
 * the /say reply (or the resume), the call log and the event stream; the
 * speaker gets the fallback line and the skill then receives
 * SessionEndedRequest ERROR.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { SKILL_FALLBACK_SPEECH } from '../../src/sandbox/skill-router.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { SandboxEvent } from '../../src/sandbox/control-types.js';
import type { ResumeOutcome } from '../../src/sandbox/purchase-book.js';
import type { SayReply } from '../../src/sandbox/skill-router.js';
import { api, type Backend, controlHeaders, deviceHeaders, platformKeys, skillInput, startBackend, tradeStatusOf, trust, until } from '../support/sandbox.js';

type Behaviour =
  | 'ok'
  | 'keep'
  | 'charge'
  | 'slow'
  | 'http500'
  | 'notJson'
  | 'bareSpeech'
  | 'noSpeech'
  | 'card'
  | 'feedback'
  | 'audioItem'
  | 'unknownDirective'
  | 'elicit'
  | 'playOnEnd';

const speech = (text: string) => ({ type: 'PlainText', text });
const PLAY = { type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'http://127.0.0.1:9/1.mp3', token: 'ep1' }, info: { title: '第1集' } }] };

function body(b: Behaviour): { status: number; text: string; delayMs?: number } {
  const json = (v: unknown) => ({ status: 200, text: JSON.stringify(v) });
  const ok = (response: Record<string, unknown>) => json({ version: '1.0', response: { outputSpeech: speech('好的'), ...response } });
  switch (b) {
    case 'ok':
      return ok({});
    case 'keep':
      return ok({ shouldEndSession: false });
    case 'charge':
      return ok({
        directives: [
          {
            type: 'Connections.SendRequest',
            name: 'Charge',
            payload: { chargeInfo: { name: '第1集', items: [{ itemId: 'ep1', itemName: '单集', price: 100, count: 1, totalFee: 100 }] } },
          },
        ],
      });
    case 'slow':
      return { ...ok({}), delayMs: 600 };
    case 'http500':
      return { status: 500, text: 'oops' };
    case 'notJson':
      return { status: 200, text: '<html>not json</html>' };
    case 'bareSpeech':
      return json({ version: '1.0', response: { outputSpeech: '好的', shouldEndSession: true } });
    case 'noSpeech':
      return json({ version: '1.0', response: { shouldEndSession: true } });
    case 'card':
      return ok({ card: { type: 'LinkAccount' } });
    case 'feedback':
      return json({ version: '1.0', response: { outputSpeech: speech('好的') }, feedbackAttributes: { k: 'v' } });
    case 'audioItem':
      return ok({ directives: [{ ...PLAY, audioItem: { stream: { url: 'http://127.0.0.1:9/1.mp3' } } }] });
    case 'unknownDirective':
      return ok({ directives: [{ type: 'Speaker.SetVolume', volume: 50 }] });
    case 'elicit':
      return ok({ directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'index' }] });
    case 'playOnEnd':
      return ok({ directives: [PLAY] });
  }
}

interface Bad {
  url: string;
  received: any[];
  /** Behaviour per request type (SessionEndedRequest ERROR is always answered well). */
  plan: Partial<Record<string, Behaviour>>;
  close(): Promise<void>;
}

async function startBadSkill(): Promise<Bad> {
  const bad: Bad = { url: '', received: [], plan: {}, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const env = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      bad.received.push(env);
      const r = env.request;
      const b: Behaviour = r.type === 'SessionEndedRequest' && r.reason === 'ERROR' ? 'ok' : (bad.plan[r.type] ?? 'ok');
      const out = body(b);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(out.status, { 'content-type': 'application/json;charset=UTF-8' });
        res.end(out.text);
      };
      if (out.delayMs) setTimeout(send, out.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  bad.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/skill`;
  bad.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return bad;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let backend: Backend;
let bad: Bad;
let sandbox: Sandbox;
let base: string;
const events: SandboxEvent[] = [];
const sse = new AbortController();

before(async () => {
  const keys = platformKeys();
  backend = await startBackend(keys.publicKeyBase64);
  bad = await startBadSkill();
  const dead = await closedPort();
  const config = parseSandboxConfig({
    skills: [
      skillInput(backend.url, { skillId: 'bad', skillEndpoint: bad.url, responseTimeoutMs: 250 }),
      skillInput(backend.url, {
        skillId: 'dead',
        skillEndpoint: `http://127.0.0.1:${dead}/skill`,
        invocationName: '坏技能',
        utterances: [{ intent: 'noop', samples: ['没有的技能'] }],
      }),
      skillInput(backend.url, { skillId: 'strict', skillEndpoint: bad.url, strictSchema: true, utterances: [{ intent: 'strict', samples: ['严格一点'] }] }),
    ],
    platformPrivateKey: keys.privateKeyPem,
  });
  sandbox = trust(await Sandbox.start({ config, processingMs: 0, timeScale: 0.0001 }));
  base = sandbox.url;
  // The event stream, read throughout.
  void (async () => {
    for await (const e of api(base).events({ signal: sse.signal })) events.push(e);
  })();
});

after(async () => {
  sse.abort();
  await sandbox.close();
  await bad.close();
  await backend.close();
});

let devices = 0;
const say = async (text: string, deviceId: string) => {
  return api(base).say({ text, deviceId, userId: `u-${deviceId}` });
};

/** The failure is in the reply, the call log, the event stream; the skill hears SessionEndedRequest ERROR. */
async function expectFailure(
  reply: Partial<SayReply> & Partial<ResumeOutcome>,
  o: { code: number; requestType: string; deviceId: string; skillId?: string; reason?: RegExp; resume?: boolean; unreachable?: boolean },
) {
  const skillId = o.skillId ?? 'bad';
  if (o.resume) {
    assert.deepEqual(reply.directives, []);
    assert.equal(reply.outputSpeech, SKILL_FALLBACK_SPEECH);
  } else {
    assert.equal(reply.matched, true);
    assert.equal(reply.skillId, skillId);
    assert.equal(reply.requestType, o.requestType);
    assert.equal(reply.answer, undefined, 'the broken answer is not passed on');
    assert.equal(reply.speech, SKILL_FALLBACK_SPEECH, 'the speaker says the platform fallback line');
  }
  assert.equal(reply.shouldEndSession, true);
  assert.equal(reply.error?.code, o.code, JSON.stringify(reply.error));
  assert.equal(typeof reply.error.reason, 'string');
  if (o.reason) assert.match(reply.error.reason, o.reason);

  const calls = (await api(base).calls()).filter((c) => c.kind === 'skill' && c.deviceId === o.deviceId);
  const failed = calls.find((c) => c.requestType === o.requestType && c.code === o.code);
  assert.ok(failed, `call log: ${JSON.stringify(calls)}`);
  assert.equal(failed.outcome, 'error');
  assert.equal(failed.skillId, skillId);
  assert.equal(failed.reason, reply.error.reason);
  assert.match(failed.error, new RegExp(`^${o.code}: `));

  await until(
    () => events.find((e) => e.event === 'call' && e.data.deviceId === o.deviceId && e.data.requestType === o.requestType && e.data.code === o.code),
    2000,
    `call event ${o.code}`,
  );
  await until(
    () => events.find((e) => e.event === 'skillError' && e.data.deviceId === o.deviceId && e.data.code === o.code && e.data.skillId === skillId),
    2000,
    `skillError event ${o.code}`,
  );

  const failedEnv = JSON.parse(failed.body);
  if (o.unreachable) {
    // Nobody listens: the SessionEndedRequest ERROR was tried (and failed the same way).
    const end = await until(
      async () =>
        (await api(base).calls()).find(
          (c) => c.deviceId === o.deviceId && c.requestType === 'SessionEndedRequest' && JSON.parse(c.body).request.reason === 'ERROR',
        ),
      2000,
      'SessionEndedRequest ERROR attempt',
    );
    assert.equal(end.code, 100400);
    return;
  }
  const ended = await until(
    () => bad.received.find((e) => e.context.System.device.deviceId === o.deviceId && e.request.type === 'SessionEndedRequest' && e.request.reason === 'ERROR'),
    2000,
    `SessionEndedRequest ERROR after ${o.code}`,
  );
  assert.equal(ended.request.error.type, 'INVALID_RESPONSE');
  assert.match(ended.request.error.message, new RegExp(`^${o.code}: `));
  assert.equal(ended.session.new, false);
  if (failedEnv.session) assert.equal(ended.session.sessionId, failedEnv.session.sessionId, 'the session that failed');
}

async function intentCase(behaviour: Behaviour, code: number, reason?: RegExp) {
  const deviceId = `bad-${++devices}-${behaviour}`;
  bad.plan = { IntentRequest: behaviour };
  const reply = await say('我要听万古神帝第1集', deviceId);
  await expectFailure(reply, { code, requestType: 'IntentRequest', deviceId, ...(reason ? { reason } : {}) });
  return deviceId;
}

test('100400: the skill cannot be called (closed port)', async () => {
  const deviceId = 'bad-dead';
  const reply = await say('打开坏技能', deviceId);
  await expectFailure(reply, { code: 100400, requestType: 'LaunchRequest', deviceId, skillId: 'dead', reason: /ECONNREFUSED/, unreachable: true });
});

test("100401: slower than the skill's time budget (250 ms)", async () => {
  const started = Date.now();
  await intentCase('slow', 100401, /250 ms/);
  assert.ok(Date.now() - started < 2000);
});

test('100401 also from the injected skill timeout fault', async () => {
  await api(base).setFaults({ partner: { mode: 'timeout', calls: ['skill'] } });
  await intentCase('ok', 100401, /injected/);
});

test('100402: HTTP 500', async () => {
  await intentCase('http500', 100402, /500/);
});

test('100501: not JSON; outputSpeech a bare string', async () => {
  await intentCase('notJson', 100501);
  await intentCase('bareSpeech', 100501, /outputSpeech/);
});

test('200501: no outputSpeech', async () => {
  await intentCase('noSpeech', 200501, /outputSpeech/);
});

test("200502: a card without account linking; feedbackAttributes from a skill that is no device maker's", async () => {
  await intentCase('card', 200502, /card/);
  await intentCase('feedback', 200502, /feedbackAttributes/);
});

test("200503: a field the platform does not define (Alexa's audioItem)", async () => {
  await intentCase('audioItem', 200503, /audioItem/);
});

test('100502: an undefined directive type', async () => {
  await intentCase('unknownDirective', 100502, /Speaker\.SetVolume/);
});

test('100502: a non-RenderTemplate directive in the answer to SessionEndedRequest (退出)', async () => {
  const deviceId = 'bad-end-play';
  bad.plan = { IntentRequest: 'keep', SessionEndedRequest: 'playOnEnd' };
  const kept = await say('我要听万古神帝第1集', deviceId);
  assert.equal(kept.shouldEndSession, false);
  const reply = await say('退出', deviceId);
  await expectFailure(reply, { code: 100502, requestType: 'SessionEndedRequest', deviceId, reason: /AudioPlayer\.Play/ });
  assert.equal(reply.sessionId, kept.sessionId);
});

test('100502: Dialog.ElicitSlot in the answer to Connections.Response (the resume); the resume is asked again later', async () => {
  const deviceId = 'bad-resume';
  bad.plan = { IntentRequest: 'charge', 'Connections.Response': 'elicit' };
  const said = await say('我要听万古神帝第1集', deviceId);
  assert.equal(said.error, undefined);
  assert.match(said.purchaseId, /^P/);
  assert.equal(tradeStatusOf(await api(base).payPurchase(said.purchaseId!, 'success')), 'SUCCESS');
  const resumed = await api(base).resume(said.purchaseId!);
  // HTTP 200 with the failure inside (the client throws on any other status).
  await expectFailure(resumed, { code: 100502, requestType: 'Connections.Response', deviceId, reason: /Dialog/, resume: true });
  const ended = bad.received.find((e) => e.context.System.device.deviceId === deviceId && e.request.reason === 'ERROR');
  assert.equal(ended.session.sessionId, said.sessionId, 'the ERROR names the session the Charge was answered in');
  // The device link's resume (contract C): the same, signed, status 200.
  const viaDevice = await fetch(`${base}/device/v1/purchases/${said.purchaseId}/resume`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-dingdang-device-id': deviceId, ...deviceHeaders(base) },
    body: '{}',
  });
  assert.equal(viaDevice.status, 200);
  assert.match(viaDevice.headers.get('authorization') ?? '', /^TSK-RSA2 /);
  const dj = await viaDevice.json();
  assert.deepEqual(dj, { purchaseId: said.purchaseId, outputSpeech: SKILL_FALLBACK_SPEECH, directives: [], shouldEndSession: true, error: resumed.error });
  bad.plan = { 'Connections.Response': 'playOnEnd' };
  const again = await api(base).resume(said.purchaseId!);
  assert.equal(again.error, undefined, 'a failed resume is not kept');
  assert.equal(again.outputSpeech, '好的');
  assert.deepEqual(again.directives, [PLAY], 'the real directives');
  assert.equal(bad.received.filter((e) => e.request.type === 'Connections.Response').length, 3);
});

test("strictSchema: the schema's stricter reading refuses an answer without shouldEndSession (prose: fine)", async () => {
  bad.plan = {};
  const lenient = await say('我要听万古神帝第1集', 'bad-lenient');
  assert.equal(lenient.error, undefined);
  assert.equal(lenient.shouldEndSession, true, 'default true');
  const strict = await say('严格一点', 'bad-strict');
  await expectFailure(strict, { code: 200501, requestType: 'IntentRequest', deviceId: 'bad-strict', skillId: 'strict', reason: /shouldEndSession/ });
});

test('the dashboard lists failed skill calls with their return code', async () => {
  const res = await fetch(base + '/', { headers: { accept: 'text/html', ...controlHeaders(base) } });
  const html = await res.text();
  for (const code of [100400, 100401, 100402, 100501, 100502, 200501, 200502, 200503])
    assert.ok(html.includes(`data-code="${code}"`), `${code} on the dashboard`);
});
