/**
 * The purchase dialog's own words: a small zh-CN grammar (plus English) for
 * the ways people say buy / cancel / refresh / status / help / repeat and ask
 * about the goods (price: "多少钱"; what: "这是什么"), the speaker's wake
 * word, and a map of intent names from the host's own NLU.
 *
 * How an utterance is read:
 * 1. `stripWakeWord` (the host does this first, before routing anything):
 *    "叮当叮当，…", "你好叮当，…", "叮当，…" never reach a skill.
 * 2. `normalizeUtterance`: punctuation and spaces out, fillers and
 *    politeness off both ends (嗯, 那个, 请问, 帮我 … / …吧, 呢, 呀).
 * 3. The rules below, in order; the first that matches wins. Questions
 *    ("支付好了吗", "要不要买"), clear refusals ("算了不买了") and questions
 *    about the goods are checked before the plain "buy" words they contain.
 * 4. "buy" is the confirmation of the goods on screen only (`goods`, the
 *    Charge's `chargeInfo.name`): an utterance that names something else
 *    ("我要买万古神帝第40集" while 第35集 is on screen, "买斗破苍穹", another
 *    第N集 or 《…》) is a new request, not a confirmation — `matchIntent`
 *    gives null and the host sends it to the platform (whose answer may
 *    start another purchase, which replaces the running one). The same holds
 *    for price and what questions that name an episode.
 *
 * Browser-safe, no dependencies.
 */
import type { PurchaseEvent } from './machine.js';

export type FlowIntent = 'buy' | 'cancel' | 'refresh' | 'status' | 'help' | 'repeat' | 'price' | 'what';
export const FLOW_INTENTS: readonly FlowIntent[] = ['buy', 'cancel', 'refresh', 'status', 'help', 'repeat', 'price', 'what'];

export interface IntentMatch {
  intent: FlowIntent;
  /** 1 for a whole-utterance phrase, lower for a phrase found inside a longer sentence. */
  confidence: number;
  /** The phrase that matched. */
  matched: string;
}

const SEP = '[\\s\\p{P}\\p{S}]';
/** A pause after the wake word (not an opening 《 or quote: they belong to what follows). */
const PAUSE = '[\\s,，.。!！?？、:：;；~～…—-]';
/**
 * The wake word at the start: "叮当叮当", "你好叮当" (also run on, "叮当叮当多少钱"),
 * "叮当" followed by a pause (punctuation, a space) or nothing; interjections
 * before it (嗯, 喂, 嘿, hi), and punctuation and fillers after it.
 */
const WAKE = new RegExp(`^(?:(?:嗯|呃|啊|哎|喂|嘿|hi|hey)${SEP}*)*(?:叮当叮当|你好叮当|嘿叮当|叮当(?=${SEP}|$))${PAUSE}*`, 'iu');

/**
 * What the user said without the speaker's wake word and the pause after it:
 * "叮当叮当，多少钱" → "多少钱", "你好叮当，我要听万古神帝第35集" → "我要听万古神帝第35集".
 * Only the wake word ("叮当叮当", "叮当。") gives ''. Text without a wake word
 * comes back trimmed. (A lone "叮当" must be followed by a pause: "叮当猫" is a name.)
 */
export function stripWakeWord(text: string): string {
  if (typeof text !== 'string') return '';
  const t = text.trim();
  const m = WAKE.exec(t);
  if (!m) return t;
  const rest = t.slice(m[0].length).trim();
  // Fillers after the wake word go, unless they are all there is ("叮当，嗯" answers 嗯).
  const said = rest.replace(FILLERS_AFTER_WAKE, '').trim();
  return said || rest;
}

const FILLERS_AFTER_WAKE = new RegExp(`^(?:(?:嗯+|呃+|啊+|哦+|额+|那个|就是)${PAUSE}*)+`, 'u');
const LEAD_FILLER = /^(?:请问一下|请问|想问一下|问一下|我想问一下|麻烦你|麻烦|请|帮我|给我|好吧那|那就|那个|那|嗯+|呃+|哦+|啊+|哎+|额+)+/u;
const TAIL_FILLER = /(?:吧|呀|啊|哦|呢|哈|啦|嘛|呗)+$/u;

/** Strip punctuation, whitespace, fillers and politeness; lower-case Latin letters. */
export function normalizeUtterance(text: string): string {
  const bare = text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  // Drop fillers only when something is left ("嗯" alone is an answer).
  const trimmed = bare.replace(LEAD_FILLER, '').replace(TAIL_FILLER, '');
  return trimmed || bare;
}

interface Rule {
  intent: FlowIntent;
  re: RegExp;
  /** The utterance must not name other goods (an episode, a title): see the file comment. */
  aboutThese?: boolean;
}

const NUM = '[0-9零〇一二两三四五六七八九十百千]';
/** After a buy verb, only these may follow for it to confirm the goods on screen ("买这个吧", "下单吧"). */
const BUY_TAIL =
  /^(?:购买|买|下单|支付|付款|付钱|确认|确定|结账|了|一下|下|掉|它|这个|那个|这一集|这集|本集|一集|这本书|这本|这一本|下来|一个|一份|这一期|这期|单|吧|啦|呀|呢|啊|谢谢|的)*$/u;
/** Before a buy verb: who, wanting, assent ("好的下单", "那我就买这个", "现在确认"). */
const BUY_HEAD =
  /^(?:我们|我|你|要|想要|想|就|那就|那|还是|好的|好啊|好|行|可以|嗯|对|是的|是|没问题|现在|马上|直接|立即|立刻|赶紧|快|确认|确定|帮我|给我|这个|这集|就这个|ok|yes)*$/u;

// Checked in this order; the first rule that matches wins.
const ZH_RULES: Rule[] = [
  {
    intent: 'repeat',
    re: /再说(一|1)?(遍|次|下)|重复(一下|一遍)?|没听(清|清楚|懂|到|见)|你说(的)?(什么|啥)|刚才说(了)?(什么|啥)|再讲(一)?(遍|次)|^(什么|啥)$/u,
  },
  { intent: 'help', re: /帮助|怎么(买|付|支付|付款|扫|办|操作|用)|如何(购买|支付|付款)|能做什么|不会(用|买|付)|教(我|一下)/u },
  // A clear refusal wins over the questions it may contain ("太贵了算了", "多少钱都不买").
  { intent: 'cancel', re: /算了|取消|放弃|(?<![要买付用])不(买|要|想要|想买|需要)(了)?$|(?<![要买付用])不(买|想买|想要)了/u },
  {
    intent: 'price',
    re: /多少钱|几块钱|几(块|元|毛|角)|价格|价钱|多少(块|元)|(贵|便宜)(不(贵|便宜)|吗|么|嘛)|(块|元)钱?(吗|么|嘛)$|(要|得|需要|该)?(付|花|交|给你?)多少(钱)?$|(一共|总共|总计)多少(钱)?$|怎么收费|收费(吗|么)?$|费用|^多少$/u,
    aboutThese: true,
  },
  {
    intent: 'what',
    re: /^(这|这个|那|那个|它)(是|叫)?(个)?(什么|啥)(东西|书|商品|内容|节目)?$|^(这|这个|那|它|你)?(我)?(要)?(我)?(要)?(买|卖|购买|付钱买)(的)?(是|叫)?(个)?(什么|啥|哪(一)?(集|本|个)|第几集)(东西|书|商品|内容)?$|^(这|这个|现在|这次|你说的)?(是)?(哪(一)?(集|本|部)(书)?|第几集)$|^是(什么|啥)$|^(是)?(什么|啥)(东西|书|商品)$|^(商品|东西|内容|这个商品|这本书)(是|叫)?(什么|啥)(名字)?$|^(这|这个|它|商品)叫(什么|啥)(名字)?$/u,
    aboutThese: true,
  },
  {
    intent: 'status',
    re: /(支付|付款|付钱|付|买|扫码|订单)(好|完|成功|完成|了)(了)?(吗|么|没|没有|嘛)|(付|买|支付)(上|到)了(吗|么|没)|到账(了)?(吗|么|没)?|支付(状态|结果|进度)|订单(状态|进度)|(付|支付|付款)(了)?没(有)?|成功了(吗|么|没)|已经(付|支付|付款|扫|买)|我付(过|好|完)了|查(一下|查)?(订单|支付|付款)/u,
  },
  {
    intent: 'cancel',
    re: /(?<![要买付用])不(要|买|用|想|需要|确认|确定|付|支付|购买|下单|同意)|别(买|付|下单|支付)|没(钱|兴趣)|退出|(?<![扫用能行])不了|停止|停下|关掉|再见|拜拜|(下次|以后|回头|等会|改天)再(说|买)/u,
  },
  {
    intent: 'refresh',
    re: /二维码(过期|失效|没了|不能用|用不了|扫不了|扫不出)|码(过期|失效)了|过期了|刷新|换(一)?(个|张)?(新的)?(二维码|码)|新的?二维码|重新(生成|获取|来|扫|下单)|再来(一)?(个|张)(二维码|码)|重试|再试(一)?(次|下)?/u,
  },
  { intent: 'buy', re: /购买|买|下单|确认|确定|支付|付款|付钱|结账/u, aboutThese: true },
  // Bare assent counts only as the whole utterance ("好的", "可以", "就这个"), not inside another request.
  { intent: 'buy', re: /^(好的?|好啊|可以|行|要|是的?|对|没问题|嗯|ok|yes|同意)+$|^(就|要|就要|我要)(这个|它|这集|这一集|这本)(了)?$/u },
];

const EN_RULES: Rule[] = [
  { intent: 'repeat', re: /\b(repeat|say (that|it) again|again please|pardon|what did you say)\b/ },
  { intent: 'help', re: /\b(help|how do i|what can i)\b/ },
  { intent: 'price', re: /\b(how much|price|cost|expensive)\b/ },
  { intent: 'what', re: /\b(what is (this|it|that)|what'?s (this|that)|what am i buying|which episode)\b/ },
  { intent: 'status', re: /\b(is it paid|did (it|the payment) go through|payment status|have i paid|i (have )?paid|status)\b/ },
  { intent: 'cancel', re: /\b(cancel|stop|never ?mind|no( thanks)?|don'?t|quit|exit)\b/ },
  { intent: 'refresh', re: /\b(refresh|new code|expired|retry|try again)\b/ },
  { intent: 'buy', re: /\b(buy|purchase|order|confirm|yes|yeah|sure|ok(ay)?|pay)\b/ },
];

const CN_DIGIT: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const CN_UNIT: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };

/** "35" → 35, "三十五" → 35, "一百零二" → 102, "十" → 10 (episode numbers; 0–9999). */
function numeral(text: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  let total = 0;
  let digit = 0;
  for (const ch of text) {
    const unit = CN_UNIT[ch];
    if (unit !== undefined) {
      total += (digit || 1) * unit;
      digit = 0;
    } else digit = CN_DIGIT[ch] ?? 0;
  }
  return total + digit;
}

/** An episode named: 第35集, 第三十五集, 35集, 三十五集 (a lone 一集 is "this one"). */
const EPISODE_REF = new RegExp(`第(${NUM}+)[集章回期部本]|([0-9]+)[集章回期]|(${NUM}{2,})[集章回期]`, 'gu');

/** The goods as the grammar compares them: normalized, episode numbers in Arabic ("万古神帝第35集"). */
function goodsKey(goods: string): string {
  return normalizeUtterance(goods).replace(EPISODE_REF, (ref: string, a?: string, b?: string, c?: string) => `第${numeral(a ?? b ?? c ?? '')}集`);
}

/**
 * Does the utterance name goods other than `goods` (the ones on screen)? An
 * episode number that is not theirs, a 《title》 or (after a buy word) words
 * that are not part of their name. Without `goods` anything named is other.
 */
function namesOther(raw: string, norm: string, tail: string | undefined, goods: string | undefined): boolean {
  const key = goods === undefined ? undefined : goodsKey(goods);
  const numbers: string[] = (key ?? '').match(/第[0-9]+集/gu) ?? [];
  for (const ref of norm.matchAll(EPISODE_REF)) {
    const n = numeral(ref[1] ?? ref[2] ?? ref[3] ?? '');
    if (!numbers.includes(`第${n}集`)) return true;
  }
  for (const t of raw.matchAll(/《([^》]*)》/gu)) if (key === undefined || !key.includes(normalizeUtterance(t[1] ?? ''))) return true;
  if (tail === undefined || BUY_TAIL.test(tail)) return false;
  if (key === undefined) return true;
  const words = tail
    .replace(EPISODE_REF, '')
    .replace(/^(?:购买|买|下单|支付|这个|这本|这一集|这集|了|一下|下)+/u, '')
    .replace(/(?:了|吧|的)+$/u, '');
  return words !== '' && !key.includes(words);
}

/**
 * Match one utterance to a flow intent, or `null` when it is not one of
 * ours (the host may then treat it as an ordinary request). Strip the wake
 * word first (`stripWakeWord`). `goods`: the name of the goods on screen
 * (the Charge's `chargeInfo.name`); "买第35集" confirms "万古神帝 第35集", and
 * an utterance naming anything else is not this purchase's word.
 */
export function matchIntent(utterance: string, goods?: string): IntentMatch | null {
  if (typeof utterance !== 'string') return null;
  const raw = utterance.trim();
  if (!raw) return null;
  const norm = normalizeUtterance(raw);
  if (!norm) return null;
  const latin = /^[\x20-\x7e]+$/.test(raw);
  if (latin) {
    const text = raw.toLowerCase();
    for (const rule of EN_RULES) {
      const m = rule.re.exec(text);
      if (m) return { intent: rule.intent, confidence: m[0].length >= text.replace(/[^a-z' ]/g, '').trim().length ? 1 : 0.8, matched: m[0] };
    }
  }
  for (const rule of ZH_RULES) {
    const m = rule.re.exec(norm);
    if (!m) continue;
    if (rule.aboutThese) {
      const buy = rule.intent === 'buy';
      // Someone else's words before the buy word ("万古神帝第40集我要买", "要不要买"): not a confirmation.
      if (buy && !BUY_HEAD.test(norm.slice(0, m.index))) return null;
      // About other goods: a new request for the platform, not a word of this purchase.
      if (namesOther(raw, norm, buy ? norm.slice(m.index + m[0].length) : undefined, goods)) return null;
    }
    return { intent: rule.intent, confidence: m[0] === norm ? 1 : 0.8, matched: m[0] };
  }
  return null;
}

/**
 * Intent names a host NLU may already have resolved: our own names, Alexa-style
 * built-ins and common DingDang / TSK-style names (`pay.price`, `pay.what`).
 * Case-insensitive; the namespace before the last '.' is ignored.
 */
const NAME_MAP: Record<string, FlowIntent> = {
  buy: 'buy',
  purchase: 'buy',
  confirm: 'buy',
  order: 'buy',
  pay: 'buy',
  yes: 'buy',
  yesintent: 'buy',
  buyintent: 'buy',
  purchaseintent: 'buy',
  confirmintent: 'buy',
  cancel: 'cancel',
  cancelintent: 'cancel',
  stop: 'cancel',
  stopintent: 'cancel',
  no: 'cancel',
  nointent: 'cancel',
  exit: 'cancel',
  quit: 'cancel',
  refresh: 'refresh',
  refreshintent: 'refresh',
  retry: 'refresh',
  retryintent: 'refresh',
  renew: 'refresh',
  status: 'status',
  statusintent: 'status',
  paymentstatus: 'status',
  querystatus: 'status',
  help: 'help',
  helpintent: 'help',
  repeat: 'repeat',
  repeatintent: 'repeat',
  again: 'repeat',
  price: 'price',
  priceintent: 'price',
  queryprice: 'price',
  askprice: 'price',
  howmuch: 'price',
  cost: 'price',
  what: 'what',
  whatintent: 'what',
  whatisit: 'what',
  querygoods: 'what',
  goods: 'what',
  item: 'what',
};

export function intentFromName(name: string): FlowIntent | null {
  if (typeof name !== 'string' || !name.trim()) return null;
  const last = name.trim().split(/[./:]/).pop() ?? '';
  const key = last.toLowerCase().replace(/[_\-\s]/g, '');
  return NAME_MAP[key] ?? null;
}

/** The machine event for a flow intent. */
export function eventForIntent(intent: FlowIntent): PurchaseEvent {
  switch (intent) {
    case 'buy':
      return { type: 'CONFIRM' };
    case 'cancel':
      return { type: 'CANCEL' };
    case 'refresh':
      return { type: 'REFRESH' };
    case 'status':
      return { type: 'QUERY' };
    case 'help':
      return { type: 'HELP' };
    case 'repeat':
      return { type: 'REPEAT' };
    case 'price':
      return { type: 'PRICE' };
    case 'what':
      return { type: 'WHAT' };
  }
}
