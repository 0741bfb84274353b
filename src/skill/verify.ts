/**
 * From raw HTTP to a checked request envelope: body size, the
 * TSK-HMAC-SHA256-BASIC signature over the raw body bytes ‖ datetime, the
 * ±3-minute window, the envelope's structure, the skill id, and the replay
 * guard keyed by `request.requestId` (skill requests carry no `nonceStr`).
 *
 * Signatures: only a real HMAC-SHA256 hex digest (64 hex digits, either case)
 * is accepted. The platform's docs show a 40-digit example; no HMAC-SHA256
 * has 40 hex digits, so such a header is refused as `bad-signature`.
 */
import { DEFAULT_TOLERANCE_MS, NonceGuard, SignatureError, verifyHmac, type Clock, type SkillRequestEnvelope } from '../protocol/index.js';
import { checkRequest } from './check.js';
import { SkillApplicationError, SkillBodyTooLargeError, SkillRequestError } from './errors.js';

/** Default body limit: 64 KiB (a skill request is a few KB). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface SkillHttpRequest {
  /** Header names in any case (node:http lower-cases them). */
  headers: HeaderMap;
  /** The body exactly as received: the signature covers these bytes. */
  rawBody: Uint8Array | string;
}

export interface VerifySkillRequestOptions {
  skillSecret: string | Uint8Array;
  /** When set, a request for another application id is refused (403). */
  skillId?: string;
  now?: Clock;
  /** Signature window either way; default 3 minutes. */
  toleranceMs?: number;
  maxBodyBytes?: number;
  /** Replay guard keyed by `request.requestId`; without one, replays are not detected. */
  nonceGuard?: NonceGuard;
}

/** A header's value, by name in any case; the first of repeated values. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k.toLowerCase() !== want) continue;
    return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

const encoder = new TextEncoder();

/** Decode UTF-8 JSON and check the envelope's structure; throws `SkillRequestError`. */
export function parseSkillRequest(rawBody: Uint8Array | string): SkillRequestEnvelope {
  let decoded: unknown;
  try {
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
    decoded = JSON.parse(text);
  } catch (e) {
    throw new SkillRequestError('', 'body is not valid UTF-8 JSON', { cause: e });
  }
  const r = checkRequest(decoded);
  if (!r.ok) throw new SkillRequestError(r.path, r.reason);
  return r.envelope;
}

/**
 * Verify and parse a signed skill request. Throws `SkillBodyTooLargeError`,
 * `SignatureError` (reason malformed-header / algorithm-mismatch / stale /
 * future / bad-signature / replay), `SkillRequestError` or
 * `SkillApplicationError`. A request that fails any check does not use up its
 * requestId.
 */
export function verifySkillRequest(req: SkillHttpRequest, options: VerifySkillRequestOptions): SkillRequestEnvelope {
  const raw = typeof req.rawBody === 'string' ? encoder.encode(req.rawBody) : req.rawBody;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (raw.length > limit) throw new SkillBodyTooLargeError(limit);
  const v = verifyHmac(raw, headerValue(req.headers, 'authorization'), options.skillSecret, {
    now: options.now,
    toleranceMs: options.toleranceMs ?? DEFAULT_TOLERANCE_MS,
  });
  if (!v.ok) throw new SignatureError(v.reason, v.message);
  const envelope = parseSkillRequest(raw);
  const appId = envelope.context.System.application.applicationId;
  if (options.skillId !== undefined && appId !== options.skillId) throw new SkillApplicationError(appId);
  if (options.nonceGuard && !options.nonceGuard.check(envelope.request.requestId))
    throw new SignatureError('replay', 'requestId was already seen inside the signature window');
  return envelope;
}
