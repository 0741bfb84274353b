/**
 * The player statechart (src/device/player-machine.ts) and the companion's
 * player (src/device/player.ts): a playlist of free and `pay: true` items,
 * the platform asked about a paid item, the purchase, listening going on
 * from the bought item, and stopping (saying why) when it is not bought.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise } from 'xstate';
import { DeviceCompanion } from '../../src/device/companion.js';
import { playerMachine, type PlayerEvent, type PlayerItem } from '../../src/device/player-machine.js';
import { playlistItems } from '../../src/device/playlist.js';
import type { SelectElementRequest, SelectElementResult } from '../../src/device/port.js';
import type { PlaylistItem } from '../../src/protocol/skill-types.js';
import { Coverage } from '../support/statechart.js';
import { FakeTransport } from '../support/fake-transport.js';

const ep = (n: number, pay = false): PlaylistItem => ({
  stream: pay ? { url: '', token: `wgsd${n}` } : { url: `http://127.0.0.1:9/audio/wgsd${n}.wav`, token: `wgsd${n}` },
  info: { title: `万古神帝 第${n}集` },
  ...(pay ? { pay: true } : {}),
});
const playlist = (...items: PlaylistItem[]) => ({ type: 'AudioPlayer.Play', playlist: items });
const FREE3_PAID2 = playlist(ep(1), ep(2), ep(3), ep(4, true), ep(5, true));

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function speaker(mode: 'screen' | 'screenless' = 'screen') {
  const transport = new FakeTransport();
  const companion = new DeviceCompanion({ transport, mode, countdownMs: 0 });
  const p = companion.player;
  const log: string[] = [];
  const spoken: string[] = [];
  p.on('play', (e) => log.push(`play ${e.item.token} ${e.cause}${e.resumed ? ' resumed' : ''}`));
  p.on('asking', (e) => log.push(`asking ${e.item.token} ${e.cause}`));
  p.on('offer', (e) => log.push(`offer ${e.item.token} ${e.purchaseId}`));
  p.on('stopped', (e) => log.push(`stopped ${e.item.token} ${e.reason}`));
  p.on('ended', () => log.push('ended'));
  p.on('paused', (e) => log.push(e.paused ? 'paused' : 'continued'));
  p.on('speak', (e) => spoken.push(e.text));
  companion.on('speak', (e) => spoken.push(e.text));
  return { transport, companion, p, log, spoken };
}

test('listening through the free episodes reaches episode 4: the platform is asked, the skill charges, payment, listening goes on from it (screen)', async () => {
  const { transport, companion, p, log } = speaker('screen');
  assert.equal(p.state, 'idle');
  assert.equal(p.load(FREE3_PAID2, { skillId: 'wgsd-skill' }), true);
  assert.equal(p.state, 'playing');
  assert.equal(p.current?.url, 'http://127.0.0.1:9/audio/wgsd1.wav');
  p.ended();
  p.ended();
  assert.equal(p.current?.token, 'wgsd3');
  p.ended();
  // Episode 4 is `pay: true`: not played, the platform is asked with its token.
  assert.equal(p.state, 'asking');
  await until(() => companion.busy, 'the purchase to start');
  const sel = transport.callsOf('selectElement')[0]!.select!;
  assert.deepEqual(sel, { token: 'wgsd4', mode: 'screen', cause: 'ended', skillId: 'wgsd-skill' });
  assert.equal(p.state, 'buying');
  // The purchase the platform opened is the one started.
  const start = transport.callsOf('startPurchase')[0]!.request!;
  assert.match(start.purchaseId ?? '', /^SEL\d+$/);
  assert.equal(start.charge.payload.chargeInfo.items[0]!.itemId, 'wgsd4');
  // While it is on sale, next / previous wait.
  p.next();
  p.previous();
  assert.equal(p.state, 'buying');
  // The user buys: goods → order → QR → SUCCESS → resume with the playlist from episode 4.
  transport.resumeAnswer = { outputSpeech: '好的，继续播放第4集', directives: [playlist(ep(4), ep(5, true))], shouldEndSession: true };
  await until(() => companion.state === 'goods', 'goods');
  companion.say('购买');
  await until(() => companion.state === 'paying.awaitingScan', 'the pay page');
  transport.push(start.purchaseId!, 'SUCCESS');
  await until(() => p.state === 'playing', 'listening to go on');
  assert.equal(p.current?.token, 'wgsd4');
  assert.equal(p.current?.url, 'http://127.0.0.1:9/audio/wgsd4.wav');
  assert.deepEqual(log, [
    'play wgsd1 start',
    'play wgsd2 ended',
    'play wgsd3 ended',
    'asking wgsd4 ended',
    `offer wgsd4 ${start.purchaseId}`,
    'play wgsd4 start resumed',
  ]);
  // Episode 5 is still for sale: reaching it asks again.
  p.ended();
  assert.equal(p.state, 'asking');
  companion.stop();
});

test('screenless: the same purchase runs in the DingDang app; a cancel there leaves the player stopped at the item, saying why', async () => {
  const { transport, companion, p, log, spoken } = speaker('screenless');
  p.load(FREE3_PAID2);
  p.say('播放下一集');
  p.say('下一集');
  assert.equal(p.current?.token, 'wgsd3');
  p.say('下一集');
  await until(() => companion.state === 'app.pushed', 'the app step');
  assert.equal(transport.callsOf('selectElement')[0]!.select!.cause, 'voice');
  assert.equal(transport.callsOf('startPurchase')[0]!.request!.mode, 'screenless');
  companion.say('取消');
  await until(() => p.state === 'stopped', 'the player to stop');
  assert.equal(p.stopReason, 'cancelled');
  assert.equal(p.current?.token, 'wgsd4', 'stopped at the item, not skipped ahead');
  assert.ok(
    spoken.some((t) => t.includes('播放停在《万古神帝 第4集》')),
    spoken.join(' | '),
  );
  assert.deepEqual(log.slice(-1), ['stopped wgsd4 cancelled']);
  // "继续播放" asks again (a second chance to buy).
  p.say('继续播放');
  await until(() => transport.callsOf('selectElement').length === 2, 'a second ask');
  assert.equal(transport.callsOf('selectElement')[1]!.select!.cause, 'retry');
  companion.stop();
});

test('the skill does not offer the item: stopped, the skill’s own words; an unreachable platform: stopped, the device says so', async () => {
  const { transport, companion, p, spoken } = speaker();
  transport.script<SelectElementResult>('selectElement', {
    value: { token: 'wgsd4', outputSpeech: '这一集暂时不能购买', directives: [], shouldEndSession: true },
  });
  p.load(playlist(ep(3), ep(4, true)));
  p.next();
  await until(() => p.state === 'stopped', 'stopped');
  assert.equal(p.stopReason, 'notOffered');
  assert.equal(companion.busy, false);
  assert.ok(spoken.includes('这一集暂时不能购买'));
  transport.script('selectElement', { error: new Error('connection refused') });
  p.continue();
  await until(() => p.stopReason === 'unreachable', 'unreachable');
  assert.ok(spoken.some((t) => t.startsWith('暂时连不上叮当平台')));
  // A skill that answers the selection with a playlist (owned elsewhere): it plays.
  transport.script<SelectElementResult>('selectElement', { value: { token: 'wgsd4', directives: [playlist(ep(4))] } });
  p.continue();
  await until(() => p.state === 'playing', 'playing');
  assert.equal(p.current?.url, 'http://127.0.0.1:9/audio/wgsd4.wav');
  companion.stop();
});

test('player words, pause, previous at the first item, the end of the playlist', async () => {
  const { companion, p, log, spoken } = speaker();
  assert.equal(p.say('下一首'), null, 'no playlist: not a player word');
  p.load(playlist(ep(1), ep(2)));
  assert.equal(p.say('上一首'), 'previous');
  assert.equal(spoken.at(-1), '已经是第一首了');
  assert.equal(p.say('请暂停'), 'pause');
  assert.equal(p.state, 'paused');
  assert.equal(p.say('继续播放'), 'continue');
  assert.equal(p.state, 'playing');
  assert.equal(p.say('我要听万古神帝'), null);
  p.tap(1);
  assert.equal(p.current?.token, 'wgsd2');
  p.tap(7);
  assert.equal(p.current?.token, 'wgsd2', 'a tap outside the list changes nothing');
  p.ended();
  assert.equal(p.state, 'ended');
  p.next();
  assert.equal(spoken.at(-1), '已经是最后一首了');
  p.previous();
  assert.equal(p.current?.token, 'wgsd1');
  assert.equal(p.say('停止播放'), 'stop');
  assert.equal(p.state, 'stopped');
  assert.equal(p.stopReason, 'user');
  assert.equal(p.load({ playlist: [] }), false);
  // A new playlist while one plays replaces it and starts at its first item.
  p.load(playlist(ep(7), ep(8)));
  assert.equal(p.state, 'playing');
  assert.equal(p.current?.token, 'wgsd7');
  p.ended();
  p.load(playlist(ep(9)));
  assert.equal(p.current?.token, 'wgsd9');
  assert.deepEqual(log.slice(-3), ['play wgsd7 start', 'play wgsd8 ended', 'play wgsd9 start']);
  assert.deepEqual(log.slice(0, 4), ['play wgsd1 start', 'paused', 'continued', 'play wgsd2 tap']);
  companion.stop();
});

test('the resume of a purchase the host started loads its playlist; a companion without selectElement stops at a paid item', async () => {
  const { transport, companion, p } = speaker();
  transport.resumeAnswer = { outputSpeech: 'ok', directives: [playlist(ep(35), ep(36, true))] };
  const charge = transport.selectAnswer({ token: 'wgsd35', mode: 'screen', cause: 'voice' }).directives[0];
  const run = companion.purchase({ charge, originalRequest: { intent: 'play' } });
  await until(() => companion.state === 'goods', 'goods');
  companion.say('购买');
  await until(() => companion.state === 'paying.awaitingScan', 'pay page');
  transport.push(companion.context!.purchaseId!, 'SUCCESS');
  await run;
  await until(() => p.state === 'playing', 'playing');
  assert.equal(p.current?.token, 'wgsd35');
  companion.stop();

  const bare: Partial<FakeTransport> = new FakeTransport();
  bare.selectElement = undefined;
  const c2 = new DeviceCompanion({ transport: bare as FakeTransport });
  c2.player.load(playlist(ep(4, true)));
  await until(() => c2.player.state === 'stopped', 'stopped');
  assert.equal(c2.player.stopReason, 'unreachable');
  c2.stop();
});

test('playlistItems: a pay item keeps no url; malformed entries never throw', () => {
  const items = playlistItems([ep(4, true), { stream: { token: 'x', url: 'http://a/x.mp3' }, pay: true }, 'junk']);
  assert.equal(items[0]!.locked, true);
  assert.equal(items[1]!.url, undefined);
  assert.deepEqual(items[2], { index: 2, token: '#3', title: '第 3 首', locked: false });
});

// ---- the statechart itself: every state and transition of the definition ----

const ITEMS = (...locked: boolean[]): PlayerItem[] =>
  locked.map((l, index) => ({ index, token: `t${index}`, title: `T${index}`, locked: l, ...(l ? {} : { url: `http://x/${index}` }) }));

type Answer = (r: SelectElementRequest) => Promise<SelectElementResult>;

let answer: Answer = async (r) => charge(r);
let selectTimeout = 40;
const provided = playerMachine.provide({
  actors: { selectElement: fromPromise(({ input }: { input: SelectElementRequest }) => answer(input)) },
  delays: { SELECT_TIMEOUT: () => selectTimeout },
});

function run(events: Array<PlayerEvent | { wait: number }>, a: Answer, coverage: Coverage, timeout = 40) {
  answer = a;
  selectTimeout = timeout;
  const actor = createActor(provided, { input: { mode: 'screen' }, inspect: coverage.inspector });
  actor.start();
  return (async () => {
    for (const e of events) {
      if ('wait' in e) await new Promise((r) => setTimeout(r, e.wait));
      else actor.send(e);
    }
    const snap = actor.getSnapshot();
    actor.stop();
    return snap;
  })();
}

const charge = (r: SelectElementRequest): SelectElementResult => new FakeTransport().selectAnswer(r);

test('player statechart coverage: every state and every transition of the definition is exercised', async () => {
  const cov = new Coverage(provided);
  const w = { wait: 10 };
  const ok: Answer = async (r) => charge(r);
  const none: Answer = async (r) => ({ token: r.token, directives: [] });
  const plays: Answer = async (r) => ({ token: r.token, directives: [playlist(ep(9))] });
  const fails: Answer = async () => Promise.reject(new Error('down'));
  const hangs: Answer = () => new Promise(() => {});
  const load = (...l: boolean[]): PlayerEvent => ({ type: 'LOAD', items: ITEMS(...l) });
  const ended = (outcome: string, items: PlayerItem[] = []): PlayerEvent => ({ type: 'PURCHASE_ENDED', outcome, items });

  // Play, pause both ways, previous at the first and later, next to the end and beyond, taps, stop, continue.
  let s = await run(
    [
      { type: 'LOAD', items: [] },
      load(false, false, false),
      { type: 'PAUSE' },
      { type: 'PAUSE' },
      { type: 'PAUSE' },
      { type: 'CONTINUE' },
      { type: 'PREVIOUS' },
      { type: 'NEXT' },
      { type: 'PREVIOUS' },
      { type: 'TAP', index: 2 },
      { type: 'TAP', index: 9 },
      { type: 'ENDED' },
      { type: 'NEXT' },
      { type: 'STOP' },
      { type: 'CONTINUE' },
      { type: 'NEXT' },
      { type: 'LOAD', items: [] },
    ],
    ok,
    cov,
  );
  assert.deepEqual(s.value, { loaded: 'ended' });
  // Ended into the next item; an item with neither url nor pay; a new playlist while one plays.
  s = await run([load(false, false), { type: 'ENDED' }, { type: 'ENDED' }], ok, cov);
  assert.deepEqual(s.value, { loaded: 'ended' });
  s = await run([load(false, false), { type: 'ENDED' }, load(true, false)], none, cov);
  assert.equal(s.context.index, 0);
  assert.equal(s.context.items.length, 2);
  s = await run([{ type: 'LOAD', items: [{ index: 0, token: 'u', title: 'U', locked: false }] }], ok, cov);
  assert.equal(s.context.stopReason, 'unplayable');
  // A paid item: charged → buying; every way a purchase ends.
  for (const [outcome, reason] of [
    ['cancelled', 'cancelled'],
    ['timedOut', 'timedOut'],
    ['failed', 'failed'],
    ['done', 'answered'],
  ] as const) {
    s = await run([load(true), w, { type: 'NEXT' }, { type: 'PREVIOUS' }, { type: 'TAP', index: 0 }, ended(outcome)], ok, cov);
    assert.equal(s.context.stopReason, reason, outcome);
  }
  s = await run([load(true), w, ended('done', ITEMS(false))], ok, cov);
  assert.deepEqual(s.value, { loaded: { playing: 'running' } });
  assert.equal(s.context.resumed, true);
  // Not offered, a playlist instead, unreachable, too slow.
  s = await run([load(true), w], none, cov);
  assert.equal(s.context.stopReason, 'notOffered');
  s = await run([load(true), w], plays, cov);
  assert.deepEqual(s.value, { loaded: { playing: 'running' } });
  s = await run([load(true), w], fails, cov);
  assert.equal(s.context.stopReason, 'unreachable');
  s = await run([load(true), { wait: 80 }], hangs, cov, 20);
  assert.equal(s.context.stopReason, 'unreachable');

  const r = cov.report();
  console.log(`player statechart coverage: states ${r.states[0]}/${r.states[1]}, transitions ${r.transitions[0]}/${r.transitions[1]}`);
  assert.ok(r.states[1] >= 9 && r.transitions[1] >= 20, 'definition walk found the machine');
  assert.deepEqual(r.missingStates, [], 'unvisited states');
  assert.deepEqual(r.missingTransitions, [], 'unexercised transitions');
});
