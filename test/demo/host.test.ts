/**
 * The speaker host (src/demo/host.ts) against a fake `say` that answers in the
 * sandbox's `/sandbox/v1/say` shape with skill answers in DingDang's real
 * format (outputSpeech { type, text }, AudioPlayer.Play playlists,
 * Display.RenderTemplate, LinkAccount card, platform return codes). The
 * device companion is the real one on an in-memory transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceCompanion } from '../../src/device/companion.js';
import { parseSayReply, renderTemplates, SpeakerHost, type PlatformReply } from '../../src/demo/host.js';
import type { AudioPlayerPlayDirective, RenderTemplateDirective, SkillResponseBody } from '../../src/protocol/skill-types.js';
import { FakeTransport } from '../support/fake-transport.js';
import { CHARGE } from '../support/statechart.js';

const PLAYLIST: AudioPlayerPlayDirective = {
  type: 'AudioPlayer.Play',
  playlist: [
    { stream: { url: 'http://127.0.0.1:9/audio/wgsd035.wav', token: 'wgsd035' }, info: { title: '万古神帝 第35集', subtitle: '万古神帝' } },
    { stream: { url: 'http://127.0.0.1:9/audio/wgsd036.wav', token: 'wgsd036' }, info: { title: '万古神帝 第36集', subtitle: '万古神帝' } },
    { stream: { token: 'wgsd037' }, info: { title: '万古神帝 第37集', subtitle: '万古神帝' }, pay: true },
  ],
};
const NEWS: RenderTemplateDirective = {
  type: 'Display.RenderTemplate',
  token: 'news-1',
  template: {
    type: 'NewsBodyTemplate',
    textContent: { title: '今日头条', description: '三行以内的新闻' },
    backgroundImage: { source: { url: 'http://127.0.0.1:9/bg.svg' } },
  },
};

/** A contract-C reply for a skill answer. */
function answered(answer: SkillResponseBody, extra: Partial<PlatformReply> = {}): PlatformReply {
  return {
    matched: true,
    skillId: 'audiobook',
    requestType: 'IntentRequest',
    answer,
    speech: answer.outputSpeech.text,
    shouldEndSession: answer.shouldEndSession ?? true,
    ...extra,
  };
}
const speech = (text: string) => ({ type: 'PlainText' as const, text });

function setup(replies: Array<PlatformReply | Error | unknown>) {
  const fake = new FakeTransport();
  const companion = new DeviceCompanion({ transport: fake, countdownMs: 0 });
  const heard: string[] = [];
  const host = new SpeakerHost(companion, async (text) => {
    heard.push(text);
    const r = replies.shift();
    if (r instanceof Error) throw r;
    return r as PlatformReply;
  });
  const events: Array<[string, unknown]> = [];
  for (const name of [
    'speak',
    'play',
    'locked',
    'playlistEnd',
    'template',
    'linkAccount',
    'listen',
    'platformError',
    'purchase',
    'failure',
    'playerStop',
    'playerStopped',
  ] as const)
    host.on(name, (e?: unknown) => events.push([name, e]));
  const of = (name: string) => events.filter(([n]) => n === name).map(([, e]) => e as Record<string, unknown>);
  return { fake, companion, host, heard, events, of };
}

test('a playlist answer: speech, then the first item plays with the whole list; the mic closes', async () => {
  const { host, of, events } = setup([answered({ outputSpeech: speech('开始播放万古神帝第35集'), directives: [PLAYLIST] })]);
  try {
    assert.deepEqual(await host.hear('我要听万古神帝第35集'), { handledBy: 'platform' });
    assert.deepEqual(of('speak'), [{ text: '开始播放万古神帝第35集', from: 'skill' }]);
    const [p] = of('play');
    assert.equal(p!.title, '万古神帝 第35集');
    assert.equal(p!.subtitle, '万古神帝');
    assert.equal(p!.url, 'http://127.0.0.1:9/audio/wgsd035.wav');
    assert.equal(p!.position, '第 1/3 首');
    assert.equal(p!.resumed, false);
    assert.equal((p!.items as unknown[]).length, 3);
    assert.deepEqual(of('listen'), [{ open: false }]);
    assert.deepEqual(
      events.map(([n]) => n),
      ['speak', 'play', 'listen'],
    );
  } finally {
    host.stop();
  }
});

test('the player: end of item → next; at the pay item the platform is asked and the purchase runs; a cancel stops the player there; player words never reach the platform', async () => {
  const { host, of, heard, fake, companion } = setup([answered({ outputSpeech: speech('开始播放'), directives: [PLAYLIST] })]);
  try {
    await host.hear('我要听万古神帝第35集');
    host.ended();
    assert.equal(of('play').at(-1)!.position, '第 2/3 首');
    assert.equal(of('play').at(-1)!.cause, 'ended');
    assert.deepEqual(await host.hear('下一集'), { handledBy: 'player', intent: 'next' });
    const [lock] = of('locked');
    assert.equal((lock!.item as { token: string }).token, 'wgsd037');
    assert.equal(lock!.text, '下一集需要购买');
    // The platform is asked about that item (for the skill that sent the playlist); the skill's Charge starts the purchase.
    assert.deepEqual(fake.callsOf('selectElement')[0]!.select, { token: 'wgsd037', mode: 'screen', cause: 'voice', skillId: 'audiobook' });
    for (let i = 0; i < 100 && companion.state !== 'goods'; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(companion.state, 'goods');
    assert.equal(of('purchase').length, 1);
    assert.equal(host.player.state, 'buying');
    // The user says no: the purchase ends cancelled, the player stays at episode 37 and says why.
    assert.deepEqual(await host.hear('取消'), { handledBy: 'device', intent: 'cancel' });
    for (let i = 0; i < 100 && host.player.state !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 5));
    const [stopped] = of('playerStopped');
    assert.equal(stopped!.reason, 'cancelled');
    assert.equal(host.player.current?.token, 'wgsd037');
    assert.match(of('speak').at(-1)!.text as string, /^播放停在《万古神帝 第37集》/);
    assert.equal(host.previous(), true);
    assert.equal(host.player.state, 'playing');
    assert.equal(await host.hear('上一首。').then((r) => r.handledBy), 'player');
    assert.equal(await host.hear('上一首').then((r) => r.handledBy), 'player');
    assert.equal(of('speak').at(-1)!.text, '已经是第一首了');
    assert.deepEqual(heard, ['我要听万古神帝第35集'], 'only the first utterance went to the platform');
  } finally {
    host.stop();
  }
});

test('shouldEndSession false opens the mic; a LinkAccount card asks for linking in the app', async () => {
  const { host, of } = setup([
    answered({ outputSpeech: speech('你想听哪一集？'), shouldEndSession: false }),
    answered({ outputSpeech: speech('请先在叮当APP里关联账号'), card: { type: 'LinkAccount' } }),
  ]);
  try {
    await host.hear('打开有声书');
    assert.deepEqual(of('listen'), [{ open: true }]);
    await host.hear('我的书架');
    assert.deepEqual(of('linkAccount'), [{ text: '请在叮当APP中完成账号关联' }]);
    assert.deepEqual(of('listen').at(-1), { open: false });
    assert.equal(of('speak').at(-1)!.text, '请先在叮当APP里关联账号');
  } finally {
    host.stop();
  }
});

test("a refused answer: the platform's fallback line is spoken and its return code reported; nothing plays", async () => {
  const { host, of } = setup([
    {
      matched: true,
      skillId: 'audiobook',
      requestType: 'IntentRequest',
      error: { code: 100501, reason: 'response.outputSpeech is required' },
      speech: '技能暂时无法回答',
      shouldEndSession: true,
    },
    { matched: true, error: { code: 100401, reason: 'timed out' }, speech: '', shouldEndSession: true },
  ]);
  try {
    assert.deepEqual(await host.hear('我要听万古神帝第35集'), { handledBy: 'error' });
    assert.deepEqual(of('speak'), [{ text: '技能暂时无法回答', from: 'platform' }]);
    assert.deepEqual(of('platformError'), [{ code: 100501, reason: 'response.outputSpeech is required' }]);
    assert.deepEqual(of('play'), []);
    await host.hear('再来');
    assert.match(of('speak').at(-1)!.text as string, /暂时无法回答/, 'a line of the host when the platform gave none');
    assert.equal(of('platformError').at(-1)!.code, 100401);
  } finally {
    host.stop();
  }
});

test('templates: each Display.RenderTemplate is shown before the player starts; malformed ones are dropped', async () => {
  const list: RenderTemplateDirective = {
    type: 'Display.RenderTemplate',
    token: 'shelf',
    template: {
      type: 'HorizontialListTemplate',
      listItems: [{ token: 'a', textContent: { title: '万古神帝' }, image: { contentDescription: '封面', source: { url: 'http://127.0.0.1:9/a.svg' } } }],
    },
  };
  const { host, of, events } = setup([answered({ outputSpeech: speech('为你推荐'), directives: [list, NEWS, PLAYLIST] })]);
  try {
    await host.hear('推荐');
    assert.deepEqual(
      of('template').map((t) => (t.template as { type: string }).type),
      ['HorizontialListTemplate', 'NewsBodyTemplate'],
    );
    assert.equal(of('template')[0]!.token, 'shelf');
    assert.deepEqual(
      events.map(([n]) => n),
      ['speak', 'template', 'template', 'play', 'listen'],
    );
    assert.deepEqual(renderTemplates([{ type: 'Display.RenderTemplate', template: { type: 'BodyTemplate2' } }, { type: 'Display.RenderTemplate' }, 'x']), []);
  } finally {
    host.stop();
  }
});

test('not understood inside an open session: the mic opens again', async () => {
  const { host, of } = setup([{ matched: false, speech: '', shouldEndSession: false, sessionId: 'S1', skillId: 'audiobook' }]);
  try {
    assert.deepEqual(await host.hear('嗯……'), { handledBy: 'none' });
    assert.deepEqual(of('listen'), [{ open: true }]);
  } finally {
    host.stop();
  }
});

test('not understood, a failed call: spoken lines, no crash', async () => {
  const { host, of } = setup([
    { matched: false, speech: '', shouldEndSession: true },
    { matched: false, speech: '抱歉，我还不会这个', shouldEndSession: true },
    new Error('fetch failed'),
  ]);
  try {
    assert.deepEqual(await host.hear('今天天气怎么样'), { handledBy: 'none' });
    assert.match(of('speak')[0]!.text as string, /没听懂/);
    await host.hear('今天天气怎么样');
    assert.deepEqual(of('speak')[1], { text: '抱歉，我还不会这个', from: 'platform' });
    assert.deepEqual(await host.hear('你好'), { handledBy: 'error' });
    assert.match(of('failure')[0]!.message as string, /fetch failed/);
    assert.deepEqual(await host.hear('   '), { handledBy: 'none' });
    assert.deepEqual(of('listen'), [{ open: false }, { open: false }]);
  } finally {
    host.stop();
  }
});

test("a Charge answer starts a purchase and stops the player; the resume's real AudioPlayer.Play goes through the same player", async () => {
  const { host, fake, of } = setup([
    answered({ outputSpeech: speech('开始播放第34集'), directives: [PLAYLIST] }),
    answered({ outputSpeech: speech('这是付费内容，需要购买才能播放哦'), directives: [CHARGE] }, { purchaseId: 'P77' }),
  ]);
  fake.resumeAnswer = {
    outputSpeech: '购买成功，开始播放万古神帝第37集',
    directives: [
      {
        type: 'AudioPlayer.Play',
        playlist: [PLAYLIST.playlist[2]!, PLAYLIST.playlist[0]!].map((i) => ({
          ...i,
          stream: { url: `http://127.0.0.1:9/audio/${i.stream.token}.wav`, token: i.stream.token },
          pay: false,
        })),
      },
    ],
    shouldEndSession: true,
  };
  try {
    await host.hear('我要听万古神帝第34集');
    assert.equal(host.player.state, 'playing');
    assert.deepEqual(await host.hear('我要听万古神帝第37集'), { handledBy: 'platform', purchase: true });
    assert.equal(host.player.state, 'stopped');
    assert.equal(of('purchase')[0]!.purchaseId, 'P77');
    assert.equal(fake.callsOf('startPurchase')[0]!.request!.purchaseId, 'P77');
    // A flow word goes to the running purchase, not to the platform.
    assert.deepEqual(await host.hear('买'), { handledBy: 'device', intent: 'buy' });
    for (let i = 0; i < 50 && fake.callsOf('placeOrder').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    fake.push('P77', 'SUCCESS');
    await host.purchase;
    await new Promise((r) => setTimeout(r, 0));
    const last = of('play').at(-1)!;
    assert.equal(last.title, '万古神帝 第37集');
    assert.equal(last.url, 'http://127.0.0.1:9/audio/wgsd037.wav');
    assert.equal(last.resumed, true);
    assert.equal(last.position, '第 1/2 首');
    assert.ok(
      of('speak').some((s) => s.text === '购买成功，开始播放万古神帝第37集' && s.from === 'device'),
      'the resume is spoken by the companion',
    );
    host.next();
    assert.equal(of('play').at(-1)!.resumed, false);
  } finally {
    host.stop();
  }
});

test('parseSayReply keeps only well-typed fields; outputSpeech as a bare string is read as PlainText', () => {
  assert.deepEqual(parseSayReply(null), { matched: false, speech: '', shouldEndSession: true });
  assert.deepEqual(parseSayReply({ matched: 'yes', speech: 5, shouldEndSession: 'no', error: { code: '100501' }, answer: 'x', skillId: 7 }), {
    matched: false,
    speech: '',
    shouldEndSession: true,
  });
  const r = parseSayReply({
    matched: true,
    answer: { outputSpeech: '好的', shouldEndSession: false, directives: 'x', card: { type: 'Other' } },
    purchaseId: 'P1',
    sessionId: 'S1',
  });
  assert.deepEqual(r, {
    matched: true,
    answer: { outputSpeech: { type: 'PlainText', text: '好的' }, shouldEndSession: false },
    speech: '好的',
    shouldEndSession: false,
    purchaseId: 'P1',
    sessionId: 'S1',
  });
  // The effective shouldEndSession and speech of the platform win over the answer's.
  const c = parseSayReply({
    matched: true,
    answer: { outputSpeech: { type: 'PlainText', text: 'a' } },
    speech: 'b',
    shouldEndSession: false,
    error: { code: 200503, reason: 'r' },
  });
  assert.equal(c.speech, 'b');
  assert.equal(c.shouldEndSession, false);
  assert.deepEqual(c.error, { code: 200503, reason: 'r' });
});
