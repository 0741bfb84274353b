/**
 * The reconciler over the real handlers and each store (memory, SQLite,
 * PostgreSQL), against a scripted pay platform (orderQuery / refundQuery):
 * paid-but-undelivered orders are delivered once through the notification's
 * exactly-once path, FAIL / NOTPAY / unknown orders are closed locally (and
 * a later notification still delivers), refunds PROCESSING are settled with
 * the notification's effect, every check backs off, batches are bounded,
 * two reconcilers at once never check one order twice, the loop stops
 * cleanly, and bad options are typed errors.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError, TransportError, type OrderQueryReply, type RefundQueryReply, type TradeStatus } from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  createReconciler,
  MemoryPartnerStore,
  PayRemoteError,
  PostgresPartnerStore,
  SqlitePartnerStore,
  type PartnerOptions,
  type PartnerStore,
  type ReconcilerOptions,
} from '../../src/partner/index.js';
import type { OrderQueryResult, RefundQueryResult } from '../../src/partner/pay-client.js';
import { CATALOG, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

const MIN = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'ddp-recon-'));
let files = 0;
let pgServer: Promise<PostgresServer> | undefined;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await pgServer?.catch(() => undefined))?.stop();
});

const STORES: Array<{ name: string; skip?: string | undefined; make: () => Promise<PartnerStore> }> = [
  { name: 'memory', make: async () => new MemoryPartnerStore() },
  { name: 'sqlite', make: async () => new SqlitePartnerStore({ filename: join(dir, `r${files++}.db`) }) },
  {
    name: 'postgres',
    skip: postgresSkipReason(),
    make: async () =>
      new PostgresPartnerStore({ connectionString: await (await (pgServer ??= startPostgres())).createDatabase(), poolSize: 4, leaseClock: 'caller' }),
  },
];

type Scripted = { tradeStatus: TradeStatus } | 'unknown' | 'transport';

/** The platform's side, scripted per order and per refund; counts queries and how many run at once per item. */
class FakePay {
  orders = new Map<string, Scripted>();
  refunds = new Map<string, { tradeNo: string; refundAmt: number; status: 'PROCESSING' | 'SUCCESS' | 'FAIL' }>();
  queries: string[] = [];
  inFlight = new Map<string, number>();
  overlaps = 0;
  delayMs = 0;

  async #track<T>(id: string, fn: () => T): Promise<T> {
    this.queries.push(id);
    const n = (this.inFlight.get(id) ?? 0) + 1;
    this.inFlight.set(id, n);
    if (n > 1) this.overlaps++;
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      return fn();
    } finally {
      this.inFlight.set(id, this.inFlight.get(id)! - 1);
    }
  }

  orderQuery = (input: { tradeNo?: string }): Promise<OrderQueryResult> =>
    this.#track(input.tradeNo!, () => {
      const s = this.orders.get(input.tradeNo!) ?? 'unknown';
      if (s === 'unknown')
        throw new PayRemoteError('orderQuery', 'orderQuery refused: order not found', 'order not found', { retCode: 'FAIL', retMsg: 'order not found' });
      if (s === 'transport') throw new TransportError('orderQuery: connection refused');
      const reply: OrderQueryReply = {
        retCode: 'SUCCESS',
        skillId: SKILL_ID,
        transactionId: deliverBody(input.tradeNo!).transactionId,
        tradeNo: input.tradeNo!,
        totalAmt: 200,
        tradeStatus: s.tradeStatus,
        tradeStatusDesc: s.tradeStatus,
      };
      return reply as OrderQueryResult;
    });

  refundQuery = (input: { refundTradeNo?: string }): Promise<RefundQueryResult> =>
    this.#track(input.refundTradeNo!, () => {
      const r = this.refunds.get(input.refundTradeNo!);
      if (!r) throw new PayRemoteError('refundQuery', 'refundQuery refused: refund not found', 'refund not found', { retCode: 'FAIL' });
      const reply: RefundQueryReply = {
        retCode: 'SUCCESS',
        skillId: SKILL_ID,
        transactionId: deliverBody(r.tradeNo).transactionId,
        tradeNo: r.tradeNo,
        refundTransactionId: 'RT' + input.refundTradeNo!.slice(0, 20),
        refundTradeNo: input.refundTradeNo!,
        totalAmt: 200,
        refundAmt: r.refundAmt,
        refundStatus: r.status,
        refundStatusDesc: r.status,
      };
      return reply as RefundQueryResult;
    });
}

let seq = 0;
const tradeNo = () => `T${Date.now().toString(36)}${(seq++).toString(36)}`;

async function setup(make: () => Promise<PartnerStore>, over: Partial<PartnerOptions> = {}) {
  const store = await make();
  await store.init();
  const delivered: string[] = [];
  const handlers = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store,
    catalog: catalogFrom(CATALOG),
    deliver: async ({ idempotencyKey }) => {
      delivered.push(idempotencyKey);
    },
    ...over,
  });
  const pay = new FakePay();
  const clock = { offset: 0 };
  const now = () => Date.now() + clock.offset;
  const reconciler = (o: Partial<ReconcilerOptions> = {}) =>
    createReconciler({ store, pay, handlers, now, backoffMs: 10_000, maxBackoffMs: 40_000, jitter: 0, minAgeMs: MIN, closeAfterMs: 30 * MIN, ...o });
  /** An order created `ageMs` ago, CREATED (its notification never arrived). */
  const order = async (ageMs: number, scripted?: Scripted) => {
    const t = tradeNo();
    await store.createOrder({
      tradeNo: t,
      skillId: SKILL_ID,
      userToken: 'user-1',
      details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
      totalAmt: 200,
      createdAt: Date.now() - ageMs,
    });
    if (scripted) pay.orders.set(t, scripted);
    return t;
  };
  const notify = async (t: string) => readReply(await handlers.deliver(signedRequest(JSON.stringify(deliverBody(t)))), 'deliverNotifyReply');
  return { store, handlers, pay, clock, reconciler, order, notify, delivered, close: () => store.close() };
}

const counts = (r: { found: number; delivered: number; closed: number; refundsSettled: number; stillOpen: number; errors: number }) => ({
  found: r.found,
  delivered: r.delivered,
  closed: r.closed,
  refundsSettled: r.refundsSettled,
  stillOpen: r.stillOpen,
  errors: r.errors,
});

for (const b of STORES) {
  describe(`reconciler: ${b.name} store`, { skip: b.skip }, () => {
    it('delivers a paid order the notification missed, once; the late notification then answers SUCCESS without a second run', async () => {
      const s = await setup(b.make);
      try {
        const paid = await s.order(5 * MIN, { tradeStatus: 'SUCCESS' });
        await s.order(10_000, { tradeStatus: 'SUCCESS' }); // younger than minAgeMs: the notification may still come
        const r = await s.reconciler().runOnce();
        assert.deepEqual(counts(r), { found: 1, delivered: 1, closed: 0, refundsSettled: 0, stillOpen: 0, errors: 0 });
        assert.deepEqual(s.delivered, [paid]);
        assert.equal((await s.store.getOrder(paid))?.status, 'DELIVERED');
        assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
        assert.equal((await s.notify(paid)).retCode, 'SUCCESS');
        assert.deepEqual(s.delivered, [paid], 'one hook run');
        assert.equal((await s.reconciler().runOnce()).found, 0, 'nothing left to check');
      } finally {
        await s.close();
      }
    });

    it('closes FAIL at once, NOTPAY and unknown orders only past the payment window; a later notification still delivers a closed order', async () => {
      const s = await setup(b.make);
      try {
        const failed = await s.order(2 * MIN, { tradeStatus: 'FAIL' });
        const notpay = await s.order(2 * MIN, { tradeStatus: 'NOTPAY' });
        const unknown = await s.order(2 * MIN, 'unknown');
        const paying = await s.order(2 * MIN, { tradeStatus: 'PROCESSING' });
        const rec = s.reconciler();
        assert.deepEqual(counts(await rec.runOnce()), { found: 4, delivered: 0, closed: 1, refundsSettled: 0, stillOpen: 3, errors: 0 });
        assert.equal((await s.store.getReconcileState!(failed))?.closeReason, 'FAIL');
        const st = await s.store.getReconcileState!(notpay);
        assert.equal(st?.closedAt, null);
        assert.ok(st.nextCheckAt! >= Date.now() + 9_000, 'backed off');
        assert.equal((await rec.runOnce()).found, 0, 'nothing is due before its back-off');
        s.clock.offset = 27 * MIN; // the payment window ends 28 min from now; the back-off never waits past it
        assert.deepEqual(counts(await rec.runOnce()), { found: 3, delivered: 0, closed: 0, refundsSettled: 0, stillOpen: 3, errors: 0 });
        s.clock.offset = 28 * MIN + 1_000;
        assert.deepEqual(counts(await rec.runOnce()), { found: 3, delivered: 0, closed: 2, refundsSettled: 0, stillOpen: 1, errors: 0 });
        assert.equal((await s.store.getReconcileState!(notpay))?.closeReason, 'NOTPAY');
        assert.equal((await s.store.getReconcileState!(unknown))?.closeReason, 'UNKNOWN');
        assert.equal((await s.store.getReconcileState!(paying))?.closedAt, null, 'PROCESSING is never closed');
        // The platform did take the payment after all: its notification is honoured.
        assert.equal((await s.notify(notpay)).retCode, 'SUCCESS');
        assert.deepEqual(s.delivered, [notpay]);
        s.clock.offset = 3 * 60 * MIN;
        const last = await rec.runOnce();
        assert.deepEqual([last.found, last.stillOpen], [1, 1], 'only the PROCESSING one is checked again');
      } finally {
        await s.close();
      }
    });

    it('counts a failing check as an error, backs off (doubling), and delivers once the platform answers', async () => {
      const s = await setup(b.make);
      const errors: string[] = [];
      try {
        const t = await s.order(5 * MIN, 'transport');
        const rec = s.reconciler({ onError: (_e, info) => errors.push(`${info.kind} ${info.id}`) });
        assert.deepEqual(counts(await rec.runOnce()), { found: 1, delivered: 0, closed: 0, refundsSettled: 0, stillOpen: 0, errors: 1 });
        assert.deepEqual(errors, [`order ${t}`]);
        const first = (await s.store.getReconcileState!(t))!.nextCheckAt! - Date.now();
        s.clock.offset = 10_001;
        await rec.runOnce();
        const second = (await s.store.getReconcileState!(t))!.nextCheckAt! - (Date.now() + s.clock.offset);
        assert.ok(first > 9_000 && first <= 10_000, `first back-off ${first}`);
        assert.ok(second > 19_000 && second <= 20_000, `second back-off ${second}`);
        s.pay.orders.set(t, { tradeStatus: 'SUCCESS' });
        s.clock.offset = 40_000;
        assert.equal((await rec.runOnce()).delivered, 1);
        assert.deepEqual(s.delivered, [t]);
      } finally {
        await s.close();
      }
    });

    it('works in bounded batches', async () => {
      const s = await setup(b.make);
      try {
        for (let i = 0; i < 5; i++) await s.order(5 * MIN + i, { tradeStatus: 'SUCCESS' });
        const rec = s.reconciler({ batchSize: 2 });
        assert.deepEqual(
          [await rec.runOnce(), await rec.runOnce(), await rec.runOnce(), await rec.runOnce()].map((r) => r.delivered),
          [2, 2, 1, 0],
        );
        assert.equal(new Set(s.delivered).size, 5);
      } finally {
        await s.close();
      }
    });

    it('two reconcilers at once never check the same order twice, and deliver each once', async () => {
      const s = await setup(b.make);
      try {
        const made: string[] = [];
        for (let i = 0; i < 12; i++) made.push(await s.order(5 * MIN + i, { tradeStatus: 'SUCCESS' }));
        s.pay.delayMs = 15;
        const [r1, r2] = await Promise.all(
          [s.reconciler({ batchSize: 4 }), s.reconciler({ batchSize: 4 })].map(async (rec) => [await rec.runOnce(), await rec.runOnce(), await rec.runOnce()]),
        );
        const total = [...r1!, ...r2!].reduce((n, r) => n + r.delivered, 0);
        assert.equal(total, 12);
        assert.equal(s.pay.overlaps, 0, 'no order was queried by both at once');
        assert.deepEqual([...s.pay.queries].sort(), [...made].sort(), 'each order queried once');
        assert.deepEqual([...s.delivered].sort(), [...made].sort(), 'each delivered once');
      } finally {
        await s.close();
      }
    });

    it('settles refunds still PROCESSING through refundQuery with the notification effect (SUCCESS revokes; revokeOnRefund false keeps)', async () => {
      for (const revokeOnRefund of [true, false]) {
        const s = await setup(b.make, { revokeOnRefund });
        try {
          const t = await s.order(5 * MIN, { tradeStatus: 'SUCCESS' });
          await s.notify(t);
          const refund = (amt: number, status: 'PROCESSING' | 'SUCCESS' | 'FAIL') => {
            const id = `R${tradeNo()}`;
            s.pay.refunds.set(id, { tradeNo: t, refundAmt: amt, status });
            return s.store.saveRefund({
              refundTradeNo: id,
              tradeNo: t,
              refundAmt: amt,
              status: 'PROCESSING',
              refundTransactionId: null,
              createdAt: Date.now() - 5 * MIN,
            });
          };
          const pending = await refund(50, 'PROCESSING');
          const done = await refund(100, 'SUCCESS');
          const rec = s.reconciler();
          assert.deepEqual(counts(await rec.runOnce()), { found: 2, delivered: 0, closed: 0, refundsSettled: 1, stillOpen: 1, errors: 0 });
          assert.equal((await s.store.getRefund(done.refundTradeNo))?.status, 'SUCCESS');
          assert.equal((await s.store.getRefund(done.refundTradeNo))?.refundTransactionId?.startsWith('RT'), true);
          assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), !revokeOnRefund);
          assert.equal((await s.store.getRefund(pending.refundTradeNo))?.status, 'PROCESSING');
          s.pay.refunds.get(pending.refundTradeNo)!.status = 'FAIL';
          s.clock.offset = 11_000;
          assert.equal((await rec.runOnce()).refundsSettled, 1);
          assert.equal((await s.store.getRefund(pending.refundTradeNo))?.status, 'FAIL');
          s.clock.offset = 60 * MIN;
          assert.equal((await rec.runOnce()).found, 0, 'final refunds are not checked again');
        } finally {
          await s.close();
        }
      }
    });
  });
}

describe('reconciler: loop and options', () => {
  it('start() runs passes until stop(), which waits for the pass in flight', async () => {
    const s = await setup(async () => new MemoryPartnerStore());
    try {
      const t = await s.order(5 * MIN, { tradeStatus: 'SUCCESS' });
      s.pay.delayMs = 50;
      const rec = s.reconciler({ intervalMs: 20 });
      rec.start();
      rec.start(); // idempotent
      assert.equal(rec.running, true);
      while (!rec.lastReport) await new Promise((r) => setTimeout(r, 10));
      await s.order(5 * MIN, { tradeStatus: 'SUCCESS' });
      await rec.stop();
      assert.equal(rec.running, false);
      assert.ok(s.delivered.includes(t));
      const queried = s.pay.queries.length;
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(s.pay.queries.length, queried, 'no pass after stop');
    } finally {
      await s.close();
    }
  });

  it('backs off when a pass fails (the store is down) and reports it', async () => {
    const s = await setup(async () => new MemoryPartnerStore());
    const seen: string[] = [];
    const rec = s.reconciler({ intervalMs: 10, onError: (_e, info) => seen.push(info.kind) });
    await s.store.close();
    rec.start();
    await new Promise((r) => setTimeout(r, 100));
    await rec.stop();
    assert.ok(seen.length >= 1 && seen.length <= 4, `passes backed off: ${seen.length}`);
    assert.ok(seen.every((k) => k === 'pass'));
  });

  it('refuses bad options with InvalidArgumentError', async () => {
    const s = await setup(async () => new MemoryPartnerStore());
    try {
      const bad: Array<Partial<ReconcilerOptions>> = [
        { batchSize: 0 },
        { minAgeMs: -1 },
        { leaseMs: 1000, leaseMarginMs: 1000 },
        { backoffMs: 10, maxBackoffMs: 5 },
        { jitter: 2 },
        { intervalMs: 0 },
        { pay: {} as never },
        { handlers: {} as never },
        { store: { ...new MemoryPartnerStore(), claimReconcileOrders: undefined } as never },
      ];
      for (const o of bad) assert.throws(() => s.reconciler(o), InvalidArgumentError, JSON.stringify(o));
      assert.throws(
        () => createReconciler(undefined as never),
        (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT',
      );
    } finally {
      await s.close();
    }
  });
});
