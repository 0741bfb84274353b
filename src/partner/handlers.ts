/**
 * Framework-agnostic handlers for the three interfaces the platform calls on
 * a skill backend (SPEC §4): 1 create order, 2 delivery notification,
 * 6 refund result notification.
 *
 *   { headers, rawBody } → { status, headers, body }
 *
 * Every request is checked in this order, and any failure is answered with a
 * signed `{ retCode: "FAIL", retMsg }` (≤ 32 characters) and no state change:
 * body size → TSK-RSA2 signature over the raw bytes with `TSKPublicKey`
 * (header shape, algorithm, ±3 min window) → UTF-8 JSON + wire validation →
 * `nonceStr` replay guard → the interface's own checks. Every reply —
 * SUCCESS or FAIL — is signed with `SkillPrivateKey` over the exact reply
 * bytes that are sent. Replies use HTTP 200: the answer is in `retCode`.
 */
import type { KeyObject } from 'node:crypto';
import {
  clampRetMsg,
  constructMessage,
  DEFAULT_TOLERANCE_MS,
  DingDangPayError,
  InvalidArgumentError,
  loadPrivateKey,
  loadPublicKey,
  NonceGuard,
  SignatureError,
  signedJsonHeaders,
  ValidationError,
  type AckReply,
  type Clock,
  type CreateOrderReply,
  type KeyInput,
  type MessageKind,
  type MessageTypes,
  type RefundNotifyRequest,
} from '../protocol/index.js';
import type { PartnerStore, Refund } from './store.js';
import { handleCreateOrder, type CatalogHook, type UserHook } from './create-order.js';
import { deliverOutcome, PendingAck, type DeliverHook } from './deliver.js';

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

export interface RefundNotifyContext {
  notification: RefundNotifyRequest;
}
/** Called after a refund result was recorded. Throwing makes the reply FAIL (the platform retries). */
export type RefundHook = (ctx: RefundNotifyContext) => void | Promise<void>;

export interface PartnerOptions {
  /** The skill(s) this backend sells for; requests naming another skillId are refused. */
  skillId: string | readonly string[];
  /** The platform's public key (PEM, bare Base64, or KeyObject). */
  tskPublicKey: KeyInput;
  /** This backend's private key; signs every reply. */
  skillPrivateKey: KeyInput;
  store: PartnerStore;
  /** The partner's own price list: every order line is checked against it. */
  catalog: CatalogHook;
  /** Gives the goods. Called at least once per paid order with idempotency key `tradeNo`; see docs/partner.md. */
  deliver: DeliverHook;
  /** Optional: is `userToken` one of the partner's users? Default: any non-empty token. */
  user?: UserHook;
  /** Optional: a refund result notification arrived (after it was stored). */
  onRefund?: RefundHook;
  /** Largest accepted request body in bytes; default 64 KiB. */
  maxBodyBytes?: number;
  /** Signature window either way; default 3 minutes. */
  toleranceMs?: number;
  /**
   * Replay guard for `nonceStr`: `check(nonce)` is false for a nonce already
   * seen inside the window. Default a fresh `NonceGuard` per handler set (one
   * process); give a shared one (may be async, e.g. a database table with a
   * unique key) when several backend instances must refuse each other's replays.
   */
  nonceGuard?: ReplayGuard;
  /** Clock (epoch ms); default `Date.now`. */
  now?: Clock;
  /** How long a delivery claim is held before another attempt may take it over; default 60 s. */
  leaseMs?: number;
  /** How long a duplicate waits for a concurrent delivery of the same order before answering FAIL; default 2 s. */
  inProgressWaitMs?: number;
  /** How long the deliver hook may run before the attempt answers FAIL; default 20 s. */
  deliverTimeoutMs?: number;
  /** New `tradeNo` (1–32 of [0-9A-Za-z]); default 32 random characters. */
  newTradeNo?: () => string;
  /** Told about every refused request and internal error (for logs). Never throws into the reply path. */
  onError?: (error: unknown, info: { kind: MessageKind; retMsg: string }) => void;
}

export interface ReplayGuard {
  check(nonce: string): boolean | Promise<boolean>;
}

export interface PartnerHandlers {
  createOrder: PartnerHandler;
  deliver: PartnerHandler;
  refundNotify: PartnerHandler;
  /** The resolved options (keys loaded), shared by the handlers. */
  readonly context: PartnerContext;
}

export interface PartnerContext {
  skillIds: ReadonlySet<string>;
  tskPublicKey: KeyObject;
  skillPrivateKey: KeyObject;
  store: PartnerStore;
  catalog: CatalogHook;
  deliver: DeliverHook;
  user: UserHook | undefined;
  onRefund: RefundHook | undefined;
  maxBodyBytes: number;
  toleranceMs: number;
  nonceGuard: ReplayGuard;
  now: Clock;
  leaseMs: number;
  inProgressWaitMs: number;
  deliverTimeoutMs: number;
  newTradeNo: (() => string) | undefined;
  onError: PartnerOptions['onError'];
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** A refusal that is answered as a signed FAIL with this short `retMsg`. */
export class RefusedError extends DingDangPayError {
  readonly retMsg: string;
  constructor(retMsg: string, message = retMsg) {
    super('ERR_REFUSED', message);
    this.retMsg = clampRetMsg(retMsg);
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

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
  return v;
}

export function resolvePartnerOptions(options: PartnerOptions): PartnerContext {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('partner options are required');
  const ids = typeof options.skillId === 'string' ? [options.skillId] : [...(options.skillId ?? [])];
  if (ids.length === 0 || ids.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 32))
    throw new InvalidArgumentError('skillId must be 1–32 characters (or a list of such)');
  if (!options.store) throw new InvalidArgumentError('store is required');
  if (typeof options.catalog !== 'function') throw new InvalidArgumentError('catalog must be a function (see catalogFrom)');
  if (typeof options.deliver !== 'function') throw new InvalidArgumentError('deliver must be a function');
  const now = options.now ?? (() => Date.now());
  return {
    skillIds: new Set(ids),
    tskPublicKey: loadPublicKey(options.tskPublicKey),
    skillPrivateKey: loadPrivateKey(options.skillPrivateKey),
    store: options.store,
    catalog: options.catalog,
    deliver: options.deliver,
    user: options.user,
    onRefund: options.onRefund,
    maxBodyBytes: positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes'),
    toleranceMs: positive(options.toleranceMs, DEFAULT_TOLERANCE_MS, 'toleranceMs'),
    nonceGuard: options.nonceGuard ?? new NonceGuard({ now }),
    now,
    leaseMs: positive(options.leaseMs, 60_000, 'leaseMs'),
    inProgressWaitMs: options.inProgressWaitMs === 0 ? 0 : positive(options.inProgressWaitMs, 2_000, 'inProgressWaitMs'),
    deliverTimeoutMs: positive(options.deliverTimeoutMs, 20_000, 'deliverTimeoutMs'),
    newTradeNo: options.newTradeNo,
    onError: options.onError,
  };
}

/** Serialise and sign a reply; `body` is exactly the signed bytes. */
export function signedReply(ctx: Pick<PartnerContext, 'skillPrivateKey' | 'now'>, reply: AckReply | CreateOrderReply): PartnerResponse {
  const body = Buffer.from(JSON.stringify(reply), 'utf8');
  const headers = signedJsonHeaders(body, ctx.skillPrivateKey, { now: ctx.now });
  return { status: 200, headers: { ...headers, 'content-length': String(body.length) }, body };
}

export function failReply(ctx: PartnerContext, retMsg: string): PartnerResponse {
  return signedReply(ctx, { retCode: 'FAIL', retMsg: clampRetMsg(retMsg) });
}

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

function retMsgOf(e: unknown): string {
  if (e instanceof RefusedError || e instanceof ValidationError || e instanceof SignatureError) return e.retMsg;
  return 'internal error';
}

/** Wrap interface logic: verify, run, sign; every throw becomes a signed FAIL. */
export function makeHandler<K extends MessageKind>(
  ctx: PartnerContext,
  kind: K,
  run: (message: MessageTypes[K]) => Promise<AckReply | CreateOrderReply | PendingAck>,
): PartnerHandler {
  const handle = async (request: PartnerRequest): Promise<PartnerResponse> => {
    try {
      const message = await verifyRequest(ctx, kind, request);
      const out = await run(message);
      if (out instanceof PendingAck) {
        // Sign while the store makes the record durable; answer only once it is.
        const response = signedReply(ctx, out.reply);
        await out.recorded;
        return response;
      }
      return signedReply(ctx, out);
    } catch (e) {
      const retMsg = retMsgOf(e);
      try {
        ctx.onError?.(e, { kind, retMsg });
      } catch {
        /* a logging hook must not change the answer */
      }
      return failReply(ctx, retMsg);
    }
  };
  return Object.assign(handle, { maxBodyBytes: ctx.maxBodyBytes, reject: (retMsg: string) => failReply(ctx, retMsg) });
}

async function saveRefundOrRefuse(ctx: PartnerContext, refund: Refund): Promise<void> {
  try {
    await ctx.store.saveRefund(refund);
  } catch (e) {
    if ((e as { code?: unknown })?.code === 'ERR_REFUND_EXCEEDS') throw new RefusedError('refund exceeds order');
    throw e;
  }
}

async function handleRefundNotify(ctx: PartnerContext, n: RefundNotifyRequest): Promise<AckReply> {
  const order = await ctx.store.getOrder(n.tradeNo);
  if (!order) throw new RefusedError('unknown tradeNo');
  if (order.skillId !== n.skillId) throw new RefusedError('skillId mismatch');
  if (order.totalAmt !== n.totalAmt) throw new RefusedError('totalAmt mismatch');
  if (order.transactionId !== null && order.transactionId !== n.transactionId) throw new RefusedError('transactionId mismatch');
  const known = await ctx.store.getRefund(n.refundTradeNo);
  if (known && known.tradeNo !== n.tradeNo) throw new RefusedError('refund belongs to another order');
  if (known && known.refundAmt !== n.refundAmt) throw new RefusedError('refundAmt mismatch');
  if (!known) {
    await saveRefundOrRefuse(ctx, {
      refundTradeNo: n.refundTradeNo,
      tradeNo: n.tradeNo,
      refundAmt: n.refundAmt,
      status: n.refundStatus,
      refundTransactionId: n.refundTransactionId,
      createdAt: ctx.now(),
    });
  }
  // A final status is never moved back by a late PROCESSING notification.
  const final = known && known.status !== 'PROCESSING';
  if (!final) await ctx.store.updateRefund(n.refundTradeNo, { status: n.refundStatus, refundTransactionId: n.refundTransactionId });
  if (ctx.onRefund) await ctx.onRefund({ notification: n });
  return { retCode: 'SUCCESS' };
}

/**
 * The three handlers over one store and one key pair.
 *
 * ```ts
 * const h = createPartnerHandlers({ skillId, tskPublicKey, skillPrivateKey, store, catalog, deliver });
 * const res = await h.deliver({ headers: req.headers, rawBody });
 * ```
 */
export function createPartnerHandlers(options: PartnerOptions): PartnerHandlers {
  const ctx = resolvePartnerOptions(options);
  return {
    context: ctx,
    createOrder: makeHandler(ctx, 'createOrderRequest', (m) => handleCreateOrder(ctx, m)),
    deliver: makeHandler(ctx, 'deliverNotifyRequest', (m) => deliverOutcome(ctx, m)),
    refundNotify: makeHandler(ctx, 'refundNotifyRequest', (m) => handleRefundNotify(ctx, m)),
  };
}
