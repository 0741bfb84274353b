/**
 * The example skill's audio links (our own extension: DingDang defines only
 * that `stream.url` is a URL the speaker fetches; how a partner protects paid
 * audio is the partner's business).
 *
 * * Free episodes: `/audio/<itemId>.wav?t=<token>` — a token per item that
 *   never expires (the audio is free; the token only stops URL guessing of
 *   ids that do not exist).
 * * Paid episodes: `/audio/<itemId>.wav?t=<expires>.<sig>&u=<partner user id>`,
 *   `sig` = HMAC-SHA256 with the example's own audio secret (never the
 *   skill secret it shares with the platform) over
 *   `audio-link:v1 \n <path> \n <user> \n <expires>`; `expires` in epoch
 *   seconds, `DEFAULT_AUDIO_LINK_TTL_MS` after the answer that carried it.
 *   The server refuses (403) a link that is tampered (another path, user or
 *   expiry), expired, or whose user no longer owns the episode (a refund);
 *   a link is bound to its user: another user's id in it breaks the
 *   signature. Like any URL handed to a speaker it is a bearer link until it
 *   expires.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a paid audio link works: long enough for a playlist of long episodes. */
export const DEFAULT_AUDIO_LINK_TTL_MS = 6 * 60 * 60 * 1000;
const SIG_HEX = 32;

export const audioPath = (itemId: string): string => `/audio/${itemId}.wav`;

/** Token for a free episode's link, so audio is not served for made-up ids. */
export function audioToken(secret: string, itemId: string): string {
  return createHmac('sha256', secret).update(`audio:${itemId}`).digest('hex').slice(0, 24);
}

function paidSignature(secret: string, path: string, user: string, expires: number): string {
  return createHmac('sha256', secret).update(`audio-link:v1\n${path}\n${user}\n${expires}`).digest('hex').slice(0, SIG_HEX);
}

/** The query (`?…`) of a free episode's link. */
export function freeAudioQuery(secret: string, itemId: string): string {
  return `?t=${audioToken(secret, itemId)}`;
}

/** The query (`?…`) of a paid episode's link for `user`, valid until `expiresAtMs` (rounded down to the second). */
export function paidAudioQuery(secret: string, itemId: string, user: string, expiresAtMs: number): string {
  const expires = Math.floor(expiresAtMs / 1000);
  return `?t=${expires}.${paidSignature(secret, audioPath(itemId), user, expires)}&u=${encodeURIComponent(user)}`;
}

export type AudioLinkCheck = { ok: true; user: string | undefined } | { ok: false; reason: 'bad link' | 'link expired' };

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Check a link's query for `itemId`: free items want their token; paid ones a
 * signature over path, user and expiry that is still valid at `nowMs`. The
 * caller then checks that `user` owns the item.
 */
export function checkAudioLink(secret: string, itemId: string, free: boolean, query: URLSearchParams, nowMs: number): AudioLinkCheck {
  const t = query.get('t') ?? '';
  if (free) return same(t, audioToken(secret, itemId)) ? { ok: true, user: undefined } : { ok: false, reason: 'bad link' };
  const m = /^(\d{1,12})\.([0-9a-f]+)$/.exec(t);
  const user = query.get('u');
  if (!m || !user || user.length > 256) return { ok: false, reason: 'bad link' };
  const expires = Number(m[1]);
  if (!same(m[2]!, paidSignature(secret, audioPath(itemId), user, expires))) return { ok: false, reason: 'bad link' };
  if (expires * 1000 <= nowMs) return { ok: false, reason: 'link expired' };
  return { ok: true, user };
}
