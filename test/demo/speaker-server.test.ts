/**
 * The screen speaker's own server: the page embeds the platform URL and key,
 * the script is a browser bundle of the companion (no Node built-ins), the
 * statechart and mermaid are served beside it, and
 * POST /api/say forwards utterances to the platform for this device; bad
 * input is refused with a clear 4xx, an unreachable platform is a 502.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js';
import { startSpeakerServer, type SpeakerServer } from '../../src/demo/speaker-server.js';
import { generateStatechart } from '../../src/demo/statechart.js';

let stack: DemoStack;
let speaker: SpeakerServer;

before(async () => {
  stack = await startDemoStack();
  speaker = await startSpeakerServer({
    platformUrl: stack.sandbox.url,
    tskPublicKey: stack.sandbox.tskPublicKey,
    controlToken: stack.sandbox.controlToken,
    deviceToken: stack.sandbox.deviceToken!,
    port: 0,
    deviceId: 'spk-server-test',
  });
});
after(async () => {
  await speaker?.close();
  await stack?.close();
});

const post = (path: string, body: string) =>
  fetch(new URL(path, speaker.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });

test('the page carries the platform URL, key and device id; the script is a browser bundle', { timeout: 30_000 }, async () => {
  const page = await fetch(speaker.url);
  assert.equal(page.status, 200);
  const html = await page.text();
  const config = JSON.parse(/<script id="speaker-config" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  assert.deepEqual(config, {
    platformUrl: stack.sandbox.url,
    tskPublicKey: stack.sandbox.tskPublicKey,
    deviceId: 'spk-server-test',
    sayUrl: '/api/say',
    example: '我要听万古神帝第35集',
    deviceToken: stack.sandbox.deviceToken,
  });
  const js = await (await fetch(new URL('/speaker.js', speaker.url))).text();
  assert.ok(js.length > 50_000, 'the companion is in the bundle');
  for (const banned of ['node:crypto', 'better-sqlite3', 'PRIVATE KEY', 'node:http']) assert.ok(!js.includes(banned), `bundle contains ${banned}`);
});

test("the statechart the page draws, and mermaid's browser build as its own script (not in the page bundle)", { timeout: 30_000 }, async () => {
  const chart = await fetch(new URL('/statechart.json', speaker.url));
  assert.equal(chart.status, 200);
  assert.match(chart.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await chart.json(), generateStatechart());
  const mermaid = await fetch(new URL('/mermaid.js', speaker.url));
  assert.equal(mermaid.status, 200);
  assert.match(mermaid.headers.get('content-type') ?? '', /javascript/);
  assert.match(await mermaid.text(), /globalThis\["mermaid"\]/);
  const js = await (await fetch(new URL('/speaker.js', speaker.url))).text();
  assert.ok(!js.includes('stateDiagram'), 'no diagram text or mermaid in the page bundle');
});

test(
  'POST /api/say routes an utterance to the platform for this device and returns its reply as the platform sent it (contract C)',
  { timeout: 30_000 },
  async () => {
    const res = await post('/api/say', JSON.stringify({ text: '我要听万古神帝第35集' }));
    assert.equal(res.status, 200);
    const reply = (await res.json()) as {
      matched: boolean;
      skillId: string;
      requestType: string;
      purchaseId: string;
      speech: string;
      shouldEndSession: boolean;
      answer: { outputSpeech: { type: string; text: string }; directives: Array<{ type: string; name: string }> };
    };
    assert.equal(reply.matched, true);
    assert.equal(reply.requestType, 'IntentRequest');
    // DingDang's format: speech is { type: 'PlainText', text }, not a bare string.
    assert.deepEqual(reply.answer.outputSpeech, { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' });
    assert.equal(reply.speech, '这是付费内容，需要购买才能播放哦');
    assert.equal(reply.shouldEndSession, true);
    assert.equal(reply.answer.directives[0]!.type, 'Connections.SendRequest');
    assert.equal(reply.answer.directives[0]!.name, 'Charge');
    // The platform opened the purchase for this speaker's device.
    const p = await stack.client.purchase(reply.purchaseId);
    assert.equal(p.deviceId, 'spk-server-test');
    assert.equal(p.mode, 'screen');
    const unknown = (await (await post('/api/say', JSON.stringify({ text: '今天天气怎么样' }))).json()) as {
      matched: boolean;
      speech: string;
      shouldEndSession: boolean;
    };
    assert.equal(unknown.matched, false);
    assert.equal(unknown.speech, '');
    assert.equal(unknown.shouldEndSession, true);
  },
);

test('bad input is refused and changes nothing; an unreachable platform is a 502', { timeout: 30_000 }, async () => {
  const before = (await stack.client.purchases()).length;
  assert.equal((await post('/api/say', 'not json')).status, 400);
  assert.equal((await post('/api/say', JSON.stringify({ text: '' }))).status, 400);
  assert.equal((await post('/api/say', JSON.stringify({ text: 'x'.repeat(201) }))).status, 400);
  assert.equal((await post('/api/say', JSON.stringify({ words: '买' }))).status, 400);
  assert.equal((await fetch(new URL('/api/say', speaker.url))).status, 405);
  assert.equal((await fetch(new URL('/nope', speaker.url))).status, 404);
  const after = (await stack.client.purchases()).length;
  assert.equal(after, before);

  // A platform that is not there: a free port nobody listens on.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const lonely = await startSpeakerServer({ platformUrl: `http://127.0.0.1:${port}`, tskPublicKey: stack.sandbox.tskPublicKey, port: 0 });
  try {
    const res = await fetch(new URL('/api/say', lonely.url), { method: 'POST', body: JSON.stringify({ text: '我要听万古神帝第35集' }) });
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /fetch failed|ECONNREFUSED/);
  } finally {
    await lonely.close();
  }
});
