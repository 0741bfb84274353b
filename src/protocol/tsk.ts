/**
 * TSK signature framing (SPEC §5), the parts that need no crypto library:
 * the datetime stamp, the `Authorization` header, SigningContent, the
 * ±3-minute window and the nonce replay guard. Browser-safe.
 *
 *   SigningContent = raw body bytes ‖ "YYYYMMDD'T'HHMMSS'Z'" (UTC)
 *   Authorization: <Algorithm> Datetime=<timestamp>, Signature=<signature>
 */
import { InvalidArgumentError, SignatureError, type SignatureFailure } from './errors.js';

export const TSK_RSA2 = 'TSK-RSA2';
export const TSK_HMAC = 'TSK-HMAC-SHA256-BASIC';
export type TskAlgorithm = typeof TSK_RSA2 | typeof TSK_HMAC;
export const TSK_ALGORITHMS: readonly TskAlgorithm[] = [TSK_RSA2, TSK_HMAC];

/** Accepted clock difference between signer and verifier, either way. */
export const DEFAULT_TOLERANCE_MS = 3 * 60 * 1000;

const DATETIME_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `Date` → `20170720T193559Z` (UTC, whole seconds). */
export function formatTskDatetime(date: Date | number): string {
  const d = typeof date === 'number' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('invalid date');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` + `T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** `20170720T193559Z` → epoch milliseconds, or `undefined` when it is not a real UTC time. */
export function parseTskDatetime(text: string): number | undefined {
  const m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Reject roll-overs such as month 13 or 25:00.
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== s
  )
    return undefined;
  return ms;
}

export interface TskAuthorization {
  algorithm: string;
  datetime: string;
  signature: string;
}

export function formatAuthorization(a: TskAuthorization): string {
  return `${a.algorithm} Datetime=${a.datetime}, Signature=${a.signature}`;
}

const HEADER_RE = /^\s*([A-Za-z0-9-]+)\s+(.*?)\s*$/;

/**
 * Parse `<Algorithm> Datetime=<timestamp>, Signature=<signature>`. Parameter
 * order and whitespace around `,` and `=` are tolerated; each parameter must
 * appear once. Throws `SignatureError` with reason `malformed-header`.
 */
export function parseAuthorization(header: string | undefined | null): TskAuthorization {
  const a = readAuthorization(header);
  if (typeof a === 'string') throw new SignatureError('malformed-header', `malformed Authorization header: ${a}`);
  return a;
}

/** `parseAuthorization` without the throw: the header, or why it is malformed (refusal paths build no error object). */
function readAuthorization(header: string | undefined | null): TskAuthorization | string {
  if (typeof header !== 'string' || header.trim() === '') return 'missing';
  if (header.length > 4096) return 'too long';
  const m = HEADER_RE.exec(header);
  if (!m) return 'expected "<Algorithm> Datetime=..., Signature=..."';
  const algorithm = m[1]!;
  const params = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return `parameter without "=": ${part.trim().slice(0, 20)}`;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (params.has(key)) return `duplicate ${key}`;
    params.set(key, value);
  }
  const datetime = params.get('Datetime');
  const signature = params.get('Signature');
  if (!datetime) return 'no Datetime';
  if (!signature) return 'no Signature';
  if (parseTskDatetime(datetime) === undefined) return 'Datetime is not YYYYMMDDTHHMMSSZ';
  return { algorithm, datetime, signature };
}

const encoder = new TextEncoder();

/** Raw body bytes immediately followed by the datetime's ASCII bytes. */
export function signingContent(rawBody: Uint8Array | string, datetime: string): Uint8Array {
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody;
  const stamp = encoder.encode(datetime);
  const out = new Uint8Array(body.length + stamp.length);
  out.set(body, 0);
  out.set(stamp, body.length);
  return out;
}

export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

export interface VerifyOptions {
  /** Receiver's clock (epoch ms); defaults to `Date.now`. */
  now?: Clock | number;
  /** Allowed distance between the signature's Datetime and now; default 3 minutes. */
  toleranceMs?: number;
}

export type VerifyResult = { ok: true; algorithm: TskAlgorithm; datetime: string; signedAt: number } | { ok: false; reason: SignatureFailure; message: string };

export function nowOf(now: VerifyOptions['now']): number {
  if (now === undefined) return Date.now();
  return typeof now === 'function' ? now() : now;
}

/**
 * The checks that come before the cryptography: header shape, algorithm,
 * time window. Returns the parsed header or a failure.
 */
export function precheck(
  authorization: string | undefined | null,
  expected: TskAlgorithm,
  options: VerifyOptions = {},
): { ok: true; auth: TskAuthorization; signedAt: number } | { ok: false; reason: SignatureFailure; message: string } {
  const auth = readAuthorization(authorization);
  if (typeof auth === 'string') return fail('malformed-header', `malformed Authorization header: ${auth}`);
  if (auth.algorithm !== expected) return fail('algorithm-mismatch', `expected ${expected}, header names ${auth.algorithm.slice(0, 40)}`);
  const signedAt = parseTskDatetime(auth.datetime)!;
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const now = nowOf(options.now);
  if (signedAt < now - tolerance) return fail('stale', `signed at ${auth.datetime}, more than ${tolerance / 1000}s ago`);
  if (signedAt > now + tolerance) return fail('future', `signed at ${auth.datetime}, more than ${tolerance / 1000}s ahead`);
  return { ok: true, auth, signedAt };
}

export function fail(reason: SignatureFailure, message: string): { ok: false; reason: SignatureFailure; message: string } {
  return { ok: false, reason, message };
}

/** Throw the failure of a `VerifyResult` as a `SignatureError`. */
export function assertVerified(result: VerifyResult): asserts result is Extract<VerifyResult, { ok: true }> {
  if (!result.ok) throw new SignatureError(result.reason, result.message);
}

export interface NonceGuardOptions {
  /**
   * How long a nonce is remembered; default twice `toleranceMs` (a signature
   * may be that far in the past or the future, so a nonce must outlive both).
   */
  windowMs?: number;
  /** The signature window the guard protects; default 3 minutes. Ignored when `windowMs` is given. */
  toleranceMs?: number;
  /**
   * Upper bound of remembered nonces (default 100 000). When every slot holds
   * a live nonce, `check` refuses new ones (fails closed) rather than
   * forgetting a live nonce a replay could then reuse; the sender retries.
   */
  maxEntries?: number;
  now?: Clock;
}

/**
 * Replay guard for `nonceStr`: a nonce seen again while it is remembered is a
 * replay. Memory is bounded twice: entries expire after the window (by then the
 * timestamp check rejects the message anyway) and at most `maxEntries` are
 * kept; a full guard refuses (fail closed), it never forgets a live nonce.
 */
export class NonceGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly clock: Clock;
  // Insertion order = expiry order (constant window), so the oldest is first.
  private readonly seen = new Map<string, number>();

  constructor(options: NonceGuardOptions = {}) {
    this.windowMs = options.windowMs ?? 2 * (options.toleranceMs ?? DEFAULT_TOLERANCE_MS);
    this.maxEntries = options.maxEntries ?? 100_000;
    if (!(this.windowMs > 0) || !(this.maxEntries > 0)) throw new InvalidArgumentError('NonceGuard needs a positive window and size');
    this.clock = options.now ?? systemClock;
  }

  /** Record `nonce`; returns false when it was already seen inside the window (a replay), or when the guard is full of live nonces. */
  check(nonce: string): boolean {
    const now = this.clock();
    this.sweep(now);
    const expires = this.seen.get(nonce);
    if (expires !== undefined && expires > now) return false;
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(nonce, now + this.windowMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(now: number): void {
    for (const [nonce, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(nonce);
    }
  }
}

/** A random nonce string of `[0-9A-Za-z]`, 32 characters by default (uses WebCrypto). */
export function randomNonce(length = 32): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += alphabet[b % 62];
  return out;
}
