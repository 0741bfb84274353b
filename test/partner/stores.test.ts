/**
 * One contract suite for every PartnerStore: in-memory, SQLite (a real file)
 * and PostgreSQL (a real throwaway server, see test/support/postgres.ts).
 */
import { after, before, beforeEach, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { InvalidArgumentError } from '../../src/protocol/index.js';
import type { NewOrder, PartnerStore, ReconcileClaimOptions, Refund } from '../../src/partner/store.js';
import Database from 'better-sqlite3';
import { MemoryPartnerStore, POSTGRES_SCHEMA, PostgresPartnerStore, SQLITE_SCHEMA, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import { StoreError } from '../../src/partner/errors.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

/** A fresh, empty store; `another()` opens a second handle on the same data (or returns the same store). */
interface Fresh {
  store: PartnerStore;
  another(): Promise<PartnerStore>;
  /** True when `another()` returns a separate connection (real concurrency, real persistence). */
  separate: boolean;
}

interface Backend {
  name: string;
  skip?: string | undefined;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  fresh(): Promise<Fresh>;
}

const backends: Backend[] = [];

backends.push({
  name: 'memory',
  async fresh() {
    const store = new MemoryPartnerStore();
    await store.init();
    return { store, another: async () => store, separate: false };
  },
});

{
  let dir = '';
  let n = 0;
  backends.push({
    name: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'ddp-sqlite-'));
    },
    async teardown() {
      rmSync(dir, { recursive: true, force: true });
    },
    async fresh() {
      const file = join(dir, `store-${n++}.db`);
      const store = new SqlitePartnerStore({ filename: file });
      await store.init();
      return {
        store,
        another: async () => new SqlitePartnerStore({ filename: file, busyTimeoutMs: 2000 }),
        separate: true,
      };
    },
  });
}

// One throwaway PostgreSQL server for this whole file (started on first use, stopped after all tests).
let pgServer: Promise<PostgresServer> | undefined;
const postgres = () => (pgServer ??= startPostgres());
after(async () => {
  const s = await pgServer?.catch(() => undefined);
  await s?.stop();
});

{
  backends.push({
    name: 'postgres',
    skip: postgresSkipReason(),
    async fresh() {
      const url = await (await postgres()).createDatabase();
      // The contract simulates time through the `now` arguments; the database clock is postgres-clock.test.ts.
      const store = new PostgresPartnerStore({ connectionString: url, poolSize: 5, leaseClock: 'caller' });
      await store.init();
      return {
        store,
        another: async () => new PostgresPartnerStore({ connectionString: url, poolSize: 5, leaseClock: 'caller' }),
        separate: true,
      };
    },
  });
}

let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`.slice(0, 32);

function newOrder(over: Partial<NewOrder> = {}): NewOrder {
  return {
    tradeNo: uniq('T'),
    skillId: 'skill-abc',
    userToken: 'user-1',
    details: [
      { itemId: 'ep-35', quantity: 1, amount: 200, title: '万古神帝 第35集' },
      { itemId: 'ep-36', quantity: 2, amount: 400 },
    ],
    totalAmt: 600,
    createdAt: 1_700_000_000_000,
    ...over,
  };
}

function refundOf(tradeNo: string, over: Partial<Refund> = {}): Refund {
  return {
    refundTradeNo: uniq('R'),
    tradeNo,
    refundAmt: 100,
    status: 'PROCESSING',
    refundTransactionId: null,
    createdAt: 1_700_000_100_000,
    ...over,
  };
}

const isStoreError = (code: string) => (e: unknown) => {
  assert.ok(e instanceof StoreError, `expected StoreError, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};
const isInvalid = (e: unknown) => {
  assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
  assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
  return true;
};

for (const b of backends) {
  describe(`PartnerStore contract: ${b.name}`, { skip: b.skip }, () => {
    let f: Fresh;
    let s: PartnerStore;
    const extra: PartnerStore[] = [];
    const another = async () => {
      const o = await f.another();
      if (o !== s) extra.push(o);
      return o;
    };

    before(async () => {
      await b.setup?.();
    });
    after(async () => {
      await b.teardown?.();
    });
    beforeEach(async () => {
      f = await b.fresh();
      s = f.store;
    });
    afterEach(async () => {
      for (const o of extra.splice(0)) await o.close();
      await s.close();
    });

    it('creates and reads an order, keeping details (extra fields too) and amounts as numbers', async () => {
      const o = newOrder();
      const created = await s.createOrder(o);
      assert.deepEqual(created, { ...o, status: 'CREATED', transactionId: null, deliveredAt: null });
      const got = await s.getOrder(o.tradeNo);
      assert.deepEqual(got, created);
      assert.equal(typeof got?.totalAmt, 'number');
      assert.equal(typeof got?.createdAt, 'number');
      assert.equal(await s.getOrder('NoSuchOrder1'), undefined);
      // the returned object is a copy: mutating it changes nothing stored
      created.details[0]!.amount = 1;
      assert.equal((await s.getOrder(o.tradeNo))?.details[0]?.amount, 200);
    });

    it('keeps odd but valid data exactly: unicode, NUL and nesting in extra detail fields, a long userToken', async () => {
      const details = [{ itemId: '万古神帝-35', quantity: 3, amount: 0, note: 'a\u0000b "q" \\ 😀', nested: { z: 1, a: [true, null] } }];
      const o = newOrder({ details, totalAmt: 0, userToken: 'u'.repeat(2000) });
      await s.createOrder(o);
      const got = await s.getOrder(o.tradeNo);
      assert.deepEqual(got?.details, details);
      assert.equal(got?.userToken.length, 2000);
      await s.claimDelivery(o.tradeNo, 'tx-u', 1000, 1);
      await s.completeDelivery(o.tradeNo, 2);
      assert.equal(await s.ownsItem(o.skillId, o.userToken, '万古神帝-35'), true);
      // NUL in a field the store indexes is refused alike by every store
      await assert.rejects(s.createOrder(newOrder({ userToken: 'a\u0000b' })), isInvalid);
      await assert.rejects(s.ownsItem('skill-abc', 'user-1', 'x\u0000'), isInvalid);
    });

    it('refuses a duplicate tradeNo with ERR_DUPLICATE and keeps the first order', async () => {
      const o = newOrder();
      await s.createOrder(o);
      await assert.rejects(s.createOrder({ ...o, userToken: 'someone-else', totalAmt: 1 }), isStoreError('ERR_DUPLICATE'));
      const got = await s.getOrder(o.tradeNo);
      assert.equal(got?.userToken, 'user-1');
      assert.equal(got?.totalAmt, 600);
    });

    it('refuses bad arguments with InvalidArgumentError and stores nothing', async () => {
      const bad: Partial<NewOrder>[] = [
        { tradeNo: 'has-dash' },
        { tradeNo: '' },
        { tradeNo: 'x'.repeat(33) },
        { totalAmt: -1 },
        { totalAmt: 1.5 },
        { details: [] },
        { details: [{ itemId: 'a', quantity: 0, amount: 1 }] },
        { skillId: '' },
      ];
      for (const over of bad) {
        const o = newOrder(over);
        await assert.rejects(s.createOrder(o), isInvalid, JSON.stringify(over));
        if (/^[0-9A-Za-z]{1,32}$/.test(o.tradeNo)) assert.equal(await s.getOrder(o.tradeNo), undefined);
      }
      await assert.rejects(s.getOrder('bad/trade'), isInvalid);
      await assert.rejects(s.claimDelivery('T1', 'tx', 0, 1), isInvalid);
      await assert.rejects(s.claimDelivery('T1', '', 1000, 1), isInvalid);
      await assert.rejects(s.completeDelivery('T1', -5), isInvalid);
    });

    it('claim → complete: records the delivery once, with transactionId and deliveredAt', async () => {
      const o = await s.createOrder(newOrder());
      const c = await s.claimDelivery(o.tradeNo, 'tx-1', 30_000, 2_000);
      assert.equal(c.kind, 'claimed');
      assert.ok(c.kind === 'claimed');
      assert.equal(c.attempt, 1);
      assert.equal(c.order.transactionId, 'tx-1');
      assert.equal(c.order.status, 'CREATED');
      const done = await s.completeDelivery(o.tradeNo, 2_500);
      assert.equal(done.status, 'DELIVERED');
      assert.equal(done.deliveredAt, 2_500);
      assert.equal(done.transactionId, 'tx-1');
      // idempotent: a second completion changes nothing
      const again = await s.completeDelivery(o.tradeNo, 9_999);
      assert.deepEqual(again, done);
      assert.deepEqual(await s.getOrder(o.tradeNo), done);
    });

    it('answers already-delivered to every repeat, in-progress while a live claim is held, unknown-order otherwise', async () => {
      const o = await s.createOrder(newOrder());
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 10_000, 1_000)).kind, 'claimed');
      const held = await s.claimDelivery(o.tradeNo, 'tx-1', 10_000, 1_001);
      assert.equal(held.kind, 'in-progress');
      await s.completeDelivery(o.tradeNo, 1_002);
      for (const now of [1_003, 50_000, 10_000_000]) {
        const r = await s.claimDelivery(o.tradeNo, 'tx-1', 10_000, now);
        assert.equal(r.kind, 'already-delivered');
        assert.ok(r.kind === 'already-delivered');
        assert.equal(r.order.deliveredAt, 1_002);
      }
      assert.deepEqual(await s.claimDelivery('NoSuchOrder2', 'tx-9', 10_000, 1), { kind: 'unknown-order' });
      await assert.rejects(s.completeDelivery('NoSuchOrder2', 1), isStoreError('ERR_NOT_FOUND'));
    });

    it('gives exactly one "claimed" to many concurrent claims', async () => {
      const o = await s.createOrder(newOrder());
      const handles = [s, await another(), await another()];
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => handles[i % handles.length]!.claimDelivery(o.tradeNo, 'tx-c', 60_000, 5_000 + i)));
      const kinds = results.map((r) => r.kind);
      assert.equal(kinds.filter((k) => k === 'claimed').length, 1, kinds.join(','));
      assert.equal(kinds.filter((k) => k === 'in-progress').length, 29);
    });

    it('lets a claim whose lease expired be taken over, with the attempt incremented', async () => {
      const o = await s.createOrder(newOrder());
      const first = await s.claimDelivery(o.tradeNo, 'tx-1', 500, 1_000);
      assert.ok(first.kind === 'claimed' && first.attempt === 1);
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 500, 1_499)).kind, 'in-progress');
      const second = await s.claimDelivery(o.tradeNo, 'tx-1', 500, 1_500);
      assert.ok(second.kind === 'claimed', second.kind);
      assert.equal(second.attempt, 2);
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 500, 1_600)).kind, 'in-progress');
      const third = await s.claimDelivery(o.tradeNo, 'tx-1', 500, 5_000);
      assert.ok(third.kind === 'claimed' && third.attempt === 3);
      // the late first holder and the last one both complete: recorded once
      const a = await s.completeDelivery(o.tradeNo, 5_100);
      const b2 = await s.completeDelivery(o.tradeNo, 5_200);
      assert.equal(a.deliveredAt, 5_100);
      assert.equal(b2.deliveredAt, 5_100);
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 500, 99_999)).kind, 'already-delivered');
    });

    it('release gives up a claim so a retry can claim at once; release after delivery changes nothing', async () => {
      const o = await s.createOrder(newOrder());
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1_000)).kind, 'claimed');
      await s.releaseDelivery(o.tradeNo);
      const c = await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1_001);
      assert.ok(c.kind === 'claimed');
      assert.equal(c.attempt, 2);
      await s.completeDelivery(o.tradeNo, 1_002);
      await s.releaseDelivery(o.tradeNo);
      assert.equal((await s.getOrder(o.tradeNo))?.status, 'DELIVERED');
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1_003)).kind, 'already-delivered');
      await s.releaseDelivery('NoSuchOrder3'); // unknown: a no-op
    });

    it('release with the attempt number only releases that claim, not a newer one that took over', async () => {
      const o = await s.createOrder(newOrder());
      const first = await s.claimDelivery(o.tradeNo, 'tx-1', 100, 1_000);
      assert.ok(first.kind === 'claimed' && first.attempt === 1);
      const second = await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 2_000); // first holder's lease expired
      assert.ok(second.kind === 'claimed' && second.attempt === 2);
      await s.releaseDelivery(o.tradeNo, first.attempt); // the stale holder gives up: no effect
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 2_001)).kind, 'in-progress');
      await s.releaseDelivery(o.tradeNo, second.attempt);
      const third = await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 2_002);
      assert.ok(third.kind === 'claimed' && third.attempt === 3);
      await assert.rejects(s.releaseDelivery(o.tradeNo, 0), isInvalid);
      assert.equal((await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 2_003)).kind, 'in-progress', 'a bad call changed nothing');
    });

    it('grants entitlements (ownsItem) only once the delivery is recorded, to that user of that skill', async () => {
      const o = await s.createOrder(newOrder({ userToken: 'u-ent', skillId: 'sk-ent' }));
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-35'), false);
      await s.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1_000);
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-35'), false, 'a claim is not a delivery');
      await s.completeDelivery(o.tradeNo, 1_001);
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-35'), true);
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-36'), true);
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-37'), false);
      assert.equal(await s.ownsItem('sk-ent', 'u-other', 'ep-35'), false);
      assert.equal(await s.ownsItem('sk-other', 'u-ent', 'ep-35'), false);
      // a second order of the same item by the same user is fine
      const o2 = await s.createOrder(newOrder({ userToken: 'u-ent', skillId: 'sk-ent' }));
      await s.claimDelivery(o2.tradeNo, 'tx-2', 60_000, 2_000);
      await s.completeDelivery(o2.tradeNo, 2_001);
      assert.equal(await s.ownsItem('sk-ent', 'u-ent', 'ep-35'), true);
      // an undelivered order of another user grants nothing
      await s.createOrder(newOrder({ userToken: 'u-unpaid', skillId: 'sk-ent' }));
      assert.equal(await s.ownsItem('sk-ent', 'u-unpaid', 'ep-35'), false);
    });

    it('saves refunds idempotently on refundTradeNo and reads them back', async () => {
      const o = await s.createOrder(newOrder());
      const r = refundOf(o.tradeNo, { refundAmt: 150 });
      assert.deepEqual(await s.saveRefund(r), r);
      // the repeat returns the existing refund, not a second one (even with another amount)
      assert.deepEqual(await s.saveRefund({ ...r, refundAmt: 300, createdAt: 5 }), r);
      assert.deepEqual(await s.getRefund(r.refundTradeNo), r);
      assert.equal(await s.getRefund('NoSuchRefund1'), undefined);
      await assert.rejects(s.saveRefund(refundOf('NoSuchOrder4')), isStoreError('ERR_NOT_FOUND'));
      await assert.rejects(s.saveRefund({ ...refundOf(o.tradeNo), refundAmt: 0 }), isInvalid);
      await assert.rejects(s.saveRefund({ ...refundOf(o.tradeNo), status: 'DONE' as never }), isInvalid);
    });

    it('never lets the refunds of an order exceed its total; failed refunds do not count', async () => {
      const o = await s.createOrder(newOrder({ totalAmt: 600 }));
      await s.saveRefund(refundOf(o.tradeNo, { refundAmt: 400 }));
      const tooMuch = refundOf(o.tradeNo, { refundAmt: 201 });
      await assert.rejects(s.saveRefund(tooMuch), isStoreError('ERR_REFUND_EXCEEDS'));
      assert.equal(await s.getRefund(tooMuch.refundTradeNo), undefined);
      const failed = await s.saveRefund(refundOf(o.tradeNo, { refundAmt: 200, status: 'FAIL' }));
      const rest = await s.saveRefund(refundOf(o.tradeNo, { refundAmt: 200 }));
      assert.equal(rest.refundAmt, 200);
      // the failed one may not come back to life past the total
      await assert.rejects(s.updateRefund(failed.refundTradeNo, { status: 'PROCESSING' }), isStoreError('ERR_REFUND_EXCEEDS'));
      assert.equal((await s.getRefund(failed.refundTradeNo))?.status, 'FAIL');
      await assert.rejects(s.saveRefund(refundOf(o.tradeNo, { refundAmt: 1 })), isStoreError('ERR_REFUND_EXCEEDS'));
    });

    it('keeps the refund bound under concurrent refunds of one order', async () => {
      const o = await s.createOrder(newOrder({ totalAmt: 600 }));
      const handles = [s, await another(), await another()];
      const same = refundOf(o.tradeNo, { refundAmt: 100 });
      assert.deepEqual(await s.saveRefund(same), same);
      const attempts = [
        ...Array.from({ length: 6 }, (_, i) => handles[i % 3]!.saveRefund(same)),
        ...Array.from({ length: 12 }, (_, i) => handles[i % 3]!.saveRefund(refundOf(o.tradeNo, { refundAmt: 100 }))),
      ];
      const settled = await Promise.allSettled(attempts);
      for (const r of settled.slice(0, 6)) {
        assert.equal(r.status, 'fulfilled');
        assert.ok(r.status === 'fulfilled');
        assert.deepEqual(r.value, same);
      }
      const others = settled.slice(6);
      const ok = others.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 5, 'the first refund plus 5 others fill 600 fen');
      for (const r of others) if (r.status === 'rejected') isStoreError('ERR_REFUND_EXCEEDS')(r.reason);
    });

    it('updates a refund status and refundTransactionId', async () => {
      const o = await s.createOrder(newOrder());
      const r = await s.saveRefund(refundOf(o.tradeNo));
      const u1 = await s.updateRefund(r.refundTradeNo, { refundTransactionId: 'rtx-1' });
      assert.deepEqual(u1, { ...r, refundTransactionId: 'rtx-1' });
      const u2 = await s.updateRefund(r.refundTradeNo, { status: 'SUCCESS' });
      assert.deepEqual(u2, { ...r, refundTransactionId: 'rtx-1', status: 'SUCCESS' });
      assert.deepEqual(await s.getRefund(r.refundTradeNo), u2);
      assert.equal(await s.updateRefund('NoSuchRefund2', { status: 'SUCCESS' }), undefined);
      await assert.rejects(s.updateRefund(r.refundTradeNo, { status: 'NOPE' as never }), isInvalid);
      assert.deepEqual(await s.getRefund(r.refundTradeNo), u2);
    });

    it('init is idempotent and keeps the data; another handle sees the same data', async () => {
      const o = await s.createOrder(newOrder());
      await s.init();
      await s.init();
      const other = await another();
      await other.init();
      assert.deepEqual(await other.getOrder(o.tradeNo), await s.getOrder(o.tradeNo));
      await other.claimDelivery(o.tradeNo, 'tx-x', 60_000, 1);
      await other.completeDelivery(o.tradeNo, 2);
      assert.equal((await s.getOrder(o.tradeNo))?.status, 'DELIVERED');
      assert.equal(await s.ownsItem(o.skillId, o.userToken, 'ep-35'), true);
    });

    it('revokes what an order granted (a refund): entitlements gone, the delivery record kept, other orders untouched, idempotent', async () => {
      const a = newOrder();
      const b = { ...newOrder(), userToken: a.userToken, details: [{ itemId: 'ep-36', quantity: 1, amount: 200 }] };
      for (const o of [a, b]) {
        await s.createOrder(o);
        await s.claimDelivery(o.tradeNo, `tx-${o.tradeNo}`, 60_000, 1);
        await s.completeDelivery(o.tradeNo, 2);
      }
      assert.equal(await s.ownsItem(a.skillId, a.userToken, 'ep-35'), true);
      assert.equal(await s.revokeEntitlements(a.tradeNo), a.details.length, 'one per item of the order');
      assert.equal(await s.ownsItem(a.skillId, a.userToken, 'ep-35'), false);
      assert.equal(await s.ownsItem(b.skillId, b.userToken, 'ep-36'), true, 'the other order keeps its grant');
      assert.equal((await s.getOrder(a.tradeNo))?.status, 'DELIVERED', 'the delivery record stays');
      assert.equal(await s.revokeEntitlements(a.tradeNo), 0, 'idempotent');
      const other = await another();
      assert.equal(await other.ownsItem(a.skillId, a.userToken, 'ep-35'), false);
      await assert.rejects(s.revokeEntitlements('bad-no!'), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT');
    });

    it('remembers nonces for the replay guard: a live one is refused from any instance, an expired one is taken again; bad arguments are typed errors', async () => {
      await s.init();
      const other = await another();
      await other.init();
      assert.equal(await s.rememberNonce!('n-1', 10_000, 1000), true);
      assert.equal(await s.rememberNonce!('n-1', 10_000, 2000), false, 'a replay on the same instance');
      assert.equal(await other.rememberNonce!('n-1', 12_000, 3000), false, 'a replay to another instance on the same store');
      assert.equal(await other.rememberNonce!('n-2', 12_000, 3000), true);
      assert.equal(await s.rememberNonce!('n-1', 20_000, 10_000), true, 'expired: a new request may reuse it');
      assert.equal(await other.rememberNonce!('n-1', 21_000, 11_000), false);
      // Many at once from both: each nonce is taken exactly once.
      const names = Array.from({ length: 40 }, (_, i) => `m-${i}`);
      const results = await Promise.all(names.flatMap((n) => [s.rememberNonce!(n, 99_000, 5000), other.rememberNonce!(n, 99_000, 5000)]));
      for (let i = 0; i < names.length; i++) assert.equal(Number(results[2 * i]) + Number(results[2 * i + 1]), 1, names[i]);
      await assert.rejects(s.rememberNonce!('', 1, 1), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT');
      await assert.rejects(s.rememberNonce!('x', -1, 1), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT');
    });

    describe('reconciliation', () => {
      const opts = (over: Partial<ReconcileClaimOptions> = {}): ReconcileClaimOptions => ({
        createdBefore: 5_000,
        now: 6_000,
        limit: 10,
        leaseMs: 1_000,
        ...over,
      });
      const claimOrders = async (st: PartnerStore, over: Partial<ReconcileClaimOptions> = {}) =>
        (await st.claimReconcileOrders!(opts(over))).map((c) => [c.order.tradeNo, c.checks]);

      it('claims due open orders in bounded batches, oldest first, each with a lease; an expired lease can be taken again', async () => {
        const [o1, o2, o3] = [
          await s.createOrder(newOrder({ createdAt: 1_000 })),
          await s.createOrder(newOrder({ createdAt: 2_000 })),
          await s.createOrder(newOrder({ createdAt: 3_000 })),
        ];
        const delivered = await s.createOrder(newOrder({ createdAt: 500 }));
        await s.claimDelivery(delivered.tradeNo, 'tx-d', 1_000, 10);
        await s.completeDelivery(delivered.tradeNo, 11);
        await s.createOrder(newOrder({ createdAt: 9_000 })); // too young
        assert.deepEqual(await claimOrders(s, { limit: 2 }), [
          [o1.tradeNo, 1],
          [o2.tradeNo, 1],
        ]);
        assert.deepEqual(await claimOrders(s, { limit: 2 }), [[o3.tradeNo, 1]], 'the leased ones are not handed out again');
        assert.deepEqual(await claimOrders(s), []);
        // The leases ran out without a settle (the holder died): claimed again, with the next token.
        assert.deepEqual(await claimOrders(s, { now: 7_001 }), [
          [o1.tradeNo, 2],
          [o2.tradeNo, 2],
          [o3.tradeNo, 2],
        ]);
        assert.equal(await s.settleReconcileOrder!(o1.tradeNo, 1, { done: true }, 7_002), false, 'a stale claim settles nothing');
        assert.equal(await s.settleReconcileOrder!(o1.tradeNo, 2, { done: true }, 7_002), true);
        assert.deepEqual(await s.getReconcileState!(o1.tradeNo), { checks: 2, nextCheckAt: null, reconcileUntil: null, closedAt: null, closeReason: null });
        assert.equal(await s.getReconcileState!('Tnone'), undefined);
      });

      it('backs off to nextCheckAt, closes locally (no longer claimed, still deliverable), and never closes a delivered order', async () => {
        const a = await s.createOrder(newOrder({ createdAt: 1_000 }));
        const b2 = await s.createOrder(newOrder({ createdAt: 1_001 }));
        assert.deepEqual(await claimOrders(s), [
          [a.tradeNo, 1],
          [b2.tradeNo, 1],
        ]);
        assert.equal(await s.settleReconcileOrder!(a.tradeNo, 1, { nextCheckAt: 20_000 }, 6_001), true);
        assert.equal(await s.settleReconcileOrder!(b2.tradeNo, 1, { close: 'NOTPAY' }, 6_002), true);
        assert.deepEqual(await claimOrders(s, { now: 19_999 }), [], 'backed off; closed');
        assert.deepEqual(await claimOrders(s, { now: 20_000 }), [[a.tradeNo, 2]]);
        const st = await s.getReconcileState!(b2.tradeNo);
        assert.deepEqual([st?.closedAt, st?.closeReason, st?.checks], [6_002, 'NOTPAY', 1]);
        // A real delivery notification later still delivers the closed order.
        assert.equal((await s.claimDelivery(b2.tradeNo, 'tx-late', 1_000, 30_000)).kind, 'claimed');
        assert.equal((await s.completeDelivery(b2.tradeNo, 30_001)).status, 'DELIVERED');
        assert.equal(await s.ownsItem(b2.skillId, b2.userToken, 'ep-35'), true);
        // A pass that finds the order delivered meanwhile cannot close it.
        await s.claimDelivery(a.tradeNo, 'tx-a', 1_000, 30_000);
        await s.completeDelivery(a.tradeNo, 30_001);
        assert.equal(await s.settleReconcileOrder!(a.tradeNo, 2, { close: 'FAIL' }, 30_002), true);
        assert.equal((await s.getReconcileState!(a.tradeNo))?.closedAt, null);
        assert.deepEqual(await claimOrders(s, { now: 40_000, createdBefore: 40_000 }), []);
      });

      it('hands out each order to one pass only when several claim at once (another handle too)', async () => {
        const made = [];
        for (let i = 0; i < 24; i++) made.push((await s.createOrder(newOrder({ createdAt: 1_000 + i }))).tradeNo);
        const other = await another();
        const seen: string[] = [];
        await Promise.all(
          [s, other, s, other].map(async (st) => {
            for (;;) {
              const batch = await st.claimReconcileOrders!(opts({ limit: 5 }));
              if (batch.length === 0) return;
              seen.push(...batch.map((c) => c.order.tradeNo));
            }
          }),
        );
        assert.deepEqual(seen.sort(), made.sort());
      });

      it('claims refunds still PROCESSING with a lease and a back-off; final ones are left alone', async () => {
        const o = await s.createOrder(newOrder({ createdAt: 1_000 }));
        await s.claimDelivery(o.tradeNo, 'tx-1', 1_000, 1_100);
        await s.completeDelivery(o.tradeNo, 1_200);
        const r1 = await s.saveRefund(refundOf(o.tradeNo, { createdAt: 2_000 }));
        const r2 = await s.saveRefund(refundOf(o.tradeNo, { createdAt: 2_500 }));
        const r3 = await s.saveRefund(refundOf(o.tradeNo, { createdAt: 3_000, status: 'SUCCESS' }));
        const claim = async (over: Partial<ReconcileClaimOptions> = {}) =>
          (await s.claimReconcileRefunds!(opts(over))).map((c) => [c.refund.refundTradeNo, c.checks]);
        assert.deepEqual(await claim(), [
          [r1.refundTradeNo, 1],
          [r2.refundTradeNo, 1],
        ]);
        assert.deepEqual(await claim(), [], 'leased');
        assert.equal(await s.settleReconcileRefund!(r1.refundTradeNo, 1, { nextCheckAt: 9_000 }, 6_001), true);
        assert.equal(await s.settleReconcileRefund!(r2.refundTradeNo, 7, { done: true }, 6_001), false, 'not that claim');
        await s.updateRefund(r2.refundTradeNo, { status: 'FAIL' });
        assert.deepEqual(await claim({ now: 8_000 }), [], 'r1 backed off, r2 final, r3 never open');
        assert.deepEqual(await claim({ now: 9_000 }), [[r1.refundTradeNo, 2]]);
        assert.ok(r3);
      });

      it('refuses bad reconcile arguments with InvalidArgumentError', async () => {
        const o = await s.createOrder(newOrder({ createdAt: 1_000 }));
        await assert.rejects(s.claimReconcileOrders!(opts({ limit: 0 })), isInvalid);
        await assert.rejects(s.claimReconcileOrders!(opts({ leaseMs: -1 })), isInvalid);
        await assert.rejects(s.claimReconcileRefunds!(opts({ now: -5 })), isInvalid);
        await assert.rejects(s.settleReconcileOrder!(o.tradeNo, 0, { done: true }, 1), isInvalid);
        await assert.rejects(s.settleReconcileOrder!(o.tradeNo, 1, { close: 'LATER' as never }, 1), isInvalid);
        await assert.rejects(s.settleReconcileOrder!('bad id!', 1, { done: true }, 1), isInvalid);
        await assert.rejects(s.settleReconcileRefund!(o.tradeNo, 1, { close: 'NOTPAY' } as never, 1), isInvalid);
        await assert.rejects(s.getReconcileState!(''), isInvalid);
        assert.deepEqual(await claimOrders(s), [[o.tradeNo, 1]], 'nothing was claimed by the refused calls');
      });
    });

    it('refuses every call after close with ERR_CLOSED', async () => {
      const o = await s.createOrder(newOrder());
      const other = await another();
      if (other === s) {
        await s.close();
        await assert.rejects(s.getOrder(o.tradeNo), isStoreError('ERR_CLOSED'));
        await assert.rejects(s.createOrder(newOrder()), isStoreError('ERR_CLOSED'));
        s = new MemoryPartnerStore(); // afterEach closes this one
        return;
      }
      await other.close();
      await assert.rejects(other.getOrder(o.tradeNo), isStoreError('ERR_CLOSED'));
      await assert.rejects(other.claimDelivery(o.tradeNo, 'tx', 1000, 1), isStoreError('ERR_CLOSED'));
      await other.close(); // closing twice is fine
      assert.equal((await s.getOrder(o.tradeNo))?.tradeNo, o.tradeNo);
    });
  });
}

describe('SqlitePartnerStore specifics', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-sqlite-x-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses WAL and a busy timeout, and keeps its data across a reopen of the file', async () => {
    const file = join(dir, 'reopen.db');
    const a = new SqlitePartnerStore({ filename: file, busyTimeoutMs: 1234 });
    await a.init();
    assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(a.db.pragma('busy_timeout', { simple: true }), 1234);
    const o = await a.createOrder(newOrder());
    await a.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1);
    await a.completeDelivery(o.tradeNo, 2);
    await a.close();
    const b = new SqlitePartnerStore(file);
    try {
      assert.equal((await b.getOrder(o.tradeNo))?.status, 'DELIVERED');
      assert.equal(await b.ownsItem(o.skillId, o.userToken, 'ep-36'), true);
    } finally {
      await b.close();
    }
  });

  it('adds the reconcile columns to a database made before them, keeping its data', async () => {
    const file = join(dir, 'before-reconcile.db');
    const raw = new Database(file);
    raw.exec(SQLITE_SCHEMA); // the tables as they were, without the reconcile columns
    raw.pragma('user_version = 1');
    raw
      .prepare(
        `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at) VALUES ('Told1', 's', 'u', '[{"itemId":"a","quantity":1,"amount":5}]', 5, 1000)`,
      )
      .run();
    raw.close();
    const a = new SqlitePartnerStore(file);
    try {
      const claimed = await a.claimReconcileOrders({ createdBefore: 2_000, now: 3_000, limit: 5, leaseMs: 100 });
      assert.deepEqual(
        claimed.map((c) => [c.order.tradeNo, c.checks]),
        [['Told1', 1]],
      );
      assert.equal(a.db.pragma('user_version', { simple: true }), 1, 'additive: the version stays');
    } finally {
      await a.close();
    }
    const again = new SqlitePartnerStore(file); // a second open finds the columns there
    assert.equal((await again.getReconcileState('Told1'))?.checks, 1);
    await again.close();
  });

  it('refuses a database whose schema is newer than the store', async () => {
    const file = join(dir, 'newer.db');
    const a = new SqlitePartnerStore(file);
    a.db.pragma('user_version = 99');
    await assert.rejects(a.init(), isStoreError('ERR_STORE'));
    await a.close();
  });

  it('reports a busy database as a retryable ERR_STORE instead of hanging', async () => {
    const file = join(dir, 'busy.db');
    const a = new SqlitePartnerStore({ filename: file, busyTimeoutMs: 50 });
    const b = new SqlitePartnerStore({ filename: file, busyTimeoutMs: 50 });
    await a.init();
    await b.init();
    const o = await a.createOrder(newOrder());
    a.db.prepare('BEGIN IMMEDIATE').run(); // another writer holds the write lock
    try {
      const err = await b.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError && err.code === 'ERR_STORE' && err.retryable, String(err));
    } finally {
      a.db.prepare('ROLLBACK').run();
    }
    const c = await b.claimDelivery(o.tradeNo, 'tx-1', 60_000, 1);
    assert.equal(c.kind, 'claimed');
    await a.close();
    await b.close();
  });
});

describe('PostgresPartnerStore specifics', { skip: postgresSkipReason() }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await postgres();
  });

  it('lets several instances init a fresh database at once (advisory lock), then share it', async () => {
    const url = await server.createDatabase();
    const stores = Array.from({ length: 6 }, () => new PostgresPartnerStore({ connectionString: url, poolSize: 2 }));
    try {
      await Promise.all(stores.map((st) => st.init()));
      const o = await stores[0]!.createOrder(newOrder());
      assert.equal((await stores[5]!.getOrder(o.tradeNo))?.totalAmt, 600);
    } finally {
      await Promise.all(stores.map((st) => st.close()));
    }
  });

  it('initialises lazily on first use and refuses a newer schema', async () => {
    const url = await server.createDatabase();
    const a = new PostgresPartnerStore(url);
    const o = await a.createOrder(newOrder()); // no init() call
    assert.equal((await a.getOrder(o.tradeNo))?.status, 'CREATED');
    await a.pool.query(`UPDATE partner_store_meta SET version = 99 WHERE name = 'schema'`);
    await a.close();
    const b = new PostgresPartnerStore(url);
    await assert.rejects(b.init(), isStoreError('ERR_STORE'));
    await b.close();
  });

  it('adds the reconcile columns to a database made before them, keeping its data', async () => {
    const url = await server.createDatabase();
    const raw = new PostgresPartnerStore(url);
    await raw.pool.query(POSTGRES_SCHEMA); // the tables as they were, without the reconcile columns
    await raw.pool.query(`INSERT INTO partner_store_meta (name, version) VALUES ('schema', 1)`);
    await raw.pool.query(
      `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at) VALUES ('Told1', 's', 'u', '[{"itemId":"a","quantity":1,"amount":5}]', 5, 1000)`,
    );
    await raw.close();
    const a = new PostgresPartnerStore(url);
    try {
      const claimed = await a.claimReconcileOrders({ createdBefore: 2_000, now: 3_000, limit: 5, leaseMs: 100 });
      assert.deepEqual(
        claimed.map((c) => [c.order.tradeNo, c.checks]),
        [['Told1', 1]],
      );
    } finally {
      await a.close();
    }
  });

  it('reports an unreachable server as a retryable ERR_STORE within the connect timeout', async () => {
    const dead = new PostgresPartnerStore({ connectionString: `postgresql://postgres@127.0.0.1:1/postgres`, connectionTimeoutMs: 1000 });
    const t0 = Date.now();
    const err = await dead.getOrder('T1').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreError && err.code === 'ERR_STORE' && err.retryable, String(err));
    assert.ok(Date.now() - t0 < 5000);
    await dead.close();
  });
});
