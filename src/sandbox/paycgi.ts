/**
 * The platform's pay CGI (seed interfaces 3–5): `/paycgi/orderquery`,
 * `/paycgi/refund`, `/paycgi/refundquery`.
 *
 * Every request: find the skill by the body's `skillId`, verify its TSK-RSA2
 * signature with that skill's public key over the exact bytes (±3 minutes),
 * validate the message, reject a `nonceStr` seen again inside the window.
 * Every reply — FAIL ones too, even for an unknown skill — is signed with the
 * platform key. Bad input → `retCode: FAIL` with a `retMsg` ≤ 32 characters
 * and no state change.
 *
 * FAIL replies are signed once per second per distinct body and reused for
 * the rest of that second (src/protocol/reply-cache.ts; our own extension):
 * the same bytes a fresh signature gives, so junk costs one signature per
 * second per refusal. SUCCESS replies are signed fresh.
 */
import { clampRetMsg, DingDangPayError, ValidationError } from '../protocol/errors.js';
import type { OrderQueryReply, RefundQueryReply, RefundReply } from '../protocol/types.js';
import { validate, validateJson } from '../protocol/validate.js';
import { verifyRsa2 } from '../protocol/tsk-node.js';
import { NonceGuard } from '../protocol/tsk.js';
import { SignedReplyCache } from '../protocol/reply-cache.js';
import { SandboxStateError, type OrderBookReason } from './errors.js';
import { REFUND_STATUS_DESC, refundWireFields, tradeStatusDesc } from './order-book.js';
import type { Platform } from './platform.js';
import type { Router } from './router.js';

export type PayCgiKind = 'orderquery' | 'refund' | 'refundquery';

export interface PayCgiResult {
  /** Exact reply bytes. */
  body: string;
  /** TSK-RSA2 Authorization header of the reply. */
  authorization: string;
  reply: Record<string, unknown>;
}

const STATE_MSG: Record<OrderBookReason, string> = {
  UNKNOWN_ORDER: 'order not found',
  UNKNOWN_REFUND: 'refund not found',
  UNKNOWN_PURCHASE: 'purchase not found',
  UNKNOWN_SKILL: 'unknown skillId',
  DUPLICATE_TRADE_NO: 'duplicate tradeNo',
  NOT_PAID: 'order not paid',
  ALREADY_FINAL: 'order already final',
  EXPIRED: 'order expired',
  AMOUNT_MISMATCH: 'totalAmt mismatch',
  REFUND_EXCEEDS_PAID: 'refundAmt exceeds paid amount',
  REFUND_CONFLICT: 'refundTradeNo already used',
  ORDER_MISMATCH: 'ids name different orders',
  BAD_STATE: 'bad state',
};

export class PayCgi {
  /** One replay guard per skill (nonces are the partner's). */
  private readonly guards = new Map<string, NonceGuard>();
  readonly toleranceMs: number;
  /** Signed FAIL replies of the current second (its `signed` / `reused` counters show the cost of refusals). */
  readonly failCache: SignedReplyCache;

  constructor(
    private readonly platform: Platform,
    options: { toleranceMs?: number } = {},
  ) {
    this.toleranceMs = options.toleranceMs ?? 3 * 60_000;
    // The platform's signing clock (with the clockSkew fault), like every other signature it makes.
    this.failCache = new SignedReplyCache(platform.config.platformPrivateKey, { now: () => platform.signingNow() });
  }

  private guard(skillId: string): NonceGuard {
    let g = this.guards.get(skillId);
    if (!g) {
      g = new NonceGuard({ windowMs: 2 * this.toleranceMs, now: () => this.platform.scheduler.now() });
      this.guards.set(skillId, g);
    }
    return g;
  }

  private signed(reply: Record<string, unknown>): PayCgiResult {
    const body = JSON.stringify(reply);
    return { body, authorization: this.platform.sign(body), reply };
  }

  private fail(msg: string): PayCgiResult {
    const reply = { retCode: 'FAIL', retMsg: clampRetMsg(msg) };
    const body = JSON.stringify(reply);
    return { body, authorization: this.failCache.get(body).authorization, reply };
  }

  /** Handle one request: raw body bytes and its Authorization header. Never throws for bad input. */
  handle(kind: PayCgiKind, raw: Uint8Array, authorization: string | undefined): PayCgiResult {
    const out = this.process(kind, raw, authorization);
    const text = new TextDecoder().decode(raw.subarray(0, 4096));
    let skillId: unknown;
    try {
      skillId = (JSON.parse(new TextDecoder().decode(raw)) as { skillId?: unknown } | null)?.skillId;
    } catch {
      skillId = undefined;
    }
    const rec: Parameters<Platform['recordInbound']>[0] = { kind, at: this.platform.scheduler.now(), body: text, retCode: String(out.reply.retCode) };
    if (typeof skillId === 'string') rec.skillId = skillId.slice(0, 64);
    if (typeof out.reply.retMsg === 'string') rec.retMsg = out.reply.retMsg;
    this.platform.recordInbound(rec);
    return out;
  }

  private process(kind: PayCgiKind, raw: Uint8Array, authorization: string | undefined): PayCgiResult {
    // Which skill? Read skillId before verifying, then verify with that skill's key.
    let decoded: unknown;
    try {
      decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch {
      return this.fail('body is not JSON');
    }
    const skillId = (decoded as { skillId?: unknown } | null)?.skillId;
    if (typeof skillId !== 'string' || skillId === '') return this.fail('skillId missing');
    const skill = this.platform.skill(skillId);
    if (!skill) return this.fail('unknown skillId');
    const v = verifyRsa2(raw, authorization, skill.skillPublicKey, { now: () => this.platform.scheduler.now(), toleranceMs: this.toleranceMs });
    if (!v.ok) return this.fail(`signature: ${v.reason}`);
    const messageKind = kind === 'orderquery' ? 'orderQueryRequest' : kind === 'refund' ? 'refundRequest' : 'refundQueryRequest';
    const parsed = validateJson(messageKind, raw);
    if (!parsed.ok) return this.fail(new ValidationError(parsed.issues).retMsg);
    const msg = parsed.value as unknown as { nonceStr: string; transactionId?: string; tradeNo?: string; refundTransactionId?: string; refundTradeNo?: string };
    if (!this.guard(skillId).check(msg.nonceStr)) return this.fail('signature: replay');
    try {
      switch (kind) {
        case 'orderquery':
          return this.orderQuery(skillId, msg);
        case 'refund':
          return this.refund(skillId, parsed.value as never);
        case 'refundquery':
          return this.refundQuery(skillId, msg);
      }
    } catch (e) {
      if (e instanceof SandboxStateError) return this.fail(STATE_MSG[e.reason]);
      if (e instanceof DingDangPayError) return this.fail(e.message);
      return this.fail('internal error');
    }
  }

  private checked<K extends 'orderQueryReply' | 'refundReply' | 'refundQueryReply'>(kind: K, reply: Record<string, unknown>): PayCgiResult {
    const v = validate(kind, reply);
    if (!v.ok) return this.fail('internal error');
    return this.signed(reply);
  }

  private orderQuery(skillId: string, msg: { transactionId?: string | undefined; tradeNo?: string | undefined }): PayCgiResult {
    const o = this.platform.book.find(skillId, { transactionId: msg.transactionId, tradeNo: msg.tradeNo });
    const reply: OrderQueryReply = {
      retCode: 'SUCCESS',
      skillId,
      transactionId: o.transactionId,
      tradeNo: o.tradeNo,
      totalAmt: o.totalAmt,
      tradeStatus: o.tradeStatus,
      tradeStatusDesc: tradeStatusDesc(o),
    };
    return this.checked('orderQueryReply', reply);
  }

  private refund(
    skillId: string,
    msg: {
      transactionId?: string;
      tradeNo?: string;
      refundTradeNo: string;
      totalAmt: number;
      refundAmt: number;
      refundDesc?: string;
      refundDetails: Array<{ itemId: string; quantity: number; amount: number }>;
    },
  ): PayCgiResult {
    const input: Parameters<Platform['book']['refund']>[0] = {
      skillId,
      refundTradeNo: msg.refundTradeNo,
      totalAmt: msg.totalAmt,
      refundAmt: msg.refundAmt,
      refundDetails: msg.refundDetails,
    };
    if (msg.transactionId !== undefined) input.transactionId = msg.transactionId;
    if (msg.tradeNo !== undefined) input.tradeNo = msg.tradeNo;
    if (msg.refundDesc !== undefined) input.refundDesc = msg.refundDesc;
    const { refund } = this.platform.book.refund(input);
    const reply: RefundReply = { retCode: 'SUCCESS', ...refundWireFields(refund) };
    return this.checked('refundReply', reply);
  }

  private refundQuery(skillId: string, msg: { refundTransactionId?: string | undefined; refundTradeNo?: string | undefined }): PayCgiResult {
    const r = this.platform.book.findRefund(skillId, { refundTransactionId: msg.refundTransactionId, refundTradeNo: msg.refundTradeNo });
    const reply: RefundQueryReply = {
      retCode: 'SUCCESS',
      ...refundWireFields(r),
      refundStatus: r.refundStatus,
      refundStatusDesc: REFUND_STATUS_DESC[r.refundStatus],
    };
    return this.checked('refundQueryReply', reply);
  }
}

/** The pay CGI's routes, `POST /paycgi/{orderquery,refund,refundquery}`: every reply HTTP 200, signed. */
export function installPayCgi(router: Router, cgi: PayCgi): void {
  for (const kind of ['orderquery', 'refund', 'refundquery'] as PayCgiKind[]) {
    router.route('POST', new RegExp(`^/paycgi/${kind}$`), async ({ req, res, body }) => {
      let raw: Buffer;
      try {
        raw = await body();
      } catch {
        raw = Buffer.alloc(0);
      }
      const out = cgi.handle(kind, raw, req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', authorization: out.authorization });
      res.end(out.body);
    });
  }
}
