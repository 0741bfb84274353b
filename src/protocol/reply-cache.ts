/**
 * Signed refusals, reused within their second (our own extension: DingDang
 * defines the signature, not how often a receiver computes it).
 *
 * A TSK-RSA2 signature covers the reply bytes and the datetime stamp, whole
 * seconds (SigningContent = body ‖ `YYYYMMDDTHHMMSSZ`), and SHA256withRSA
 * (PKCS#1 v1.5) is deterministic: the same FAIL body signed twice in one
 * second gives the same Authorization header, byte for byte. So a refusal
 * signed once can be sent again for the rest of its second without changing
 * one byte of what a receiver sees — the reply carries no nonce to reuse.
 * A flood of junk then costs one RSA signature per second per distinct
 * refusal instead of one per request.
 *
 * Bounded: entries live for their second only (the map is emptied when the
 * second changes) and at most `maxEntries` distinct bodies are kept per
 * second; past that a reply is signed without being kept.
 */
import { formatTskDatetime, nowOf, type Clock } from './tsk.js';
import { rsa2Signature } from './tsk-node.js';
import { formatAuthorization, TSK_RSA2 } from './tsk.js';
import type { KeyObject } from 'node:crypto';

export interface CachedSignedReply {
  /** The exact reply bytes. */
  body: Buffer;
  /** `TSK-RSA2 Datetime=…, Signature=…` over `body` and the current second. */
  authorization: string;
}

export interface ReplyCacheOptions {
  /** The signing clock (epoch ms); default `Date.now`. */
  now?: Clock;
  /** Distinct bodies kept per second; default 256. */
  maxEntries?: number;
}

export class SignedReplyCache {
  /** Signatures computed (cache misses). */
  signed = 0;
  /** Replies answered from the cache (no signature). */
  reused = 0;
  private readonly now: Clock | undefined;
  private readonly maxEntries: number;
  private datetime = '';
  private second = Number.NaN;
  private readonly entries = new Map<string, CachedSignedReply>();

  constructor(
    private readonly privateKey: KeyObject,
    options: ReplyCacheOptions = {},
  ) {
    this.now = options.now;
    this.maxEntries = options.maxEntries ?? 256;
  }

  /** `text` (UTF-8) signed for the current second: from the cache when it was signed in this second already. */
  get(text: string): CachedSignedReply {
    const at = nowOf(this.now);
    const second = Math.floor(at / 1000);
    if (second !== this.second) {
      this.entries.clear();
      this.datetime = formatTskDatetime(at);
      this.second = second;
    }
    const datetime = this.datetime;
    const hit = this.entries.get(text);
    if (hit) {
      this.reused++;
      return hit;
    }
    const body = Buffer.from(text, 'utf8');
    const authorization = formatAuthorization({ algorithm: TSK_RSA2, datetime, signature: rsa2Signature(body, datetime, this.privateKey) });
    this.signed++;
    const out = { body, authorization };
    if (this.entries.size < this.maxEntries) this.entries.set(text, out);
    return out;
  }
}
