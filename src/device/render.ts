/**
 * Screen view models, independent of any UI toolkit: the host draws them
 * however it likes (DOM, canvas, a terminal). One view per purchase state:
 * goods card, pay page (QR + countdown), progress, result, resumed content.
 *
 * QR codes are encoded by the device's own small encoder (qr-encoder.ts:
 * byte mode, level M, the same symbols as the `qrcode` package gives for byte
 * mode) and drawn here as an SVG string, an SVG data URL and terminal text,
 * so the same code runs in Node and in browsers without a canvas.
 */
import { encodeQr } from './qr-encoder.js';
import { formatFen, sumFen, type ChargeDirective } from '../protocol/browser.js';
import type { DeviceOrder, ResumeResult } from './port.js';
import { prompt, type Locale, type PromptContext } from './prompts.js';

export type TouchTarget = 'buy' | 'cancel' | 'refresh' | 'retry' | 'close';

export interface GoodsLine {
  itemId: string;
  itemName: string;
  count: number;
  /** Unit price, fen, and as screen text. */
  price: number;
  priceText: string;
  totalFee: number;
  totalText: string;
}

export interface GoodsCard {
  name: string;
  description?: string;
  items: GoodsLine[];
  totalFen: number;
  totalText: string;
}

export interface QrImage {
  /** The encoded text (the payment URL). */
  text: string;
  /** Modules per side, without the quiet zone. */
  size: number;
  svg: string;
  dataUrl: string;
  /** For terminals: two module rows per line with half blocks. */
  terminal: string;
}

export interface Countdown {
  expiresAt: number;
  secondsLeft: number;
  /** "04:59" */
  text: string;
}

interface BaseView {
  state: string;
  /** What the speaker says in this state (may be empty). */
  speech: string;
  /** Buttons the screen should offer; `touch(target)` on the companion. */
  actions: TouchTarget[];
}

export type ScreenView =
  | (BaseView & { kind: 'progress'; title: string; goods?: GoodsCard })
  | (BaseView & { kind: 'goods'; title: string; goods: GoodsCard })
  | (BaseView & {
      kind: 'pay';
      title: string;
      goods: GoodsCard;
      amountFen: number;
      amountText: string;
      payUrl: string;
      qr: QrImage;
      countdown: Countdown;
      phase: 'awaiting-scan' | 'confirming';
    })
  | (BaseView & {
      kind: 'result';
      outcome: 'paid' | 'owned' | 'failed' | 'expired' | 'cancelled' | 'timeout' | 'unresolved' | 'error' | 'resume-failed';
      title: string;
      detail?: string;
      goods?: GoodsCard;
    })
  | (BaseView & { kind: 'resumed'; title: string; result: ResumeResult });

/** The context fields views read (structurally the machine context). */
export interface RenderContext extends PromptContext {
  charge: ChargeDirective;
  order?: DeviceOrder | undefined;
  resumeResult?: ResumeResult | undefined;
}

export function goodsCard(charge: ChargeDirective): GoodsCard {
  const info = charge.payload.chargeInfo;
  const items = info.items.map((i) => ({
    itemId: i.itemId,
    itemName: i.itemName,
    count: i.count,
    price: i.price,
    priceText: formatFen(i.price),
    totalFee: i.totalFee,
    totalText: formatFen(i.totalFee),
  }));
  const totalFen = sumFen(items.map((i) => i.totalFee));
  return {
    name: info.name,
    ...(info.description !== undefined ? { description: info.description } : {}),
    items,
    totalFen,
    totalText: formatFen(totalFen),
  };
}

export function countdown(expiresAt: number, now = Date.now()): Countdown {
  const secondsLeft = Math.max(0, Math.ceil((expiresAt - now) / 1000));
  const mm = String(Math.floor(secondsLeft / 60)).padStart(2, '0');
  const ss = String(secondsLeft % 60).padStart(2, '0');
  return { expiresAt, secondsLeft, text: `${mm}:${ss}` };
}

function toBase64(ascii: string): string {
  if (typeof globalThis.btoa === 'function') return globalThis.btoa(ascii);
  throw new Error('no btoa in this runtime');
}

/** Encode `text` as a QR code (its UTF-8 bytes, level M) and draw it three ways. Throws `QrCapacityError` (`ERR_DEVICE_QR_TOO_LONG`) past 2,331 bytes. */
export function qrImage(text: string, options: { margin?: number; moduleSize?: number; dark?: string; light?: string } = {}): QrImage {
  const margin = options.margin ?? 2;
  const px = options.moduleSize ?? 4;
  const dark = options.dark ?? '#000000';
  const light = options.light ?? '#ffffff';
  const qr = encodeQr(text);
  const size = qr.size;
  const on = (r: number, c: number) => r >= 0 && c >= 0 && r < size && c < size && qr.get(r, c);

  const full = size + margin * 2;
  let path = '';
  for (let r = 0; r < size; r++) {
    let c = 0;
    while (c < size) {
      if (!on(r, c)) {
        c++;
        continue;
      }
      const start = c;
      while (c < size && on(r, c)) c++;
      path += `M${start + margin} ${r + margin}h${c - start}v1h-${c - start}z`;
    }
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${full} ${full}" width="${full * px}" height="${full * px}" shape-rendering="crispEdges">` +
    `<rect width="${full}" height="${full}" fill="${light}"/><path d="${path}" fill="${dark}"/></svg>`;
  const dataUrl = `data:image/svg+xml;base64,${toBase64(svg)}`;

  // Terminal: light background, dark modules; 2 rows per line with ▀ ▄ █.
  const lines: string[] = [];
  for (let r = -margin; r < size + margin; r += 2) {
    let line = '';
    for (let c = -margin; c < size + margin; c++) {
      const top = on(r, c);
      const bottom = on(r + 1, c);
      line += top && bottom ? ' ' : top ? '▄' : bottom ? '▀' : '█';
    }
    lines.push(line);
  }
  return { text, size, svg, dataUrl, terminal: lines.join('\n') };
}

const LABELS = {
  'zh-CN': {
    starting: '正在准备…',
    goods: '确认购买',
    ordering: '正在下单…',
    pay: '微信扫码支付',
    confirming: '已扫码，请在手机上确认支付',
    refreshing: '正在获取新的二维码…',
    refreshingApp: '正在重新发送到叮当APP…',
    app: '请在叮当APP中完成支付',
    verifying: '正在确认支付结果…',
    cancelling: '正在取消…',
    resuming: '支付成功，正在继续…',
    paid: '支付成功',
    owned: '已购买',
    orderFailed: '下单失败',
    payFailed: '支付失败',
    expired: '二维码已过期',
    cancelled: '已取消',
    timedOut: '已超时',
    unresolved: '暂未确认支付结果',
    failed: '暂时无法购买',
    resumeFailed: '支付成功，未能继续',
    done: '支付成功',
  },
  'en-US': {
    starting: 'Getting ready…',
    goods: 'Confirm purchase',
    ordering: 'Placing the order…',
    pay: 'Scan with WeChat to pay',
    confirming: 'Scanned: confirm on your phone',
    refreshing: 'Getting a new code…',
    refreshingApp: 'Sending to the DingDang app again…',
    app: 'Pay in the DingDang app',
    verifying: 'Checking the payment…',
    cancelling: 'Cancelling…',
    resuming: 'Paid. Continuing…',
    paid: 'Paid',
    owned: 'Already purchased',
    orderFailed: 'Order failed',
    payFailed: 'Payment failed',
    expired: 'Code expired',
    cancelled: 'Cancelled',
    timedOut: 'Timed out',
    unresolved: 'Payment not confirmed yet',
    failed: 'Purchases unavailable',
    resumeFailed: 'Paid, could not continue',
    done: 'Paid',
  },
} as const;

/**
 * The view for a state (`stateKey` from machine.ts) and context.
 * `now` drives the countdown; QR images are cached per payment URL.
 */
export function renderView(state: string, ctx: RenderContext, locale: Locale = 'zh-CN', now = Date.now()): ScreenView {
  const L = LABELS[locale];
  const goods = goodsCard(ctx.charge);
  const say = (key: Parameters<typeof prompt>[0]) => prompt(key, ctx, locale, now);
  const progress = (title: string, speech = '', actions: TouchTarget[] = ['cancel']): ScreenView => ({
    kind: 'progress',
    state,
    title,
    speech,
    actions,
    goods,
  });
  const result = (
    outcome: Extract<ScreenView, { kind: 'result' }>['outcome'],
    title: string,
    speech: string,
    actions: TouchTarget[],
    detail?: string,
  ): ScreenView => ({ kind: 'result', state, outcome, title, speech, actions, goods, ...(detail ? { detail } : {}) });

  switch (state) {
    case 'starting':
    case 'route':
      return progress(L.starting);
    case 'goods':
      return { kind: 'goods', state, title: L.goods, speech: say('goods'), actions: ['buy', 'cancel'], goods };
    case 'ordering':
      return progress(L.ordering, say('ordering'));
    case 'paying.awaitingScan':
    case 'paying.confirming': {
      const order = ctx.order;
      if (!order) return progress(L.ordering);
      const confirming = state === 'paying.confirming';
      return {
        kind: 'pay',
        state,
        title: confirming ? L.confirming : L.pay,
        speech: say(confirming ? 'confirming' : 'pay'),
        actions: confirming ? ['cancel'] : ['refresh', 'cancel'],
        goods,
        amountFen: order.totalAmt,
        amountText: formatFen(order.totalAmt),
        payUrl: order.payUrl,
        qr: cachedQr(order.payUrl),
        countdown: countdown(order.expiresAt, now),
        phase: confirming ? 'confirming' : 'awaiting-scan',
      };
    }
    case 'refreshing':
      return progress(ctx.mode === 'screen' ? L.refreshing : L.refreshingApp, say('refreshing'));
    case 'app.pushed':
      return progress(L.app, say('app'));
    case 'app.ordered':
      return progress(L.app, say('appOrdered'));
    case 'app.confirming':
      return progress(L.confirming, say('appConfirming'));
    case 'verifying':
      return progress(L.verifying, say('verifying'));
    case 'cancelling':
      return progress(L.cancelling, '', []);
    case 'paid':
      return result('paid', L.paid, say('paid'), []);
    case 'owned':
      return result('owned', L.owned, say('owned'), []);
    case 'resuming':
      return result(ctx.alreadyOwned ? 'owned' : 'paid', L.resuming, '', []);
    case 'orderFailed':
      return result('error', L.orderFailed, say('orderFailed'), ['retry', 'cancel'], ctx.error?.message);
    case 'payFailed':
      return result('failed', L.payFailed, say('payFailed'), ['retry', 'cancel'], ctx.failReason);
    case 'expired':
      return result('expired', L.expired, say('expired'), ['refresh', 'cancel']);
    case 'done':
      if (ctx.resumeResult) return { kind: 'resumed', state, title: L.done, speech: say('done'), actions: ['close'], result: ctx.resumeResult };
      return result(ctx.paid ? 'paid' : 'owned', ctx.paid ? L.paid : L.owned, say('done'), ['close']);
    case 'resumeFailed':
      return result('resume-failed', L.resumeFailed, say('resumeFailed'), ['close'], ctx.error?.message);
    case 'cancelled':
      return result('cancelled', L.cancelled, say('cancelled'), ['close']);
    case 'timedOut':
      return result('timeout', L.timedOut, say('timedOut'), ['close']);
    case 'unresolved':
      return result('unresolved', L.unresolved, say('unresolved'), ['close']);
    case 'failed':
      return result('error', L.failed, say('failed'), ['close'], ctx.error?.message);
    default:
      // A state without its own view: a neutral title, never the state key (that is for the log).
      return progress(L.starting);
  }
}

// A pay page is re-rendered for every countdown tick: keep the last few QR images.
const qrCache = new Map<string, QrImage>();
function cachedQr(text: string): QrImage {
  const hit = qrCache.get(text);
  if (hit) return hit;
  const img = qrImage(text);
  qrCache.set(text, img);
  if (qrCache.size > 8) qrCache.delete(qrCache.keys().next().value as string);
  return img;
}
