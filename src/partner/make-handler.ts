/**
 * The pipeline every platform call goes through, the same for each interface:
 *
 *   { headers, rawBody } → verify → the interface's logic → sign → { status, headers, body }
 *
 * Every request is checked in this order, and any failure is answered with a
 * signed `{ retCode: "FAIL", retMsg }` (≤ 32 characters) and no state change:
 * the peer's budget of failed checks (peer-budget.ts) → the Authorization
 * header's shape, algorithm and ±3 min window (these two need no body:
 * `handler.precheck`, which the node-http adapter runs before reading it) →
 * body size → TSK-RSA2 signature over the raw bytes with `TSKPublicKey` →
 * UTF-8 JSON + wire validation → `nonceStr` replay guard → the interface's
 * own checks. Every reply —
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
import { SignedReplyCache, type CachedSignedReply } from '../protocol/reply-cache.js';
import { precheck as precheckSignature, TSK_RSA2 } from '../protocol/tsk.js';
import { RefusedError, retMsgOf } from './errors.js';
import { observeRequest } from './observer-request.js';
import { reportError, type PartnerContext } from './partner-context.js';

/** What every adapter hands to a handler. Header names may have any case. */
export interface PartnerRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Uint8Array;
  /** The client's address, for the per-peer budget of failed checks (our own extension); the adapters fill it in. */
  peer?: string | undefined;
}

/** A request before its body is read. */
export type PartnerRequestHead = Omit<PartnerRequest, 'rawBody'>;

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
  /**
   * The refusal a request earns before its body is read — its peer is past
   * its budget of failed checks, or its Authorization header is missing,
   * malformed, of another algorithm or outside the window — or undefined to
   * go on. Costs no signature and builds no error object (unless `onError` /
   * `observer` are set). The handler runs it itself too.
   */
  precheck?(head: PartnerRequestHead): PartnerResponse | undefined;
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

/** The last response built for each cached FAIL body (the same frozen object while the cache hands out the same entry). */
const failResponses = new WeakMap<CachedSignedReply, PartnerResponse>();

/** A signed `{ retCode: "FAIL", retMsg }`; signed at most once per second per `retMsg` (the same bytes either way). Frozen: it may be handed out again. */
export function failReply(ctx: SigningContext, retMsg: string): PartnerResponse {
  const reply: PartnerReply = { retCode: 'FAIL', retMsg: clampRetMsg(retMsg) };
  const entry = failCache(ctx).get(JSON.stringify(reply));
  let response = failResponses.get(entry);
  if (!response) {
    const { body, authorization } = entry;
    const headers = Object.freeze({ 'content-type': 'application/json; charset=utf-8', authorization, 'content-length': String(body.length) });
    response = Object.freeze({ status: 200, headers, body });
    failResponses.set(entry, response);
  }
  return response;
}

/** How many FAIL replies of this context (or handler) were signed and how many reused. */
export function failReplyStats(of: SigningContext | PartnerHandler): { signed: number; reused: number } {
  const ctx = handlerContexts.get(of as PartnerHandler) ?? (of as SigningContext);
  const cache = failCaches.get(ctx);
  return { signed: cache?.signed ?? 0, reused: cache?.reused ?? 0 };
}

const handlerContexts = new WeakMap<PartnerHandler, SigningContext>();

/** The refusal of a peer past its budget of failed checks (peer-budget.ts). */
const TOO_MANY = 'too many bad signatures';

/** Size, signature, validation and replay checks; throws RefusedError / SignatureError / ValidationError. */
export async function verifyRequest<K extends MessageKind>(ctx: PartnerContext, kind: K, request: PartnerRequest): Promise<MessageTypes[K]> {
  const raw = request?.rawBody;
  if (!(raw instanceof Uint8Array)) throw new RefusedError('no body');
  if (raw.length > ctx.maxBodyBytes) throw new RefusedError('body too large', `body has ${raw.length} bytes, limit ${ctx.maxBodyBytes}`);
  // Signature (raw bytes, window), then decoding and validation; the nonce last, so a bad message uses none up.
  let message: MessageTypes[K];
  try {
    message = constructMessage(kind, raw, header(request.headers ?? {}, 'authorization'), ctx.tskPublicKey, {
      now: ctx.now,
      toleranceMs: ctx.toleranceMs,
    });
  } catch (e) {
    if (e instanceof SignatureError) ctx.peerBudget?.spend(request.peer);
    throw e;
  }
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
  const refuse = (startedAt: number, retMsg: string, error: () => unknown): PartnerResponse => {
    if (ctx.onError || ctx.observer) {
      const e = error();
      reportError(ctx, e, kind, retMsg);
      observeRequest(ctx.observer, kind, startedAt, undefined, { retCode: 'FAIL', retMsg }, e);
    }
    return failReply(ctx, retMsg);
  };
  const precheck = (head: PartnerRequestHead, startedAt = ctx.observer ? performance.now() : 0): PartnerResponse | undefined => {
    if (ctx.peerBudget?.limited(head?.peer))
      return refuse(startedAt, TOO_MANY, () => new RefusedError(TOO_MANY, 'this peer is past its budget of failed signature checks'));
    const pre = precheckSignature(header(head?.headers ?? {}, 'authorization'), TSK_RSA2, { now: ctx.now, toleranceMs: ctx.toleranceMs });
    if (pre.ok) return undefined;
    ctx.peerBudget?.spend(head?.peer);
    const error = () => new SignatureError(pre.reason, pre.message);
    return refuse(startedAt, clampRetMsg(`signature: ${pre.reason}`), error);
  };
  const handle = async (request: PartnerRequest): Promise<PartnerResponse> => {
    const startedAt = ctx.observer ? performance.now() : 0;
    let message: MessageTypes[K] | undefined;
    const early = precheck(request, startedAt);
    if (early) return early;
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
  const handler: PartnerHandler = Object.assign(handle, { maxBodyBytes: ctx.maxBodyBytes, reject, precheck: (head: PartnerRequestHead) => precheck(head) });
  handlerContexts.set(handler, ctx);
  return handler;
}
