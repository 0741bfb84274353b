/** A catalog hook from a fixed price list. */
import { InvalidArgumentError, isFen } from '../protocol/index.js';
import type { CatalogHook, CatalogItem } from './hooks.js';

/** A catalog hook from a fixed list of items (each itemId once, integer fen prices). */
export function catalogFrom(items: Iterable<CatalogItem>): CatalogHook {
  const map = new Map<string, CatalogItem>();
  for (const item of items) {
    if (!item || typeof item.itemId !== 'string' || item.itemId.length === 0 || item.itemId.length > 32)
      throw new InvalidArgumentError('catalog itemId must be 1–32 characters');
    if (!isFen(item.price)) throw new InvalidArgumentError(`catalog price of ${item.itemId} must be integer fen`);
    if (map.has(item.itemId)) throw new InvalidArgumentError(`catalog lists ${item.itemId} twice`);
    map.set(item.itemId, { ...item });
  }
  return (itemId) => map.get(itemId);
}
