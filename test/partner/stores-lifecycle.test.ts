/**
 * The entitlement lifecycle in every store (memory, a real SQLite file, a
 * real PostgreSQL server): purchase history (newest first, bounded pages,
 * delivered / refunded / revoked), credits (our own extension: delivery adds
 * them, consuming is all or nothing and exact under concurrent consumers,
 * a refund takes back what is left or keeps them), bad arguments.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { CreditGrant, NewOrder, PartnerStore } from '../../src/partner/store.js';
import { MemoryPartnerStore, PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import { consumeCredits, creditsOf, listPurchases } from '../../src/partner/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

interface Backend {
  name: string;
  skip?: string | undefined;
  /** A fresh store and a second handle on the same data (the same store for memory). */
  open(): Promise<{ store: PartnerStore; other: PartnerStore; close(): Promise<void> }>;
}

let dir = '';
let pg: PostgresServer | undefined;
let n = 0;
const backends: Backend[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryPartnerStore();
      return { store, other: store, close: () => store.close() };
    },
  },
  {
    name: 'sqlite',
    async open() {
      const file = join(dir, `life-${n++}.db`);
      const store = new SqlitePartnerStore(file);
      await store.init();
      const other = new SqlitePartnerStore(file);
      return { store, other, close: async () => (await store.close(), await other.close()) };
    },
  },
  {
    name: 'postgres',
    skip: postgresSkipReason(),
    async open() {
      pg ??= await startPostgres();
      const url = await pg.createDatabase();
      const store = new PostgresPartnerStore({ connectionString: url, poolSize: 4 });
      const other = new PostgresPartnerStore({ connectionString: url, poolSize: 10 });
      await store.init();
      return { store, other, close: async () => (await store.close(), await other.close()) };
    },
  },
];

const order = (tradeNo: string, user: string, createdAt: number, items: string[], credits?: CreditGrant[]): NewOrder => ({
  tradeNo,
  skillId: 'sk',
  userToken: user,
  details: items.map((itemId) => ({ itemId, quantity: 1, amount: 100 })),
  totalAmt: 100 * items.length,
  createdAt,
  ...(credits ? { credits } : {}),
});

async function deliver(s: PartnerStore, o: NewOrder, at = o.createdAt + 5): Promise<void> {
  await s.createOrder(o);
  const c = await s.claimDelivery(o.tradeNo, `tx${o.tradeNo}`, 1000, at);
  assert.equal(c.kind, 'claimed');
  await s.completeDelivery(o.tradeNo, at);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ddp-life-'));
});
after(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const b of backends) {
  describe(`entitlement lifecycle: ${b.name}`, { skip: b.skip }, () => {
    it('lists a user’s delivered orders newest first, in bounded pages, with their status', async () => {
      const { store, close } = await b.open();
      try {
        // same createdAt for B1/B2: the tradeNo decides (descending, byte order)
        await deliver(store, order('A1', 'u1', 1000, ['ep1']));
        await deliver(store, order('B2', 'u1', 2000, ['ep2', 'ep3']));
        await deliver(store, order('B1', 'u1', 2000, ['ep4']));
        await deliver(store, order('a9', 'u1', 500, ['ep5']));
        await deliver(store, order('C1', 'u2', 3000, ['ep1'])); // another user
        await store.createOrder(order('D1', 'u1', 4000, ['ep6'])); // not delivered: not a purchase
        // refunded (money back, kept) and revoked
        await store.saveRefund({ refundTradeNo: 'R1', tradeNo: 'B1', refundAmt: 40, status: 'SUCCESS', refundTransactionId: null, createdAt: 2100 });
        await store.saveRefund({ refundTradeNo: 'R2', tradeNo: 'A1', refundAmt: 100, status: 'SUCCESS', refundTransactionId: null, createdAt: 2100 });
        await store.saveRefund({ refundTradeNo: 'R3', tradeNo: 'B2', refundAmt: 50, status: 'PROCESSING', refundTransactionId: null, createdAt: 2100 });
        assert.equal(await store.revokeEntitlements('A1'), 1);
        assert.equal(await store.revokeEntitlements('A1'), 0, 'once');
        assert.equal(await store.revokeEntitlements('D1'), 0, 'an undelivered order has nothing to take back');

        const first = await listPurchases(store, 'sk', 'u1', { limit: 2 });
        assert.deepEqual(
          first.purchases.map((p) => [p.tradeNo, p.status, p.refundedAmt, p.createdAt, p.deliveredAt, p.details.map((d) => d.itemId).join()]),
          [
            ['B2', 'delivered', 0, 2000, 2005, 'ep2,ep3'],
            ['B1', 'refunded', 40, 2000, 2005, 'ep4'],
          ],
        );
        assert.ok(first.nextCursor);
        const second = await listPurchases(store, 'sk', 'u1', { limit: 2, cursor: first.nextCursor });
        assert.deepEqual(
          second.purchases.map((p) => [p.tradeNo, p.status, p.totalAmt]),
          [
            ['A1', 'revoked', 100],
            ['a9', 'delivered', 100],
          ],
        );
        assert.equal(second.nextCursor, null, 'exactly two left: no further page');
        assert.deepEqual((await listPurchases(store, 'sk', 'nobody')).purchases, []);
        assert.equal((await listPurchases(store, 'sk', 'u1', { limit: 100 })).purchases.length, 4);
        // bad arguments are typed and change nothing
        for (const bad of [{ limit: 0 }, { limit: 101 }, { limit: 2, cursor: 'junk' }, { limit: 2, cursor: '1.bad-no' }]) {
          await assert.rejects(listPurchases(store, 'sk', 'u1', bad), { code: 'ERR_INVALID_ARGUMENT' });
        }
        await assert.rejects(listPurchases(store, '', 'u1'), { code: 'ERR_INVALID_ARGUMENT' });
      } finally {
        await close();
      }
    });

    it('credits: delivery adds them, consuming never goes below zero, a refund takes back what is left (or keeps them)', async () => {
      const { store, close } = await b.open();
      try {
        const pack = (itemId: string, count: number, onRefund: CreditGrant['onRefund'] = 'remaining'): CreditGrant => ({
          itemId,
          balance: 'plays',
          count,
          onRefund,
        });
        await store.createOrder(order('K1', 'u1', 1000, ['card10'], [pack('card10', 10)]));
        assert.equal(await creditsOf(store, 'sk', 'u1', 'plays'), 0, 'nothing before delivery');
        const c = await store.claimDelivery('K1', 'txK1', 1000, 1001);
        assert.equal(c.kind, 'claimed');
        assert.deepEqual(c.kind === 'claimed' && c.order.credits, [pack('card10', 10)]);
        await store.completeDelivery('K1', 1002);
        await store.completeDelivery('K1', 1003); // idempotent: added once
        assert.equal(await creditsOf(store, 'sk', 'u1', 'plays'), 10);
        assert.equal(await store.ownsItem('sk', 'u1', 'card10'), true);
        // two lines of one order on one balance, one kept on refund
        await deliver(store, order('K2', 'u1', 2000, ['card5', 'card20'], [pack('card5', 5), pack('card20', 20, 'keep')]));
        assert.equal(await creditsOf(store, 'sk', 'u1', 'plays'), 35);
        assert.deepEqual(await consumeCredits(store, 'sk', 'u1', 'plays', 30), { ok: true, balance: 5 });
        assert.deepEqual(await consumeCredits(store, 'sk', 'u1', 'plays', 6), { ok: false, balance: 5 }, 'all or nothing');
        assert.deepEqual(await consumeCredits(store, 'sk', 'u2', 'plays'), { ok: false, balance: 0 });
        // refund of K1 (10 granted, 5 left in all): what is left, never below zero
        assert.equal(await store.revokeEntitlements('K1'), 2, 'its entitlement and its credit grant');
        assert.equal(await creditsOf(store, 'sk', 'u1', 'plays'), 0);
        // K2: card5 takes back min(5, 0); card20 is kept
        await store.consumeCredits!('sk', 'u1', 'plays', 1).then((r) => assert.equal(r.ok, false));
        assert.equal(await store.revokeEntitlements('K2'), 3);
        assert.equal(await store.revokeEntitlements('K2'), 0);
        assert.equal(await creditsOf(store, 'sk', 'u1', 'plays'), 0);
        const hist = await listPurchases(store, 'sk', 'u1');
        assert.deepEqual(
          hist.purchases.map((p) => [p.tradeNo, p.status, p.credits?.map((g) => g.count)]),
          [
            ['K2', 'revoked', [5, 20]],
            ['K1', 'revoked', [10]],
          ],
        );
        // bad arguments
        await assert.rejects(consumeCredits(store, 'sk', 'u1', 'plays', 0), { code: 'ERR_INVALID_ARGUMENT' });
        await assert.rejects(consumeCredits(store, 'sk', 'u1', 'x'.repeat(65)), { code: 'ERR_INVALID_ARGUMENT' });
        await assert.rejects(store.createOrder(order('K3', 'u1', 1, ['a'], [pack('b', 1)])), { code: 'ERR_INVALID_ARGUMENT' });
        await assert.rejects(store.createOrder(order('K3', 'u1', 1, ['a'], [{ ...pack('a', 1), onRefund: 'x' as 'keep' }])), { code: 'ERR_INVALID_ARGUMENT' });
        await assert.rejects(store.createOrder(order('K3', 'u1', 1, ['a'], [pack('a', 0)])), { code: 'ERR_INVALID_ARGUMENT' });
        assert.equal(await store.getOrder('K3'), undefined);
      } finally {
        await close();
      }
    });

    it('concurrent consumers on one database: exactly the balance’s worth succeed', async () => {
      const { store, other, close } = await b.open();
      try {
        await deliver(store, order('P1', 'u1', 1000, ['card'], [{ itemId: 'card', balance: 'plays', count: 25, onRefund: 'remaining' }]));
        const tries = Array.from({ length: 60 }, (_, i) => consumeCredits(i % 2 ? store : other, 'sk', 'u1', 'plays', 1));
        const results = await Promise.all(tries);
        assert.equal(results.filter((r) => r.ok).length, 25);
        assert.deepEqual([...new Set(results.filter((r) => r.ok).map((r) => r.balance))].length, 25, 'each success saw its own balance');
        assert.equal(await creditsOf(other, 'sk', 'u1', 'plays'), 0);
      } finally {
        await close();
      }
    });
  });
}
