/**
 * The speaker's player model (src/demo/player.ts) on DingDang's real
 * `AudioPlayer.Play` shape: a playlist of `{ stream: { url?, token }, info?, pay? }`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findPlayDirective, Player, playlistItems, positionText, type LockedEvent, type PlayEvent } from '../../src/demo/player.js';
import type { AudioPlayerPlayDirective, PlaylistItem } from '../../src/protocol/skill-types.js';

const ep = (n: number, pay = false): PlaylistItem => ({
  stream: pay ? { token: `wgsd${n}` } : { url: `http://127.0.0.1:9/audio/wgsd${n}.wav`, token: `wgsd${n}` },
  info: { title: `万古神帝 第${n}集`, subtitle: '万古神帝', art: { contentDescription: '封面', source: { url: 'http://127.0.0.1:9/art.svg' } } },
  ...(pay ? { pay: true } : {}),
});
const play = (...items: PlaylistItem[]): AudioPlayerPlayDirective => ({ type: 'AudioPlayer.Play', playlist: items });

function record(p: Player) {
  const log: string[] = [];
  const plays: PlayEvent[] = [];
  const locks: LockedEvent[] = [];
  p.on('play', (e) => (plays.push(e), log.push(`play ${e.index} ${e.cause}`)));
  p.on('locked', (e) => (locks.push(e), log.push(`locked ${e.index} ${e.cause}`)));
  p.on('ended', () => log.push('ended'));
  p.on('paused', (e) => log.push(e.paused ? 'paused' : 'continued'));
  p.on('stopped', () => log.push('stopped'));
  return { log, plays, locks };
}

test('items: the real playlist fields; a pay item is locked and has no url even if one is sent', () => {
  const items = playlistItems([ep(35), { ...ep(36), pay: true }, { stream: { token: 'x' } }, 'junk']);
  assert.deepEqual(items[0], {
    index: 0,
    token: 'wgsd35',
    url: 'http://127.0.0.1:9/audio/wgsd35.wav',
    title: '万古神帝 第35集',
    subtitle: '万古神帝',
    artUrl: 'http://127.0.0.1:9/art.svg',
    artDescription: '封面',
    locked: false,
  });
  assert.equal(items[1]!.locked, true);
  assert.equal(items[1]!.url, undefined);
  // No info: a numbered title; malformed entries never throw.
  assert.deepEqual(items[2], { index: 2, token: 'x', title: '第 3 首', locked: false });
  assert.deepEqual(items[3], { index: 3, token: '#4', title: '第 4 首', locked: false });
  assert.deepEqual(playlistItems(undefined), []);
  assert.equal(positionText(1, 10), '第 2/10 首');
});

test('findPlayDirective: the first AudioPlayer.Play among directives; Alexa-shaped ones are not it', () => {
  const d = play(ep(1));
  assert.equal(findPlayDirective([{ type: 'Display.RenderTemplate' }, d, play(ep(2))]), d);
  assert.equal(findPlayDirective([{ type: 'AudioPlayer.Play', audioItem: { stream: { url: 'x' } } }]), undefined);
  assert.equal(findPlayDirective('nope'), undefined);
});

test('plays from the first item; end of item → next; next/previous; the last one ending ends the list', () => {
  const p = new Player();
  const r = record(p);
  assert.equal(p.state, 'idle');
  assert.equal(p.next(), false, 'nothing loaded');
  assert.equal(p.load(play(ep(35), ep(36), ep(37))), true);
  assert.equal(p.state, 'playing');
  assert.equal(p.current?.token, 'wgsd35');
  assert.equal(r.plays[0]!.items.length, 3);
  assert.equal(p.previous(), false, 'nothing before the first');
  p.ended();
  assert.equal(p.current?.token, 'wgsd36');
  assert.equal(p.next(), true);
  assert.equal(p.previous(), true);
  assert.equal(p.current?.index, 1);
  assert.equal(p.select(2), true);
  assert.equal(p.select(7), false);
  p.ended();
  assert.equal(p.state, 'ended');
  p.ended(); // not playing: nothing
  assert.deepEqual(r.log, ['play 0 start', 'play 1 ended', 'play 2 next', 'play 1 previous', 'play 2 select', 'ended']);
});

test('a pay item is never played: reaching it (end, next, previous, tap) stops the player there', () => {
  const p = new Player();
  const r = record(p);
  p.load(play(ep(35), ep(36, true), ep(37, true)));
  p.ended();
  assert.equal(p.state, 'locked');
  assert.equal(p.current?.token, 'wgsd36');
  assert.equal(r.locks[0]!.cause, 'ended');
  p.ended(); // a locked item does not "end"
  assert.equal(p.current?.token, 'wgsd36');
  assert.equal(p.previous(), true);
  assert.equal(p.state, 'playing');
  assert.equal(p.next(), true);
  assert.equal(r.locks.at(-1)!.cause, 'next');
  p.select(2);
  assert.equal(r.locks.at(-1)!.item.token, 'wgsd37');
  assert.equal(
    r.plays.every((e) => !e.item.locked),
    true,
    'no play event for a locked item',
  );
  assert.deepEqual(r.log, ['play 0 start', 'locked 1 ended', 'play 0 previous', 'locked 1 next', 'locked 2 select']);
});

test('a playlist that starts on a pay item plays nothing; an empty one changes nothing', () => {
  const p = new Player();
  const r = record(p);
  assert.equal(p.load(play()), false);
  assert.equal(p.state, 'idle');
  p.load(play(ep(36, true), ep(37)));
  assert.equal(p.state, 'locked');
  assert.deepEqual(r.log, ['locked 0 start']);
});

test('a new playlist replaces the old one; pause, continue and stop', () => {
  const p = new Player();
  const r = record(p);
  p.load(play(ep(1), ep(2)));
  p.next();
  p.load(play(ep(9)));
  assert.equal(p.items.length, 1);
  assert.equal(p.current?.token, 'wgsd9');
  assert.equal(p.togglePause(), true);
  p.ended(); // paused: no end
  assert.equal(p.state, 'paused');
  assert.equal(p.togglePause(), true);
  p.stop();
  p.stop();
  assert.equal(p.togglePause(), false);
  assert.deepEqual(r.log, ['play 0 start', 'play 1 next', 'play 0 start', 'paused', 'continued', 'stopped']);
});
