/**
 * HTTP-layer fuzz of the servers the package starts, in this process, each
 * with short timeouts (FUZZ_LIMITS through their `http` option): the sandbox
 * (pay CGI, control API, phone pages, device link over HTTP and its
 * WebSocket stream), the example skill, the demo's speaker page server. Raw
 * request lines, targets, versions, header mutations, bodies, slow clients,
 * WebSocket upgrade junk and bad frames. Every case: no 5xx, the connection
 * ends from the server's side, no uncaught exception or unhandled rejection;
 * a plain request still succeeds afterwards.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { DEVICE_STREAM_PATH } from '../../src/protocol/device-link.js';
import { startAudiobookSkill, type AudiobookServer } from '../../src/demo/example-skill/server.js';
import { startSpeakerServer, type SpeakerServer } from '../../src/demo/speaker-server.js';
import { parseSandboxConfig, Sandbox } from '../../src/sandbox/index.js';
import { fuzzTimeout } from '../support/fuzz-common.js';
import { assertAlive, FUZZ_LIMITS, fuzzFixed, fuzzRandom, fuzzSlow, fuzzWebSocket, processGuard, type FuzzTarget } from '../support/fuzz-http.js';

const RUNS = 40;
const guard = processGuard();
let sandbox: Sandbox | undefined;
let skill: AudiobookServer | undefined;
let speaker: SpeakerServer | undefined;
const targets = new Map<string, FuzzTarget>();

before(async () => {
  skill = await startAudiobookSkill({ log: () => undefined, reconcile: false, http: FUZZ_LIMITS });
  const r = skill.record;
  const { url: _url, ...record } = r;
  sandbox = await Sandbox.start({
    config: parseSandboxConfig({ skills: [record] }),
    http: FUZZ_LIMITS,
    device: { authTimeoutMs: 300 },
  });
  skill.configurePlatform({ tskPublicKey: sandbox.tskPublicKey, payBaseUrl: sandbox.url });
  speaker = await startSpeakerServer({ platformUrl: sandbox.url, tskPublicKey: sandbox.tskPublicKey, http: FUZZ_LIMITS });
  const sb = sandbox.url;
  targets.set('sandbox', {
    name: 'sandbox',
    url: sb,
    paths: [
      '/paycgi/orderquery',
      '/paycgi/refund',
      '/sandbox/v1/say',
      '/sandbox/v1/purchases',
      '/device/v1/purchases',
      '/device/v1/purchases/x/status',
      '/pay/x',
      '/sandbox/v1/info',
    ],
    alive: () => assertAlive('sandbox', `${sb}/sandbox/v1/info`),
  });
  const sk = r.url;
  targets.set('example skill', {
    name: 'example skill',
    url: sk,
    paths: ['/skill', '/dingdang/create-order', '/dingdang/deliver', '/account-link', '/audio/ep035.wav'],
    alive: async () => {
      const res = await fetch(`${sk}/`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(res.status, 200, 'the example skill answers GET /');
      assert.equal(((await res.json()) as { skill?: string }).skill, 'audiobook');
    },
  });
  const sp = speaker.url.replace(/\/$/, '');
  targets.set('speaker page', {
    name: 'speaker page',
    url: sp,
    paths: ['/api/say', '/speaker.js', '/statechart.json'],
    alive: async () => {
      const res = await fetch(`${sp}/`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(res.status, 200, 'the speaker page server answers GET /');
      assert.match(await res.text(), /<html/i);
    },
  });
});

after(async () => {
  await speaker?.close();
  await sandbox?.close();
  await skill?.close();
  guard.dispose();
});

describe('servers we start: HTTP-layer fuzz', () => {
  for (const name of ['sandbox', 'example skill', 'speaker page']) {
    const target = () => targets.get(name)!;
    it(`${name}: hand-picked raw requests (lines, versions, headers, bodies) — no 5xx, still answering`, { timeout: 240_000 }, async () => {
      await fuzzFixed(target());
      guard.assertClean();
    });
    it(`${name}: random raw requests (seeded, ${RUNS} runs × 4)`, { timeout: fuzzTimeout(RUNS * 4) }, async () => {
      await fuzzRandom(target(), RUNS);
      guard.assertClean();
    });
    it(`${name}: slow head, slow body, idle connections are cut off by the server`, { timeout: 120_000 }, async () => {
      await fuzzSlow(target(), target().paths[0]);
      guard.assertClean();
    });
  }
  it('sandbox device link: WebSocket upgrade junk and bad frames end the connection, the sandbox stays up', { timeout: 120_000 }, async () => {
    await fuzzWebSocket(targets.get('sandbox')!, DEVICE_STREAM_PATH);
    guard.assertClean();
  });
});
