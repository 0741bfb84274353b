/**
 * The speaker's host runtime, as small as it gets, shared by the demo's web
 * page (screen), the terminal speaker (screenless) and `simulate`:
 *
 *   what the user says ─► the running purchase, if it is one of the flow's
 *                          words ("买", "取消", "支付好了吗" …)
 *                       ├► the companion's player, if a playlist is loaded
 *                          and it is one of its words ("播放下一集", "上一首",
 *                          "暂停", "继续播放"; our decision: the speaker's own)
 *                       └► otherwise the platform (utterance → skill), whose
 *                          answer either starts a purchase (a Charge
 *                          directive) or is spoken, played (AudioPlayer.Play
 *                          → the player) and shown (Display.RenderTemplate).
 *
 * The platform's reply is the sandbox's `POST /sandbox/v1/say` (our own
 * extension: DingDang does not publish its device ↔ platform link): `speech`
 * to say, the skill's `answer` in DingDang's real format, `error` when the
 * platform refused the answer, the effective `shouldEndSession`.
 *
 * Browser-safe: imports only the device companion and the sandbox's
 * browser-safe client request (no Node built-ins).
 */
import { EventEmitter } from 'eventemitter3';
import {
  findChargeDirective,
  findPlayDirective,
  stripWakeWord,
  type DeviceCompanion,
  type DevicePlayer,
  type PlayerItem,
  type PurchaseResult,
  type SelectCause,
  type StopReason,
  type TouchTarget,
} from '../device/index.js';
import type { DisplayTemplate, DisplayTemplateType, SkillResponseBody } from '../protocol/skill-types.js';
import { requestJson } from '../sandbox/client.js';

/**
 * What the platform answers to an utterance, as it arrives (the sandbox's
 * `POST /sandbox/v1/say`; loosely typed: the host reads it with
 * `parseSayReply`, which keeps only well-typed fields).
 */
export interface SayReply {
  matched: boolean;
  skillId?: string;
  requestType?: string;
  /** The skill's answer in DingDang's format: `outputSpeech: { type: 'PlainText', text }`, `directives`, `card`. */
  answer?: { outputSpeech?: unknown; shouldEndSession?: boolean; directives?: unknown[]; card?: unknown };
  error?: { code?: unknown; reason?: unknown };
  speech?: string;
  shouldEndSession?: boolean;
  sessionId?: string;
  purchaseId?: string;
  /** The skill request that produced the answer, when the platform sends it back (kept for the resume). */
  request?: unknown;
}

/** A `/sandbox/v1/say` reply as the host acts on it (contract between the sandbox and the speaker host). */
export interface PlatformReply {
  /** A skill took the utterance (or the open session's skill did). */
  matched: boolean;
  skillId?: string;
  /** What the platform sent the skill (`IntentRequest`, `LaunchRequest` …). */
  requestType?: string;
  /** The skill's answer, checked by the platform, in DingDang's format. */
  answer?: SkillResponseBody;
  /** The platform refused the answer or could not call the skill (then no `answer`): a platform return code. */
  error?: { code: number; reason: string };
  /** What the speaker says now: the answer's text or the platform's fallback line. */
  speech: string;
  /** Effective value (DingDang's default is true); false: the mic opens again. */
  shouldEndSession: boolean;
  sessionId?: string;
  /** The purchase the platform opened for a Charge answer. */
  purchaseId?: string;
  request?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A `/sandbox/v1/say` reply as the host uses it, from any JSON value: fields
 * of the wrong type are dropped, never trusted. (A bare-string `outputSpeech`
 * is read as PlainText: older sandboxes sent it so.)
 */
export function parseSayReply(body: unknown): PlatformReply {
  const b = isObject(body) ? body : {};
  const reply: PlatformReply = { matched: b.matched === true, speech: '', shouldEndSession: true };
  if (isObject(b.answer)) {
    const a = b.answer;
    const os = a.outputSpeech;
    const text = typeof os === 'string' ? os : isObject(os) && typeof os.text === 'string' ? os.text : '';
    const answer: SkillResponseBody = { outputSpeech: { type: 'PlainText', text } };
    if (typeof a.shouldEndSession === 'boolean') answer.shouldEndSession = a.shouldEndSession;
    if (Array.isArray(a.directives)) answer.directives = a.directives as SkillResponseBody['directives'];
    if (isObject(a.card) && a.card.type === 'LinkAccount') answer.card = { type: 'LinkAccount' };
    reply.answer = answer;
  }
  if (isObject(b.error) && typeof b.error.code === 'number')
    reply.error = { code: b.error.code, reason: typeof b.error.reason === 'string' ? b.error.reason : '' };
  reply.speech = typeof b.speech === 'string' ? b.speech : (reply.answer?.outputSpeech.text ?? '');
  reply.shouldEndSession = typeof b.shouldEndSession === 'boolean' ? b.shouldEndSession : (reply.answer?.shouldEndSession ?? true);
  for (const k of ['skillId', 'requestType', 'sessionId', 'purchaseId'] as const) if (typeof b[k] === 'string') reply[k] = b[k];
  if (b.request !== undefined) reply.request = b.request;
  return reply;
}

/** How the player came to an item (the device link's `SelectCause`). */
export type MoveCause = SelectCause;

/** An item starts playing. `title`, `subtitle`, `url` are the item's (kept flat for simple consumers). */
export interface PlayInfo {
  title: string;
  subtitle?: string;
  url?: string;
  item: PlayerItem;
  /** The whole playlist, locked items included. */
  items: readonly PlayerItem[];
  index: number;
  /** "第 2/10 首". */
  position: string;
  cause: MoveCause;
  /** The first item of a playlist that came with the resume after a payment (flow C). */
  resumed: boolean;
}

export interface TemplateInfo {
  /** The directive's token. */
  token: string;
  template: DisplayTemplate;
  resumed: boolean;
}

export type SpeechSource = 'device' | 'skill' | 'host' | 'platform';

export interface HostEvents {
  /** Something the speaker says. */
  speak: (e: { text: string; from: SpeechSource }) => void;
  /** The player starts an item (from an `AudioPlayer.Play`, next/previous, the end of the previous item). */
  play: (e: PlayInfo) => void;
  /** The player came to a `pay: true` item ("需购买"): the platform is asked (Display.ElementSelected to the skill). `text` is for the screen. */
  locked: (e: { item: PlayerItem; items: readonly PlayerItem[]; index: number; position: string; cause: MoveCause; text: string }) => void;
  /** The player stopped at an item and why (a purchase that did not happen, the platform out of reach; `text` is also spoken). */
  playerStopped: (e: { item: PlayerItem; items: readonly PlayerItem[]; index: number; position: string; reason: StopReason; text: string }) => void;
  /** The last item of the playlist ended. */
  playlistEnd: (e: { items: readonly PlayerItem[] }) => void;
  /** Paused / continued by the user. */
  pause: (e: { paused: boolean; item: PlayerItem }) => void;
  /** The player stopped (a purchase started, the user closed it). */
  playerStop: () => void;
  /** A `Display.RenderTemplate` to show (screen speakers; a screenless host ignores it). */
  template: (e: TemplateInfo) => void;
  /** The skill answered `card: { type: "LinkAccount" }`: the user links the account in the DingDang app. */
  linkAccount: (e: { text: string }) => void;
  /** After every answer: `open` true when the session goes on (shouldEndSession false) and the mic listens again. */
  listen: (e: { open: boolean }) => void;
  /** The platform refused the skill's answer or could not call the skill: its return code (the developer's clue). */
  platformError: (e: { code: number; reason: string }) => void;
  /** A purchase started (the skill answered with a Charge directive). */
  purchase: (e: { purchaseId: string | undefined }) => void;
  /** A purchase ended. */
  end: (r: PurchaseResult) => void;
  /** The platform could not be reached, or a purchase could not start. */
  failure: (e: { message: string }) => void;
}

export interface HearResult {
  /** `device`: a flow word for the running purchase; `player`: a player word; `platform`: routed to a skill; `none`: not understood. */
  handledBy: 'device' | 'player' | 'platform' | 'none' | 'error';
  intent?: string;
  purchase?: boolean;
}

const NOT_UNDERSTOOD = '抱歉，我没听懂。你可以说：我要听万古神帝第35集';
/** When the platform gave no fallback line of its own. */
const PLATFORM_FALLBACK = '抱歉，这个技能暂时无法回答，请稍后再试。';
export const LINK_ACCOUNT_TEXT = '请在叮当APP中完成账号关联';
const LOCKED_TEXT: Record<MoveCause, string> = {
  next: '下一集需要购买',
  ended: '下一集需要购买',
  voice: '下一集需要购买',
  previous: '上一集需要购买',
  start: '这一集需要购买',
  tap: '这一集需要购买',
  retry: '这一集需要购买',
};
const TEMPLATE_TYPES: readonly DisplayTemplateType[] = ['NewsBodyTemplate', 'NewsBodyTemplate1', 'TextBodyTemplate', 'HorizontialListTemplate'];

/** The `Display.RenderTemplate` directives among a skill's directives (well-formed ones only). */
export function renderTemplates(directives: unknown): Array<{ token: string; template: DisplayTemplate }> {
  if (!Array.isArray(directives)) return [];
  const out: Array<{ token: string; template: DisplayTemplate }> = [];
  for (const d of directives) {
    if (!isObject(d) || d.type !== 'Display.RenderTemplate' || !isObject(d.template)) continue;
    if (!TEMPLATE_TYPES.includes(d.template.type as DisplayTemplateType)) continue;
    out.push({ token: typeof d.token === 'string' ? d.token : '', template: d.template as unknown as DisplayTemplate });
  }
  return out;
}

export class SpeakerHost extends EventEmitter<HostEvents> {
  private current: Promise<PurchaseResult> | undefined;
  private readonly offs: Array<() => void> = [];

  constructor(
    readonly companion: DeviceCompanion,
    private readonly platformSay: (text: string) => Promise<SayReply>,
  ) {
    super();
    const onSpeak = (e: { text: string }) => this.emit('speak', { text: e.text, from: 'device' });
    // The resume's templates (the player loads the resume's playlist itself: companion.player).
    const onResume = (e: { directives: unknown[]; result: { shouldEndSession?: boolean } }) => {
      for (const t of renderTemplates(e.directives)) this.emit('template', { ...t, resumed: true });
      this.emit('listen', { open: e.result.shouldEndSession === false });
    };
    const onEnd = (r: PurchaseResult) => this.emit('end', r);
    companion.on('speak', onSpeak);
    companion.on('resume', onResume);
    companion.on('end', onEnd);
    this.offs.push(
      () => companion.off('speak', onSpeak),
      () => companion.off('resume', onResume),
      () => companion.off('end', onEnd),
    );
    const p = companion.player;
    p.on('play', (e) => {
      const info: PlayInfo = { title: e.item.title, item: e.item, items: e.items, index: e.index, position: e.position, cause: e.cause, resumed: e.resumed };
      if (e.item.subtitle !== undefined) info.subtitle = e.item.subtitle;
      if (e.item.url !== undefined) info.url = e.item.url;
      this.emit('play', info);
    });
    p.on('asking', (e) =>
      this.emit('locked', { item: e.item, items: e.items, index: e.index, position: e.position, cause: e.cause, text: LOCKED_TEXT[e.cause] }),
    );
    p.on('offer', (e) => this.emit('purchase', { purchaseId: e.purchaseId }));
    p.on('stopped', (e) => {
      if (e.reason === 'user') this.emit('playerStop');
      else this.emit('playerStopped', { item: e.item, items: e.items, index: e.index, position: e.position, reason: e.reason, text: e.text });
    });
    p.on('speak', (e) => this.emit('speak', { text: e.text, from: e.skill ? 'skill' : 'device' }));
    p.on('ended', (e) => this.emit('playlistEnd', e));
    p.on('paused', (e) => this.emit('pause', e));
  }

  /** The speaker's player (the companion's). */
  get player(): DevicePlayer {
    return this.companion.player;
  }

  /** True while a purchase runs. */
  get busy(): boolean {
    return this.companion.busy;
  }

  /** The running purchase, if any. */
  get purchase(): Promise<PurchaseResult> | undefined {
    return this.current;
  }

  /** Next item of the playlist (button, `/next`, "下一首"). False when nothing moved. */
  next(): boolean {
    return this.moved(() => this.player.next());
  }

  /** Previous item (button, `/prev`, "上一首"). False on the first item. */
  previous(): boolean {
    return this.moved(() => this.player.previous());
  }

  private moved(act: () => void): boolean {
    const { index, state } = this.player;
    act();
    return this.player.index !== index || this.player.state !== state;
  }

  /** The page's audio reached the end of the current item. */
  ended(): void {
    this.player.ended();
  }

  /** The user said `text`. */
  async hear(text: string): Promise<HearResult> {
    if (!text.trim()) return { handledBy: 'none' };
    // The wake word is the speaker's own: it never reaches the purchase, the player or a skill.
    const said = stripWakeWord(text);
    if (!said) {
      // Only the wake word: the speaker answers and listens.
      this.emit('speak', { text: '我在', from: 'host' });
      this.emit('listen', { open: true });
      return { handledBy: 'device', intent: 'wake' };
    }
    if (this.companion.busy) {
      const m = this.companion.say(said);
      if (m) return { handledBy: 'device', intent: m.intent };
    }
    const word = this.player.say(said);
    if (word) return { handledBy: 'player', intent: word };
    let reply: PlatformReply;
    try {
      reply = parseSayReply(await this.platformSay(said));
    } catch (e) {
      const message = `暂时连不上叮当平台：${e instanceof Error ? e.message : String(e)}`;
      this.emit('failure', { message });
      this.emit('speak', { text: '抱歉，网络好像出了点问题，请稍后再试。', from: 'host' });
      return { handledBy: 'error' };
    }
    if (reply.error) {
      // The platform refused the answer (or could not call the skill): its fallback line, and the code for the developer.
      this.emit('speak', { text: reply.speech || PLATFORM_FALLBACK, from: 'platform' });
      this.emit('platformError', { ...reply.error });
      this.emit('listen', { open: reply.shouldEndSession === false });
      return { handledBy: 'error' };
    }
    if (!reply.matched || !reply.answer) {
      this.emit('speak', { text: reply.speech || NOT_UNDERSTOOD, from: reply.speech ? 'platform' : 'host' });
      // Not understood inside an open session: the session stays, the mic listens again.
      this.emit('listen', { open: reply.shouldEndSession === false });
      return { handledBy: 'none' };
    }
    const answer = reply.answer;
    let charge: unknown;
    try {
      charge = findChargeDirective(answer.directives);
    } catch (e) {
      this.emit('failure', { message: (e as Error).message });
      this.emit('speak', { text: '这个商品暂时无法购买。', from: 'host' });
      return { handledBy: 'error' };
    }
    if (!charge) {
      // Something else to listen to, asked in the middle of a purchase: the user moved on, the purchase ends (cancelled).
      if (this.companion.busy && findPlayDirective(answer.directives)) this.companion.cancel();
      const speech = reply.speech || answer.outputSpeech.text;
      if (speech) this.emit('speak', { text: speech, from: 'skill' });
      if (answer.card?.type === 'LinkAccount') this.emit('linkAccount', { text: LINK_ACCOUNT_TEXT });
      this.carryOut(answer.directives, reply.skillId);
      this.emit('listen', { open: reply.shouldEndSession === false });
      return { handledBy: 'platform' };
    }
    // A new purchase replaces a running one (the user asked for something else).
    if (this.companion.busy) {
      // Whoever started it (a Charge answer, or the player at a paid item).
      const ended = new Promise((r) => this.companion.once('end', r));
      this.companion.cancel();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, 6000)))]);
      clearTimeout(timer);
    }
    try {
      const run = this.companion.purchaseFromResponse(answer, reply.request, reply.purchaseId !== undefined ? { purchaseId: reply.purchaseId } : {});
      if (!run) return { handledBy: 'platform' };
      // The speaker stops playing while it sells; the resume's AudioPlayer.Play starts it again.
      this.player.stop();
      this.current = run;
      this.emit('purchase', { purchaseId: reply.purchaseId });
      void run.then(() => {
        if (this.current === run) this.current = undefined;
      });
      return { handledBy: 'platform', purchase: true };
    } catch (e) {
      this.emit('failure', { message: (e as Error).message });
      return { handledBy: 'error' };
    }
  }

  /** Templates first (the screen behind), then the playlist (the player takes the screen). */
  private carryOut(directives: unknown, skillId: string | undefined): void {
    for (const t of renderTemplates(directives)) this.emit('template', { ...t, resumed: false });
    const play = findPlayDirective(directives);
    if (play) this.player.load(play, skillId !== undefined ? { skillId } : {});
  }

  /** A tap on the screen (targets of the current view's `actions`). */
  touch(target: TouchTarget): boolean {
    return this.companion.touch(target);
  }

  /** Stop the companion (ends a running purchase, closes sockets) and drop listeners. */
  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.player.stop();
    this.companion.stop();
    this.removeAllListeners();
  }
}

/**
 * `platformSay` over HTTP: POST `{ text, ...fields }` as JSON to `url` (the
 * sandbox's `/sandbox/v1/say`, or a page server forwarding to it), with the
 * typed client's request (timeout; a refusal throws `SandboxApiError`).
 */
export function httpSay(url: string, fields: Record<string, string>, timeoutMs = 15_000): (text: string) => Promise<PlatformReply> {
  return async (text) => parseSayReply(await requestJson(url, { method: 'POST', body: { ...fields, text }, call: `POST ${url}`, timeoutMs }));
}
