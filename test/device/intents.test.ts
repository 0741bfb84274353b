import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventForIntent, FLOW_INTENTS, intentFromName, matchIntent, normalizeUtterance } from '../../src/device/intents.js';
import { helpText, prompt, statusText } from '../../src/device/prompts.js';
import { CHARGE } from '../support/statechart.js';

const cases: Array<[string, string | null]> = [
  // buy / confirm
  ['买', 'buy'],
  ['购买', 'buy'],
  ['确认', 'buy'],
  ['确认购买', 'buy'],
  ['好的下单', 'buy'],
  ['好的，下单吧', 'buy'],
  ['我要买', 'buy'],
  ['帮我买一下', 'buy'],
  ['好', 'buy'],
  ['可以', 'buy'],
  ['嗯', 'buy'],
  ['OK', 'buy'],
  ['yes please', 'buy'],
  // cancel (negations beat the buy words they contain)
  ['算了不买了', 'cancel'],
  ['不买', 'cancel'],
  ['不要了', 'cancel'],
  ['取消', 'cancel'],
  ['我不想买了', 'cancel'],
  ['不用了谢谢', 'cancel'],
  ['退出', 'cancel'],
  ['cancel', 'cancel'],
  ['不确定', 'cancel'],
  ['先别付', 'cancel'],
  ['不下单', 'cancel'],
  ['不好', null],
  // refresh
  ['二维码过期了', 'refresh'],
  ['二维码失效了', 'refresh'],
  ['刷新一下', 'refresh'],
  ['换个二维码', 'refresh'],
  ['重新生成二维码', 'refresh'],
  ['重试', 'refresh'],
  ['再试一次', 'refresh'],
  // status (questions beat buy words)
  ['支付好了吗', 'status'],
  ['支付好了吗？', 'status'],
  ['付好了没', 'status'],
  ['付款成功了吗', 'status'],
  ['买好了吗', 'status'],
  ['到账了吗', 'status'],
  ['我已经付了', 'status'],
  ['is it paid', 'status'],
  // help
  ['帮助', 'help'],
  ['怎么付款', 'help'],
  ['怎么买', 'help'],
  ['help', 'help'],
  // repeat
  ['再说一遍', 'repeat'],
  ['再说一次', 'repeat'],
  ['没听清', 'repeat'],
  ['你说什么', 'repeat'],
  ['repeat', 'repeat'],
  // not ours
  ['今天天气怎么样', null],
  ['我要听周杰伦的歌', null],
  ['', null],
  ['   ', null],
  ['。。。', null],
];

test('zh-CN matcher copes with the ways people say the flow intents', () => {
  for (const [utterance, want] of cases) {
    const got = matchIntent(utterance);
    assert.equal(got?.intent ?? null, want, `${JSON.stringify(utterance)} → ${JSON.stringify(got)}`);
  }
});

test('whole-utterance matches are more confident than phrases inside sentences', () => {
  assert.equal(matchIntent('买')!.confidence, 1);
  assert.ok(matchIntent('那我就买这个吧')!.confidence < 1);
  assert.equal(normalizeUtterance('  好的，下单吧！ '), '好的下单');
  // non-strings are not intents
  assert.equal(matchIntent(undefined as unknown as string), null);
});

test('host NLU intent names map to flow intents', () => {
  assert.equal(intentFromName('AMAZON.CancelIntent'), 'cancel');
  assert.equal(intentFromName('AMAZON.StopIntent'), 'cancel');
  assert.equal(intentFromName('AMAZON.HelpIntent'), 'help');
  assert.equal(intentFromName('AMAZON.RepeatIntent'), 'repeat');
  assert.equal(intentFromName('AMAZON.YesIntent'), 'buy');
  assert.equal(intentFromName('dingdang.pay.confirm'), 'buy');
  assert.equal(intentFromName('pay/refresh'), 'refresh');
  assert.equal(intentFromName('Payment_Status'), 'status');
  assert.equal(intentFromName('pay.price'), 'price');
  assert.equal(intentFromName('dingdang.pay.what'), 'what');
  assert.equal(intentFromName('weather.query'), null);
  assert.equal(intentFromName(''), null);
  for (const i of FLOW_INTENTS) assert.equal(intentFromName(i), i);
  assert.deepEqual(
    FLOW_INTENTS.map((i) => eventForIntent(i).type),
    ['CONFIRM', 'CANCEL', 'REFRESH', 'QUERY', 'HELP', 'REPEAT', 'PRICE', 'WHAT'],
  );
});

const ctx = {
  mode: 'screen' as const,
  charge: CHARGE,
  speech: '这是付费内容，需要购买才能播放哦',
  totalFen: 250,
  paid: false,
  resumeEnabled: true,
};

test('prompts are short, per state, in both locales, with money spoken naturally', () => {
  const goods = prompt('goods', ctx, 'zh-CN');
  assert.match(goods, /^这是付费内容，需要购买才能播放哦。相声第2集，2元5角。/);
  assert.match(prompt('goods', ctx, 'en-US'), /2 yuan 50 fen/);
  const order = { purchaseId: 'P1', transactionId: 'D1', tradeNo: 'T1', totalAmt: 205, payUrl: 'u', expiresAt: 1_000 + 5 * 60_000 };
  assert.equal(prompt('pay', { ...ctx, order }, 'zh-CN', 1_000), '请用微信扫描屏幕上的二维码，支付2元零5分，5分钟内有效。');
  assert.equal(prompt('confirming', ctx), '已扫码，请在手机上确认支付。');
  assert.match(prompt('app', { ...ctx, mode: 'screenless' }), /已将商品信息推送到叮当APP，请在手机上完成支付/);
  assert.match(prompt('payFailed', { ...ctx, failReason: '余额不足' }), /余额不足/);
  for (const key of ['goods', 'ordering', 'pay', 'confirming', 'expired', 'payFailed', 'cancelled', 'timedOut', 'unresolved'] as const) {
    for (const locale of ['zh-CN', 'en-US'] as const) {
      const text = prompt(key, ctx, locale);
      assert.ok(text.length > 0 && text.length < 120, `${key}/${locale}: ${text}`);
      // Nothing but the paid prompt says paid.
      assert.doesNotMatch(text, /支付成功|Payment received/);
    }
  }
  assert.match(prompt('paid', { ...ctx, paid: true }), /支付成功/);
  assert.equal(prompt('done', { ...ctx, resumeResult: { outputSpeech: '开始播放', directives: [] } }), '开始播放');
});

test('status answers never claim payment without a verified SUCCESS', () => {
  assert.equal(statusText({ paid: false, tradeStatus: undefined, order: undefined, failReason: undefined }), '还没有下单。');
  assert.match(statusText({ paid: false, tradeStatus: 'PROCESSING', order: undefined, failReason: undefined }), /确认/);
  assert.match(statusText({ paid: false, tradeStatus: 'SUCCESS', order: undefined, failReason: undefined }), /还没有收到付款|还没有下单/);
  assert.match(statusText({ paid: true, tradeStatus: 'SUCCESS', order: undefined, failReason: undefined }), /已经支付成功/);
  assert.match(helpText('paying.awaitingScan'), /微信/);
  assert.match(helpText('goods', 'en-US'), /buy/);
});

test('the window is announced as it is, and a status answer never promises what does not follow', async () => {
  const { prompt, statusText } = await import('../../src/device/prompts.js');
  const charge = {
    type: 'Connections.SendRequest' as const,
    name: 'Charge' as const,
    payload: { chargeInfo: { name: '万古神帝 第4集', items: [{ itemId: 'wgsd004', itemName: '第4集', price: 200, count: 1, totalFee: 200 }] } },
  };
  const order = (expiresAt: number) => ({ purchaseId: 'P1', transactionId: 'DD1', tradeNo: 'T1', totalAmt: 200, payUrl: 'https://pay.example/1', expiresAt });
  const ctx = { mode: 'screen' as const, charge, totalFen: 200, paid: false, resumeEnabled: true };
  assert.equal(prompt('pay', { ...ctx, order: order(15_000) }, 'zh-CN', 0), '请用微信扫描屏幕上的二维码，支付2元，15秒内有效。');
  assert.equal(prompt('pay', { ...ctx, order: order(300_000) }, 'zh-CN', 0), '请用微信扫描屏幕上的二维码，支付2元，5分钟内有效。');
  assert.equal(prompt('pay', { ...ctx, order: order(15_000) }, 'en-US', 0), 'Scan the code on the screen with WeChat to pay 2 yuan, within 15 seconds.');
  assert.equal(statusText({ ...ctx, order: order(90_000) }, 'zh-CN', 0), '还没有收到付款，还可以支付1分30秒。');
  assert.equal(
    prompt('pay', { ...ctx, order: order(299_400) }, 'zh-CN', 0),
    '请用微信扫描屏幕上的二维码，支付2元，5分钟内有效。',
    'a fresh 5-minute code a moment later',
  );
  assert.match(statusText({ ...ctx, order: order(10) }, 'zh-CN', 1000), /二维码已经过期了/);
  assert.doesNotMatch(statusText({ ...ctx, order: order(90_000) }, 'zh-CN', 0), /查一下/);
  assert.equal(statusText({ ...ctx, mode: 'screenless' }, 'zh-CN', 0), '还没有下单，请在叮当APP里下单支付。');
});
