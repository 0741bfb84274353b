/**
 * The speaker host's words (src/demo/host.ts `hear`): the wake word is the
 * speaker's own and never reaches a skill; questions about the goods ("多少钱",
 * "这是什么") are answered by the running purchase at the goods and the QR
 * step; a request naming other goods during a purchase goes to the platform.
 * The platform is a fake `say` in the sandbox's `/sandbox/v1/say` shape; the
 * companion is the real one on an in-memory transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceCompanion } from '../../src/device/companion.js';
import { SpeakerHost, type PlatformReply } from '../../src/demo/host.js';
import { FakeTransport } from '../support/fake-transport.js';
import { CHARGE } from '../support/statechart.js';

const charge = (name: string, fen: number) => ({
  ...CHARGE,
  payload: { chargeInfo: { name, items: [{ itemId: name, itemName: name, price: fen, count: 1, totalFee: fen }] } },
});
const chargeReply = (name: string, fen: number, purchaseId: string): PlatformReply => ({
  matched: true,
  skillId: 'audiobook',
  requestType: 'IntentRequest',
  answer: { outputSpeech: { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' }, directives: [charge(name, fen)] },
  speech: '这是付费内容，需要购买才能播放哦',
  shouldEndSession: true,
  purchaseId,
});

function setup(replies: PlatformReply[]) {
  const fake = new FakeTransport();
  const companion = new DeviceCompanion({ transport: fake, countdownMs: 0 });
  const heard: string[] = [];
  const host = new SpeakerHost(companion, async (text) => {
    heard.push(text);
    const r = replies.shift();
    if (!r) return { matched: false, speech: '', shouldEndSession: true };
    return r;
  });
  const spoken: Array<{ text: string; from: string }> = [];
  const listen: boolean[] = [];
  host.on('speak', (e) => spoken.push(e));
  host.on('listen', (e) => listen.push(e.open));
  return { fake, companion, host, heard, spoken, listen };
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), 'condition reached');
};

test('only the wake word: the speaker says 我在 and listens; nothing reaches the platform', async () => {
  const { host, heard, spoken, listen } = setup([]);
  try {
    for (const w of ['叮当叮当', '叮当叮当。', '叮当，', '你好叮当', '  叮当  ']) {
      assert.deepEqual(await host.hear(w), { handledBy: 'device', intent: 'wake' }, w);
      assert.deepEqual(spoken.at(-1), { text: '我在', from: 'host' });
      assert.equal(listen.at(-1), true);
    }
    assert.deepEqual(heard, []);
  } finally {
    host.stop();
  }
});

test('the wake word is stripped before anything is routed: the platform hears the request alone', async () => {
  const { host, heard } = setup([]);
  try {
    await host.hear('叮当叮当，我要听万古神帝第35集');
    await host.hear('你好叮当，万古神帝35集');
    await host.hear('叮当 今天天气怎么样');
    assert.deepEqual(heard, ['我要听万古神帝第35集', '万古神帝35集', '今天天气怎么样']);
  } finally {
    host.stop();
  }
});

test('多少钱 / 这是什么 at the goods and at the QR step: the purchase names the goods and the amount; nothing reaches the platform', async () => {
  const { host, fake, heard, spoken } = setup([chargeReply('万古神帝 第4集', 200, 'P4')]);
  try {
    assert.deepEqual(await host.hear('我要听万古神帝第4集'), { handledBy: 'platform', purchase: true });
    await until(() => host.companion.state === 'goods');
    assert.deepEqual(await host.hear('叮当叮当，多少钱'), { handledBy: 'device', intent: 'price' });
    assert.deepEqual(spoken.at(-1), { text: '《万古神帝 第4集》，2元。说“购买”下单，或说“取消”。', from: 'device' });
    assert.deepEqual(await host.hear('这是什么'), { handledBy: 'device', intent: 'what' });
    assert.equal(spoken.at(-1)!.text, '这是《万古神帝 第4集》，2元。说“购买”下单，或说“取消”。');
    assert.deepEqual(await host.hear('好的，下单吧'), { handledBy: 'device', intent: 'buy' });
    await until(() => host.companion.state === 'paying.awaitingScan');
    assert.deepEqual(await host.hear('嗯，那个，要付多少钱呀'), { handledBy: 'device', intent: 'price' });
    assert.equal(spoken.at(-1)!.text, '《万古神帝 第4集》，2元。请用微信扫描屏幕上的二维码支付，或说“取消”。');
    assert.deepEqual(await host.hear('叮当，是哪一集'), { handledBy: 'device', intent: 'what' });
    assert.equal(host.companion.state, 'paying.awaitingScan', 'questions change no state');
    assert.deepEqual(heard, ['我要听万古神帝第4集']);
    assert.equal(fake.callsOf('placeOrder').length, 1);
  } finally {
    host.stop();
  }
});

test('我要买万古神帝第40集 during the purchase of 第35集 is a new request: to the platform, whose Charge replaces the running purchase', async () => {
  const { host, fake, heard } = setup([chargeReply('万古神帝 第35集', 200, 'P35'), chargeReply('万古神帝 第40集', 200, 'P40')]);
  const ended: string[] = [];
  host.on('end', (r) => ended.push(`${r.purchaseId}:${r.outcome}`));
  try {
    await host.hear('我要听万古神帝第35集');
    await until(() => host.companion.state === 'goods');
    assert.deepEqual(await host.hear('我要买万古神帝第40集'), { handledBy: 'platform', purchase: true });
    assert.deepEqual(heard, ['我要听万古神帝第35集', '我要买万古神帝第40集']);
    assert.equal(fake.callsOf('placeOrder').length, 0, 'not taken as the confirmation of 第35集');
    assert.deepEqual(ended, ['P35:cancelled']);
    await until(() => host.companion.state === 'goods');
    // Naming the goods on screen is still a confirmation.
    assert.deepEqual(await host.hear('我要买第四十集'), { handledBy: 'device', intent: 'buy' });
    await until(() => fake.callsOf('placeOrder').length === 1);
    assert.equal(fake.callsOf('placeOrder')[0]!.purchaseId, 'P40');
  } finally {
    host.stop();
  }
});
