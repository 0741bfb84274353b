/**
 * The screen speaker, in the browser: the device companion runs in this page
 * and talks to the platform (the sandbox, another origin) over HTTP +
 * WebSocket, verifying every reply and push with the TSKPublicKey (WebCrypto).
 * Bundled by esbuild (src/demo/bundle.ts). No framework: the companion's
 * view models are drawn into #screen.
 */
import { DeviceCompanion, type ScreenView, type TouchTarget, type GoodsCard } from '../../device/index.js';
import { SpeakerHost, httpSay, type PlayInfo } from '../host.js';
import type { SpeakerPageConfig } from '../page.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const config = JSON.parse($('speaker-config').textContent ?? '{}') as SpeakerPageConfig;

const screen = $('screen');
const speechText = $('speech-text');
const actionsBox = $('actions');
const logList = $('log');
const scan = $<HTMLButtonElement>('scan');
const payLink = $<HTMLAnchorElement>('pay-link');
const phone = $<HTMLIFrameElement>('phone-frame');
const conn = $('conn');

const companion = new DeviceCompanion({
  platformUrl: config.platformUrl,
  tskPublicKey: config.tskPublicKey,
  deviceId: config.deviceId,
  mode: 'screen',
  locale: 'zh-CN',
  // The purchase ends on its own; the transport stays for the next one.
  closeTransportOnStop: true,
});
const host = new SpeakerHost(companion, httpSay(config.sayUrl, {}));

const LABEL: Record<TouchTarget, string> = { buy: '购买', cancel: '取消', refresh: '刷新二维码', retry: '重试', close: '关闭' };

function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string | undefined>): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

function log(kind: 'user' | 'device' | 'skill' | 'host' | 'event', text: string): void {
  const who = { user: '你', device: '叮当', skill: '叮当（技能）', host: '叮当', event: '·' }[kind];
  const li = el('li', { class: kind }, kind === 'event' ? text : `${who}：${text}`);
  logList.append(li);
  li.scrollIntoView({ block: 'nearest' });
}

let speakAloud = false;
function say(text: string): void {
  speechText.textContent = text;
  if (speakAloud && 'speechSynthesis' in window) {
    const u = new SpeechSynthesisUtterance(text);
    u.lang = 'zh-CN';
    speechSynthesis.speak(u);
  }
}

function goodsBlock(g: GoodsCard): HTMLElement {
  const rows = g.items.map((i) => el('tr', {}, el('td', {}, i.itemName), el('td', {}, `× ${i.count}`), el('td', { style: 'text-align:right' }, i.totalText)));
  return el(
    'div',
    { class: 'goods' },
    el('div', { class: 'goods-name' }, g.name),
    g.description ? el('div', { class: 'desc' }, g.description) : undefined,
    el('table', { class: 'items' }, ...rows),
  );
}

function fill(...children: Array<Node | string | undefined>): void {
  screen.replaceChildren(...children.filter((c): c is Node | string => c !== undefined));
}

function setActions(actions: TouchTarget[]): void {
  actionsBox.replaceChildren(
    ...actions.map((a) => {
      const b = el('button', { type: 'button', 'data-touch': a, class: a === 'buy' || a === 'retry' ? 'primary' : a === 'cancel' ? 'danger' : '' }, LABEL[a]);
      b.addEventListener('click', () => {
        log('event', `点击「${LABEL[a]}」`);
        if (!host.touch(a) && a === 'close') idle();
      });
      return b;
    }),
  );
}

let shownPayUrl: string | undefined;
function setPhone(payUrl: string | undefined): void {
  // A new order (retry) has a new payment URL: the phone must scan the new code.
  if (payUrl !== undefined && payUrl !== shownPayUrl && phone.src !== 'about:blank' && phone.src !== '') phone.src = 'about:blank';
  if (payUrl !== undefined) shownPayUrl = payUrl;
  scan.disabled = payUrl === undefined;
  scan.dataset.url = payUrl ?? '';
  if (payUrl) {
    payLink.href = payUrl;
    payLink.hidden = false;
  } else payLink.hidden = true;
}

function idle(): void {
  screen.dataset.kind = 'idle';
  screen.dataset.state = '';
  fill(el('h3', {}, '你好，我是叮当'), el('p', { class: 'desc' }, `试试说：“${config.example}”`));
  setActions([]);
  setPhone(undefined);
}

function draw(view: ScreenView): void {
  screen.dataset.kind = view.kind;
  screen.dataset.state = view.state;
  switch (view.kind) {
    case 'goods':
      fill(el('h3', {}, view.title), goodsBlock(view.goods), el('div', { class: 'amount' }, view.goods.totalText));
      setPhone(undefined);
      break;
    case 'pay': {
      const img = el('img', { src: view.qr.dataUrl, alt: '支付二维码', id: 'qr', 'data-pay-url': view.payUrl });
      fill(
        el('h3', {}, view.title),
        el(
          'div',
          { class: 'qr' },
          img,
          el(
            'div',
            {},
            el('div', { class: 'goods-name' }, view.goods.name),
            el('div', { class: 'amount', id: 'amount' }, view.amountText),
            el('div', { class: 'countdown', id: 'countdown' }, `剩余 ${view.countdown.text}`),
            el('div', { class: 'phase', id: 'phase' }, view.phase === 'confirming' ? '已扫码，等待手机确认…' : '请用微信扫码支付'),
          ),
        ),
      );
      setPhone(view.payUrl);
      break;
    }
    case 'progress':
      fill(el('h3', {}, view.title), el('div', { class: 'spinner' }), view.goods ? goodsBlock(view.goods) : undefined);
      break;
    case 'result': {
      const tone = view.outcome === 'paid' || view.outcome === 'owned' ? 'ok' : view.outcome === 'cancelled' || view.outcome === 'expired' ? 'neutral' : 'bad';
      fill(
        el('div', { class: `result ${tone}`, id: 'result', 'data-outcome': view.outcome }, `${tone === 'ok' ? '✓' : tone === 'bad' ? '✗' : '·'} ${view.title}`),
        view.detail ? el('div', { class: 'desc' }, view.detail) : undefined,
        view.goods ? goodsBlock(view.goods) : undefined,
      );
      if (view.outcome !== 'expired') setPhone(undefined);
      break;
    }
    case 'resumed': {
      const plays = view.result.directives.filter((d) => (d as { type?: unknown })?.type === 'AudioPlayer.Play');
      fill(el('div', { class: 'result ok' }, `✓ ${view.title}`), el('p', { class: 'desc' }, view.result.outputSpeech ?? ''));
      if (plays.length === 0) setPhone(undefined);
      break;
    }
  }
  setActions(view.actions);
}

function nowPlaying(p: PlayInfo & { resumed: boolean }): void {
  screen.dataset.kind = 'playing';
  screen.dataset.state = 'playing';
  const audio = p.url ? (el('audio', { controls: '', src: p.url, preload: 'none' }) as HTMLAudioElement) : undefined;
  fill(
    el(
      'div',
      { class: 'playing', id: 'now-playing' },
      el('div', {}, el('span', { class: 'eq' }, el('i'), el('i'), el('i')), '正在播放 · Now playing'),
      el('div', { class: 'title', id: 'now-playing-title' }, p.title),
      p.album ? el('div', {}, `《${p.album}》${p.index !== undefined ? ` 第${p.index}集` : ''}`) : undefined,
      audio,
    ),
    el('p', { class: 'desc' }, p.resumed ? '支付完成后，叮当继续了你刚才的请求（AudioPlayer.Play）。' : '技能直接返回了 AudioPlayer.Play。'),
  );
  setActions(['close']);
  setPhone(undefined);
  audio?.play().catch(() => {});
}

companion.on('render', draw);
companion.on('countdown', (c) => {
  const e = document.getElementById('countdown');
  if (e) e.textContent = `剩余 ${c.text}`;
});
companion.on('state', (s) => log('event', `状态 ${s.previous ?? '—'} → ${s.state}`));
companion.on('connection', (s) => {
  conn.textContent = { connecting: '连接中…', open: '● 已连接', closed: '○ 未连接', polling: '◐ 轮询' }[s];
});
companion.on('rejected', (r) => log('event', `拒绝了一条推送：${r.reason}`));
companion.on('error', (e) => log('event', `错误 ${e.code}：${e.message}`));
host.on('speak', (e) => {
  say(e.text);
  log(e.from, e.text);
});
host.on('play', nowPlaying);
host.on('failure', (e) => log('event', e.message));
host.on('end', (r) => log('event', `购买结束：${r.outcome}${r.paid ? '（已支付）' : ''}`));

async function hear(text: string): Promise<void> {
  const t = text.trim();
  if (!t) return;
  log('user', t);
  const r = await host.hear(t);
  if (r.handledBy === 'device' && r.intent) log('event', `设备识别：${r.intent}`);
}

$<HTMLFormElement>('say-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $<HTMLInputElement>('utterance');
  const text = input.value;
  input.value = '';
  void hear(text);
});
for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#chips button'))) b.addEventListener('click', () => void hear(b.dataset.say ?? ''));
scan.addEventListener('click', () => {
  const url = scan.dataset.url;
  if (!url) return;
  log('event', '手机扫码，打开支付页');
  phone.src = url;
});
const aloud = $<HTMLInputElement>('aloud');
if (!('speechSynthesis' in window)) aloud.disabled = true;
aloud.addEventListener('change', () => {
  speakAloud = aloud.checked;
  if (!speakAloud && 'speechSynthesis' in window) speechSynthesis.cancel();
});
window.addEventListener('pagehide', () => host.stop());
(window as unknown as { speaker: unknown }).speaker = { host, companion, hear };
document.body.dataset.ready = 'true';
