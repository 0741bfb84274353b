/**
 * The skill backend's calls to the platform (SPEC §4, seed 3–5):
 * `/paycgi/orderquery`, `/paycgi/refund`, `/paycgi/refundquery`.
 *
 * * Requests are validated before sending (a refund above the order total is
 *   a `ValidationError` and nothing is sent), then signed with
 *   `SkillPrivateKey` over the exact bytes sent (TSK-RSA2).
 * * Replies are verified with `TSKPublicKey` over the exact bytes received
 *   (±3 min window), then validated, then checked against the request.
 * * Each attempt has a timeout (AbortSignal). Retries happen only where safe:
 *   queries, and refunds — a refund retry reuses its `refundTradeNo`, which
 *   the platform answers with the existing refund instead of a second one.
 *   Retried: network errors, timeouts, HTTP 429/5xx. Never retried: a signed
 *   `FAIL`, a forged or invalid reply, HTTP 4xx.
 * * Redirects are never followed (`redirect: 'manual'`): a 3xx is a
 *   `PayRedirectError` (`ERR_PAY_REDIRECT`), not retried, and the signed body
 *   is sent nowhere else.
 * * Typed errors: `ValidationError` (bad arguments or reply), `SignatureError`
 *   (reply not signed by the platform), `TimeoutError`, `TransportError`,
 *   `PayRemoteError` (`retCode: FAIL`, with the platform's `retMsg`).
 */
import type { KeyObject } from 'node:crypto';
import { sleep } from '../protocol/sleep.js';
import {
  DEFAULT_PAY_BASE_URL,
  DEFAULT_VERSION,
  InvalidArgumentError,
  loadPrivateKey,
  loadPublicKey,
  PAY_PATHS,
  randomNonce,
  SignatureError,
  signedJsonHeaders,
  TimeoutError,
  TransportError,
  validate,
  validateJson,
  ValidationError,
  verifyRsa2,
  type Clock,
  type Fen,
  type KeyInput,
  type MessageKind,
  type MessageTypes,
  type OrderDetail,
  type OrderQueryReply,
  type RefundQueryReply,
  type RefundReply,
} from '../protocol/index.js';
import { PayRedirectError, PayRemoteError, type PayOperation } from './errors.js';

/** The client's error, also named here for callers that import this module directly (the class lives in errors.ts). */
export { PayRemoteError };

export interface PayClientOptions {
  skillId: string;
  /** Signs every request. */
  skillPrivateKey: KeyInput;
  /** Verifies every reply. */
  tskPublicKey: KeyInput;
  /** Default `https://aiwx.html5.qq.com` (the seed's host); the sandbox's URL for local work. */
  baseUrl?: string;
  /** Per attempt; default 10 s. */
  timeoutMs?: number;
  /** Extra attempts for safe calls; default 2. */
  retries?: number;
  /** First backoff; doubles each retry, with jitter; default 200 ms. */
  retryDelayMs?: number;
  /** Largest accepted reply; default 1 MiB. */
  maxReplyBytes?: number;
  /** Reply signature window; default 3 minutes. */
  toleranceMs?: number;
  now?: Clock;
  fetch?: typeof fetch;
}

type Ids = { transactionId: string; tradeNo?: string } | { transactionId?: string; tradeNo: string };

export type OrderQueryInput = Ids;
export type RefundInput = Ids & {
  /** Your refund number (1–32 of [0-9A-Za-z]); generated when omitted. Reuse it to retry a refund later. */
  refundTradeNo?: string;
  totalAmt: Fen;
  refundAmt: Fen;
  refundDesc?: string;
  refundDetails: OrderDetail[];
};
export type RefundQueryInput = { refundTransactionId: string; refundTradeNo?: string } | { refundTransactionId?: string; refundTradeNo: string };

export interface CallOptions {
  signal?: AbortSignal;
}

type Required2<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> };
export type OrderQueryResult = Required2<OrderQueryReply, 'transactionId' | 'tradeNo' | 'totalAmt' | 'tradeStatus' | 'tradeStatusDesc'>;
export type RefundResult = Required2<RefundReply, 'transactionId' | 'tradeNo' | 'refundTransactionId' | 'refundTradeNo' | 'refundAmt' | 'totalAmt'>;
export type RefundQueryResult = Required2<RefundQueryReply, 'refundTradeNo' | 'refundTransactionId' | 'refundAmt' | 'refundStatus' | 'refundStatusDesc'>;

/** Retry only on these: the request may not have reached the platform, or it had a passing problem. */
class Retryable extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

export class PayClient {
  readonly baseUrl: string;
  readonly skillId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxReplyBytes: number;
  private readonly toleranceMs: number | undefined;
  private readonly now: Clock;
  private readonly fetchImpl: typeof fetch;

  constructor(options: PayClientOptions) {
    if (!options || typeof options.skillId !== 'string' || options.skillId.length === 0 || options.skillId.length > 32)
      throw new InvalidArgumentError('skillId must be 1–32 characters');
    this.skillId = options.skillId;
    this.privateKey = loadPrivateKey(options.skillPrivateKey);
    this.publicKey = loadPublicKey(options.tskPublicKey);
    const base = options.baseUrl ?? DEFAULT_PAY_BASE_URL;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new InvalidArgumentError(`baseUrl is not a URL: ${base}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('baseUrl must be http(s)');
    this.baseUrl = url.href.replace(/\/+$/, '');
    const nonNeg = (v: number | undefined, d: number, what: string, positive = false) => {
      const x = v ?? d;
      if (!Number.isFinite(x) || x < 0 || (positive && x === 0)) throw new InvalidArgumentError(`${what} must be ${positive ? 'positive' : 'non-negative'}`);
      return x;
    };
    this.timeoutMs = nonNeg(options.timeoutMs, 10_000, 'timeoutMs', true);
    this.retries = Math.floor(nonNeg(options.retries, 2, 'retries'));
    this.retryDelayMs = nonNeg(options.retryDelayMs, 200, 'retryDelayMs');
    this.maxReplyBytes = nonNeg(options.maxReplyBytes, 1024 * 1024, 'maxReplyBytes', true);
    this.toleranceMs = options.toleranceMs;
    this.now = options.now ?? (() => Date.now());
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  /** 3 查询订单. Resolves with a SUCCESS reply about the named order. */
  async orderQuery(input: OrderQueryInput, options: CallOptions = {}): Promise<OrderQueryResult> {
    const reply = await this.call(
      'orderQuery',
      'orderQueryRequest',
      'orderQueryReply',
      () => ({
        skillId: this.skillId,
        ...pick(input, ['transactionId', 'tradeNo']),
        version: DEFAULT_VERSION,
        nonceStr: randomNonce(),
      }),
      options,
    );
    this.sameOrder('orderQuery', input, reply);
    return reply as OrderQueryResult;
  }

  /**
   * 4 申请退款. Safe to retry: every attempt carries the same `refundTradeNo`.
   * To retry a refund later (after a crash), call again with the same
   * `refundTradeNo`: the platform returns the existing refund.
   */
  async refund(input: RefundInput, options: CallOptions = {}): Promise<RefundResult> {
    const refundTradeNo = input.refundTradeNo ?? randomNonce(32);
    const reply = await this.call(
      'refund',
      'refundRequest',
      'refundReply',
      () => ({
        skillId: this.skillId,
        ...pick(input, ['transactionId', 'tradeNo']),
        refundTradeNo,
        totalAmt: input.totalAmt,
        refundAmt: input.refundAmt,
        ...(input.refundDesc !== undefined ? { refundDesc: input.refundDesc } : {}),
        refundDetails: input.refundDetails,
        version: DEFAULT_VERSION,
        nonceStr: randomNonce(),
      }),
      options,
    );
    this.sameOrder('refund', input, reply);
    if (reply.refundTradeNo !== refundTradeNo || reply.refundAmt !== input.refundAmt || reply.totalAmt !== input.totalAmt)
      throw new PayRemoteError('refund', 'refund reply names another refund', undefined, reply);
    return reply as RefundResult;
  }

  /** 5 查询退款. */
  async refundQuery(input: RefundQueryInput, options: CallOptions = {}): Promise<RefundQueryResult> {
    const reply = await this.call(
      'refundQuery',
      'refundQueryRequest',
      'refundQueryReply',
      () => ({
        skillId: this.skillId,
        ...pick(input, ['refundTransactionId', 'refundTradeNo']),
        version: DEFAULT_VERSION,
        nonceStr: randomNonce(),
      }),
      options,
    );
    for (const k of ['refundTransactionId', 'refundTradeNo'] as const) {
      const want = (input as Record<string, unknown>)[k];
      if (want !== undefined && reply[k] !== want) throw new PayRemoteError('refundQuery', `reply names another ${k}`, undefined, reply);
    }
    if (reply.skillId !== this.skillId) throw new PayRemoteError('refundQuery', 'reply names another skillId', undefined, reply);
    return reply as RefundQueryResult;
  }

  private sameOrder(op: PayOperation, input: Ids, reply: { skillId?: string; transactionId?: string; tradeNo?: string }): void {
    if (reply.skillId !== this.skillId) throw new PayRemoteError(op, 'reply names another skillId', undefined, reply);
    if (input.transactionId !== undefined && reply.transactionId !== input.transactionId)
      throw new PayRemoteError(op, 'reply names another transactionId', undefined, reply);
    if (input.tradeNo !== undefined && reply.tradeNo !== input.tradeNo) throw new PayRemoteError(op, 'reply names another tradeNo', undefined, reply);
  }

  private async call<Q extends MessageKind, R extends MessageKind>(
    op: PayOperation,
    requestKind: Q,
    replyKind: R,
    build: () => Record<string, unknown>,
    options: CallOptions,
  ): Promise<MessageTypes[R]> {
    // Validate once up front: bad arguments throw and nothing is sent.
    const first = build();
    const checked = validate(requestKind, first);
    if (!checked.ok) throw new ValidationError(checked.issues, requestKind);
    const url = this.baseUrl + PAY_PATHS[op];
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        const delay = this.retryDelayMs * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * (delay / 2), options.signal);
      }
      // A fresh nonce and signature per attempt; the business fields are the same.
      const body = Buffer.from(JSON.stringify(attempt === 0 ? first : { ...first, nonceStr: randomNonce() }), 'utf8');
      try {
        return await this.attempt(op, url, body, replyKind, options.signal);
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        lastError = e.error;
        if (options.signal?.aborted) break;
      }
    }
    throw lastError ?? new TransportError(`${op} failed`);
  }

  private async attempt<R extends MessageKind>(
    op: PayOperation,
    url: string,
    body: Buffer,
    replyKind: R,
    outer: AbortSignal | undefined,
  ): Promise<MessageTypes[R]> {
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.timeoutMs);
    const onOuter = () => ac.abort();
    if (outer?.aborted) ac.abort();
    outer?.addEventListener('abort', onOuter, { once: true });
    let raw: Buffer;
    let authorization: string | null;
    try {
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method: 'POST',
          headers: signedJsonHeaders(body, this.privateKey, { now: this.now }),
          body: new Uint8Array(body),
          // Never follow: a 307/308 would resend the signed body to the Location.
          redirect: 'manual',
          signal: ac.signal,
        });
      } catch (e) {
        if (timedOut) throw new Retryable(new TimeoutError(`${op}: no answer within ${this.timeoutMs} ms`));
        if (outer?.aborted) throw new TimeoutError(`${op}: aborted`);
        throw new Retryable(new TransportError(`${op}: ${(e as Error).message}`, { cause: e }));
      }
      // A redirect (or an opaque manual-redirect answer from a fetch that hides it) is refused unread.
      if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') {
        await res.body?.cancel().catch(() => undefined);
        throw new PayRedirectError(op, res.status, res.headers.get('location') ?? undefined);
      }
      try {
        raw = await readLimited(res, this.maxReplyBytes);
      } catch (e) {
        if (timedOut) throw new Retryable(new TimeoutError(`${op}: reply not complete within ${this.timeoutMs} ms`));
        if (e instanceof TransportError) throw e;
        throw new Retryable(new TransportError(`${op}: reading reply: ${(e as Error).message}`, { cause: e }));
      }
      if (res.status === 429 || res.status >= 500) throw new Retryable(new TransportError(`${op}: HTTP ${res.status}`));
      if (res.status !== 200) throw new TransportError(`${op}: HTTP ${res.status}`);
      authorization = res.headers.get('authorization');
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
    const v = verifyRsa2(raw, authorization, this.publicKey, { now: this.now, toleranceMs: this.toleranceMs });
    if (!v.ok) throw new SignatureError(v.reason, `${op} reply: ${v.message}`);
    const parsed = validateJson(replyKind, raw);
    if (!parsed.ok) throw new ValidationError(parsed.issues, replyKind);
    const reply = parsed.value as MessageTypes[R] & { retCode: string; retMsg?: string };
    if (reply.retCode !== 'SUCCESS') throw new PayRemoteError(op, `${op} refused: ${reply.retMsg ?? 'FAIL'}`, reply.retMsg, reply);
    return reply;
  }
}

async function readLimited(res: Response, limit: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new TransportError(`reply larger than ${limit} bytes`);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new TransportError(`reply larger than ${limit} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

function pick<T extends object>(input: T, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (input as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function createPayClient(options: PayClientOptions): PayClient {
  return new PayClient(options);
}
