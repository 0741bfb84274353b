/**
 * Credit packs through the kit (our own extension, `CatalogItem.credits`):
 * the catalog checks the fields, create order stores the grant
 * (`credits × quantity`), the delivery notification adds it to the balance,
 * a pack is bought again without ALREADY_OWNED, and a store that cannot keep
 * balances refuses to sell one (signed FAIL, nothing stored).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  catalogFrom,
  consumeCredits,
  createPartnerHandlers,
  creditsOf,
  listPurchases,
  MemoryPartnerStore,
  type PartnerStore,
} from '../../src/partner/index.js';
import { createOrderBody, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';

const ITEMS = [
  { itemId: 'card10', price: 500, credits: 10, creditBalance: 'plays', maxQuantity: 5 },
  { itemId: 'card3', price: 200, credits: 3, creditBalance: 'plays', creditsOnRefund: 'keep' as const },
  { itemId: 'ep35', price: 200 },
];

function setup(store: PartnerStore = new MemoryPartnerStore()) {
  const h = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store,
    catalog: catalogFrom(ITEMS),
    deliver: () => {},
  });
  return { h, store };
}

describe('credit packs through the kit', () => {
  it('catalogFrom refuses bad credit fields with a typed error', () => {
    for (const bad of [
      { itemId: 'x', price: 1, credits: 0 },
      { itemId: 'x', price: 1, credits: 1.5 },
      { itemId: 'x', price: 1, credits: 2, creditBalance: '' },
      { itemId: 'x', price: 1, credits: 2, creditBalance: 'b'.repeat(65) },
      { itemId: 'x', price: 1, credits: 2, creditsOnRefund: 'all' as 'keep' },
      { itemId: 'x', price: 1, creditBalance: 'plays' },
    ])
      assert.throws(() => catalogFrom([bad]), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(bad));
  });

  it('create order stores the grant, delivery adds it, a pack can be bought again, consuming spends it', async () => {
    const { h, store } = setup();
    const body = { details: [{ itemId: 'card10', quantity: 2, amount: 1000 }], totalAmt: 1000 };
    const created = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody(body)))), 'createOrderReply');
    assert.equal(created.retCode, 'SUCCESS');
    const tradeNo = created.tradeNo!;
    assert.deepEqual((await store.getOrder(tradeNo))?.credits, [{ itemId: 'card10', balance: 'plays', count: 20, onRefund: 'remaining' }]);
    assert.equal(await creditsOf(store, SKILL_ID, 'user-1', 'plays'), 0);
    const d = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo, { totalAmt: 1000 })))), 'deliverNotifyReply');
    assert.equal(d.retCode, 'SUCCESS');
    const again = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo, { totalAmt: 1000 })))), 'deliverNotifyReply');
    assert.equal(again.retCode, 'SUCCESS');
    assert.equal(await creditsOf(store, SKILL_ID, 'user-1', 'plays'), 20, 'added once');
    const more = readReply(
      await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ details: [{ itemId: 'card3', quantity: 1, amount: 200 }], totalAmt: 200 })))),
      'createOrderReply',
    );
    assert.equal(more.retCode, 'SUCCESS', 'no ALREADY_OWNED for a pack');
    assert.deepEqual((await store.getOrder(more.tradeNo!))?.credits, [{ itemId: 'card3', balance: 'plays', count: 3, onRefund: 'keep' }]);
    assert.deepEqual(await consumeCredits(store, SKILL_ID, 'user-1', 'plays', 20), { ok: true, balance: 0 });
    assert.deepEqual(await consumeCredits(store, SKILL_ID, 'user-1', 'plays'), { ok: false, balance: 0 });
    assert.deepEqual(
      (await listPurchases(store, SKILL_ID, 'user-1')).purchases.map((p) => p.tradeNo),
      [tradeNo],
    );
  });

  it('a store without credit balances refuses to sell a pack (signed FAIL, nothing stored); helpers say what is missing', async () => {
    // a store of the partner's own that keeps no balances and no history (the methods are optional)
    const plain = new MemoryPartnerStore();
    const limited = new Proxy(plain, {
      get: (t, prop) => {
        if (prop === 'consumeCredits' || prop === 'getCredits' || prop === 'listPurchases') return undefined;
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as PartnerStore;
    const { h } = setup(limited);
    const r = readReply(
      await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ details: [{ itemId: 'card10', quantity: 1, amount: 500 }], totalAmt: 500 })))),
      'createOrderReply',
    );
    assert.deepEqual([r.retCode, r.retMsg], ['FAIL', 'item not available']);
    const ok = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody()))), 'createOrderReply');
    assert.equal(ok.retCode, 'SUCCESS', 'an ordinary item still sells');
    assert.equal((await plain.listPurchases(SKILL_ID, 'user-1', { limit: 10 })).purchases.length, 0);
    await assert.rejects(listPurchases(limited, SKILL_ID, 'user-1'), { code: 'ERR_INVALID_ARGUMENT', message: /listPurchases/ });
    await assert.rejects(consumeCredits(limited, SKILL_ID, 'user-1', 'plays'), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
