/**
 * Reading an `AudioPlayer.Play` directive (SKILL-PROTOCOL §4, DingDang's
 * shape — a `playlist`, no `audioItem`) into the items the player works with:
 *
 *   { type: 'AudioPlayer.Play',
 *     playlist: [ { stream: { url?, token }, info?: { title, subtitle?, art?: { source: { url } } }, pay? } ] }
 *
 * Tolerant: the platform checked the answer already; a malformed entry
 * becomes an unplayable item, never a crash. A `pay: true` item is locked and
 * keeps no url even if one was sent.
 */
/** One playlist entry as the speaker shows it. */
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
  /** `pay: true`: not bought yet; listed, never played. */
  locked: boolean;
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

/** A playlist as the speaker shows it. */
export function playlistItems(playlist: unknown): PlayerItem[] {
  if (!Array.isArray(playlist)) return [];
  return playlist.map((raw, index) => {
    const e = (raw && typeof raw === 'object' ? raw : {}) as {
      stream?: { url?: unknown; token?: unknown };
      info?: { title?: unknown; subtitle?: unknown; art?: { contentDescription?: unknown; source?: { url?: unknown } } };
      pay?: unknown;
    };
    const locked = e.pay === true;
    const item: PlayerItem = { index, token: str(e.stream?.token) ?? `#${index + 1}`, title: str(e.info?.title) ?? `第 ${index + 1} 首`, locked };
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

/** The items of the first `AudioPlayer.Play` among `directives` ([] when none). */
export function playlistOf(directives: unknown): PlayerItem[] {
  return playlistItems(findPlayDirective(directives)?.playlist);
}

/** "第 2/10 首". */
export function positionText(index: number, count: number): string {
  return `第 ${index + 1}/${count} 首`;
}
