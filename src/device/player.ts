/**
 * The speaker's player, as the device companion runs it (`companion.player`):
 * the facade over one `playerMachine` actor (player-machine.ts).
 *
 *   companion.player.on('play', (e) => audio.src = e.item.url).on('speak', tts);
 *   companion.player.load(playDirective, { skillId });
 *   audio.onended = () => companion.player.ended();
 *   companion.player.say('播放下一集');
 *
 * When the player comes to a `pay: true` item it asks the platform
 * (`transport.selectElement`, docs/device-protocol.md §3.8); a Charge in the
 * skill's answer starts the companion's purchase flow (screen or screenless,
 * the companion's mode) with the purchase the platform opened; after payment
 * the resume's playlist plays from the bought item. A purchase that ends
 * without the item leaves the player stopped there, saying why. The resume
 * of any other purchase (one the host started from a Charge answer) that
 * carries an `AudioPlayer.Play` is loaded too.
 */
import { EventEmitter } from 'eventemitter3';
import { createActor, fromPromise } from 'xstate';
import { findChargeDirective } from './find-charge-directive.js';
import { playerMachine, type PlayerContext, type PlayerEmitted, type PlayerItem, type StopReason } from './player-machine.js';
import { playlistItems, playlistOf, positionText } from './playlist.js';
import type { DeviceMode, PaymentTransport, SelectCause, SelectElementRequest } from './port.js';
import type { Locale } from './prompts.js';

export type { PlayerItem, StopReason } from './player-machine.js';

/** The player's public state. */
export type PlayerState = 'idle' | 'playing' | 'paused' | 'asking' | 'buying' | 'stopped' | 'ended';

/** An item the player is at, with where it is in the playlist. */
export interface PlayerItemEvent {
  item: PlayerItem;
  items: readonly PlayerItem[];
  index: number;
  /** "第 2/10 首". */
  position: string;
  cause: SelectCause;
  /** The first item of a playlist that came with the resume after a payment (flow C). */
  resumed: boolean;
}

export interface DevicePlayerEvents {
  /** An item starts playing (bind the audio element to `item.url`). */
  play: (e: PlayerItemEvent) => void;
  /** The player came to a `pay: true` item: the platform is asked (Display.ElementSelected to the skill). */
  asking: (e: PlayerItemEvent) => void;
  /** The skill offered the item: the companion's purchase flow starts for it. */
  offer: (e: PlayerItemEvent & { purchaseId: string }) => void;
  /** Stopped at an item, and why (`text` is also spoken, unless empty). */
  stopped: (e: PlayerItemEvent & { reason: StopReason; text: string }) => void;
  paused: (e: { paused: boolean; item: PlayerItem }) => void;
  /** The playlist is over. */
  ended: (e: { items: readonly PlayerItem[] }) => void;
  /** What the player says ("已经是第一首了", why it stopped); `skill`: the words are the skill's own (its answer about the item). */
  speak: (e: { text: string; skill: boolean }) => void;
  state: (e: { state: PlayerState }) => void;
}

/** What the player needs of the companion (structurally `DeviceCompanion`). */
export interface PlayerHost {
  readonly transport: PaymentTransport;
  readonly mode: DeviceMode;
  readonly locale: Locale;
  purchase(request: {
    charge: unknown;
    speech?: string;
    originalRequest: unknown;
    purchaseId?: string;
  }): Promise<{ outcome: string; resume: { directives: unknown[] } | undefined }>;
  on(event: 'resume', fn: (e: { directives: unknown[] }) => void): unknown;
}

/** Player words (our decision: the speaker's own, matched whole after punctuation and "请"/"帮我"). */
const WORDS: Array<[RegExp, 'next' | 'previous' | 'pause' | 'continue' | 'stop']> = [
  [/^(播放|放|切到|换到?|听)?下一(首|集|个|章|曲)$|^next$/, 'next'],
  [/^(播放|放|切到|换到?|听)?上一(首|集|个|章|曲)$|^(previous|back)$/, 'previous'],
  [/^(暂停|暂停播放|停一下|先停一下|pause)$/, 'pause'],
  [/^(继续|继续播放|接着(播|放|听)|恢复播放|播放|continue|resume|play)$/, 'continue'],
  [/^(停止播放|停止|别放了|不听了|stop)$/, 'stop'],
];

const STOP_TEXT: Record<Locale, Record<StopReason, string>> = {
  'zh-CN': {
    user: '',
    cancelled: '播放停在《$》，这一集需要购买。想听的时候说“继续播放”。',
    timedOut: '播放停在《$》，这一集需要购买。想听的时候说“继续播放”。',
    failed: '播放停在《$》。说“继续播放”可以再试一次。',
    notOffered: '《$》暂时无法购买，播放已停止。',
    answered: '播放停在《$》。',
    unreachable: '暂时连不上叮当平台，播放停在《$》。稍后说“继续播放”再试。',
    unplayable: '《$》无法播放，播放已停止。',
  },
  'en-US': {
    user: '',
    cancelled: 'Stopped at "$": it needs to be bought. Say "continue" when you want it.',
    timedOut: 'Stopped at "$": it needs to be bought. Say "continue" when you want it.',
    failed: 'Stopped at "$". Say "continue" to try again.',
    notOffered: '"$" cannot be bought right now; stopped.',
    answered: 'Stopped at "$".',
    unreachable: 'The DingDang platform is out of reach; stopped at "$". Say "continue" to try again later.',
    unplayable: '"$" cannot be played; stopped.',
  },
};

export class DevicePlayer extends EventEmitter<DevicePlayerEvents> {
  private readonly actor;
  private now: PlayerState = 'idle';

  constructor(private readonly host: PlayerHost) {
    super();
    const transport = host.transport;
    this.actor = createActor(
      playerMachine.provide({
        actors: {
          selectElement: fromPromise(({ input, signal }: { input: SelectElementRequest; signal: AbortSignal }) => {
            if (!transport.selectElement) throw new Error('the transport cannot ask the platform about an element');
            return transport.selectElement(input, signal);
          }),
        },
      }),
      { input: { mode: host.mode } },
    );
    this.actor.on('*', (e) => this.onEmitted(e));
    this.actor.subscribe((s) => {
      const v = s.value;
      const leaf = typeof v === 'string' ? v : typeof v.loaded === 'string' ? v.loaded : v.loaded.playing === 'paused' ? 'paused' : 'playing';
      const state = leaf as PlayerState;
      if (state === this.now || (state as string) === 'arriving' || (state as string) === 'answered') return;
      this.now = state;
      this.emit('state', { state });
    });
    this.actor.start();
    // The resume of a purchase the host started (a Charge answer to what the user said) plays here too.
    // After every other listener of the resume (the host hears "resumed" before "playing").
    host.on('resume', (e) => {
      const items = playlistOf(e.directives);
      if (this.now !== 'buying' && items.length > 0) queueMicrotask(() => this.actor.send({ type: 'LOAD', items, resumed: true }));
    });
  }

  get state(): PlayerState {
    return this.now;
  }

  get items(): readonly PlayerItem[] {
    return this.ctx.items;
  }

  get index(): number {
    return this.ctx.index;
  }

  /** The item the player is at (playing, paused, asked about, bought, stopped at); undefined when idle. */
  get current(): PlayerItem | undefined {
    return this.ctx.items[this.ctx.index];
  }

  get stopReason(): StopReason | undefined {
    return this.now === 'stopped' ? this.ctx.stopReason : undefined;
  }

  /**
   * Carry out an `AudioPlayer.Play` directive: the new playlist replaces the
   * old one and playback starts at its first item. False (nothing changes)
   * when it has no items. `skillId`: the skill that answered (the platform
   * asks that skill about paid items).
   */
  load(directive: { playlist?: unknown }, options: { skillId?: string; resumed?: boolean } = {}): boolean {
    const items = playlistItems(directive?.playlist);
    if (items.length === 0) return false;
    this.actor.send({ type: 'LOAD', items, ...(options.skillId !== undefined ? { skillId: options.skillId } : {}), resumed: options.resumed === true });
    return true;
  }

  /** Next item (button, "下一集"); at the end of the playlist it is over. */
  next(cause: 'next' | 'voice' = 'next'): void {
    this.actor.send({ type: 'NEXT', cause });
  }

  previous(): void {
    this.actor.send({ type: 'PREVIOUS' });
  }

  /** The audio of the current item played to its end. */
  ended(): void {
    this.actor.send({ type: 'ENDED' });
  }

  /** A tap on an item of the list. */
  tap(index: number): void {
    this.actor.send({ type: 'TAP', index });
  }

  /** Pause / continue the current item. */
  togglePause(): void {
    this.actor.send({ type: 'PAUSE' });
  }

  /** Continue: after a pause, or at the item the player stopped at (a paid item is asked about again). */
  continue(): void {
    this.actor.send({ type: 'CONTINUE' });
  }

  stop(): void {
    this.actor.send({ type: 'STOP' });
  }

  /**
   * One utterance: a player word ("播放下一集", "上一首", "暂停", "继续播放",
   * "停止播放") acts when a playlist is loaded. Returns the word's meaning, or
   * null when it is not one (the host routes it as usual).
   */
  say(text: string): 'next' | 'previous' | 'pause' | 'continue' | 'stop' | null {
    if (this.now === 'idle') return null;
    const bare = text
      .toLowerCase()
      .replace(/[\s\p{P}\p{S}]+/gu, '')
      .replace(/^(请|麻烦|帮我|给我)/u, '');
    const word = WORDS.find(([re]) => re.test(bare))?.[1];
    if (!word) return null;
    if (word === 'next') this.next('voice');
    else if (word === 'previous') this.previous();
    else if (word === 'pause') {
      if (this.now === 'playing') this.togglePause();
    } else if (word === 'continue') this.continue();
    else this.stop();
    return word;
  }

  /** Stop the actor and drop listeners. */
  dispose(): void {
    this.actor.stop();
    this.removeAllListeners();
  }

  // ---- internals -------------------------------------------------------

  private get ctx(): PlayerContext {
    return this.actor.getSnapshot().context;
  }

  private at(c: PlayerContext): PlayerItemEvent {
    return { item: c.items[c.index]!, items: c.items, index: c.index, position: positionText(c.index, c.items.length), cause: c.cause, resumed: c.resumed };
  }

  private tell(text: string, skill = false): void {
    if (text) this.emit('speak', { text, skill });
  }

  private onEmitted(e: PlayerEmitted): void {
    const c = e.context;
    const zh = this.host.locale !== 'en-US';
    switch (e.type) {
      case 'play':
        return void this.emit('play', this.at(c));
      case 'asking':
        return void this.emit('asking', this.at(c));
      case 'paused':
        return void this.emit('paused', { paused: e.paused, item: c.items[c.index]! });
      case 'edge':
        return this.tell(e.first ? (zh ? '已经是第一首了' : 'This is the first one.') : zh ? '已经是最后一首了' : 'This is the last one.');
      case 'ended':
        return void this.emit('ended', { items: c.items });
      case 'stopped': {
        const reason = c.stopReason ?? 'user';
        // Not offered: the skill's own words say why, when it had any.
        const skill = reason === 'notOffered' ? c.answer?.outputSpeech?.trim() : undefined;
        const text = skill || STOP_TEXT[this.host.locale][reason].replace('$', c.items[c.index]!.title);
        this.emit('stopped', { ...this.at(c), reason, text });
        return this.tell(text, !!skill);
      }
      case 'offer':
        return this.buy(c);
    }
  }

  /** The skill answered the selection with a Charge: the companion's purchase flow, then the player again. */
  private buy(c: PlayerContext): void {
    const a = c.answer!;
    const purchaseId = a.purchaseId!;
    this.emit('offer', { ...this.at(c), purchaseId });
    let run: Promise<{ outcome: string; resume: { directives: unknown[] } | undefined }>;
    try {
      run = this.host.purchase({
        charge: findChargeDirective(a.directives),
        originalRequest: { token: a.token, ...(a.skillId !== undefined ? { skillId: a.skillId } : {}) },
        purchaseId,
        ...(a.outputSpeech !== undefined ? { speech: a.outputSpeech } : {}),
      });
    } catch {
      run = Promise.resolve({ outcome: 'failed', resume: undefined });
    }
    void run.then(
      (r) => this.actor.send({ type: 'PURCHASE_ENDED', outcome: r.outcome, items: playlistOf(r.resume?.directives) }),
      () => this.actor.send({ type: 'PURCHASE_ENDED', outcome: 'failed', items: [] }),
    );
  }
}
