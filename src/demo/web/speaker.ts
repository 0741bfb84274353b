/**
 * The screen speaker, in the browser: the device companion runs in this page
 * and talks to the platform (the sandbox, another origin) over HTTP +
 * WebSocket, verifying every reply and push with the TSKPublicKey (WebCrypto).
 * Bundled by esbuild (src/demo/bundle.ts). No framework: the companion's
 * view models, the player (the companion's, src/device/player.ts) and the
 * skill's Display.RenderTemplate templates are drawn into #screen, a
 * 600×375 panel by default (`?screen=1024x600` for another size,
 * screen-size.ts): the view in #view, its touch targets in #actions along the
 * screen's bottom edge. The audio plays in one <audio> outside it, so a new
 * screen never cuts the sound. Directive names, state keys and error messages
 * go to the dialog log, never onto the screen.
 *
 * `?mode=screenless` makes it a screenless speaker (flow B, pay2): the
 * companion runs in screenless mode, the purchase happens in the DingDang
 * app (the phone panel opens the sandbox's app page), and the panel shows
 * the speaker's state without touch targets (a screenless speaker is worked
 * by voice and in the app). Showing the state at all is the demo's own
 * choice, so the walk-through can be looked at.
 */
import { DeviceCompanion, type ScreenView, type TouchTarget, type GoodsCard } from '../../device/index.js';
import { SpeakerHost, httpSay, type PlayInfo, type TemplateInfo } from '../host.js';
import type { PlayerItem } from '../../device/index.js';
import type { Image, ListItem } from '../../protocol/skill-types.js';
import type { SpeakerPageConfig } from '../page.js';
import { screenSize } from './screen-size.js';
import { StatechartPanel } from './statechart-panel.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const config = JSON.parse($('speaker-config').textContent ?? '{}') as SpeakerPageConfig;

const screen = $('screen');
const view = $('view');
const speechText = $('speech-text');
const actionsBox = $('actions');
const logList = $('log');
const scan = $<HTMLButtonElement>('scan');
const payLink = $<HTMLAnchorElement>('pay-link');
const phone = $<HTMLIFrameElement>('phone-frame');
const conn = $('conn');
const mic = $('mic');
const retCode = $('ret-code');
const audio = $<HTMLAudioElement>('audio');

// The screen's size: ?screen=1024x600, 600×375 by default; ?mode=screenless for a screenless speaker.
const params = new URLSearchParams(location.search);
const size = screenSize(params.get('screen'));
const mode: 'screen' | 'screenless' = params.get('mode') === 'screenless' ? 'screenless' : 'screen';
{
  const device = screen.closest<HTMLElement>('.device') ?? document.body;
  device.style.setProperty('--lw', `${size.layoutWidth}px`);
  device.style.setProperty('--lh', `${size.layoutHeight}px`);
  device.style.setProperty('--z', String(size.zoom));
  device.style.setProperty('--sw', `${size.width}px`);
  screen.dataset.size = size.name;
  $('screen-size').textContent = mode === 'screenless' ? '无屏音箱 · 语音和叮当APP' : `${size.width}×${size.height}`;
  screen.dataset.mode = mode;
  const kind = document.querySelector('header .muted');
  if (kind && mode === 'screenless') kind.textContent = (kind.textContent ?? '').replace('屏幕音箱 (screen speaker)', '无屏音箱 (screenless speaker)');
  if (size.width > 700) document.querySelector('main')?.classList.add('wide');
}

const companion = new DeviceCompanion({
  platformUrl: config.platformUrl,
  tskPublicKey: config.tskPublicKey,
  deviceId: config.deviceId,
  ...(config.deviceToken !== undefined ? { deviceToken: config.deviceToken } : {}),
  mode,
  locale: 'zh-CN',
  // The purchase ends on its own; the transport stays for the next one.
  closeTransportOnStop: true,
});
// The page's own forwarder (`/api/say`) or the platform's `/sandbox/v1/say` itself: both take `{ text, deviceId, mode }`.
const host = new SpeakerHost(companion, httpSay(config.sayUrl, { deviceId: config.deviceId, mode }));

// The live statechart: the purchase's state lit as it walks; unlit when the screen goes idle.
const chart = new StatechartPanel($('statechart'));
void chart.start();

const LABEL: Record<TouchTarget, string> = { buy: '购买', cancel: '取消', refresh: '刷新二维码', retry: '重试', close: '关闭' };

function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string | undefined>): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

function log(kind: 'user' | 'device' | 'skill' | 'host' | 'platform' | 'event', text: string): void {
  const who = { user: '你', device: '叮当', skill: '叮当（技能）', host: '叮当', platform: '叮当（平台）', event: '·' }[kind];
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

/** A number with its unit (第35集, 12期) never breaks across lines: those runs go in a nowrap span. */
const KEEP_TOGETHER = /第\s*\d+\s*[集章话回期部季篇首节课讲]|\d+\s*[集章话回期部季篇首节课讲]/gu;
function words(text: string): Array<Node | string> {
  const out: Array<Node | string> = [];
  let at = 0;
  for (const m of text.matchAll(KEEP_TOGETHER)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(el('span', { class: 'nw' }, m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/** "¥2.00" with a smaller currency sign. */
function price(text: string, attrs: Record<string, string> = {}): HTMLElement {
  const m = /^([¥￥])(.*)$/u.exec(text);
  return el('div', { ...attrs, class: `price ${attrs.class ?? ''}`.trim() }, ...(m ? [el('span', { class: 'cur' }, m[1]), m[2]!] : [text]));
}

/** The lines of an order, only when they say more than the goods' name (several items, or more than one). */
function itemLines(g: GoodsCard): HTMLElement | undefined {
  const only = g.items.length === 1 ? g.items[0]! : undefined;
  if (only && only.count === 1 && only.itemName === g.name) return undefined;
  const rows = g.items.map((i) => el('tr', {}, el('td', {}, i.itemName), el('td', {}, `× ${i.count}`), el('td', { style: 'text-align:right' }, i.totalText)));
  return el('table', { class: 'items' }, ...rows);
}

/** "万古神帝 第35集 · ¥2.00": the goods in one line under a progress or result message. */
const goodsLine = (g: GoodsCard) => el('div', { class: 'what words' }, ...words(g.name), ` · ${g.totalText}`);

/** Bumped by every screen change: an answer that drew nothing gets the reply card. */
let drawn = 0;
/** What the screen showed and when (performance.now()), newest last: the page's own record of its screens. */
const paints: Array<{ kind: string; state: string; outcome?: string; at: number }> = [];
function fill(...children: Array<Node | string | undefined>): void {
  drawn++;
  view.replaceChildren(...children.filter((c): c is Node | string => c !== undefined));
  const outcome = view.querySelector('#result')?.getAttribute('data-outcome') ?? undefined;
  paints.push({ kind: screen.dataset.kind ?? '', state: screen.dataset.state ?? '', ...(outcome ? { outcome } : {}), at: performance.now() });
  if (paints.length > 200) paints.shift();
}

/**
 * The success moment: a paid purchase's "支付成功" stays on the screen for
 * SUCCESS_HOLD_MS even when the companion goes paid → resuming → done at
 * once. Whatever comes meanwhile (the resumed card, the player, a template,
 * the sound that goes with them) waits, in order, and runs when the hold ends.
 */
const SUCCESS_HOLD_MS = 1500;
let holdUntil = 0;
const held: Array<() => void> = [];
function show(job: () => void, success = false): void {
  if (held.length > 0 || performance.now() < holdUntil) {
    held.push(job);
    return;
  }
  job();
  if (success) {
    holdUntil = performance.now() + SUCCESS_HOLD_MS;
    setTimeout(release, SUCCESS_HOLD_MS);
  }
}
function release(): void {
  holdUntil = 0;
  while (held.length > 0) held.shift()!();
}

function setActions(actions: TouchTarget[]): void {
  // A screenless speaker has nothing to touch: voice and the DingDang app.
  if (mode === 'screenless') actions = [];
  // The main action last, at the right-hand end of the bar.
  const rank = (a: TouchTarget) => (a === 'buy' || a === 'retry' ? 1 : 0);
  const ordered = [...actions].sort((a, b) => rank(a) - rank(b));
  actionsBox.replaceChildren(...ordered.map((a) => touchButton(a)));
}

function touchButton(a: TouchTarget, cls = ''): HTMLElement {
  const b = el(
    'button',
    { type: 'button', 'data-touch': a, class: `${a === 'buy' || a === 'retry' ? 'primary' : a === 'cancel' ? 'danger' : ''} ${cls}`.trim() },
    LABEL[a],
  );
  b.addEventListener('click', () => {
    log('event', `点击「${LABEL[a]}」`);
    if (!host.touch(a) && a === 'close') show(idle);
  });
  return b;
}

const phoneHint = $('phone-hint');
const PHONE_HINT = {
  screen: phoneHint.textContent ?? '',
  screenless: '音箱说“请在叮当APP中完成支付”后，点“打开叮当APP”，在手机上下单并支付，或取消。',
  expired: '二维码已过期，没有可扫的码了。对音箱说“刷新二维码”换一张新的。',
};
if (mode === 'screenless') {
  phoneHint.textContent = PHONE_HINT.screenless;
  scan.textContent = '打开叮当APP · Open app';
  payLink.textContent = '在新标签页打开叮当APP';
}

let shownPayUrl: string | undefined;
/** The phone panel of a screen speaker: the code to scan, or none (`expired`: the panel says the code expired). */
function setPhone(payUrl: string | undefined, expired = false): void {
  if (mode === 'screenless') return; // the phone is the DingDang app: setApp
  // A new order (retry) has a new payment URL: the phone must scan the new code; an expired one leaves nothing to scan.
  if ((expired || (payUrl !== undefined && payUrl !== shownPayUrl)) && phone.src !== 'about:blank' && phone.src !== '') phone.src = 'about:blank';
  if (payUrl !== undefined) shownPayUrl = payUrl;
  phoneHint.textContent = expired ? PHONE_HINT.expired : PHONE_HINT.screen;
  phoneHint.dataset.expired = String(expired);
  link(payUrl);
}

/** The phone panel of a screenless speaker: the DingDang app's page of the purchase, or none. */
function setApp(appUrl: string | undefined): void {
  if (mode !== 'screenless') return;
  link(appUrl);
}

function link(url: string | undefined): void {
  scan.disabled = url === undefined;
  scan.dataset.url = url ?? '';
  if (url) {
    payLink.href = url;
    payLink.hidden = false;
  } else payLink.hidden = true;
}

function idle(): void {
  host.player.stop();
  chart.idle();
  screen.dataset.kind = 'idle';
  screen.dataset.state = '';
  fill(el('h3', {}, '你好，我是叮当'), el('p', { class: 'desc' }, `试试说：“${config.example}”`));
  setActions([]);
  setPhone(undefined);
  setApp(undefined);
}

let loggedDetail: string | undefined;
const isSuccess = (v: ScreenView) => v.kind === 'result' && v.outcome === 'paid';

function draw(v: ScreenView): void {
  screen.dataset.kind = v.kind;
  screen.dataset.state = v.state;
  switch (v.kind) {
    case 'goods':
      fill(
        el(
          'div',
          { class: 'goods', id: 'goods' },
          el('div', { class: 'kicker' }, v.title),
          el('div', { class: 'name words', id: 'goods-name', title: v.goods.name }, ...words(v.goods.name)),
          v.goods.description ? el('div', { class: 'what', id: 'goods-description' }, v.goods.description) : undefined,
          itemLines(v.goods),
          price(v.goods.totalText, { id: 'amount' }),
        ),
      );
      setPhone(undefined);
      break;
    case 'pay': {
      const confirming = v.phase === 'confirming';
      const img = el('img', { src: v.qr.dataUrl, alt: '支付二维码', id: 'qr', 'data-pay-url': v.payUrl });
      fill(
        el(
          'div',
          { class: `pay${confirming ? ' confirming' : ''}` },
          img,
          el(
            'div',
            { class: 'info' },
            el('div', { id: 'phase' }, v.title),
            el('div', { class: 'name words', title: v.goods.name }, ...words(v.goods.name)),
            price(v.amountText, { id: 'amount' }),
            el('div', { class: 'countdown', id: 'countdown' }, `剩余 ${v.countdown.text}`),
          ),
        ),
      );
      setPhone(v.payUrl);
      break;
    }
    case 'progress':
      fill(
        el(
          'div',
          { class: 'center', id: 'progress-view' },
          el('div', { class: 'spinner' }),
          el('div', { class: 't' }, v.title),
          v.goods ? goodsLine(v.goods) : undefined,
        ),
      );
      break;
    case 'result': {
      const tone = v.outcome === 'paid' || v.outcome === 'owned' ? 'ok' : v.outcome === 'cancelled' || v.outcome === 'expired' ? 'neutral' : 'bad';
      // A payment's own reason (余额不足) is for the user; an error message is for the developer: the dialog log.
      const detail = v.outcome === 'failed' ? v.detail : undefined;
      if (v.detail && !detail && v.detail !== loggedDetail) log('event', `${v.title}：${v.detail}`);
      loggedDetail = v.detail;
      fill(
        el(
          'div',
          { class: 'center' },
          tone === 'neutral' ? undefined : icon(tone === 'ok' ? 'ok' : 'alert', `outcome-icon ${tone}`),
          el('div', { class: `result ${tone}`, id: 'result', 'data-outcome': v.outcome }, v.title),
          v.goods ? goodsLine(v.goods) : undefined,
          detail ? el('div', { class: 'detail' }, detail) : undefined,
        ),
      );
      setPhone(undefined, v.outcome === 'expired');
      // The app stays open while a retry is offered there; any other outcome ends the purchase in the app too.
      if (v.outcome !== 'failed') setApp(undefined);
      break;
    }
    case 'resumed': {
      const plays = v.result.directives.filter((d) => (d as { type?: unknown })?.type === 'AudioPlayer.Play');
      fill(
        el(
          'div',
          { class: 'center' },
          icon('ok', 'outcome-icon ok'),
          el('div', { class: 'result ok', id: 'result', 'data-outcome': 'resumed' }, v.title),
          v.result.outputSpeech ? el('div', { class: 'what' }, v.result.outputSpeech) : undefined,
        ),
      );
      if (plays.length === 0) setPhone(undefined);
      break;
    }
  }
  setActions(v.actions);
}

// ── icons: inline SVG (a speaker's browser may have no emoji font) ──

const ICONS: Record<string, string> = {
  prev: '<path d="M6 6h2v12H6zM9.5 12l8.5 6V6z"/>',
  next: '<path d="M16 6h2v12h-2zM6 18l8.5-6L6 6z"/>',
  play: '<path d="M8 5v14l11-7z"/>',
  pause: '<path d="M6 5h4v14H6zM14 5h4v14h-4z"/>',
  lock: '<path d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 0 1 6 0v3z"/>',
  music: '<path d="M12 3v10.55A4 4 0 1 0 14 17V7h4V3z"/>',
  ok: '<path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1.6 14.6-4.2-4.2 1.4-1.4 2.8 2.8 5.8-5.8 1.4 1.4z"/>',
  alert: '<path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2zm0-4h-2V7h2z"/>',
  link: '<path d="M10.6 13.4a1 1 0 0 1 0-1.4l3.5-3.5a1 1 0 1 1 1.4 1.4L12 13.4a1 1 0 0 1-1.4 0zM8.5 18.5a3.5 3.5 0 0 1-2.5-6l2.1-2.1 1.4 1.4-2.1 2.1a1.5 1.5 0 0 0 2.1 2.1l2.1-2.1 1.4 1.4-2.1 2.1a3.5 3.5 0 0 1-2.4 1.1zm7.4-4.9-1.4-1.4 2.1-2.1a1.5 1.5 0 0 0-2.1-2.1l-2.1 2.1-1.4-1.4 2.1-2.1a3.5 3.5 0 0 1 5 5z"/>',
};
function icon(name: keyof typeof ICONS, cls = 'icon'): HTMLElement {
  const span = el('span', { class: cls, 'aria-hidden': 'true' });
  span.innerHTML = `<svg viewBox="0 0 24 24" fill="currentColor">${ICONS[name]}</svg>`;
  return span;
}
const lockBadge = (id?: string) => el('span', { class: 'lock', ...(id ? { id } : {}) }, icon('lock'), '需购买');

// ── images: http(s) only; a placeholder with the contentDescription when there is none or it fails to load ──

function picture(url: string | undefined, description: string | undefined, cls = '', empty?: () => HTMLElement): HTMLElement {
  const ph = () => el('div', { class: `ph ${cls}`.trim(), role: 'img', 'aria-label': description ?? '' }, description ?? '');
  if (!url || !/^https?:\/\//i.test(url)) return empty ? empty() : ph();
  const img = el('img', { src: url, alt: description ?? '', class: cls, loading: 'eager' }) as HTMLImageElement;
  img.addEventListener('error', () => img.replaceWith(ph()), { once: true });
  return img;
}
const imageOf = (i: Image | undefined, fallback: string) => picture(i?.source?.url, i?.contentDescription ?? fallback);

// ── the player screen ──

const clock = (s: number) => (Number.isFinite(s) && s >= 0 ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '0:00');

function button(id: string, name: keyof typeof ICONS, title: string, onClick: () => void, disabled = false, cls = ''): HTMLButtonElement {
  const b = el('button', { type: 'button', id, title, 'aria-label': title, class: cls }, icon(name)) as HTMLButtonElement;
  b.disabled = disabled;
  b.addEventListener('click', onClick);
  return b;
}

/** The player: art, title, subtitle, "第 2/10 首", progress, ⏮ ⏯ ⏭, and the playlist (locked items marked 需购买). */
function drawPlayer(state: 'playing' | 'paused' | 'locked' | 'stopped' | 'ended', item: PlayerItem, items: readonly PlayerItem[], notice?: string): void {
  screen.dataset.kind = 'playing';
  screen.dataset.state = state;
  const index = item.index;
  const strip = el(
    'ol',
    { class: 'strip', id: 'playlist' },
    ...items.map((it) => {
      const li = el(
        'li',
        {
          class: [it.index === index ? 'current' : '', it.locked ? 'locked' : ''].join(' ').trim(),
          'data-index': String(it.index),
          'data-token': it.token,
          title: it.title,
        },
        el('div', { class: 'n' }, `${it.index + 1}`),
        el('div', { class: 'one-line' }, it.title),
        it.locked ? lockBadge() : undefined,
      );
      li.addEventListener('click', () => {
        log('event', `点击列表「${it.title}」`);
        host.player.tap(it.index);
      });
      return li;
    }),
  );
  const badge = state === 'locked' ? lockBadge('locked-badge') : undefined;
  fill(
    el(
      'div',
      { class: `player ${state}`, id: 'now-playing', 'data-token': item.token },
      el(
        'div',
        { class: 'top' },
        el(
          'div',
          { class: 'art' },
          picture(item.artUrl, item.artDescription ?? item.title, '', () =>
            el('div', { class: 'ph no-art', role: 'img', 'aria-label': item.title }, icon('music', 'big-icon')),
          ),
        ),
        el(
          'div',
          { class: 'meta' },
          el(
            'div',
            { class: 'np' },
            state === 'playing' ? el('span', { class: 'eq' }, el('i'), el('i'), el('i')) : undefined,
            { playing: '正在播放', paused: '已暂停', locked: '未购买', stopped: '已停止', ended: '播放结束' }[state],
          ),
          el('div', { class: 'title words', id: 'now-playing-title', title: item.title }, ...words(item.title)),
          item.subtitle ? el('div', { class: 'subtitle one-line', id: 'now-playing-subtitle' }, item.subtitle) : undefined,
          el('div', { class: 'pos', id: 'now-playing-position' }, `第 ${index + 1}/${items.length} 首`, badge ? ' ' : '', badge ?? ''),
          notice
            ? el('div', { class: 'notice', id: 'player-notice' }, notice)
            : el(
                'div',
                { class: 'bar' },
                el('span', { id: 'elapsed' }, clock(audio.currentTime)),
                el('div', { class: 'track' }, el('i', { id: 'progress' })),
                el('span', { id: 'duration' }, clock(audio.duration)),
              ),
          el(
            'div',
            { class: 'controls' },
            button('prev', 'prev', '上一首', () => host.previous(), index === 0),
            button(
              'toggle',
              state === 'playing' ? 'pause' : 'play',
              state === 'playing' ? '暂停' : '继续',
              () => (state === 'stopped' ? host.player.continue() : host.player.togglePause()),
              state === 'locked' || state === 'ended',
              'main',
            ),
            button('next', 'next', '下一首', () => host.next(), index >= items.length - 1),
            // The player's touch target sits in its own controls row: the art and the title keep the screen's height.
            touchButton('close', 'close'),
          ),
        ),
      ),
      strip,
    ),
  );
  strip.querySelector('li.current')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  setActions([]);
  setPhone(undefined);
}

function nowPlaying(p: PlayInfo): void {
  drawPlayer('playing', p.item, p.items);
  // Moving in the list is silent: the last words ("下一集需要购买") no longer stand.
  if (p.cause !== 'start') speechText.textContent = '';
  if (p.url) {
    audio.src = p.url;
    audio.currentTime = 0;
    audio.play().catch(() => {});
  } else audio.removeAttribute('src');
  log('event', `▶ ${p.title}（${p.position}）${p.resumed ? ' · 支付后继续' : ''}`);
}

audio.addEventListener('timeupdate', () => {
  const bar = document.getElementById('progress');
  if (bar && audio.duration > 0) bar.style.width = `${Math.min(100, (audio.currentTime / audio.duration) * 100)}%`;
  const e = document.getElementById('elapsed');
  if (e) e.textContent = clock(audio.currentTime);
  const d = document.getElementById('duration');
  if (d) d.textContent = clock(audio.duration);
});
audio.addEventListener('ended', () => host.ended());
audio.addEventListener('error', () => {
  if (audio.getAttribute('src')) log('event', `音频无法播放：${audio.currentSrc || audio.src}`);
});

// ── Display.RenderTemplate ──

function drawTemplate(t: TemplateInfo): void {
  screen.dataset.kind = 'template';
  screen.dataset.state = t.template.type;
  screen.dataset.token = t.token;
  const tpl = t.template;
  const text = (c: { title: string; description?: string } | undefined) => [
    el('div', { class: 't one-line', id: 'tpl-title', title: c?.title ?? '' }, ...words(c?.title ?? '')),
    c?.description ? el('div', { class: 'd', id: 'tpl-description' }, c.description) : undefined,
  ];
  switch (tpl.type) {
    case 'NewsBodyTemplate':
    case 'NewsBodyTemplate1': {
      const bg = tpl.backgroundImage ? picture(tpl.backgroundImage.source?.url, tpl.backgroundImage.contentDescription ?? '', 'bg') : undefined;
      fill(
        el(
          'div',
          { class: `tpl ${tpl.type === 'NewsBodyTemplate' ? 'news' : 'news1'}`, id: 'template' },
          bg,
          el('div', { class: 'shade' }),
          ...text(tpl.textContent),
        ),
      );
      break;
    }
    case 'TextBodyTemplate': {
      const [title, description] = text(tpl.textContent);
      title!.classList.remove('one-line');
      fill(el('div', { class: 'tpl text', id: 'template' }, title, description));
      break;
    }
    case 'HorizontialListTemplate':
      fill(
        el(
          'div',
          { class: 'tpl list', id: 'template' },
          el(
            'ol',
            { class: 'cards' },
            ...(tpl.listItems ?? []).map((li: ListItem) =>
              el(
                'li',
                { 'data-token': li.token },
                el('div', { class: 'img' }, imageOf(li.image, li.textContent?.title ?? '')),
                el('div', { class: 'ct one-line', title: li.textContent?.title ?? '' }, li.textContent?.title ?? ''),
                li.textContent?.description ? el('div', { class: 'cd' }, li.textContent.description) : undefined,
              ),
            ),
          ),
        ),
      );
      break;
  }
  setActions(['close']);
  setPhone(undefined);
}

function linkAccount(text: string): void {
  screen.dataset.kind = 'link-account';
  screen.dataset.state = '';
  fill(
    el(
      'div',
      { class: 'link-account', id: 'link-account' },
      icon('link', 'big-icon'),
      el('div', { class: 't' }, text),
      el('div', { class: 'desc' }, '关联后再对叮当说一次就好'),
    ),
  );
  setActions(['close']);
  setPhone(undefined);
}

/**
 * An answer with speech only (no template, no playlist, no purchase): the
 * screen shows what was asked and answered, instead of keeping an older
 * template or card. The player and a running purchase keep their screens.
 */
let asked = '';
let answered = '';
let drawnAtAsk = 0;
function replyCard(): void {
  if (drawn !== drawnAtAsk || !answered || host.busy) return;
  const kind = screen.dataset.kind ?? '';
  if (kind === 'playing' && host.player.state !== 'stopped') return;
  screen.dataset.kind = 'reply';
  screen.dataset.state = '';
  fill(el('div', { class: 'reply', id: 'reply' }, el('div', { class: 'q one-line' }, `“${asked}”`), el('div', { class: 'a', id: 'reply-text' }, answered)));
  setActions([]);
  setPhone(undefined);
}

function listening(open: boolean): void {
  show(replyCard);
  mic.hidden = !open;
  if (open) $<HTMLInputElement>('utterance').focus();
}

companion.on('render', (v) => show(() => draw(v), isSuccess(v)));
companion.on('countdown', (c) => {
  const e = document.getElementById('countdown');
  if (e) e.textContent = `剩余 ${c.text}`;
});
companion.on('state', (s) => {
  log('event', `状态 ${s.previous ?? '—'} → ${s.state}`);
  chart.state(s.state, s.previous);
});
companion.on('connection', (s) => {
  conn.textContent = { connecting: '连接中…', open: '● 已连接', closed: '○ 未连接', polling: '◐ 轮询' }[s];
});
companion.on('rejected', (r) => log('event', `拒绝了一条推送：${r.reason}`));
companion.on('error', (e) => log('event', `错误 ${e.code}：${e.message}`));
host.on('speak', (e) => {
  say(e.text);
  log(e.from, e.text);
  if (e.from !== 'device') answered = e.text;
});
// The player's screens and sound wait, in order, behind a success moment (show()).
host.on('play', (p) => show(() => nowPlaying(p)));
host.on('locked', (e) =>
  show(() => {
    audio.pause();
    drawPlayer('locked', e.item, e.items, e.text);
  }),
);
host.on('playlistEnd', (e) =>
  show(() => {
    const last = e.items.at(-1);
    if (last) drawPlayer('ended', last, e.items, '播放完了');
  }),
);
host.on('pause', (e) =>
  show(() => {
    if (e.paused) audio.pause();
    else audio.play().catch(() => {});
    const cur = host.player.current;
    if (cur) drawPlayer(e.paused ? 'paused' : 'playing', cur, host.player.items);
  }),
);
host.on('playerStop', () => show(() => audio.pause()));
// Stopped at an item (not bought, the platform out of reach): the reason stays on the screen; ⏯ asks again.
host.on('playerStopped', (e) =>
  show(() => {
    audio.pause();
    drawPlayer('stopped', e.item, e.items, e.text);
    log('event', `■ 停在「${e.item.title}」：${e.reason}`);
  }),
);
host.on('template', (t) => show(() => drawTemplate(t)));
host.on('linkAccount', (e) => show(() => linkAccount(e.text)));
host.on('listen', (e) => listening(e.open));
host.on('platformError', (e) => {
  retCode.hidden = false;
  retCode.textContent = `平台返回码 ${e.code}`;
  retCode.title = e.reason;
  log('event', `技能的回答未通过平台检查：${e.code} ${e.reason}`);
});
host.on('failure', (e) => log('event', e.message));
host.on('end', (r) => log('event', `购买结束：${r.outcome}${r.paid ? '（已支付）' : ''}`));

/** The most characters of one utterance the platform takes (the sandbox's MAX_UTTERANCE_CHARS, our own bound): a longer one is not sent. */
const MAX_UTTERANCE_CHARS = 64;

async function hear(text: string): Promise<void> {
  const t = text.trim();
  if (!t) return;
  log('user', t);
  if (t.length > MAX_UTTERANCE_CHARS) {
    // A speaker's recogniser hands over one short request; the platform would refuse this one (400), which is no network problem.
    log('event', `一句话最多 ${MAX_UTTERANCE_CHARS} 个字，这句有 ${t.length} 个字，没有发给平台`);
    say('这句话太长了，请说短一点。');
    return;
  }
  mic.hidden = true;
  retCode.hidden = true;
  asked = t;
  answered = '';
  drawnAtAsk = drawn;
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
  log('event', mode === 'screenless' ? '手机打开叮当APP' : '手机扫码，打开支付页');
  phone.src = url;
});
// Screenless: the purchase goes to the DingDang app (pay2); its page on the phone.
host.on('purchase', (e) => {
  if (e.purchaseId !== undefined) setApp(`${config.platformUrl.replace(/\/+$/, '')}/app/${encodeURIComponent(e.purchaseId)}`);
});
const aloud = $<HTMLInputElement>('aloud');
if (!('speechSynthesis' in window)) aloud.disabled = true;
aloud.addEventListener('change', () => {
  speakAloud = aloud.checked;
  if (!speakAloud && 'speechSynthesis' in window) speechSynthesis.cancel();
});
window.addEventListener('pagehide', () => host.stop());
(window as unknown as { speaker: unknown }).speaker = { host, companion, hear, paints, size, chart, mode };
document.body.dataset.ready = 'true';
