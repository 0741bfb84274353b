/** A catalog hook from a fixed price list. */
import { InvalidArgumentError, isFen } from '../protocol/index.js';
import type { CatalogHook, CatalogItem } from './hooks.js';
import type { CreditGrant } from './store.js';

/** A catalog hook from a fixed list of items (each itemId once, integer fen prices). */
export function catalogFrom(items: Iterable<CatalogItem>): CatalogHook {
  const map = new Map<string, CatalogItem>();
  for (const item of items) {
    if (!item || typeof item.itemId !== 'string' || item.itemId.length === 0 || item.itemId.length > 32)
      throw new InvalidArgumentError('catalog itemId must be 1–32 characters');
    if (!isFen(item.price)) throw new InvalidArgumentError(`catalog price of ${item.itemId} must be integer fen`);
    if (map.has(item.itemId)) throw new InvalidArgumentError(`catalog lists ${item.itemId} twice`);
    const credits = creditProblem(item);
    if (credits) throw new InvalidArgumentError(`catalog item ${item.itemId}: ${credits}`);
    map.set(item.itemId, { ...item });
  }
  return (itemId) => map.get(itemId);
}

/**
 * What is wrong with an item's credit fields (our own extension, see
 * `CatalogItem.credits`), or undefined when they are fine or absent.
 */
export function creditProblem(item: CatalogItem): string | undefined {
  if (item.credits === undefined) {
    if (item.creditBalance !== undefined || item.creditsOnRefund !== undefined) return 'creditBalance / creditsOnRefund need credits';
    return undefined;
  }
  if (!Number.isSafeInteger(item.credits) || item.credits < 1 || item.credits > 1e9) return 'credits must be an integer 1–1000000000';
  if (
    item.creditBalance !== undefined &&
    (typeof item.creditBalance !== 'string' || item.creditBalance.length === 0 || item.creditBalance.length > 64 || item.creditBalance.includes('\u0000'))
  )
    return 'creditBalance must be 1–64 characters';
  if (item.creditsOnRefund !== undefined && item.creditsOnRefund !== 'remaining' && item.creditsOnRefund !== 'keep')
    return "creditsOnRefund must be 'remaining' or 'keep'";
  return undefined;
}

/** The grant of `quantity` units of a credit item, or undefined for an ordinary item. */
export function creditGrantOf(item: CatalogItem, quantity: number): CreditGrant | undefined {
  if (item.credits === undefined) return undefined;
  return { itemId: item.itemId, balance: item.creditBalance ?? item.itemId, count: item.credits * quantity, onRefund: item.creditsOnRefund ?? 'remaining' };
}
