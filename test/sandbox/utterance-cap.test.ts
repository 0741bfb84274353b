/**
 * One utterance is bounded before matching (issue 13, "the utterance matcher
 * is quadratic"): a `say` text longer than MAX_UTTERANCE_CHARS is refused
 * with a clear 400 through the control API, and the matcher is never called
 * with more than the bound (spied, not timed); the matcher itself ignores
 * longer text when called directly. Entity slots in the config are checked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxClient } from '../../src/sandbox/client.js';
import { SandboxApiError, SandboxConfigError } from '../../src/sandbox/errors.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { MAX_UTTERANCE_CHARS, UtteranceMatcher, fillSlot } from '../../src/sandbox/skill.js';
import { skillInput, startPair } from '../support/sandbox.js';

let pair: Awaited<ReturnType<typeof startPair>>;
let client: SandboxClient;
const seen: number[] = [];
const originals = {
  match: UtteranceMatcher.prototype.match,
  launch: UtteranceMatcher.prototype.launch,
  isExit: UtteranceMatcher.prototype.isExit,
};

before(async () => {
  pair = await startPair();
  client = pair.sandbox.client();
  // Spy on every entry of the matcher: the length of the text it is handed.
  UtteranceMatcher.prototype.match = function (this: UtteranceMatcher, text: string, skillId?: string) {
    seen.push(text.length);
    return originals.match.call(this, text, skillId);
  };
  UtteranceMatcher.prototype.launch = function (this: UtteranceMatcher, text: string) {
    seen.push(text.length);
    return originals.launch.call(this, text);
  };
  UtteranceMatcher.prototype.isExit = function (this: UtteranceMatcher, text: string) {
    seen.push(text.length);
    return originals.isExit.call(this, text);
  };
});

after(async () => {
  Object.assign(UtteranceMatcher.prototype, originals);
  await pair.close();
});

test('a 1 MB say text is refused with a clear 400 before the matcher sees it; one at the bound is matched', async () => {
  const huge = '我要听万古神帝'.repeat(Math.floor(1_000_000 / 21)); // ≈ 1 MB of UTF-8
  assert.ok(Buffer.byteLength(huge) > 990_000);
  seen.length = 0;
  await assert.rejects(
    client.say({ text: huge, deviceId: 'cap-dev' }),
    (e: unknown) =>
      e instanceof SandboxApiError &&
      e.status === 400 &&
      e.errorCode === 'ERR_INVALID_ARGUMENT' &&
      e.message.includes(`at most ${MAX_UTTERANCE_CHARS} characters`),
  );
  assert.deepEqual(seen, [], 'the matcher was not called');

  // Just over the bound: refused too; at the bound: matched as usual (padding is punctuation the matcher drops).
  const atBound = '我要听万古神帝第35集'.padEnd(MAX_UTTERANCE_CHARS, '。');
  await assert.rejects(client.say({ text: atBound + '。', deviceId: 'cap-dev' }), (e: unknown) => e instanceof SandboxApiError && e.status === 400);
  assert.deepEqual(seen, []);
  const ok = await client.say({ text: atBound, deviceId: 'cap-dev' });
  assert.equal(ok.matched, true);
  assert.ok(seen.length > 0);
  assert.ok(Math.max(...seen) <= MAX_UTTERANCE_CHARS, `the matcher saw ${Math.max(...seen)} characters`);
  // The sandbox still answers afterwards.
  assert.equal((await client.say({ text: '今天天气怎么样', deviceId: 'cap-dev-2' })).matched, false);
});

test('the matcher and fillSlot ignore text longer than one utterance when called directly', () => {
  const m = new UtteranceMatcher([{ skillId: 's', utterances: [], invocationName: '有声书' }]);
  const long = '我要听万古神帝第35集' + '啊'.repeat(MAX_UTTERANCE_CHARS);
  assert.equal(m.match(long), undefined);
  assert.equal(m.launch('打开有声书' + ' '.repeat(MAX_UTTERANCE_CHARS)), undefined);
  assert.equal(m.isExit('退出' + ' '.repeat(MAX_UTTERANCE_CHARS)), false);
  assert.equal(fillSlot('album', 'text', 'x'.repeat(MAX_UTTERANCE_CHARS + 1)), undefined);
  assert.ok(m.match('我要听万古神帝第35集'));
});

test('entity slots in the config: values and synonyms, checked; the slot hears only its words, the value is the entity', () => {
  const base = skillInput('http://127.0.0.1:9');
  const entity = { entity: ['万古神帝', { value: '斗破苍穹', synonyms: ['斗破'] }] };
  const config = parseSandboxConfig({
    skills: [{ ...base, utterances: [{ intent: 'play', samples: ['{album}{index}集', '听{album}'], slots: { album: entity } }] }],
  });
  const slots = config.skills[0]!.utterances[0]!.slots!;
  assert.deepEqual(slots.album, { entity: [{ value: '万古神帝' }, { value: '斗破苍穹', synonyms: ['斗破'] }] });
  const m = new UtteranceMatcher(config.skills);
  const said = m.match('斗破12集');
  assert.equal(said?.intent, 'play');
  assert.deepEqual(said?.slots.album?.values[0]?.value, { type: 'text', value: '斗破苍穹', origin: '斗破' });
  assert.equal(m.match('上一集'), undefined);
  assert.equal(m.match('听三体'), undefined);
  // Filling an elicited entity slot: the word itself, or words holding exactly one of the entity's words.
  const kind = slots.album;
  assert.equal(fillSlot('album', kind, '万古神帝')?.values[0]?.value.type, 'text');
  assert.deepEqual(fillSlot('album', kind, '我要听斗破')?.values[0]?.value, { type: 'text', value: '斗破苍穹', origin: '我要听斗破' });
  assert.equal(fillSlot('album', kind, '上一集'), undefined);
  assert.equal(fillSlot('album', kind, '万古神帝和斗破苍穹'), undefined);

  const bad = (slot: unknown, path: string) =>
    assert.throws(
      () => parseSandboxConfig({ skills: [{ ...base, utterances: [{ intent: 'play', samples: ['听{album}'], slots: { album: slot } }] }] }),
      (e: unknown) => e instanceof SandboxConfigError && e.path === path,
    );
  bad({ entity: [] }, 'skills[0].utterances[0].slots.album.entity');
  bad({ entity: [''] }, 'skills[0].utterances[0].slots.album.entity[0]');
  bad({ entity: [{ value: 'x', synonyms: 'y' }] }, 'skills[0].utterances[0].slots.album.entity[0].synonyms');
  bad({ entity: ['x'], other: 1 }, 'skills[0].utterances[0].slots.album');
  bad('entity', 'skills[0].utterances[0].slots.album');
});
