/**
 * The audiobook skill's custom-skill endpoint, on the skill kit
 * (`dingdang-pay/skill`), speaking only DingDang's protocol
 * (SKILL-PROTOCOL.md):
 *
 * * `LaunchRequest` ("打开有声书"): a welcome; the session stays open (the mic
 *   opens again); on a screen speaker the albums as a `HorizontialListTemplate`.
 * * `IntentRequest` `play` {album, index}: a free episode, or a paid one the
 *   user owns → `AudioPlayer.Play` with a playlist that goes on through the
 *   album, unbought episodes marked `pay: true` (no url); on a screen speaker
 *   also the album window as a `HorizontialListTemplate` (owned / free / paid).
 *   A paid one not owned → the Charge + "这是付费内容，需要购买才能播放哦".
 *   No album → `Dialog.ElicitSlot` for it.
 * * `IntentRequest` `buy` {album, index?}: the Charge.
 * * `Display.ElementSelected` {token = an episode's itemId}: the player reached
 *   a paid item, or the user picked an episode on the list → play it, or the
 *   Charge for it.
 * * `Connections.Response` Charge (flow C): the order named by `partnerOrderId`
 *   → its episode → the playlist from it. Within the platform's 1000 ms budget:
 *   when the delivery notification has not arrived yet, the skill confirms
 *   the payment by order query (short timeout) and delivers through the same
 *   exactly-once path; otherwise it says the payment is being confirmed.
 * * `IntentRequest` `purchases` ("我买过什么", "我的购买记录"): the episodes the
 *   user bought (newest first, from the store's purchase history; refunded
 *   and taken back ones left out) said as "你买过：万古神帝第4集、第5集", or
 *   "你还没有买过内容"; on a screen speaker also the list of them
 *   (`HorizontialListTemplate`, a tap plays the episode).
 * * `SessionEndedRequest`: a goodbye.
 *
 * Identity: the pay interfaces' `userToken` is the partner's own stable user
 * id. A user without a linked account (the example does not require
 * linking) is known by the platform's `userId` — stable while the user keeps
 * following the skill; the partner id is derived from it (`dd:<userId>`). A
 * linked user's request carries `accessToken`; the accounts table
 * (accounts.ts) maps it to the partner id, the same for every token of the
 * account. The `accessToken` itself is never the key: it rotates, and it
 * would travel to the speaker and the phone in `chargeInfo.userId`.
 */
import { randomBytes } from 'node:crypto';
import type { ChargeInfo, PlaylistItem, SkillUser } from '../../protocol/index.js';
import { listPurchases, type PartnerStore } from '../../partner/index.js';
import {
  getSlotNumber,
  getSlotValue,
  horizontialList,
  intentHandler,
  isScreenDevice,
  requestHandler,
  SkillBuilder,
  type HandlerInput,
  type ResponseBuilder,
  type Skill,
} from '../../skill/index.js';
import { PartnerAccounts } from './accounts.js';
import { ALBUMS, episode, episodeByItemId, findAlbum, type Album, type Episode } from './catalog.js';
import { audioPath, DEFAULT_AUDIO_LINK_TTL_MS, freeAudioQuery, paidAudioQuery } from './audio-links.js';

export const PAID_SPEECH = '这是付费内容，需要购买才能播放哦';
export const WELCOME_SPEECH = '欢迎收听有声书，你可以说：我要听万古神帝第35集';
export const GOODBYE_SPEECH = '再见，有声书期待下次与你相遇';
/**
 * The skill's intent design as the platform learns it from the skill's
 * configuration (sample utterances, `{slot}` marks a slot; the sandbox's
 * stand-in for the platform's NLU matches these). The album is a custom
 * entity of the catalog's titles (SKILL-PROTOCOL §3: a `text` value, `value`
 * the title): "上一集" names no album, so it is no play request.
 */
export const AUDIOBOOK_INVOCATION_NAME = '有声书';
/** The album entity: every title in the catalog. */
export const ALBUM_ENTITY: { entity: Array<{ value: string }> } = { entity: ALBUMS.map((a) => ({ value: a.title })) };
export const AUDIOBOOK_INTENTS = [
  {
    intent: 'play',
    samples: [
      '我要听{album}第{index}集',
      '播放{album}第{index}集',
      '我想听{album}第{index}集',
      '听{album}第{index}集',
      // Without 第 ("万古神帝35集"); the number slot hears "35" and "三十五" alike.
      '我要听{album}{index}集',
      '播放{album}{index}集',
      '我想听{album}{index}集',
      '听{album}{index}集',
      // Just the episode, no verb ("万古神帝第三十五集", "万古神帝35集").
      '{album}第{index}集',
      '{album}{index}集',
      '我要听{album}',
      '播放{album}',
      '我想听{album}',
    ],
    slots: { album: ALBUM_ENTITY, index: 'number' },
  },
  {
    intent: 'buy',
    samples: [
      '我要买{album}第{index}集',
      '我想买{album}第{index}集',
      '购买{album}第{index}集',
      '买{album}第{index}集',
      '我要买{album}{index}集',
      '我想买{album}{index}集',
      '购买{album}{index}集',
      '买{album}{index}集',
      '购买{album}',
      '我要买{album}',
      '我想买{album}',
      '买{album}',
    ],
    slots: { album: ALBUM_ENTITY, index: 'number' },
  },
  {
    // Purchase history (listPurchases of the partner kit).
    intent: 'purchases',
    samples: [
      '我买过什么',
      '我买过哪些',
      '我买了什么',
      '我买了哪些',
      '我都买了什么',
      '我都买过什么',
      '我的购买记录',
      '查看购买记录',
      '查一下我的购买记录',
      '我买过的内容',
    ],
    slots: {},
  },
] as const satisfies ReadonlyArray<{ intent: string; samples: readonly string[]; slots: Record<string, AudiobookSlotKind> }>;

/** A slot kind of the skill record (the sandbox config's: `text`, `number` or a custom entity). */
export type AudiobookSlotKind = 'text' | 'number' | { entity: Array<{ value: string; synonyms?: string[] }> };

export const NO_PURCHASES_SPEECH = '你还没有买过内容';
/** Purchases read for "我买过什么" (one page of the history), and how many episodes are said. */
const HISTORY_PAGE = 20;
const HISTORY_SPOKEN = 8;

/** "万古神帝第4集、第5集，斗破苍穹第6集": episodes grouped by album (albums in the order given, episodes ascending). */
export function purchaseList(eps: readonly Episode[]): string {
  const groups = new Map<string, number[]>();
  for (const ep of eps) {
    const g = groups.get(ep.album.title) ?? [];
    g.push(ep.index);
    groups.set(ep.album.title, g);
  }
  return [...groups]
    .map(
      ([title, idx]) =>
        `${title}${[...idx]
          .sort((a, b) => a - b)
          .map((i) => `第${i}集`)
          .join('、')}`,
    )
    .join('，');
}

/** How many episodes one playlist carries, from the requested one on. */
export const PLAYLIST_LENGTH = 10;

export interface AudiobookSkillOptions {
  skillId: string;
  skillSecret: string;
  store: PartnerStore;
  /** Base URL of this server, for audio links. */
  publicUrl: () => string;
  /**
   * Signs the audio links (audio-links.ts; our own extension): the example's
   * own secret, not `skillSecret`. Default a random one per skill — the
   * server that serves `/audio/` must be given the same.
   */
  audioSecret?: string;
  /** How long a paid episode's audio link works; default 6 h. */
  audioLinkTtlMs?: number;
  /** Clock of the audio links' expiry (epoch ms); default `Date.now`. */
  audioClock?: () => number;
  /**
   * The Charge response arrived before the delivery notification: confirm
   * the payment with the platform (order query) and deliver through the
   * exactly-once path. Resolves true when the order is delivered afterwards.
   * Must stay well inside the platform's 1000 ms budget.
   */
  confirmPaid?: (tradeNo: string) => Promise<boolean>;
  /** Upper bound for `confirmPaid` (default 600 ms). */
  confirmTimeoutMs?: number;
  /** The accounts table (token → partner id) of linked users; default an empty one. */
  accounts?: PartnerAccounts;
  now?: () => number;
}

/**
 * The partner's stable user id for a platform user (see the file comment):
 * with a token, its account in `accounts`; without, `dd:<userId>`.
 */
export function partnerUserId(user: SkillUser, accounts?: PartnerAccounts): string {
  return accounts ? accounts.partnerIdOf(user) : PartnerAccounts.unlinkedId(user.userId);
}

export function chargeInfo(ep: Episode, userId: string): ChargeInfo {
  return {
    name: ep.title,
    description: `购买《${ep.album.title}》第${ep.index}集，永久收听`,
    userId,
    items: [{ itemId: ep.itemId, itemName: ep.title, price: ep.album.price, count: 1, totalFee: ep.album.price }],
  };
}

const timeout = <T>(p: Promise<T>, ms: number, fallback: T) =>
  new Promise<T>((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      () => (clearTimeout(t), resolve(fallback)),
    );
  });

export function createAudiobookSkill(options: AudiobookSkillOptions): Skill {
  const { skillId, skillSecret, store } = options;
  const confirmMs = options.confirmTimeoutMs ?? 600;
  const accounts = options.accounts ?? new PartnerAccounts();
  const audioSecret = options.audioSecret ?? randomBytes(32).toString('hex');
  const linkTtl = options.audioLinkTtlMs ?? DEFAULT_AUDIO_LINK_TTL_MS;
  const audioClock = options.audioClock ?? Date.now;
  /** Free episodes: an open link; paid ones: signed for this user, expiring (audio-links.ts). */
  const audioUrl = (user: string, ep: Episode) =>
    `${options.publicUrl()}${audioPath(ep.itemId)}${ep.free ? freeAudioQuery(audioSecret, ep.itemId) : paidAudioQuery(audioSecret, ep.itemId, user, audioClock() + linkTtl)}`;

  const owns = async (user: string, ep: Episode) => ep.free || (await store.ownsItem(skillId, user, ep.itemId));

  /** The playlist from `from` on: owned and free episodes playable, the rest `pay: true` without a url. */
  async function playlist(user: string, from: Episode): Promise<PlaylistItem[]> {
    const items: PlaylistItem[] = [];
    const last = Math.min(from.album.episodes, from.index + PLAYLIST_LENGTH - 1);
    for (let i = from.index; i <= last; i++) {
      const ep = episode(from.album, i)!;
      const info = { title: ep.title, subtitle: `《${ep.album.title}》有声书` };
      if (await owns(user, ep)) {
        items.push({ stream: { url: audioUrl(user, ep), token: ep.itemId }, info });
      } else items.push({ stream: { url: '', token: ep.itemId }, info: { ...info, subtitle: `需购买 · ${ep.album.price / 100}元` }, pay: true });
    }
    return items;
  }

  /** The album window around `from` as a list the user can pick from (screen speakers only). */
  async function albumList(input: HandlerInput, user: string, from: Episode, rb: ResponseBuilder): Promise<void> {
    if (!isScreenDevice(input)) return;
    const first = Math.max(1, Math.min(from.index, from.album.episodes - 5));
    const eps = Array.from({ length: Math.min(6, from.album.episodes) }, (_, k) => episode(from.album, first + k)).filter((e): e is Episode => !!e);
    const items = [];
    for (const ep of eps) {
      const state = ep.free ? '免费' : (await owns(user, ep)) ? '已购买' : `${ep.album.price / 100}元`;
      items.push({ token: ep.itemId, title: `第${ep.index}集`, description: state });
    }
    rb.renderTemplate(`album-${from.album.id}`, horizontialList(items));
  }

  async function play(input: HandlerInput, user: string, ep: Episode, lead?: string) {
    const rb = input.responseBuilder;
    if (!(await owns(user, ep))) return rb.speak(PAID_SPEECH).charge(chargeInfo(ep, user)).getResponse();
    rb.speak(`${lead ?? ''}开始播放${ep.album.title}第${ep.index}集`).play(await playlist(user, ep));
    await albumList(input, user, ep, rb);
    return rb.getResponse();
  }

  async function firstUnowned(user: string, album: Album): Promise<Episode | undefined> {
    for (let i = album.freeEpisodes + 1; i <= album.episodes; i++) {
      const ep = episode(album, i)!;
      if (!(await owns(user, ep))) return ep;
    }
    return undefined;
  }

  const launch = requestHandler('LaunchRequest', async (input) => {
    const rb = input.responseBuilder.speak(WELCOME_SPEECH).keepSession();
    if (isScreenDevice(input))
      rb.renderTemplate(
        'albums',
        horizontialList(ALBUMS.map((a) => ({ token: `${a.id}001`, title: a.title, description: `${a.episodes}集 · 前${a.freeEpisodes}集免费` }))),
      );
    return rb.getResponse();
  });

  const playOrBuy = (name: 'play' | 'buy') =>
    intentHandler(name, async (input) => {
      const rb = input.responseBuilder;
      const user = partnerUserId(input.user, accounts);
      const albumName = getSlotValue(input, 'album');
      if (albumName === undefined) return rb.speak('你想听哪本书？比如：万古神帝').elicitSlot('album').getResponse();
      const album = findAlbum(albumName);
      if (!album) return rb.speak(`没有找到《${albumName}》，你可以说：我要听万古神帝第35集`).keepSession().getResponse();
      let index = getSlotNumber(input, 'index');
      if (index === undefined && name === 'play') index = 1;
      if (index === undefined) {
        const ep = await firstUnowned(user, album);
        if (!ep) return rb.speak(`${album.title}的全部剧集你都已经拥有了`).getResponse();
        index = ep.index;
      }
      const ep = episode(album, index);
      if (!ep) return rb.speak(`${album.title}只有${album.episodes}集，你想听第几集？`).elicitSlot('index').getResponse();
      if (name === 'buy') {
        if (await owns(user, ep)) return rb.speak(`你已经拥有${ep.title}，可以直接收听`).getResponse();
        return rb
          .speak(`${ep.title}，价格${ep.album.price / 100}元`)
          .charge(chargeInfo(ep, user))
          .getResponse();
      }
      return play(input, user, ep);
    });

  const selected = requestHandler('Display.ElementSelected', async (input) => {
    const ep = episodeByItemId(input.request.token);
    if (!ep) return input.responseBuilder.speak('这一项暂时不能播放').getResponse();
    return play(input, partnerUserId(input.user, accounts), ep);
  });

  const chargeDone = requestHandler('Connections.Response', async (input) => {
    const rb = input.responseBuilder;
    const user = partnerUserId(input.user, accounts);
    const tradeNo = input.request.payload.partnerOrderId;
    const order = await store.getOrder(tradeNo).catch(() => undefined);
    const ep = order && episodeByItemId(order.details[0]?.itemId ?? '');
    if (!order || !ep || order.userToken !== user || order.skillId !== skillId) return rb.speak('没有找到这笔订单').getResponse();
    if (!(await owns(user, ep)) && options.confirmPaid) await timeout(options.confirmPaid(tradeNo), confirmMs, false);
    if (await owns(user, ep)) return play(input, user, ep, '购买成功，');
    return rb.speak(`支付结果确认中，请稍后再说：播放${ep.album.title}第${ep.index}集`).getResponse();
  });

  const purchases = intentHandler('purchases', async (input) => {
    const rb = input.responseBuilder;
    const user = partnerUserId(input.user, accounts);
    const page = await listPurchases(store, skillId, user, { limit: HISTORY_PAGE });
    const eps: Episode[] = [];
    for (const p of page.purchases) {
      if (p.status === 'revoked') continue;
      for (const d of p.details) {
        const ep = episodeByItemId(d.itemId);
        if (ep && !eps.some((e) => e.itemId === ep.itemId)) eps.push(ep);
      }
    }
    if (eps.length === 0) return rb.speak(NO_PURCHASES_SPEECH).getResponse();
    const said = eps.slice(0, HISTORY_SPOKEN);
    const more = eps.length > said.length || page.nextCursor !== null;
    rb.speak(`你买过：${purchaseList(said)}${more ? '等' : ''}`);
    if (isScreenDevice(input)) {
      rb.renderTemplate(
        'purchases',
        horizontialList(eps.slice(0, 10).map((ep) => ({ token: ep.itemId, title: `第${ep.index}集`, description: ep.album.title }))),
      ).keepSession();
    }
    return rb.getResponse();
  });

  const ended = requestHandler('SessionEndedRequest', (input) => input.responseBuilder.speak(GOODBYE_SPEECH).getResponse());

  const help = {
    canHandle: () => true,
    handle: (input: HandlerInput) => input.responseBuilder.speak('你可以说：我要听万古神帝第35集，或者：购买斗破苍穹').keepSession().getResponse(),
  };

  return new SkillBuilder({ skillSecret, skillId, ...(options.now ? { now: options.now } : {}) })
    .addRequestHandlers(launch, playOrBuy('play'), playOrBuy('buy'), purchases, selected, chargeDone, ended, help)
    .create();
}
