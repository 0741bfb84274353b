/**
 * 1 创建订单: the platform asks the skill backend to create its order.
 *
 * The platform's amounts are never trusted alone: every line is looked up in
 * the partner's own price list (the catalog hook) and must satisfy
 * `unit price × quantity = amount`; `totalAmt` must equal the sum of the
 * lines (checked by validation, and again here on the partner's prices).
 * A user who already owns a (non-consumable) item is answered
 * `{ retCode: "FAIL", retMsg: "ALREADY_OWNED" }` so the device can go
 * straight to the resume. A credit pack (`CatalogItem.credits`, our own
 * extension) is stored with its grant (`credits × quantity`), which the
 * store adds to the balance when it records the delivery.
 */
import { isFen, isOrderNo, randomNonce, RET_MSG_ALREADY_OWNED, sumFen, type CreateOrderReply, type CreateOrderRequest, type Fen } from '../protocol/index.js';
import { creditGrantOf, creditProblem } from './catalog.js';
import { RefusedError } from './errors.js';
import type { CreditGrant } from './store.js';
import type { PartnerContext } from './partner-context.js';

const MAX_TRADE_NO_TRIES = 5;

export async function handleCreateOrder(ctx: PartnerContext, req: CreateOrderRequest): Promise<CreateOrderReply> {
  const { skillId, userToken } = req;
  if (ctx.user && !(await ctx.user(userToken, { skillId }))) throw new RefusedError('unknown user');

  const seen = new Set<string>();
  const lines: Fen[] = [];
  const credits: CreditGrant[] = [];
  for (const line of req.details) {
    if (seen.has(line.itemId)) throw new RefusedError('duplicate itemId');
    seen.add(line.itemId);
    const item = await ctx.catalog(line.itemId, { skillId, userToken });
    if (!item) throw new RefusedError('unknown itemId');
    if (!isFen(item.price)) throw new RefusedError('item has no price');
    if (item.maxQuantity !== undefined && line.quantity > item.maxQuantity) throw new RefusedError('quantity too large');
    const expected = item.price * line.quantity;
    if (!Number.isSafeInteger(expected) || expected !== line.amount) throw new RefusedError('price mismatch');
    if (creditProblem(item) || (item.credits !== undefined && !ctx.store.consumeCredits))
      throw new RefusedError('item not available', `catalog credits of ${line.itemId}`);
    const grant = creditGrantOf(item, line.quantity);
    if (grant && !Number.isSafeInteger(grant.count)) throw new RefusedError('quantity too large');
    if (grant) credits.push(grant);
    if (!item.consumable && !grant && (await ctx.store.ownsItem(skillId, userToken, line.itemId)))
      throw new RefusedError(RET_MSG_ALREADY_OWNED, `user already owns ${line.itemId}`);
    lines.push(expected);
  }
  if (sumFen(lines) !== req.totalAmt) throw new RefusedError('totalAmt mismatch');

  for (let attempt = 1; ; attempt++) {
    const tradeNo = ctx.newTradeNo ? ctx.newTradeNo() : randomNonce(32);
    if (!isOrderNo(tradeNo)) throw new Error('newTradeNo() must return 1–32 characters of [0-9A-Za-z]');
    try {
      await ctx.store.createOrder({
        tradeNo,
        skillId,
        userToken,
        details: req.details.map((d) => ({ itemId: d.itemId, quantity: d.quantity, amount: d.amount })),
        totalAmt: req.totalAmt,
        createdAt: ctx.now(),
        ...(credits.length > 0 ? { credits } : {}),
      });
      return { retCode: 'SUCCESS', tradeNo };
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'ERR_DUPLICATE' && attempt < MAX_TRADE_NO_TRIES) continue;
      throw e;
    }
  }
}
