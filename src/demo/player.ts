/**
 * The speaker's audio player, as a model: what an `AudioPlayer.Play`
 * directive (SKILL-PROTOCOL §4, DingDang's shape — a `playlist`, no
 * `audioItem`) puts on the speaker, which item plays, next / previous, and
 * what happens at the end of an item. Pure and browser-safe: no audio here;
 * the page binds an <audio> element to `current.url` and calls `ended()`,
 * the terminal only prints.
 *
 *   { type: 'AudioPlayer.Play',
 *     playlist: [ { stream: { url?, token }, info?: { title, subtitle?, art?: { source: { url } } }, pay? } ] }
 *
 * Decisions (DingDang documents none of this):
 * * Playback starts at the first item of the playlist (a skill puts the
 *   requested episode first). If that item is `pay: true`, nothing plays.
 * * A `pay: true` item (no url) is locked: it is listed, never played.
 *   Reaching it — the previous item ended, next/previous, or a tap — stops the
 *   player and reports it (`locked`). (On DingDang the platform then sends the
 *   skill `Display.ElementSelected` with its token; that is not done here.)
 * * next on the last item / the last item ending: the playlist is over (`ended`).
 *   previous on the first item does nothing.
 */
import { EventEmitter } from 'eventemitter3';

export interface PlayerItem {
  /** Position in the playlist, from 0. */
  index: number;
  token: string;
  /** Absent on a locked item (and on a malformed one). */
  url?: string;
  title: string;
  subtitle?: string;
  artUrl?: string;
  artDescription?: string;
  /** `pay: true`: not bought yet; shown as "需购买", never played. */
  locked: boolean;
}

export type PlayerState = 'idle' | 'playing' | 'paused' | 'locked' | 'ended' | 'stopped';

/** How the player came to an item. */
export type MoveCause = 'start' | 'next' | 'previous' | 'ended' | 'select';

export interface PlayEvent {
  item: PlayerItem;
  items: readonly PlayerItem[];
  index: number;
  cause: MoveCause;
}

export interface LockedEvent {
  /** The locked item the player came to; the player stopped there. */
  item: PlayerItem;
  items: readonly PlayerItem[];
  index: number;
  cause: MoveCause;
}

export interface PlayerEvents {
  /** An item starts playing. */
  play: (e: PlayEvent) => void;
  /** The player came to a `pay: true` item and stopped. */
  locked: (e: LockedEvent) => void;
  /** The last item ended (or next was asked on it). */
  ended: (e: { items: readonly PlayerItem[] }) => void;
  /** Paused / resumed by the user. */
  paused: (e: { paused: boolean; item: PlayerItem }) => void;
  /** Stopped by the host (a new answer, the user closed it). */
  stopped: () => void;
}

/** The `AudioPlayer.Play` directive among `directives` (the first one), if any. */
export function findPlayDirective(directives: unknown): { type: 'AudioPlayer.Play'; playlist: unknown[] } | undefined {
  if (!Array.isArray(directives)) return undefined;
  for (const d of directives) {
    const o = d as { type?: unknown; playlist?: unknown } | null;
    if (o && typeof o === 'object' && o.type === 'AudioPlayer.Play' && Array.isArray(o.playlist)) return o as { type: 'AudioPlayer.Play'; playlist: unknown[] };
  }
  return undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A playlist as the speaker shows it. Tolerant: the platform checked the
 * answer already; a malformed entry becomes an unplayable item, never a crash.
 */
export function playlistItems(playlist: unknown): PlayerItem[] {
  if (!Array.isArray(playlist)) return [];
  return playlist.map((raw, index) => {
    const e = (raw && typeof raw === 'object' ? raw : {}) as {
      stream?: { url?: unknown; token?: unknown };
      info?: { title?: unknown; subtitle?: unknown; art?: { contentDescription?: unknown; source?: { url?: unknown } } };
      pay?: unknown;
    };
    const locked = e.pay === true;
    const token = str(e.stream?.token) ?? `#${index + 1}`;
    const item: PlayerItem = { index, token, title: str(e.info?.title) ?? `第 ${index + 1} 首`, locked };
    const url = str(e.stream?.url);
    if (url && !locked) item.url = url;
    const subtitle = str(e.info?.subtitle);
    if (subtitle) item.subtitle = subtitle;
    const art = str(e.info?.art?.source?.url);
    if (art) item.artUrl = art;
    const artDescription = str(e.info?.art?.contentDescription);
    if (artDescription) item.artDescription = artDescription;
    return item;
  });
}

/** "第 2/10 首". */
export function positionText(index: number, count: number): string {
  return `第 ${index + 1}/${count} 首`;
}

export class Player extends EventEmitter<PlayerEvents> {
  private list: PlayerItem[] = [];
  private at = -1;
  private now: PlayerState = 'idle';

  get state(): PlayerState {
    return this.now;
  }

  get items(): readonly PlayerItem[] {
    return this.list;
  }

  /** The item the player is on (playing, paused, or the locked one it stopped at); undefined when idle. */
  get current(): PlayerItem | undefined {
    return this.list[this.at];
  }

  get index(): number {
    return this.at;
  }

  get hasNext(): boolean {
    return this.at >= 0 && this.at < this.list.length - 1;
  }

  get hasPrevious(): boolean {
    return this.at > 0;
  }

  /**
   * Carry out an `AudioPlayer.Play` directive: the new playlist replaces the
   * old one and playback starts at its first item. Returns false (and changes
   * nothing) when the directive has no items.
   */
  load(directive: { playlist?: unknown }): boolean {
    const items = playlistItems(directive?.playlist);
    if (items.length === 0) return false;
    this.list = items;
    this.at = -1;
    this.go(0, 'start');
    return true;
  }

  /** The user asked for the next item. False when there is none (the playlist is over). */
  next(): boolean {
    if (this.at < 0) return false;
    if (!this.hasNext) {
      this.finish();
      return false;
    }
    this.go(this.at + 1, 'next');
    return true;
  }

  /** The user asked for the previous item. False on the first one (nothing changes). */
  previous(): boolean {
    if (!this.hasPrevious) return false;
    this.go(this.at - 1, 'previous');
    return true;
  }

  /** A tap on an item of the list. */
  select(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.list.length) return false;
    this.go(index, 'select');
    return true;
  }

  /** The current item played to its end: on to the next one. */
  ended(): void {
    if (this.now !== 'playing') return;
    if (!this.hasNext) return this.finish();
    this.go(this.at + 1, 'ended');
  }

  /** Pause / continue the current item. */
  togglePause(): boolean {
    const item = this.current;
    if (!item || (this.now !== 'playing' && this.now !== 'paused')) return false;
    this.now = this.now === 'playing' ? 'paused' : 'playing';
    this.emit('paused', { paused: this.now === 'paused', item });
    return true;
  }

  /** Stop and forget the playlist. */
  stop(): void {
    if (this.now === 'idle' || this.now === 'stopped') return;
    this.now = 'stopped';
    this.emit('stopped');
  }

  private finish(): void {
    this.now = 'ended';
    this.emit('ended', { items: this.list });
  }

  private go(index: number, cause: MoveCause): void {
    this.at = index;
    const item = this.list[index]!;
    if (item.locked) {
      this.now = 'locked';
      this.emit('locked', { item, items: this.list, index, cause });
      return;
    }
    this.now = 'playing';
    this.emit('play', { item, items: this.list, index, cause });
  }
}
