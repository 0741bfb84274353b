/**
 * What the speaker says: one short prompt per state, in zh-CN and en-US.
 * Money is spoken with `speakFen` / `speakFenEn` from the protocol.
 * "Paid" is said only by the `paid` prompt, which the machine reaches only
 * from a verified SUCCESS update.
 */
import { speakFen, speakFenEn, type ChargeDirective, type TradeStatus } from '../protocol/browser.js';
import type { DeviceMode, DeviceOrder, ResumeResult } from './port.js';

export type Locale = 'zh-CN' | 'en-US';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en-US'];

export type PromptKey =
  | 'goods'
  | 'ordering'
  | 'orderFailed'
  | 'pay'
  | 'confirming'
  | 'expired'
  | 'checking'
  | 'stillValid'
  | 'refreshing'
  | 'app'
  | 'appOrdered'
  | 'appConfirming'
  | 'payFailed'
  | 'verifying'
  | 'paid'
  | 'owned'
  | 'done'
  | 'resumeFailed'
  | 'cancelled'
  | 'timedOut'
  | 'unresolved'
  | 'failed';

/** The part of the purchase context prompts read (structurally the machine's context). */
export interface PromptContext {
  mode: DeviceMode;
  charge: ChargeDirective;
  speech?: string | undefined;
  totalFen: number;
  order?: DeviceOrder | undefined;
  tradeStatus?: TradeStatus | undefined;
  failReason?: string | undefined;
  paid: boolean;
  alreadyOwned?: boolean;
  resumeEnabled: boolean;
  resumeResult?: ResumeResult | undefined;
  error?: { code: string; message: string; step: string } | undefined;
}

function goodsName(ctx: PromptContext): string {
  return ctx.charge.payload.chargeInfo.name;
}

function amountFen(ctx: PromptContext): number {
  return ctx.order?.totalAmt ?? ctx.totalFen;
}

/**
 * How long the payment window still is, as said: "15秒", "5分钟", "1分30秒".
 * Within 5 s of a whole minute it is that minute (a fresh 5-minute code is
 * "5分钟", as the screen's 05:00 shows); under 3 minutes the seconds are said
 * too; longer, whole minutes rounded down. Undefined when it is over.
 */
function windowLeft(ctx: Pick<PromptContext, 'order'>, now: number, zh: boolean): string | undefined {
  const at = ctx.order?.expiresAt;
  if (typeof at !== 'number') return undefined;
  const s = Math.ceil((at - now) / 1000);
  if (s <= 0) return undefined;
  const r = s % 60;
  const near = s >= 60 && (r <= 5 || r >= 55);
  const m = near ? Math.round(s / 60) : Math.floor(s / 60);
  const mins = (k: number) => (zh ? `${k}分钟` : `${k} minute${k === 1 ? '' : 's'}`);
  const secs = (k: number) => (zh ? `${k}秒` : `${k} second${k === 1 ? '' : 's'}`);
  if (s < 60) return secs(s);
  if (near || s >= 180) return mins(m);
  return zh ? `${m}分${r}秒` : `${mins(m)} ${secs(r)}`;
}

/** Prefix the skill's own speech, once, before the goods prompt. */
function withSpeech(ctx: PromptContext, text: string, locale: Locale): string {
  const s = ctx.speech?.trim();
  if (!s) return text;
  const sep = locale === 'zh-CN' ? (/[。！？!?.]$/.test(s) ? '' : '。') : /[.!?]$/.test(s) ? ' ' : '. ';
  return `${s}${sep}${text}`;
}

/** The prompt of a state. May be empty (nothing to say). */
export function prompt(key: PromptKey, ctx: PromptContext, locale: Locale = 'zh-CN', now = Date.now()): string {
  return locale === 'en-US' ? promptEn(key, ctx, now) : promptZh(key, ctx, now);
}

function promptZh(key: PromptKey, ctx: PromptContext, now: number): string {
  const name = goodsName(ctx);
  const amount = speakFen(amountFen(ctx));
  switch (key) {
    case 'goods':
      return withSpeech(ctx, `${name}，${amount}。说“购买”下单，或说“取消”。`, 'zh-CN');
    case 'ordering':
      return '正在下单，请稍等。';
    case 'orderFailed':
      return '下单没有成功。说“重试”再试一次，或说“取消”。';
    case 'pay': {
      const w = windowLeft(ctx, now, true);
      return `请用微信扫描屏幕上的二维码，支付${amount}${w ? `，${w}内有效` : ''}。`;
    }
    case 'confirming':
      return '已扫码，请在手机上确认支付。';
    case 'expired':
      return '二维码已过期。说“刷新”换一个新的二维码，或说“取消”。';
    case 'checking':
      return '好的，我查一下。';
    case 'stillValid': {
      const w = windowLeft(ctx, now, true);
      return w ? `屏幕上的二维码还有效，还可以用${w}，请直接扫码。` : '屏幕上的二维码还有效，请直接扫码。';
    }
    case 'refreshing':
      return '正在获取新的支付信息。';
    case 'app':
      return withSpeech(ctx, `已将商品信息推送到叮当APP，请在手机上完成支付，${amount}。`, 'zh-CN');
    case 'appOrdered':
      return '订单已创建，请在叮当APP里完成支付。';
    case 'appConfirming':
      return '正在等待手机上确认支付。';
    case 'payFailed':
      return `支付没有成功${ctx.failReason ? `：${ctx.failReason}` : ''}。说“重试”再试一次，或说“取消”。`;
    case 'verifying':
      return '正在确认支付结果。';
    case 'paid':
      return ctx.resumeEnabled ? '支付成功，马上为你继续。' : '支付成功，谢谢。';
    case 'owned':
      return ctx.resumeEnabled ? '你已经买过了，马上为你继续。' : '你已经买过了，不用再付款。';
    case 'done':
      return ctx.resumeResult?.outputSpeech ?? '';
    case 'resumeFailed':
      return ctx.paid ? '已经支付成功，但没能继续，请再说一次你的要求。' : '没能继续，请再说一次你的要求。';
    case 'cancelled':
      return '好的，已取消购买。';
    case 'timedOut':
      return '等太久了，先退出购买，需要时再叫我。';
    case 'unresolved':
      return '暂时没有拿到支付结果。如果已经付款，请稍后再说一次你的要求。';
    case 'failed':
      return '抱歉，购买服务暂时不可用，请稍后再试。';
  }
}

function promptEn(key: PromptKey, ctx: PromptContext, now: number): string {
  const name = goodsName(ctx);
  const amount = speakFenEn(amountFen(ctx));
  switch (key) {
    case 'goods':
      return withSpeech(ctx, `${name}, ${amount}. Say "buy" to order, or "cancel".`, 'en-US');
    case 'ordering':
      return 'Placing your order.';
    case 'orderFailed':
      return 'The order did not go through. Say "retry", or "cancel".';
    case 'pay': {
      const w = windowLeft(ctx, now, false);
      return `Scan the code on the screen with WeChat to pay ${amount}${w ? `, within ${w}` : ''}.`;
    }
    case 'confirming':
      return 'Scanned. Please confirm the payment on your phone.';
    case 'expired':
      return 'The code has expired. Say "refresh" for a new one, or "cancel".';
    case 'checking':
      return 'Let me check.';
    case 'stillValid': {
      const w = windowLeft(ctx, now, false);
      return w ? `The code on the screen still works for ${w}; just scan it.` : 'The code on the screen still works; just scan it.';
    }
    case 'refreshing':
      return 'Getting a new payment code.';
    case 'app':
      return withSpeech(ctx, `I sent the goods to the DingDang app. Please pay ${amount} on your phone.`, 'en-US');
    case 'appOrdered':
      return 'Your order is ready. Please pay in the DingDang app.';
    case 'appConfirming':
      return 'Waiting for you to confirm on your phone.';
    case 'payFailed':
      return `The payment did not go through${ctx.failReason ? `: ${ctx.failReason}` : ''}. Say "retry", or "cancel".`;
    case 'verifying':
      return 'Checking the payment result.';
    case 'paid':
      return ctx.resumeEnabled ? 'Payment received. Continuing now.' : 'Payment received. Thank you.';
    case 'owned':
      return ctx.resumeEnabled ? 'You already own this. Continuing now.' : 'You already own this; no payment needed.';
    case 'done':
      return ctx.resumeResult?.outputSpeech ?? '';
    case 'resumeFailed':
      return ctx.paid ? 'Payment received, but I could not continue. Please ask again.' : 'I could not continue. Please ask again.';
    case 'cancelled':
      return 'OK, purchase cancelled.';
    case 'timedOut':
      return 'No answer, so I stopped the purchase. Ask me again any time.';
    case 'unresolved':
      return 'I have no payment result yet. If you paid, please ask again in a moment.';
    case 'failed':
      return 'Sorry, purchases are not available right now. Please try later.';
  }
}

/** Help for the state the purchase is in (`stateKey` from machine.ts). */
export function helpText(stateKey: string, locale: Locale = 'zh-CN'): string {
  const zh = locale === 'zh-CN';
  if (stateKey === 'goods') return zh ? '说“购买”下单，说“取消”退出。' : 'Say "buy" to order, or "cancel" to stop.';
  if (stateKey.startsWith('paying'))
    return zh
      ? '用微信扫屏幕上的二维码付款。说“支付好了吗”查进度，说“刷新”换二维码，说“取消”退出。'
      : 'Scan the code with WeChat. Say "is it paid" for the status, "refresh" for a new code, "cancel" to stop.';
  if (stateKey.startsWith('app'))
    return zh
      ? '请打开手机上的叮当APP完成支付。说“支付好了吗”查进度，说“取消”退出。'
      : 'Open the DingDang app on your phone to pay. Say "is it paid" for the status, or "cancel".';
  if (stateKey === 'expired') return zh ? '说“刷新”换一个新二维码，说“取消”退出。' : 'Say "refresh" for a new code, or "cancel".';
  if (stateKey === 'payFailed' || stateKey === 'orderFailed') return zh ? '说“重试”再试一次，说“取消”退出。' : 'Say "retry" to try again, or "cancel".';
  return zh ? '请稍等，说“取消”可以退出购买。' : 'Please wait. Say "cancel" to stop.';
}

/**
 * The answer to "支付好了吗": only a verified SUCCESS says paid; an order
 * whose window is over says so; nothing is promised that does not follow
 * (a fresher status from the check the question starts acts on its own).
 */
export function statusText(
  ctx: Pick<PromptContext, 'paid' | 'tradeStatus' | 'order' | 'failReason' | 'mode'>,
  locale: Locale = 'zh-CN',
  now = Date.now(),
): string {
  const zh = locale === 'zh-CN';
  if (ctx.paid) return zh ? '已经支付成功了。' : 'Yes, the payment went through.';
  switch (ctx.tradeStatus) {
    case 'PROCESSING':
      return zh ? '已扫码，正在等你在手机上确认。' : 'Scanned; waiting for you to confirm on your phone.';
    case 'FAIL':
      return zh ? `支付没有成功${ctx.failReason ? `：${ctx.failReason}` : ''}。` : 'The payment did not go through.';
    default: {
      if (!ctx.order) return zh ? (ctx.mode === 'screenless' ? '还没有下单，请在叮当APP里下单支付。' : '还没有下单。') : 'Nothing ordered yet.';
      const w = windowLeft(ctx, now, zh);
      if (!w)
        return zh
          ? ctx.mode === 'screenless'
            ? '还没有收到付款，这笔订单的支付时间已经过了。'
            : '还没有收到付款，二维码已经过期了。说“刷新”换一个新的，或说“取消”。'
          : 'No payment yet, and the payment window is over.';
      return zh ? `还没有收到付款，还可以支付${w}。` : `No payment yet; you have ${w} left to pay.`;
    }
  }
}

/** What to say next after naming the goods, by state. */
function nextStep(stateKey: string, zh: boolean): string {
  if (stateKey === 'goods') return zh ? '说“购买”下单，或说“取消”。' : 'Say "buy" to order, or "cancel".';
  if (stateKey.startsWith('paying'))
    return zh ? '请用微信扫描屏幕上的二维码支付，或说“取消”。' : 'Scan the code on the screen with WeChat to pay, or say "cancel".';
  if (stateKey.startsWith('app')) return zh ? '请在叮当APP里完成支付，或说“取消”。' : 'Please pay in the DingDang app, or say "cancel".';
  if (stateKey === 'expired') return zh ? '说“刷新”换一个新二维码，或说“取消”。' : 'Say "refresh" for a new code, or "cancel".';
  if (stateKey === 'payFailed' || stateKey === 'orderFailed') return zh ? '说“重试”再试一次，或说“取消”。' : 'Say "retry", or "cancel".';
  return '';
}

/**
 * The answer to "多少钱" (`price`) and "这是什么" (`what`): the goods on
 * screen, the amount (the order's once there is one), and what to say next
 * in this state (`stateKey` from machine.ts):
 * "《万古神帝 第4集》，2元。说“购买”下单，或说“取消”。"
 */
export function answerText(topic: 'price' | 'what', ctx: PromptContext, stateKey: string, locale: Locale = 'zh-CN'): string {
  const zh = locale === 'zh-CN';
  const name = goodsName(ctx);
  const next = nextStep(stateKey, zh);
  if (zh) return `${topic === 'what' ? '这是' : ''}《${name}》，${speakFen(amountFen(ctx))}。${next}`;
  const amount = speakFenEn(amountFen(ctx));
  return `${topic === 'what' ? `This is "${name}", ${amount}.` : `"${name}" costs ${amount}.`}${next ? ` ${next}` : ''}`;
}
