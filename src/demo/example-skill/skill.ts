/**
 * The audiobook skill's custom-skill endpoint (SPEC §3): the platform posts
 * `{ version, session, context.System{device, application, user}, request }`
 * signed with TSK-HMAC-SHA256-BASIC (SkillSecret) over the raw body.
 *
 * * `IntentRequest` `play` {album, index}: a free episode, or a paid one the
 *   user owns (store.ownsItem) → `AudioPlayer.Play`; a paid one not owned →
 *   the Charge directive + "这是付费内容，需要购买才能播放哦", session ends.
 * * `IntentRequest` `buy` {album, index?}: the Charge directive.
 * * `Connections.Response` Charge (flow C, after payment): the order named by
 *   `partnerOrderId` → its episode → `AudioPlayer.Play` once delivered. No
 *   `Dialog.*` directives, the session ends.
 */
import { createHmac } from 'node:crypto';
import {
  DEFAULT_TOLERANCE_MS,
  NonceGuard,
  validate,
  verifyHmac,
  type ChargeDirective,
  type Clock,
} from '../../protocol/index.js';
import type { PartnerStore } from '../../partner/index.js';
import { episode, episodeByItemId, findAlbum, type Episode } from './catalog.js';

export const PAID_SPEECH = '这是付费内容，需要购买才能播放哦';

export interface SkillHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Uint8Array;
}
export interface SkillHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface AudiobookSkillOptions {
  skillId: string;
  skillSecret: string;
  store: PartnerStore;
  /** Base URL of this server, for audio links. */
  publicUrl: () => string;
  /**
   * When the Charge response arrives before the delivery notification:
   * confirm the payment with the platform (order query) and deliver. Returns
   * true when the order is delivered afterwards.
   */
  confirmPaid?: (tradeNo: string) => Promise<boolean>;
  /** How long the Charge response waits for the delivery notification; default 3 s. */
  waitForDeliveryMs?: number;
  maxBodyBytes?: number;
  now?: Clock;
}

interface Slot {
  name?: string;
  value?: unknown;
}

function slotValue(slots: unknown, name: string): string | undefined {
  if (!slots || typeof slots !== 'object') return undefined;
  const list: Slot[] = Array.isArray(slots) ? (slots as Slot[]) : Object.entries(slots as Record<string, unknown>).map(([k, v]) => (typeof v === 'object' && v ? { name: k, ...(v as Slot) } : { name: k, value: v }));
  const s = list.find((x) => x?.name === name);
  const v = s?.value;
  return typeof v === 'string' || typeof v === 'number' ? String(v).trim() : undefined;
}

function reply(status: number, payload: unknown): SkillHttpResponse {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) }, body };
}

function answer(text: string, directives: unknown[] = [], shouldEndSession = true): SkillHttpResponse {
  return reply(200, { version: '1.0', response: { outputSpeech: text, directives, shouldEndSession } });
}

/** Token for an audio link, so paid audio is not served to anyone who guesses the URL. */
export function audioToken(secret: string, itemId: string): string {
  return createHmac('sha256', secret).update(`audio:${itemId}`).digest('hex').slice(0, 24);
}

export function playDirective(ep: Episode, baseUrl: string, secret: string) {
  const url = `${baseUrl}/audio/${ep.itemId}.wav?t=${audioToken(secret, ep.itemId)}`;
  return {
    type: 'AudioPlayer.Play',
    playBehavior: 'REPLACE_ALL',
    audioItem: {
      stream: { url, token: ep.itemId, offsetInMilliseconds: 0 },
      metadata: { title: ep.title, album: ep.album.title, index: ep.index },
    },
  };
}

export function chargeDirective(ep: Episode, userToken: string): ChargeDirective {
  const d: ChargeDirective = {
    type: 'Connections.SendRequest',
    name: 'Charge',
    payload: {
      chargeInfo: {
        name: ep.title,
        description: `购买《${ep.album.title}》第${ep.index}集，永久收听`,
        userId: userToken,
        items: [{ itemId: ep.itemId, itemName: ep.title, price: ep.album.price, count: 1, totalFee: ep.album.price }],
      },
    },
  };
  const v = validate('chargeDirective', d);
  if (!v.ok) throw new Error(`bad Charge directive: ${JSON.stringify(v.issues)}`);
  return d;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createAudiobookSkill(options: AudiobookSkillOptions) {
  const { skillId, skillSecret, store } = options;
  const now = options.now ?? (() => Date.now());
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const waitMs = options.waitForDeliveryMs ?? 3000;
  // Skill requests carry no nonceStr: their requestId is the replay key.
  const replay = new NonceGuard({ now, windowMs: 2 * DEFAULT_TOLERANCE_MS });

  const owns = async (user: string, ep: Episode) => ep.free || (await store.ownsItem(skillId, user, ep.itemId));

  async function play(user: string, ep: Episode): Promise<SkillHttpResponse> {
    if (await owns(user, ep)) return answer(`开始播放${ep.album.title}第${ep.index}集`, [playDirective(ep, options.publicUrl(), skillSecret)]);
    return answer(PAID_SPEECH, [chargeDirective(ep, user)]);
  }

  async function onIntent(user: string, intent: { name?: unknown; slots?: unknown }): Promise<SkillHttpResponse> {
    const name = String(intent?.name ?? '');
    const album = findAlbum(slotValue(intent?.slots, 'album'));
    const indexText = slotValue(intent?.slots, 'index');
    if (name !== 'play' && name !== 'buy') return answer('你可以说：我要听万古神帝第35集', [], false);
    if (!album) return answer('没有找到这本书，你可以说：我要听万古神帝第35集', [], false);
    let index = indexText === undefined ? undefined : Number(indexText);
    if (index === undefined) {
      if (name === 'play') index = 1;
      else {
        // buy without an episode: the first paid episode the user does not own
        for (let i = album.freeEpisodes + 1; i <= album.episodes; i++) {
          const ep = episode(album, i)!;
          if (!(await owns(user, ep))) {
            index = i;
            break;
          }
        }
        if (index === undefined) return answer(`${album.title}的全部剧集你都已经拥有了`);
      }
    }
    const ep = episode(album, index);
    if (!ep) return answer(`${album.title}只有${album.episodes}集`, [], false);
    if (name === 'buy') {
      if (await owns(user, ep)) return answer(`你已经拥有${ep.title}，可以直接收听`);
      return answer(`${ep.title}，价格${ep.album.price / 100}元`, [chargeDirective(ep, user)]);
    }
    return play(user, ep);
  }

  async function onChargeResponse(user: string, request: unknown): Promise<SkillHttpResponse> {
    const v = validate('chargeResponseEvent', request);
    if (!v.ok) return answer('支付结果无法识别');
    const tradeNo = v.value.payload.partnerOrderId;
    const order = await store.getOrder(tradeNo).catch(() => undefined);
    const ep = order && episodeByItemId(order.details[0]?.itemId ?? '');
    if (!order || !ep || order.userToken !== user || order.skillId !== skillId) return answer('没有找到这笔订单');
    const deadline = Date.now() + waitMs;
    while (!(await owns(user, ep)) && Date.now() < deadline) await sleep(100);
    if (!(await owns(user, ep)) && options.confirmPaid) await options.confirmPaid(tradeNo).catch(() => false);
    if (await owns(user, ep)) return answer(`购买成功，开始播放${ep.album.title}第${ep.index}集`, [playDirective(ep, options.publicUrl(), skillSecret)]);
    return answer(`支付结果确认中，请稍后再说：播放${ep.album.title}第${ep.index}集`);
  }

  /** The HTTP endpoint: verify, decode, answer. */
  return async function handle(req: SkillHttpRequest): Promise<SkillHttpResponse> {
    const raw = req.rawBody;
    if (raw.length > maxBodyBytes) return reply(413, { error: 'body too large' });
    const auth = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
    const v = verifyHmac(raw, typeof auth === 'string' ? auth : undefined, skillSecret, { now });
    if (!v.ok) return reply(401, { error: `signature: ${v.reason}` });
    let env: Record<string, any>;
    try {
      env = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch {
      return reply(400, { error: 'body is not JSON' });
    }
    if (!env || typeof env !== 'object' || !env.request || typeof env.request !== 'object') return reply(400, { error: 'no request' });
    const appId = env.context?.System?.application?.applicationId ?? env.session?.application?.applicationId;
    if (appId !== undefined && appId !== skillId) return reply(400, { error: 'another skill' });
    const requestId = env.request.requestId;
    if (typeof requestId === 'string' && requestId && !replay.check(requestId)) return reply(409, { error: 'replayed requestId' });
    const u = env.context?.System?.user ?? env.session?.user ?? {};
    const user = typeof u.accessToken === 'string' && u.accessToken ? u.accessToken : typeof u.userId === 'string' ? u.userId : '';
    if (!user) return reply(400, { error: 'no user' });
    switch (env.request.type) {
      case 'LaunchRequest':
        return answer('欢迎收听有声书，你可以说：我要听万古神帝第35集', [], false);
      case 'IntentRequest':
        return onIntent(user, env.request.intent ?? {});
      case 'Connections.Response':
        if (env.request.name === 'Charge') return onChargeResponse(user, env.request);
        return answer('好的');
      case 'SessionEndedRequest':
        return reply(200, { version: '1.0', response: { shouldEndSession: true } });
      default:
        return answer('这个请求我还不会处理');
    }
  };
}
