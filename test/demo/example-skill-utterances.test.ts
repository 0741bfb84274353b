/**
 * Episode requests reach the example skill through the platform's NLU (the
 * sandbox's stand-in matcher over the skill record's sample utterances and
 * slot kinds, `AUDIOBOOK_INTENTS`): with or without 第, Arabic or Chinese
 * numerals, play or buy — the right intent with the right slots, and an
 * answer that names the right episode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIOBOOK_UTTERANCES, UtteranceMatcher } from '../../src/sandbox/skill.js';
import { AUDIOBOOK_INTENTS } from '../../src/demo/example-skill/skill.js';
import type { IntentRequest } from '../../src/protocol/skill-types.js';

const intents = AUDIOBOOK_INTENTS.map((i) => ({ intent: i.intent, samples: [...i.samples], slots: { ...i.slots } }));

// [what the user says, intent, album, index (undefined: none)]
const CASES: Array<[string, 'play' | 'buy', string, number | undefined]> = [
  ['我要听万古神帝第35集', 'play', '万古神帝', 35],
  ['我要听万古神帝第三十五集', 'play', '万古神帝', 35],
  ['我要听万古神帝35集', 'play', '万古神帝', 35],
  ['万古神帝35集', 'play', '万古神帝', 35],
  ['万古神帝第三十五集', 'play', '万古神帝', 35],
  ['万古神帝三十五集', 'play', '万古神帝', 35],
  ['播放斗破苍穹第十二集', 'play', '斗破苍穹', 12],
  ['听斗破苍穹12集', 'play', '斗破苍穹', 12],
  ['万古神帝第１２０集', 'play', '万古神帝', 120],
  ['我要听万古神帝', 'play', '万古神帝', undefined],
  ['我要买万古神帝第40集', 'buy', '万古神帝', 40],
  ['我要买万古神帝四十集', 'buy', '万古神帝', 40],
  ['我想买万古神帝第一百零二集', 'buy', '万古神帝', 102],
  ['购买斗破苍穹第十二集', 'buy', '斗破苍穹', 12],
  ['买万古神帝40集', 'buy', '万古神帝', 40],
  ['我要买斗破苍穹', 'buy', '斗破苍穹', undefined],
];

test('the matcher: a number slot hears only a numeral, so a sample without 第 splits the title from the episode', () => {
  const matcher = new UtteranceMatcher([{ skillId: 'book', utterances: intents }]);
  for (const [text, intent, album, index] of CASES) {
    const m = matcher.match(text);
    assert.ok(m, text);
    assert.equal(m.intent, intent, text);
    assert.equal(m.slots.album?.values[0]?.value.type === 'text' && m.slots.album.values[0].value.value, album, text);
    const v = m.slots.index?.values[0]?.value;
    assert.equal(v === undefined ? undefined : v.type === 'text' ? Number(v.value) : NaN, index, text);
  }
  // A number slot that hears no numeral does not match that sample.
  assert.equal(matcher.match('万古神帝好多集')?.slots.index, undefined);
  // The album is an entity of the catalog's titles: player words and unknown titles are no play request.
  for (const text of ['上一集', '下一集', '播放上一集', '听下一集', '我要听上一集', '上一首', '我要听三体第3集', '买三体'])
    assert.equal(matcher.match(text), undefined, text);
});

test("the sandbox's built-in audiobook samples are the example skill's (the album a text slot there)", () => {
  assert.deepEqual(
    AUDIOBOOK_UTTERANCES.map((u) => ({ intent: u.intent, samples: u.samples })),
    AUDIOBOOK_INTENTS.map((i) => ({ intent: i.intent, samples: [...i.samples] })),
  );
  for (const u of AUDIOBOOK_UTTERANCES) {
    const declared = AUDIOBOOK_INTENTS.find((i) => i.intent === u.intent)!;
    // Every slot the example declares, with the album as text (the sandbox does not know a skill's catalog).
    assert.deepEqual(u.slots, Object.fromEntries(Object.keys(declared.slots).map((k) => [k, k === 'album' ? 'text' : 'number'])));
  }
});

test('through the sandbox: each phrasing reaches the skill as the right intent, and the answer names the right episode', async () => {
  const { startDemoStack } = await import('../../src/demo/stack.js');
  const stack = await startDemoStack({ log: () => {} });
  try {
    let n = 0;
    for (const [text, intent, album, index] of CASES) {
      const reply = await stack.client.say({ text, deviceId: `dev-utter-${n++}` });
      assert.equal(reply.matched, true, text);
      const request = reply.request as IntentRequest;
      assert.equal(request.type, 'IntentRequest', text);
      assert.equal(request.intent.name, intent, text);
      assert.equal(request.queryText, text);
      const slot = request.intent.slots.album?.values[0]?.value;
      assert.equal(slot?.type === 'text' ? slot.value : undefined, album, text);
      const charge = reply.answer?.directives?.find((d) => d.type === 'Connections.SendRequest') as { payload: { chargeInfo: { name: string } } } | undefined;
      const said = `${reply.speech} ${charge?.payload.chargeInfo.name ?? ''}`;
      // play without an episode starts at 第1集 (free); buy without one sells the first episode not owned (the first paid one).
      const episode = index ?? (intent === 'play' ? 1 : album === '斗破苍穹' ? 6 : 4);
      assert.ok(said.includes(`${album} 第${episode}集`) || said.includes(`${album}第${episode}集`), `${text} → ${said}`);
    }
    // "上一集" with no playlist reaches no skill (the platform's "没听懂"), never play with album "上".
    for (const text of ['上一集', '下一集']) {
      const reply = await stack.client.say({ text, deviceId: `dev-utter-${n++}` });
      assert.equal(reply.matched, false, text);
      assert.equal(reply.request, undefined, text);
    }
  } finally {
    await stack.close();
  }
});
