/**
 * The audiobook shop's own price list: the partner's truth for create order
 * (a platform amount is never trusted alone) and for the Charge directive.
 */
import type { CatalogItem } from '../../partner/index.js';

export interface Album {
  /** Short id used in item ids and audio URLs. */
  id: string;
  title: string;
  episodes: number;
  /** Episodes 1..freeEpisodes play without buying. */
  freeEpisodes: number;
  /** Unit price of one paid episode, fen. */
  price: number;
}

export const ALBUMS: readonly Album[] = [
  { id: 'wgsd', title: '万古神帝', episodes: 120, freeEpisodes: 3, price: 200 },
  { id: 'dpcq', title: '斗破苍穹', episodes: 60, freeEpisodes: 5, price: 150 },
];

export interface Episode {
  album: Album;
  index: number;
  itemId: string;
  title: string;
  free: boolean;
}

export function findAlbum(name: string | undefined): Album | undefined {
  if (!name) return undefined;
  const n = name.normalize('NFKC').replace(/[《》\s]/g, '');
  return ALBUMS.find((a) => a.title === n || a.id === n);
}

export function episode(album: Album, index: number): Episode | undefined {
  if (!Number.isInteger(index) || index < 1 || index > album.episodes) return undefined;
  return {
    album,
    index,
    itemId: `${album.id}${String(index).padStart(3, '0')}`,
    title: `${album.title} 第${index}集`,
    free: index <= album.freeEpisodes,
  };
}

/** itemId (e.g. "wgsd035") → episode. */
export function episodeByItemId(itemId: string): Episode | undefined {
  const m = /^([a-z]+)(\d{3})$/.exec(itemId);
  if (!m) return undefined;
  const album = ALBUMS.find((a) => a.id === m[1]);
  return album && episode(album, Number(m[2]));
}

/** The catalog hook: paid episodes are for sale at the album price; free ones are not sold. */
export function audiobookCatalog(itemId: string): CatalogItem | undefined {
  const ep = episodeByItemId(itemId);
  if (!ep || ep.free) return undefined;
  return { itemId: ep.itemId, price: ep.album.price, name: ep.title, maxQuantity: 1 };
}
