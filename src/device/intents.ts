/**
 * The flow's own voice intents: a small zh-CN matcher (plus English) for the
 * ways people say buy / cancel / refresh / status / help / repeat, and a map
 * of intent names from the host's own NLU.
 *
 * Order matters: questions ("支付好了吗") and negations ("算了不买了") are
 * checked before the plain "buy" words they contain.
 */
import type { PurchaseEvent } from './machine.js';

export type FlowIntent = 'buy' | 'cancel' | 'refresh' | 'status' | 'help' | 'repeat';
export const FLOW_INTENTS: readonly FlowIntent[] = ['buy', 'cancel', 'refresh', 'status', 'help', 'repeat'];

export interface IntentMatch {
  intent: FlowIntent;
  /** 1 for a whole-utterance phrase, lower for a phrase found inside a longer sentence. */
  confidence: number;
  /** The phrase that matched. */
  matched: string;
}

/** Strip punctuation, whitespace and polite filler; lower-case Latin letters. */
export function normalizeUtterance(text: string): string {
  const bare = text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  // Drop filler only when something is left ("嗯" alone is an answer).
  const trimmed = bare.replace(/^(请|麻烦|帮我|给我|那就|那|嗯+|呃+|哦+|啊+|好吧那)/u, '').replace(/(吧|呀|啊|哦|呢|哈|啦|嘛)+$/u, '');
  return trimmed || bare;
}

interface Rule {
  intent: FlowIntent;
  re: RegExp;
}

// Checked in this order; the first rule that matches wins.
const ZH_RULES: Rule[] = [
  { intent: 'repeat', re: /再说(一|1)?(遍|次|下)|重复(一下|一遍)?|没听(清|清楚|懂|到)|你说(的)?什么|刚才说(了)?(什么|啥)|再讲(一)?(遍|次)/u },
  { intent: 'help', re: /帮助|怎么(买|付|支付|付款|扫|办|操作|用)|如何(购买|支付|付款)|能做什么|不会(用|买|付)|教(我|一下)/u },
  {
    intent: 'status',
    re: /(支付|付款|付钱|付|买|扫码|订单)(好|完|成功|完成|了)(了)?(吗|么|没|没有|嘛)|(付|买|支付)(上|到)了(吗|么|没)|到账(了)?(吗|么|没)?|支付(状态|结果|进度)|(付|支付|付款)(了)?没(有)?|成功了(吗|么|没)|已经(付|支付|付款|扫|买)|我付(过|好|完)了|查(一下|查)?(订单|支付|付款)/u,
  },
  {
    intent: 'cancel',
    re: /算了|取消|不(要|买|用|想|需要|确认|确定|付|支付|购买|下单|同意)|别(买|付|下单|支付)|没(钱|兴趣)|退出|放弃|不了|停止|停下|关掉|再见|拜拜/u,
  },
  {
    intent: 'refresh',
    re: /二维码(过期|失效|没了|不能用|用不了|扫不了|扫不出)|过期了|刷新|换(一)?(个|张)?(新的)?(二维码|码)|新的?二维码|重新(生成|获取|来|扫|下单)|再来(一)?(个|张)(二维码|码)|重试|再试(一)?(次|下)?/u,
  },
  { intent: 'buy', re: /购买|买|下单|确认|确定|支付|付款|付钱|结账/u },
  // Bare assent counts only as the whole utterance ("好的", "可以"), not inside another request.
  { intent: 'buy', re: /^(好的?|好啊|可以|行|要|是的?|对|没问题|嗯|ok|yes|同意)+$/u },
];

const EN_RULES: Rule[] = [
  { intent: 'repeat', re: /\b(repeat|say (that|it) again|again please|pardon|what did you say)\b/ },
  { intent: 'help', re: /\b(help|how do i|what can i)\b/ },
  { intent: 'status', re: /\b(is it paid|did (it|the payment) go through|payment status|have i paid|i (have )?paid|status)\b/ },
  { intent: 'cancel', re: /\b(cancel|stop|never ?mind|no( thanks)?|don'?t|quit|exit)\b/ },
  { intent: 'refresh', re: /\b(refresh|new code|expired|retry|try again)\b/ },
  { intent: 'buy', re: /\b(buy|purchase|order|confirm|yes|yeah|sure|ok(ay)?|pay)\b/ },
];

/**
 * Match one utterance to a flow intent, or `null` when it is not one of
 * ours (the host may then treat it as an ordinary request).
 */
export function matchIntent(utterance: string): IntentMatch | null {
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
    if (m) return { intent: rule.intent, confidence: m[0] === norm ? 1 : 0.8, matched: m[0] };
  }
  return null;
}

/**
 * Intent names a host NLU may already have resolved: our own names, Alexa-style
 * built-ins and common DingDang / TSK-style names. Case-insensitive; the
 * namespace before the last '.' is ignored.
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
  }
}
