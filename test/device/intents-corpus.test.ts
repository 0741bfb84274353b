/**
 * The purchase dialog's grammar (src/device/intents.ts) against a corpus of
 * what speaker users say: each utterance with the flow intent it must give,
 * or null when it is not a word of the purchase (the host sends it to the
 * platform). Every utterance is also tried behind the wake word
 * ("叮当叮当，…", "你好叮当，…", "叮当，…"), through `stripWakeWord`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOW_INTENTS, matchIntent, stripWakeWord, type FlowIntent } from '../../src/device/intents.js';
import { answerText } from '../../src/device/prompts.js';
import { CHARGE } from '../support/statechart.js';

type Want = FlowIntent | null;

const BUY: string[] = [
  '买',
  '购买',
  '买吧',
  '买了',
  '买它',
  '我要买',
  '我想买',
  '我买',
  '就买这个',
  '买这个',
  '我要买这个',
  '买这一集',
  '那我就买这个吧',
  '帮我买一下',
  '帮我买下来',
  '确认',
  '确认购买',
  '确认支付',
  '确定',
  '我确定',
  '确定购买',
  '下单',
  '下单吧',
  '我要下单',
  '马上下单',
  '好的下单',
  '好的，下单吧',
  '好的买吧',
  '现在就买',
  '立即购买',
  '付款',
  '付钱吧',
  '结账',
  '好',
  '好的',
  '好啊',
  '可以',
  '行',
  '行吧',
  '要',
  '是的',
  '对',
  '没问题',
  '嗯',
  '同意',
  '就这个',
  '就要这个',
  '要这一集',
  '嗯，买吧',
  '请帮我下单',
];

const CANCEL: string[] = [
  '取消',
  '取消购买',
  '算了',
  '算了吧',
  '算了不买了',
  '不买了',
  '不买',
  '不要了',
  '不要',
  '我不要',
  '我不想买了',
  '不用了',
  '不用了谢谢',
  '不需要',
  '暂时不需要',
  '先不买了',
  '先别付',
  '别买了',
  '不下单',
  '不确定',
  '退出',
  '放弃',
  '太贵了不买了',
  '多少钱都不买',
  '下次再说',
  '以后再买吧',
  '没兴趣',
  '再见',
];

const REFRESH: string[] = [
  '刷新',
  '刷新一下',
  '刷新二维码',
  '二维码过期了',
  '二维码失效了',
  '二维码扫不了',
  '码过期了',
  '换个二维码',
  '换一张二维码',
  '换个新的码',
  '重新生成二维码',
  '再来一个二维码',
  '重试',
  '再试一次',
  '再试一下',
];

const STATUS: string[] = [
  '支付好了吗',
  '支付好了吗？',
  '付好了没',
  '付款成功了吗',
  '买好了吗',
  '到账了吗',
  '到账没有',
  '我已经付了',
  '我已经付款了',
  '我付过了',
  '支付成功了吗',
  '付了没有',
  '查一下订单',
  '订单状态',
  '支付结果呢',
];

const HELP: string[] = ['帮助', '怎么付款', '怎么买', '怎么支付', '如何购买', '我不会用', '教我一下', '你能做什么', '怎么扫'];

const REPEAT: string[] = ['再说一遍', '再说一次', '没听清', '没听清楚', '你说什么', '你说啥', '刚才说了什么', '重复一下', '再讲一遍', '什么？'];

const PRICE: string[] = [
  '多少钱',
  '这个多少钱',
  '这一集多少钱',
  '多少钱一集',
  '价格是多少',
  '价格呢',
  '什么价格',
  '价钱多少',
  '要付多少',
  '要付多少钱',
  '我要付多少钱',
  '得花多少钱',
  '一共多少钱',
  '总共多少',
  '几块钱',
  '几块',
  '贵不贵',
  '贵吗',
  '便宜吗',
  '收费吗',
  '怎么收费',
  '费用是多少',
  '多少',
  '请问多少钱',
  '嗯，那个，请问多少钱呢',
  '2块钱吗',
  '两块钱吗',
  '是2元吗',
  '是两元吗',
];

const WHAT: string[] = [
  '这是什么',
  '这是啥',
  '这个是什么',
  '这是什么东西',
  '那是什么',
  '它是什么',
  '什么东西',
  '买的是什么',
  '我买的是什么',
  '我要买的是什么',
  '要买的是哪一集',
  '你卖的是什么',
  '是哪一集',
  '这是哪一集',
  '这是第几集',
  '哪一集',
  '这是哪本书',
  '这是什么书',
  '商品是什么',
  '这个叫什么名字',
];

// Not words of the purchase: requests for the platform (or the player), whatever runs.
const NOT_OURS: string[] = [
  '我要听万古神帝第35集',
  '我要听万古神帝第三十五集',
  '我要听万古神帝35集',
  '万古神帝35集',
  '万古神帝第三十五集',
  '播放万古神帝',
  '我要买万古神帝第40集',
  '我要买万古神帝第四十集',
  '我要买万古神帝40集',
  '购买斗破苍穹第12集',
  '买斗破苍穹',
  '我要买斗破苍穹',
  '万古神帝第40集多少钱',
  '第四十集是什么',
  '《斗破苍穹》多少钱',
  '播放下一集',
  '下一集',
  '上一首',
  '下一首',
  '暂停',
  '继续播放',
  '打开有声书',
  '今天天气怎么样',
  '明天会下雨吗',
  '现在几点',
  '我买过什么',
  '我买了什么',
  '要不要买',
  '买不买',
  '你叫什么名字',
  '今天是什么日子',
  '这是什么歌',
  '讲个笑话',
  '我要听周杰伦的歌',
  '音量大一点',
  '一加一等于几',
  '设个明天七点的闹钟',
  '不好',
  '叮当猫',
  '万古神帝一共多少集',
];

const CORPUS: Array<[string, Want]> = [
  ...BUY.map((u): [string, Want] => [u, 'buy']),
  ...CANCEL.map((u): [string, Want] => [u, 'cancel']),
  ...REFRESH.map((u): [string, Want] => [u, 'refresh']),
  ...STATUS.map((u): [string, Want] => [u, 'status']),
  ...HELP.map((u): [string, Want] => [u, 'help']),
  ...REPEAT.map((u): [string, Want] => [u, 'repeat']),
  ...PRICE.map((u): [string, Want] => [u, 'price']),
  ...WHAT.map((u): [string, Want] => [u, 'what']),
  ...NOT_OURS.map((u): [string, Want] => [u, null]),
];

const WAKE_PREFIXES = ['叮当叮当，', '叮当叮当', '叮当，', '叮当 ', '你好叮当，', '嗯，叮当，', '叮当叮当，嗯，'];

test('the corpus is big enough and covers every flow intent', () => {
  assert.ok(CORPUS.length >= 150, `${CORPUS.length} utterances`);
  assert.ok(NOT_OURS.length >= 30, `${NOT_OURS.length} that are not ours`);
  for (const intent of FLOW_INTENTS)
    assert.ok(
      CORPUS.some(([, w]) => w === intent),
      intent,
    );
  assert.equal(new Set(CORPUS.map(([u]) => u)).size, CORPUS.length, 'no duplicates');
});

test('every utterance gives its intent (or null), also behind each wake word', () => {
  const wrong: string[] = [];
  CORPUS.forEach(([utterance, want], i) => {
    const got = matchIntent(utterance)?.intent ?? null;
    if (got !== want) wrong.push(`${utterance} → ${got}, want ${want}`);
    const prefix = WAKE_PREFIXES[i % WAKE_PREFIXES.length]!;
    const stripped = stripWakeWord(prefix + utterance);
    if (!stripped || !utterance.trim().endsWith(stripped)) wrong.push(`${prefix}${utterance}: stripped to ${JSON.stringify(stripped)}`);
    const behind = matchIntent(stripped)?.intent ?? null;
    if (behind !== want) wrong.push(`${prefix}${utterance} → ${behind}, want ${want}`);
  });
  assert.deepEqual(wrong, []);
});

test('the wake word: stripped with the pause and fillers after it; only the wake word gives an empty utterance', () => {
  for (const only of ['叮当叮当', '叮当叮当，', '叮当叮当。', '叮当', '叮当，', '叮当 ', '你好叮当', '你好叮当，', '嘿叮当', '  叮当叮当！  '])
    assert.equal(stripWakeWord(only), '', only);
  assert.equal(stripWakeWord('叮当叮当多少钱'), '多少钱');
  assert.equal(stripWakeWord('叮当叮当，那个，我要听万古神帝第35集'), '我要听万古神帝第35集');
  assert.equal(stripWakeWord('喂，叮当，取消'), '取消');
  // A lone 叮当 needs a pause after it: 叮当猫 is a name.
  assert.equal(stripWakeWord('叮当猫'), '叮当猫');
  assert.equal(stripWakeWord('我要听叮当猫'), '我要听叮当猫');
  assert.equal(stripWakeWord('  多少钱 '), '多少钱');
  // A filler after the wake word goes, unless it is the answer itself.
  assert.equal(stripWakeWord('叮当，嗯，好的'), '好的');
  assert.equal(stripWakeWord('叮当，嗯'), '嗯');
  assert.equal(stripWakeWord('叮当叮当《斗破苍穹》多少钱'), '《斗破苍穹》多少钱');
  assert.equal(stripWakeWord(undefined as unknown as string), '');
});

test('with the goods on screen: naming them confirms, naming other goods is a new request', () => {
  const goods = '万古神帝 第35集';
  const cases: Array<[string, Want]> = [
    ['我要买万古神帝第35集', 'buy'],
    ['我要买万古神帝第三十五集', 'buy'],
    ['买第35集', 'buy'],
    ['买第三十五集', 'buy'],
    ['确认购买万古神帝', 'buy'],
    ['第35集多少钱', 'price'],
    ['第三十五集多少钱', 'price'],
    ['我要买万古神帝第40集', null],
    ['我要买万古神帝第四十集', null],
    ['买第40集', null],
    ['买斗破苍穹', null],
    ['《斗破苍穹》多少钱', null],
    ['第四十集多少钱', null],
    ['我买过什么', null],
    ['我要听万古神帝第35集', null],
  ];
  for (const [u, want] of cases) assert.equal(matchIntent(u, goods)?.intent ?? null, want, u);
  // Without goods, anything named is other goods.
  assert.equal(matchIntent('买第35集'), null);
});

test('price and what answers name the goods on screen and the amount, with the next step of the state', () => {
  const ctx = {
    mode: 'screen' as const,
    charge: { ...CHARGE, payload: { chargeInfo: { ...CHARGE.payload.chargeInfo, name: '万古神帝 第4集' } } },
    totalFen: 200,
    paid: false,
    resumeEnabled: true,
  };
  assert.equal(answerText('price', ctx, 'goods'), '《万古神帝 第4集》，2元。说“购买”下单，或说“取消”。');
  assert.equal(answerText('what', ctx, 'goods'), '这是《万古神帝 第4集》，2元。说“购买”下单，或说“取消”。');
  assert.equal(answerText('price', ctx, 'paying.awaitingScan'), '《万古神帝 第4集》，2元。请用微信扫描屏幕上的二维码支付，或说“取消”。');
  assert.equal(answerText('price', { ...ctx, mode: 'screenless' }, 'app.pushed'), '《万古神帝 第4集》，2元。请在叮当APP里完成支付，或说“取消”。');
  assert.equal(answerText('price', ctx, 'ordering'), '《万古神帝 第4集》，2元。');
  // The order's amount once there is one.
  const order = { purchaseId: 'P1', transactionId: 'D1', tradeNo: 'T1', totalAmt: 250, payUrl: 'u', expiresAt: 0 };
  assert.match(answerText('price', { ...ctx, order }, 'paying.confirming'), /^《万古神帝 第4集》，2元5角。/);
  assert.equal(answerText('price', ctx, 'goods', 'en-US'), '"万古神帝 第4集" costs 2 yuan. Say "buy" to order, or "cancel".');
  assert.equal(answerText('what', ctx, 'ordering', 'en-US'), 'This is "万古神帝 第4集", 2 yuan.');
  for (const [u, want] of [
    ['how much is it', 'price'],
    ['what is this', 'what'],
    ['which episode', 'what'],
  ] as const)
    assert.equal(matchIntent(u)?.intent, want, u);
});
