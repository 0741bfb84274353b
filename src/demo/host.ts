/**
 * The speaker's host runtime, as small as it gets, shared by the demo's web
 * page (screen), the terminal speaker (screenless) and `simulate`:
 *
 *   what the user says ─► the running purchase, if it is one of the flow's
 *                          words ("买", "取消", "支付好了吗" …)
 *                       └► otherwise the platform (utterance → skill), whose
 *                          answer either starts a purchase (a Charge
 *                          directive) or is spoken / played as it is.
 *
 * Browser-safe: imports only the device companion (no Node built-ins).
 */
import { EventEmitter } from 'eventemitter3';
import { findChargeDirective, type DeviceCompanion, type PurchaseResult, type TouchTarget } from '../device/index.js';

/** What the platform answers to an utterance (the sandbox's `POST /sandbox/v1/say`, trimmed). */
export interface SayReply {
  matched: boolean;
  answer?: { outputSpeech?: string; directives?: unknown[]; shouldEndSession?: boolean };
  /** The purchase the platform opened for a Charge answer. */
  purchaseId?: string;
  /** The skill request that produced the answer (kept for the resume). */
  request?: unknown;
}

export interface PlayInfo {
  title: string;
  album?: string;
  index?: number;
  url?: string;
  directive: unknown;
}

export type SpeechSource = 'device' | 'skill' | 'host';

export interface HostEvents {
  /** Something the speaker says. */
  speak: (e: { text: string; from: SpeechSource }) => void;
  /** An AudioPlayer.Play directive to carry out ("now playing"). */
  play: (e: PlayInfo & { resumed: boolean }) => void;
  /** A purchase started (the skill answered with a Charge directive). */
  purchase: (e: { purchaseId: string | undefined }) => void;
  /** A purchase ended. */
  end: (r: PurchaseResult) => void;
  /** The platform could not be reached, or a purchase could not start. */
  failure: (e: { message: string }) => void;
}

export interface HearResult {
  /** `device`: a flow word for the running purchase; `platform`: routed to a skill; `none`: not understood. */
  handledBy: 'device' | 'platform' | 'none' | 'error';
  intent?: string;
  purchase?: boolean;
}

const NOT_UNDERSTOOD = '抱歉，我没听懂。你可以说：我要听万古神帝第35集';

/** The AudioPlayer.Play directives among a skill's directives. */
export function playInfos(directives: unknown): PlayInfo[] {
  if (!Array.isArray(directives)) return [];
  const out: PlayInfo[] = [];
  for (const d of directives) {
    const o = d as { type?: unknown; audioItem?: { stream?: { url?: unknown }; metadata?: { title?: unknown; album?: unknown; index?: unknown } } } | null;
    if (!o || o.type !== 'AudioPlayer.Play') continue;
    const meta = o.audioItem?.metadata ?? {};
    const info: PlayInfo = { title: typeof meta.title === 'string' ? meta.title : '音频', directive: d };
    if (typeof meta.album === 'string') info.album = meta.album;
    if (typeof meta.index === 'number') info.index = meta.index;
    if (typeof o.audioItem?.stream?.url === 'string') info.url = o.audioItem.stream.url;
    out.push(info);
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
    // After every other listener of the resume: the player starts once the purchase is over.
    const onResume = (e: { directives: unknown[] }) =>
      queueMicrotask(() => {
        for (const p of playInfos(e.directives)) this.emit('play', { ...p, resumed: true });
      });
    companion.on('speak', onSpeak);
    companion.on('resume', onResume);
    this.offs.push(
      () => companion.off('speak', onSpeak),
      () => companion.off('resume', onResume),
    );
  }

  /** True while a purchase runs. */
  get busy(): boolean {
    return this.companion.busy;
  }

  /** The running purchase, if any. */
  get purchase(): Promise<PurchaseResult> | undefined {
    return this.current;
  }

  /** The user said `text`. */
  async hear(text: string): Promise<HearResult> {
    const said = text.trim();
    if (!said) return { handledBy: 'none' };
    if (this.companion.busy) {
      const m = this.companion.say(said);
      if (m) return { handledBy: 'device', intent: m.intent };
    }
    let reply: SayReply;
    try {
      reply = await this.platformSay(said);
    } catch (e) {
      const message = `暂时连不上叮当平台：${e instanceof Error ? e.message : String(e)}`;
      this.emit('failure', { message });
      this.emit('speak', { text: '抱歉，网络好像出了点问题，请稍后再试。', from: 'host' });
      return { handledBy: 'error' };
    }
    if (!reply.matched || !reply.answer) {
      this.emit('speak', { text: NOT_UNDERSTOOD, from: 'host' });
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
      if (answer.outputSpeech) this.emit('speak', { text: answer.outputSpeech, from: 'skill' });
      for (const p of playInfos(answer.directives)) this.emit('play', { ...p, resumed: false });
      return { handledBy: 'platform' };
    }
    // A new purchase replaces a running one (the user asked for something else).
    if (this.companion.busy && this.current) {
      const previous = this.current;
      this.companion.cancel();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([previous, new Promise((r) => (timer = setTimeout(r, 6000)))]);
      clearTimeout(timer);
    }
    try {
      const run = this.companion.purchaseFromResponse(answer, reply.request, reply.purchaseId !== undefined ? { purchaseId: reply.purchaseId } : {});
      if (!run) return { handledBy: 'platform' };
      this.current = run;
      this.emit('purchase', { purchaseId: reply.purchaseId });
      void run.then((r) => {
        if (this.current === run) this.current = undefined;
        this.emit('end', r);
      });
      return { handledBy: 'platform', purchase: true };
    } catch (e) {
      this.emit('failure', { message: (e as Error).message });
      return { handledBy: 'error' };
    }
  }

  /** A tap on the screen (targets of the current view's `actions`). */
  touch(target: TouchTarget): boolean {
    return this.companion.touch(target);
  }

  /** Stop the companion (ends a running purchase, closes sockets) and drop listeners. */
  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.companion.stop();
    this.removeAllListeners();
  }
}

/** `platformSay` over HTTP: POST `{ text, deviceId, mode }` as JSON to `url`. */
export function httpSay(url: string, fields: Record<string, string>, timeoutMs = 15_000): (text: string) => Promise<SayReply> {
  return async (text) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...fields, text }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as SayReply & { error?: { message?: string } };
    if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    return body;
  };
}
