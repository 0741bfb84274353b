/**
 * The entitlement lifecycle for a skill's own answers: what a user bought
 * (purchase history) and their credits (our own extension: consumables with
 * a count, see `CatalogItem.credits`). Thin over the store's optional
 * methods, so a skill needs only the store it already gives the handlers;
 * a store without them is an `InvalidArgumentError` here, never a crash.
 */
import { InvalidArgumentError } from '../protocol/index.js';
import type { CreditConsumption, PartnerStore, PurchasePage } from './store.js';

export interface PurchasesOptions {
  /** Default 20, at most 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string | null;
}

function need<K extends 'listPurchases' | 'getCredits' | 'consumeCredits'>(store: PartnerStore, method: K): NonNullable<PartnerStore[K]> {
  const fn = store?.[method];
  if (typeof fn !== 'function') throw new InvalidArgumentError(`the store has no ${method} (all built-in stores do)`);
  return fn.bind(store) as NonNullable<PartnerStore[K]>;
}

/**
 * A user's purchases (delivered orders), newest first, one page:
 *
 * ```ts
 * const { purchases, nextCursor } = await listPurchases(store, skillId, userToken, { limit: 10 });
 * ```
 */
export async function listPurchases(store: PartnerStore, skillId: string, userToken: string, options: PurchasesOptions = {}): Promise<PurchasePage> {
  return need(store, 'listPurchases')(skillId, userToken, { limit: options.limit ?? 20, cursor: options.cursor ?? null });
}

/** The user's credits on `balance` (0 when none). */
export async function creditsOf(store: PartnerStore, skillId: string, userToken: string, balance: string): Promise<number> {
  return need(store, 'getCredits')(skillId, userToken, balance);
}

/** Spend `count` (default 1) credits of `balance`: all or nothing, never below zero. */
export async function consumeCredits(store: PartnerStore, skillId: string, userToken: string, balance: string, count = 1): Promise<CreditConsumption> {
  return need(store, 'consumeCredits')(skillId, userToken, balance, count);
}
