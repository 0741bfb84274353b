/**
 * The one-round-trip delivery path and the SQLite durability option:
 * `claimDeliveryChecked` on every store (a mismatch writes nothing), the
 * handler's fallback for stores without it, the entitlement trigger, and
 * `SqlitePartnerStore({ synchronous })`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../src/protocol/index.js';
import type { NewOrder, PartnerStore } from '../../src/partner/store.js';
import { catalogFrom, createPartnerHandlers, type DeliverContext } from '../../src/partner/index.js';
import { MemoryPartnerStore, PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import { CATALOG, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'ddp-fastpath-'));
let pgServer: Promise<PostgresServer> | undefined;
after(async () => {
  const s = await pgServer?.catch(() => undefined);
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const uniq = () => `F${Date.now().toString(36)}${(seq++).toString(36)}`.slice(0, 32);
const order = (over: Partial<NewOrder> = {}): NewOrder => ({
  tradeNo: uniq(),
  skillId: SKILL_ID,
  userToken: 'user-1',
  details: [
    { itemId: 'ep35', quantity: 1, amount: 200 },
    { itemId: 'ep36', quantity: 1, amount: 200 },
    { itemId: 'ep35', quantity: 1, amount: 0 },
  ],
  totalAmt: 400,
  createdAt: 1_000,
  ...over,
});
const expect400 = { skillId: SKILL_ID, userToken: 'user-1', totalAmt: 400 };

type Make = () => Promise<PartnerStore>;
const stores: { name: string; skip?: string | undefined; make: Make }[] = [
  { name: 'memory', make: async () => new MemoryPartnerStore() },
  { name: 'sqlite', make: async () => new SqlitePartnerStore({ filename: join(dir, `${uniq()}.db`) }) },
  {
    name: 'postgres',
    skip: postgresSkipReason(),
    make: async () => {
      const url = await (await (pgServer ??= startPostgres())).createDatabase();
      return new PostgresPartnerStore({ connectionString: url, poolSize: 2 });
    },
  },
];

for (const b of stores) {
  describe(`claimDeliveryChecked (${b.name})`, () => {
    it('claims a matching order, then answers in-progress / already-delivered like claimDelivery', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const store = await b.make();
      try {
        await store.init();
        const o = await store.createOrder(order());
        const c = await store.claimDeliveryChecked!(o.tradeNo, 'TX1', expect400, 60_000, 2_000);
        assert.equal(c.kind, 'claimed');
        assert.equal(c.kind === 'claimed' && c.attempt, 1);
        assert.equal(c.kind === 'claimed' && c.order.transactionId, 'TX1');
        assert.equal((await store.claimDeliveryChecked!(o.tradeNo, 'TX1', expect400, 60_000, 2_001)).kind, 'in-progress');
        const done = await store.completeDelivery(o.tradeNo, 3_000);
        assert.equal(done.status, 'DELIVERED');
        assert.equal(done.deliveredAt, 3_000);
        assert.equal((await store.claimDeliveryChecked!(o.tradeNo, 'TX1', expect400, 60_000, 4_000)).kind, 'already-delivered');
        // entitlements granted with the record (SQLite: by the trigger), each distinct item
        assert.equal(await store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
        assert.equal(await store.ownsItem(SKILL_ID, 'user-1', 'ep36'), true);
        assert.equal(await store.ownsItem(SKILL_ID, 'user-2', 'ep35'), false);
        assert.equal((await store.claimDeliveryChecked!(uniq(), 'TX1', expect400, 60_000, 4_000)).kind, 'unknown-order');
      } finally {
        await store.close();
      }
    });

    it('a mismatch (in any status) writes nothing: no claim, no attempt, no transactionId', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const store = await b.make();
      try {
        await store.init();
        const o = await store.createOrder(order());
        const bad = [
          { ...expect400, skillId: 'otherSkill' },
          { ...expect400, userToken: 'user-2' },
          { ...expect400, totalAmt: 399 },
        ];
        for (const e of bad) {
          const c = await store.claimDeliveryChecked!(o.tradeNo, 'TX1', e, 60_000, 2_000);
          assert.equal(c.kind, 'mismatch');
          assert.equal(c.kind === 'mismatch' && c.order.tradeNo, o.tradeNo);
        }
        assert.deepEqual(await store.getOrder(o.tradeNo), o, 'order unchanged');
        // the first matching claim is attempt 1: the mismatches took no claim
        const c = await store.claimDeliveryChecked!(o.tradeNo, 'TX1', expect400, 60_000, 2_000);
        assert.equal(c.kind === 'claimed' && c.attempt, 1);
        // a recorded transactionId must match
        await store.releaseDelivery(o.tradeNo, 1);
        assert.equal((await store.claimDeliveryChecked!(o.tradeNo, 'TX2', expect400, 60_000, 2_000)).kind, 'mismatch');
        await store.completeDelivery(o.tradeNo, 3_000);
        const before = await store.getOrder(o.tradeNo);
        assert.equal((await store.claimDeliveryChecked!(o.tradeNo, 'TX1', { ...expect400, totalAmt: 1 }, 60_000, 4_000)).kind, 'mismatch');
        assert.deepEqual(await store.getOrder(o.tradeNo), before);
      } finally {
        await store.close();
      }
    });

    it('bad arguments throw InvalidArgumentError before touching anything', async (t) => {
      if (b.skip) return t.skip(b.skip);
      const store = await b.make();
      try {
        await store.init();
        const o = await store.createOrder(order());
        for (const e of [
          null,
          { ...expect400, skillId: '' },
          { ...expect400, totalAmt: -1 },
          { ...expect400, totalAmt: 1.5 },
          { ...expect400, userToken: 'a\u0000' },
        ]) {
          await assert.rejects(store.claimDeliveryChecked!(o.tradeNo, 'TX1', e as never, 60_000, 2_000), InvalidArgumentError);
        }
        assert.deepEqual(await store.getOrder(o.tradeNo), o);
      } finally {
        await store.close();
      }
    });
  });
}

describe('delivery handler on the fast path', () => {
  function handlers(store: PartnerStore) {
    const delivered: DeliverContext[] = [];
    const h = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKey,
      skillPrivateKey: skill.privateKey,
      store,
      catalog: catalogFrom(CATALOG),
      deliver: (ctx) => {
        delivered.push(ctx);
      },
      inProgressWaitMs: 0,
    });
    return { h, delivered };
  }

  it('SQLite: a mismatching notification FAILs with no change to the file (total_changes), then the right one delivers once', async () => {
    const store = new SqlitePartnerStore({ filename: join(dir, `${uniq()}.db`) });
    await store.init();
    const { h, delivered } = handlers(store);
    const o = await store.createOrder(order({ totalAmt: 200, details: [{ itemId: 'ep35', quantity: 1, amount: 200 }] }));
    const changes = () => (store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = changes();
    for (const [over, msg] of [
      [{ totalAmt: 300 }, 'totalAmt mismatch'],
      [{ userToken: 'user-2' }, 'userToken mismatch'],
      [{ userToken: 'u'.repeat(9000) }, 'userToken mismatch'], // longer than any stored token: the read-and-check path
    ] as const) {
      const r = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo, over)))), 'deliverNotifyReply');
      assert.deepEqual(r, { retCode: 'FAIL', retMsg: msg });
    }
    assert.equal(changes(), before, 'no row changed');
    assert.equal(delivered.length, 0);
    const ok = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo)))), 'deliverNotifyReply');
    assert.equal(ok.retCode, 'SUCCESS');
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.attempt, 1);
    assert.equal(delivered[0]!.signal.aborted, false, 'signal is created on demand and not aborted');
    const again = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo)))), 'deliverNotifyReply');
    assert.equal(again.retCode, 'SUCCESS');
    assert.equal(delivered.length, 1, 'hook not called again');
    assert.equal(await store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
    await store.close();
  });

  it('a custom store without claimDeliveryChecked still gets the checks (getOrder first, no claim on mismatch)', async () => {
    const inner = new MemoryPartnerStore();
    const calls: string[] = [];
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'claimDeliveryChecked') return undefined;
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls.push(String(prop));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as PartnerStore;
    const { h, delivered } = handlers(store);
    const o = await inner.createOrder(order({ totalAmt: 200, details: [{ itemId: 'ep35', quantity: 1, amount: 200 }] }));
    const bad = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo, { totalAmt: 100 })))), 'deliverNotifyReply');
    assert.deepEqual(bad, { retCode: 'FAIL', retMsg: 'totalAmt mismatch' });
    assert.deepEqual(calls, ['getOrder'], 'no claim taken');
    calls.length = 0;
    const ok = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo)))), 'deliverNotifyReply');
    assert.equal(ok.retCode, 'SUCCESS');
    assert.deepEqual(calls, ['getOrder', 'claimDelivery', 'completeDelivery']);
    assert.equal(delivered.length, 1);
  });

  it('SUCCESS is answered only once completeDelivery resolved (the reply is signed meanwhile); a failed record answers FAIL', async () => {
    const inner = new MemoryPartnerStore();
    let gate: { release: () => void; fail: (e: Error) => void } | undefined;
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== 'completeDelivery' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return (...args: [string, number]) =>
          new Promise((resolve, reject) => {
            gate = {
              release: () => resolve((v as typeof inner.completeDelivery).apply(target, args)),
              fail: reject,
            };
          });
      },
    }) as PartnerStore;
    const { h, delivered } = handlers(store);
    const o = await inner.createOrder(order({ totalAmt: 200, details: [{ itemId: 'ep35', quantity: 1, amount: 200 }] }));
    let answered = false;
    const pending = h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo)))).then((r) => ((answered = true), r));
    const until = Date.now() + 2_000;
    while (!gate && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(answered, false, 'no answer before the record');
    assert.equal(delivered.length, 1);
    gate!.release();
    assert.equal(readReply(await pending, 'deliverNotifyReply').retCode, 'SUCCESS');
    assert.equal((await inner.getOrder(o.tradeNo))?.status, 'DELIVERED');

    const o2 = await inner.createOrder(order({ totalAmt: 200, details: [{ itemId: 'ep35', quantity: 1, amount: 200 }] }));
    gate = undefined;
    const failing = h.deliver(signedRequest(JSON.stringify(deliverBody(o2.tradeNo))));
    while (!gate && Date.now() < until + 2_000) await new Promise((r) => setTimeout(r, 5));
    gate!.fail(new Error('disk full'));
    assert.deepEqual(readReply(await failing, 'deliverNotifyReply'), { retCode: 'FAIL', retMsg: 'could not record delivery' });
    assert.equal((await inner.getOrder(o2.tradeNo))?.status, 'CREATED');
    // the claim is kept (its lease runs): a retry now is "in progress", not a second hook run
    assert.deepEqual(readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o2.tradeNo)))), 'deliverNotifyReply'), {
      retCode: 'FAIL',
      retMsg: 'delivery in progress',
    });
    assert.equal(delivered.length, 2);
  });

  it('an async hook past deliverTimeoutMs: FAIL, its signal aborted, the claim kept and recorded when it finishes', async () => {
    const store = new MemoryPartnerStore();
    let seen: DeliverContext | undefined;
    let finish!: () => void;
    const hookDone = new Promise<void>((r) => (finish = r));
    const h = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKey,
      skillPrivateKey: skill.privateKey,
      store,
      catalog: catalogFrom(CATALOG),
      deliverTimeoutMs: 50,
      inProgressWaitMs: 0,
      deliver: (ctx) => {
        seen = ctx;
        return hookDone;
      },
    });
    const o = await store.createOrder(order({ totalAmt: 200, details: [{ itemId: 'ep35', quantity: 1, amount: 200 }] }));
    const r = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(o.tradeNo)))), 'deliverNotifyReply');
    assert.deepEqual(r, { retCode: 'FAIL', retMsg: 'delivery timed out' });
    assert.equal(seen?.signal.aborted, true);
    finish();
    const until = Date.now() + 2_000;
    while ((await store.getOrder(o.tradeNo))?.status !== 'DELIVERED' && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    assert.equal((await store.getOrder(o.tradeNo))?.status, 'DELIVERED');
  });
});

describe('SqlitePartnerStore synchronous option', () => {
  const sync = (s: SqlitePartnerStore) => s.db.pragma('synchronous', { simple: true });

  it("defaults to 'full' (FULL = 2) and stays FULL after a claim and a release (committed at NORMAL in between)", async () => {
    const store = new SqlitePartnerStore({ filename: join(dir, `${uniq()}.db`) });
    await store.init();
    assert.equal(store.synchronous, 'full');
    assert.equal(sync(store), 2);
    const o = await store.createOrder(order());
    assert.equal((await store.claimDelivery(o.tradeNo, 'TX1', 60_000, 2_000)).kind, 'claimed');
    assert.equal(sync(store), 2);
    await store.releaseDelivery(o.tradeNo, 1);
    assert.equal(sync(store), 2);
    assert.equal((await store.claimDeliveryChecked(o.tradeNo, 'TX1', { ...expect400, totalAmt: 1 }, 60_000, 2_000)).kind, 'mismatch');
    assert.equal(sync(store), 2);
    assert.equal((await store.claimDeliveryChecked(o.tradeNo, 'TX1', expect400, 60_000, 2_000)).kind, 'claimed');
    await store.completeDelivery(o.tradeNo, 3_000);
    assert.equal(sync(store), 2);
    await store.close();
  });

  it('a claim that fails inside SQLite (write lock held elsewhere) restores FULL too', async () => {
    const file = join(dir, `${uniq()}.db`);
    const store = new SqlitePartnerStore({ filename: file, busyTimeoutMs: 0 });
    await store.init();
    const o = await store.createOrder(order());
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(
        store.claimDeliveryChecked(o.tradeNo, 'TX1', expect400, 60_000, 2_000),
        (e: unknown) => (e as { retryable?: boolean }).retryable === true,
      );
      assert.equal(sync(store), 2);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal((await store.claimDeliveryChecked(o.tradeNo, 'TX1', expect400, 60_000, 2_000)).kind, 'claimed');
    await store.close();
  });

  it("'normal' sets NORMAL (1) for every commit; the data is the same and survives reopening", async () => {
    const file = join(dir, `${uniq()}.db`);
    const store = new SqlitePartnerStore({ filename: file, synchronous: 'normal' });
    await store.init();
    assert.equal(store.synchronous, 'normal');
    assert.equal(sync(store), 1);
    const o = await store.createOrder(order());
    assert.equal((await store.claimDeliveryChecked(o.tradeNo, 'TX1', expect400, 60_000, 2_000)).kind, 'claimed');
    await store.completeDelivery(o.tradeNo, 3_000);
    assert.equal(sync(store), 1);
    await store.close();
    const again = new SqlitePartnerStore({ filename: file });
    assert.equal((await again.getOrder(o.tradeNo))?.status, 'DELIVERED');
    assert.equal(await again.ownsItem(SKILL_ID, 'user-1', 'ep36'), true);
    await again.close();
  });

  it('refuses anything but full / normal', () => {
    for (const bad of ['FULL', 'off', 'extra', 1, '']) {
      assert.throws(() => new SqlitePartnerStore({ filename: join(dir, 'never.db'), synchronous: bad as never }), InvalidArgumentError);
    }
  });

  it('an existing version-1 file without the grant trigger gets it when a store opens it', async () => {
    const file = join(dir, `${uniq()}.db`);
    const first = new SqlitePartnerStore({ filename: file });
    await first.init();
    await first.close();
    const raw = new Database(file);
    raw.exec('DROP TRIGGER partner_orders_grant');
    raw.close();
    const store = new SqlitePartnerStore({ filename: file });
    await store.init();
    const names = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).all() as { name: string }[];
    assert.deepEqual(names.map((n) => n.name).sort(), ['partner_orders_credit', 'partner_orders_grant']);
    const o = await store.createOrder(order());
    await store.claimDelivery(o.tradeNo, 'TX1', 60_000, 2_000);
    await store.completeDelivery(o.tradeNo, 3_000);
    const rows = store.db.prepare('SELECT item_id, granted_at FROM partner_entitlements WHERE trade_no = ? ORDER BY item_id').all(o.tradeNo);
    assert.deepEqual(rows, [
      { item_id: 'ep35', granted_at: 3_000 },
      { item_id: 'ep36', granted_at: 3_000 },
    ]);
    await store.close();
  });
});
