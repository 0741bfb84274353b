/**
 * The pipeline every platform call goes through, the same for each interface:
 *
 *   { headers, rawBody } → verify → the interface's logic → sign → { status, headers, body }
 *
 * Every request is checked in this order, and any failure is answered with a
 * signed `{ retCode: "FAIL", retMsg }` (≤ 32 characters) and no state change:
 * body size → TSK-RSA2 signature over the raw bytes with `TSKPublicKey`
 * (header shape, algorithm, ±3 min window) → UTF-8 JSON + wire validation →
 * `nonceStr` replay guard → the interface's own checks. Every reply —
 * SUCCESS or FAIL — is signed with `SkillPrivateKey` over the exact reply
 * bytes that are sent. Replies use HTTP 200: the answer is in `retCode`.
 *
 * FAIL replies are signed once per second per distinct body and reused for
 * the rest of that second (src/protocol/reply-cache.ts; our own extension):
 * the bytes, Authorization header included, are exactly what a fresh
 * signature gives, so a flood of junk costs one signature per second per
 * refusal. SUCCESS replies are signed fresh every time.
 */
import {
  clampRetMsg,
  constructMessage,
  SignatureError,
  signedJsonHeaders,
  type AckReply,
  type CreateOrderReply,
  type MessageKind,
  type MessageTypes,
} from '../protocol/index.js';
import { SignedReplyCache } from '../protocol/reply-cache.js';
import { RefusedError, retMsgOf } from './errors.js';
import { observeRequest } from './observer-request.js';
import { reportError, type PartnerContext } from './partner-context.js';

/** What every adapter hands to a handler. Header names may have any case. */
export interface PartnerRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Uint8Array;
}

/** What a handler answers; `body` holds the exact bytes that were signed. */
export interface PartnerResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A handler: never throws, always answers a signed reply. Adapters use
 * `maxBodyBytes` to stop reading early and `reject` to answer a request that
 * never reached the handler (e.g. the framework refused an oversized body).
 */
export interface PartnerHandler {
  (request: PartnerRequest): Promise<PartnerResponse>;
  /** Largest body this handler accepts. */
  readonly maxBodyBytes: number;
  /** A signed FAIL with this `retMsg` (clamped to 32 characters). */
  reject(retMsg: string): PartnerResponse;
}

export type PartnerReply = AckReply | CreateOrderReply;

/**
 * A reply that may be sent only once `ready` resolves (e.g. the record it
 * acknowledges is committed and durable). The pipeline signs the reply
 * meanwhile, so the store's commit overlaps the RSA signature; if `ready`
 * rejects, the answer is a FAIL instead.
 */
export class PendingReply<R extends PartnerReply = PartnerReply> {
  constructor(
    readonly reply: R,
    readonly ready: Promise<void>,
  ) {
    ready.catch(() => undefined); // always awaited by the caller; never an unhandled rejection meanwhile
  }

  /** The reply, once it may be sent. */
  async settled(): Promise<R> {
    await this.ready;
    return this.reply;
  }
}

function header(headers: PartnerRequest['headers'], name: string): string | undefined {
  const want = name.toLowerCase();
  // Node (and most frameworks) hand over lower-case names: answer without scanning.
  const direct = headers[want];
  if (typeof direct === 'string') return direct;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== want) continue;
    if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined; // several Authorization headers: malformed
    return v;
  }
  return undefined;
}

/** Serialise and sign a reply; `body` is exactly the signed bytes. */
export function signedReply(ctx: Pick<PartnerContext, 'skillPrivateKey' | 'now'>, reply: PartnerReply): PartnerResponse {
  const body = Buffer.from(JSON.stringify(reply), 'utf8');
  const headers = signedJsonHeaders(body, ctx.skillPrivateKey, { now: ctx.now });
  return { status: 200, headers: { ...headers, 'content-length': String(body.length) }, body };
}

type SigningContext = Pick<PartnerContext, 'skillPrivateKey' | 'now'>;

/** One cache of signed FAIL replies per context (the handlers of one `createPartnerHandlers` share it). */
const failCaches = new WeakMap<SigningContext, SignedReplyCache>();

function failCache(ctx: SigningContext): SignedReplyCache {
  let cache = failCaches.get(ctx);
  if (!cache) {
    cache = new SignedReplyCache(ctx.skillPrivateKey, { now: ctx.now });
    failCaches.set(ctx, cache);
  }
  return cache;
}

/** A signed `{ retCode: "FAIL", retMsg }`; signed at most once per second per `retMsg` (the same bytes either way). */
export function failReply(ctx: SigningContext, retMsg: string): PartnerResponse {
  const reply: PartnerReply = { retCode: 'FAIL', retMsg: clampRetMsg(retMsg) };
  const { body, authorization } = failCache(ctx).get(JSON.stringify(reply));
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', authorization, 'content-length': String(body.length) },
    body,
  };
}

/** How many FAIL replies of this context (or handler) were signed and how many reused. */
export function failReplyStats(of: SigningContext | PartnerHandler): { signed: number; reused: number } {
  const ctx = handlerContexts.get(of as PartnerHandler) ?? (of as SigningContext);
  const cache = failCaches.get(ctx);
  return { signed: cache?.signed ?? 0, reused: cache?.reused ?? 0 };
}

const handlerContexts = new WeakMap<PartnerHandler, SigningContext>();

/** Size, signature, validation and replay checks; throws RefusedError / SignatureError / ValidationError. */
export async function verifyRequest<K extends MessageKind>(ctx: PartnerContext, kind: K, request: PartnerRequest): Promise<MessageTypes[K]> {
  const raw = request?.rawBody;
  if (!(raw instanceof Uint8Array)) throw new RefusedError('no body');
  if (raw.length > ctx.maxBodyBytes) throw new RefusedError('body too large', `body has ${raw.length} bytes, limit ${ctx.maxBodyBytes}`);
  // Signature (raw bytes, window), then decoding and validation; the nonce last, so a bad message uses none up.
  const message = constructMessage(kind, raw, header(request.headers ?? {}, 'authorization'), ctx.tskPublicKey, {
    now: ctx.now,
    toleranceMs: ctx.toleranceMs,
  });
  const nonce = (message as { nonceStr?: unknown }).nonceStr;
  if (typeof nonce === 'string' && !(await ctx.nonceGuard.check(nonce)))
    throw new SignatureError('replay', 'nonceStr was already used inside the signature window');
  const skillId = (message as { skillId?: unknown }).skillId;
  if (typeof skillId === 'string' && !ctx.skillIds.has(skillId)) throw new RefusedError('unknown skillId');
  return message;
}

/** Wrap interface logic: verify, run, sign; every throw becomes a signed FAIL. */
export function makeHandler<K extends MessageKind>(
  ctx: PartnerContext,
  kind: K,
  run: (message: MessageTypes[K]) => Promise<PartnerReply | PendingReply>,
): PartnerHandler {
  const handle = async (request: PartnerRequest): Promise<PartnerResponse> => {
    const startedAt = ctx.observer ? performance.now() : 0;
    let message: MessageTypes[K] | undefined;
    try {
      message = await verifyRequest(ctx, kind, request);
      const out = await run(message);
      if (out instanceof PendingReply) {
        // Sign while the reply's condition settles; answer only once it has.
        const response = signedReply(ctx, out.reply);
        await out.ready;
        observeRequest(ctx.observer, kind, startedAt, message, out.reply);
        return response;
      }
      observeRequest(ctx.observer, kind, startedAt, message, out);
      return signedReply(ctx, out);
    } catch (e) {
      const retMsg = retMsgOf(e);
      reportError(ctx, e, kind, retMsg);
      observeRequest(ctx.observer, kind, startedAt, message, { retCode: 'FAIL', retMsg }, e);
      return failReply(ctx, retMsg);
    }
  };
  const reject = (retMsg: string) => {
    observeRequest(ctx.observer, kind, performance.now(), undefined, { retCode: 'FAIL', retMsg: clampRetMsg(retMsg) });
    return failReply(ctx, retMsg);
  };
  const handler: PartnerHandler = Object.assign(handle, { maxBodyBytes: ctx.maxBodyBytes, reject });
  handlerContexts.set(handler, ctx);
  return handler;
}
