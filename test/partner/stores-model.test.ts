/**
 * Model-based check of the store contract (fast-check): random sequences of
 * operations — orders, duplicate / late / expired claims, completions,
 * releases (with and without the attempt), refunds within and beyond the
 * bound, refund updates, entitlement reads, bad arguments — run against the
 * in-memory store (the model), the SQLite store and the PostgreSQL store.
 * Every answer, error code and final state must be identical.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { PartnerStore, Refund } from '../../src/partner/store.js';
import { MemoryPartnerStore, PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

type Op =
  | { op: 'create'; order: number; user: number; items: number[]; total: number }
  | { op: 'claim'; order: number; lease: number }
  | { op: 'complete'; order: number }
  | { op: 'release'; order: number; attempt: number | undefined }
  | { op: 'refund'; order: number; refund: number; amount: number; status: Refund['status'] }
  | { op: 'updateRefund'; refund: number; status: Refund['status'] | undefined; tx: boolean }
  | { op: 'owns'; user: number; item: number }
  | { op: 'get'; order: number }
  | { op: 'bad'; which: number };

const status = fc.constantFrom<Refund['status']>('PROCESSING', 'SUCCESS', 'FAIL');
// Small id spaces and lease-sized time steps, so that duplicates, exact lease
// boundaries, revived refunds and full refund bounds come up often.
const ORDERS = 3; // orders T0..T2 can be created; T3 stays unknown
const order = fc.nat(ORDERS);
const leases = [50, 500, 5000] as const;
const createArb = fc.record({
  op: fc.constant('create' as const),
  order: fc.nat(ORDERS - 1),
  user: fc.nat(1),
  items: fc.array(fc.nat(2), { minLength: 1, maxLength: 3 }),
  total: fc.constantFrom(0, 100, 200, 300),
});
const opArb: fc.Arbitrary<{ dt: number; op: Op }> = fc.record({
  dt: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 49, 50, 51, 499, 500, 501) }, fc.integer({ min: 0, max: 6000 })),
  op: fc.oneof(
    { weight: 1, arbitrary: createArb },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), order, lease: fc.constantFrom(...leases) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('complete' as const), order }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('release' as const), order, attempt: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('refund' as const), order, refund: fc.nat(4), amount: fc.constantFrom(1, 50, 100, 150, 200), status }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('updateRefund' as const), refund: fc.nat(5), status: fc.option(status, { nil: undefined }), tx: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('owns' as const), user: fc.nat(1), item: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), order }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('bad' as const), which: fc.nat(4) }) },
  ),
});

/** Run one operation; return a plain, comparable description of what happened. */
async function apply(s: PartnerStore, p: string, now: number, op: Op): Promise<unknown> {
  const T = (i: number) => `${p}T${i}`;
  const R = (i: number) => `${p}R${i}`;
  try {
    switch (op.op) {
      case 'create': {
        const o = await s.createOrder({
          tradeNo: T(op.order),
          skillId: 'sk',
          userToken: `${p}u${op.user}`,
          details: op.items.map((i) => ({ itemId: `it${i}`, quantity: 1, amount: 0 })),
          totalAmt: op.total,
          createdAt: now,
        });
        return { status: o.status };
      }
      case 'claim': {
        const c = await s.claimDelivery(T(op.order), 'tx', op.lease, now);
        return c.kind === 'claimed'
          ? { kind: c.kind, attempt: c.attempt, status: c.order.status }
          : c.kind === 'unknown-order'
            ? { kind: c.kind }
            : { kind: c.kind, status: c.order.status, deliveredAt: c.order.deliveredAt };
      }
      case 'complete': {
        const o = await s.completeDelivery(T(op.order), now);
        return { status: o.status, deliveredAt: o.deliveredAt };
      }
      case 'release':
        await s.releaseDelivery(T(op.order), op.attempt);
        return 'ok';
      case 'refund': {
        const r = await s.saveRefund({
          refundTradeNo: R(op.refund),
          tradeNo: T(op.order),
          refundAmt: op.amount,
          status: op.status,
          refundTransactionId: null,
          createdAt: now,
        });
        return { ...r, refundTradeNo: r.refundTradeNo.slice(p.length), tradeNo: r.tradeNo.slice(p.length) };
      }
      case 'updateRefund': {
        const patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>> = {};
        if (op.status) patch.status = op.status;
        if (op.tx) patch.refundTransactionId = 'rtx';
        const r = await s.updateRefund(R(op.refund), patch);
        return r && { status: r.status, refundTransactionId: r.refundTransactionId, refundAmt: r.refundAmt };
      }
      case 'owns':
        return await s.ownsItem('sk', `${p}u${op.user}`, `it${op.item}`);
      case 'get': {
        const o = await s.getOrder(T(op.order));
        return o && { status: o.status, deliveredAt: o.deliveredAt, transactionId: o.transactionId, totalAmt: o.totalAmt };
      }
      case 'bad': {
        const bad = [
          () => s.claimDelivery(T(0), 'tx', -1, now),
          () => s.createOrder({ tradeNo: 'bad-no', skillId: 'sk', userToken: 'u', details: [], totalAmt: 1, createdAt: now }),
          () => s.saveRefund({ refundTradeNo: R(0), tradeNo: T(0), refundAmt: 0, status: 'SUCCESS', refundTransactionId: null, createdAt: now }),
          () => s.releaseDelivery(T(0), 0),
          () => s.completeDelivery(T(0), -1),
        ][op.which]!;
        await bad();
        return 'accepted?!';
      }
    }
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

/** Run random sequences against the model and `store`, comparing every answer and the final state. */
async function compareWithModel(name: string, store: PartnerStore): Promise<void> {
  let run = 0;
  const hist = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.array(createArb, { minLength: 1, maxLength: 3 }),
      fc.array(opArb, { minLength: 10, maxLength: 40, size: 'max' }),
      async (creates, rest) => {
        const p = `m${run++}x`; // fresh ids per run, same database
        const model = new MemoryPartnerStore();
        let now = 1_000_000;
        const ops = [...creates.map((op) => ({ dt: 0, op })), ...rest];
        for (const [i, { dt, op }] of ops.entries()) {
          now += dt;
          const want = await apply(model, p, now, op);
          if (process.env.DDP_DEBUG) {
            const k = `${op.op}:${String(JSON.stringify(want))
              .replace(/[0-9]+/g, 'N')
              .slice(0, 70)}`;
            hist.set(k, (hist.get(k) ?? 0) + 1);
          }
          const got = await apply(store, p, now, op);
          assert.deepEqual(got, want, `${name} differs from the model at step ${i}: ${JSON.stringify(op)}`);
        }
        // and the final state agrees too
        for (let o = 0; o <= ORDERS; o++) {
          const want = await apply(model, p, now, { op: 'get', order: o });
          assert.deepEqual(await apply(store, p, now, { op: 'get', order: o }), want, `${name} final T${o}`);
        }
      },
    ),
    { numRuns: 50, ...(process.env.DDP_SEED ? { seed: Number(process.env.DDP_SEED), path: process.env.DDP_PATH } : {}) },
  );
  // DDP_DEBUG=1 prints how often each kind of answer came up (to see the generator reaches the edges)
  if (process.env.DDP_DEBUG)
    console.log(
      name,
      [...hist].sort((a, b) => b[1] - a[1]),
    );
}

describe('store contract, model-based: SQLite and PostgreSQL answer like the in-memory model', () => {
  let dir = '';
  let pgServer: PostgresServer | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-model-'));
  });
  after(async () => {
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SQLite', async () => {
    const store = new SqlitePartnerStore(join(dir, 'model.db'));
    try {
      await compareWithModel('sqlite', store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL', { skip: postgresSkipReason() }, async () => {
    pgServer = await startPostgres();
    const store = new PostgresPartnerStore({ connectionString: await pgServer.createDatabase(), poolSize: 2, leaseClock: 'caller' });
    try {
      await compareWithModel('postgres', store);
    } finally {
      await store.close();
    }
  });
});
