/**
 * Model-based check of the store contract (fast-check): random sequences of
 * operations — orders (some granting credits), duplicate / late / expired
 * claims, completions, releases (with and without the attempt), refunds
 * within and beyond the bound, refund updates, entitlement reads,
 * revocations, purchase-history pages, credit reads and consumption, the
 * five reconcile methods (claims of orders and refunds with leases and
 * back-offs, their settling, the recorded state), bad arguments — run
 * against the in-memory store (the model), the SQLite store and the
 * PostgreSQL store. Every answer, error code and final state must be
 * identical.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { CreditGrant, PartnerStore, ReconcileSettle, Refund } from '../../src/partner/store.js';
import { MemoryPartnerStore, PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

type Op =
  | { op: 'create'; order: number; user: number; items: number[]; total: number; credits: number[] }
  | { op: 'claim'; order: number; lease: number }
  | { op: 'complete'; order: number }
  | { op: 'release'; order: number; attempt: number | undefined }
  | { op: 'refund'; order: number; refund: number; amount: number; status: Refund['status'] }
  | { op: 'updateRefund'; refund: number; status: Refund['status'] | undefined; tx: boolean }
  | { op: 'owns'; user: number; item: number }
  | { op: 'get'; order: number }
  | { op: 'bad'; which: number }
  | { op: 'revoke'; order: number }
  | { op: 'deliver'; order: number }
  | { op: 'history'; user: number; limit: number; pages: number }
  | { op: 'credits'; user: number; balance: number }
  | { op: 'consume'; user: number; balance: number; count: number }
  | { op: 'claimOrders'; back: number; limit: number; lease: number }
  | { op: 'settleOrder'; order: number; checks: number; settle: ReconcileSettle }
  | { op: 'claimRefunds'; back: number; limit: number; lease: number }
  | { op: 'settleRefund'; refund: number; checks: number; settle: { nextCheckAt: number } | { done: true } }
  | { op: 'reconcileState'; order: number };

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
  // per distinct item of the order: 0 = an ordinary item, else a pack of that many credits (balance by item parity)
  credits: fc.array(fc.constantFrom(0, 0, 1, 3, 10), { minLength: 3, maxLength: 3 }),
});
const settleArb: fc.Arbitrary<ReconcileSettle> = fc.oneof(
  fc.record({ nextCheckAt: fc.constantFrom(0, 999_999, 1_000_500, 1_010_000, 2_000_000) }),
  fc.record({ close: fc.constantFrom('NOTPAY' as const, 'FAIL' as const, 'UNKNOWN' as const) }),
  fc.constant({ done: true as const }),
);
const refundSettleArb = fc.oneof(fc.record({ nextCheckAt: fc.constantFrom(0, 1_000_500, 1_010_000, 2_000_000) }), fc.constant({ done: true as const }));
// 0: the checks of this item's latest claim (resolved by the runner from the model's answers), so settling mostly hits a live claim
const checks = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 4 }));
const reconcileClaim = { back: fc.constantFrom(0, 50, 500, 100_000), limit: fc.constantFrom(1, 2, 10), lease: fc.constantFrom(...leases) };
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
    { weight: 1, arbitrary: fc.record({ op: fc.constant('bad' as const), which: fc.nat(9) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('revoke' as const), order }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('deliver' as const), order }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('history' as const), user: fc.nat(1), limit: fc.constantFrom(1, 2, 100), pages: fc.integer({ min: 1, max: 4 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('credits' as const), user: fc.nat(1), balance: fc.nat(1) }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('consume' as const), user: fc.nat(1), balance: fc.nat(1), count: fc.constantFrom(1, 2, 3, 10) }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('claimOrders' as const), ...reconcileClaim }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('settleOrder' as const), order, checks, settle: settleArb }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('claimRefunds' as const), ...reconcileClaim }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('settleRefund' as const), refund: fc.nat(5), checks, settle: refundSettleArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('reconcileState' as const), order }) },
  ),
});

/** Run one operation; return a plain, comparable description of what happened. */
async function apply(s: PartnerStore, p: string, now: number, op: Op): Promise<unknown> {
  const T = (i: number) => `${p}T${i}`;
  const R = (i: number) => `${p}R${i}`;
  try {
    switch (op.op) {
      case 'create': {
        const items = [...new Set(op.items)];
        const credits: CreditGrant[] = items
          .filter((i) => op.credits[i]! > 0)
          .map((i) => ({ itemId: `it${i}`, balance: `b${i % 2}`, count: op.credits[i]!, onRefund: i === 2 ? 'keep' : 'remaining' }));
        const o = await s.createOrder({
          tradeNo: T(op.order),
          skillId: 'sk',
          userToken: `${p}u${op.user}`,
          details: items.map((i) => ({ itemId: `it${i}`, quantity: 1, amount: 0 })),
          totalAmt: op.total,
          createdAt: now,
          ...(credits.length > 0 ? { credits } : {}),
        });
        return { status: o.status, credits: o.credits };
      }
      case 'revoke':
        return await s.revokeEntitlements(T(op.order));
      case 'deliver': {
        const c = await s.claimDelivery(T(op.order), 'tx', 50, now);
        if (c.kind !== 'claimed') return { kind: c.kind };
        const o = await s.completeDelivery(T(op.order), now);
        return { kind: c.kind, status: o.status, credits: o.credits };
      }
      case 'history': {
        const pages = [];
        let cursor: string | null = null;
        for (let i = 0; i < op.pages; i++) {
          const page = await s.listPurchases!('sk', `${p}u${op.user}`, { limit: op.limit, cursor });
          pages.push(page.purchases.map((x) => ({ ...x, tradeNo: x.tradeNo.slice(p.length) })));
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        return { pages, more: cursor !== null };
      }
      case 'credits':
        return await s.getCredits!('sk', `${p}u${op.user}`, `b${op.balance}`);
      case 'consume':
        return await s.consumeCredits!('sk', `${p}u${op.user}`, `b${op.balance}`, op.count);
      case 'claimOrders':
      case 'claimRefunds': {
        const o = { createdBefore: now - op.back, now, limit: op.limit, leaseMs: op.lease };
        // only this run's items (the database is shared by the runs); the limit counts the others too,
        // so the model sees none of them: every run starts with no other open items left due
        if (op.op === 'claimOrders')
          return (await s.claimReconcileOrders!(o)).map((c) => ({ tradeNo: c.order.tradeNo.slice(p.length), checks: c.checks, status: c.order.status }));
        return (await s.claimReconcileRefunds!(o)).map((c) => ({
          refundTradeNo: c.refund.refundTradeNo.slice(p.length),
          checks: c.checks,
          status: c.refund.status,
        }));
      }
      case 'settleOrder':
        return await s.settleReconcileOrder!(T(op.order), op.checks, op.settle, now);
      case 'settleRefund':
        return await s.settleReconcileRefund!(R(op.refund), op.checks, op.settle, now);
      case 'reconcileState':
        return (await s.getReconcileState!(T(op.order))) ?? null;
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
          () => s.listPurchases!('sk', `${p}u0`, { limit: 1, cursor: 'nope' }),
          () => s.consumeCredits!('sk', `${p}u0`, 'b0', 0),
          () => s.claimReconcileOrders!({ createdBefore: now, now, limit: 0, leaseMs: 50 }),
          () => s.settleReconcileRefund!(R(0), 1, { close: 'FAIL' } as unknown as { done: true }, now),
          () =>
            s.createOrder({
              tradeNo: T(0),
              skillId: 'sk',
              userToken: 'u',
              details: [{ itemId: 'it0', quantity: 1, amount: 0 }],
              totalAmt: 0,
              createdAt: now,
              credits: [{ itemId: 'it1', balance: 'b0', count: 1, onRefund: 'keep' }],
            }),
        ][op.which]!;
        await bad();
        return 'accepted?!';
      }
    }
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

/** A settle op drawn with `checks: 0` names the latest claim of its item (1 when there was none). */
function resolveChecks(op: Op, last: Map<string, number>): Op {
  if (op.op === 'settleOrder' && op.checks === 0) return { ...op, checks: last.get(`order:T${op.order}`) ?? 1 };
  if (op.op === 'settleRefund' && op.checks === 0) return { ...op, checks: last.get(`refund:R${op.refund}`) ?? 1 };
  return op;
}

/** Claim every open order and refund far in the future and close / park them, so later runs see only their own. */
async function settleAll(s: PartnerStore, now: number): Promise<void> {
  const far = now + 1e12;
  for (;;) {
    const orders = await s.claimReconcileOrders!({ createdBefore: far, now: far, limit: 100, leaseMs: 1 });
    for (const c of orders) await s.settleReconcileOrder!(c.order.tradeNo, c.checks, { close: 'UNKNOWN' }, far);
    const refunds = await s.claimReconcileRefunds!({ createdBefore: far, now: far, limit: 100, leaseMs: 1 });
    for (const c of refunds) await s.settleReconcileRefund!(c.refund.refundTradeNo, c.checks, { nextCheckAt: Number.MAX_SAFE_INTEGER }, far);
    if (orders.length === 0 && refunds.length === 0) return;
  }
}

/** Run random sequences against the model and `store`, comparing every answer and the final state. */
async function compareWithModel(name: string, store: PartnerStore): Promise<void> {
  let run = 0;
  const hist = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.array(createArb, { minLength: 1, maxLength: 3 }),
      fc.array(opArb, { minLength: 10, maxLength: 50, size: 'max' }),
      async (creates, rest) => {
        const p = `m${run++}x`; // fresh ids per run, same database
        const model = new MemoryPartnerStore();
        let now = 1_000_000;
        // nothing of the earlier runs (one shared database) may stay open for this run's reconcile claims
        await settleAll(store, now);
        const ops = [...creates.map((op) => ({ dt: 0, op })), ...rest];
        const lastChecks = new Map<string, number>();
        for (const [i, { dt, op: drawn }] of ops.entries()) {
          now += dt;
          const op = resolveChecks(drawn, lastChecks);
          const want = await apply(model, p, now, op);
          if (process.env.DDP_DEBUG) {
            const k = `${op.op}:${String(JSON.stringify(want))
              .replace(/[0-9]+/g, 'N')
              .slice(0, 70)}`;
            hist.set(k, (hist.get(k) ?? 0) + 1);
          }
          const got = await apply(store, p, now, op);
          if (op.op === 'claimOrders' && Array.isArray(want))
            for (const c of want as { tradeNo: string; checks: number }[]) lastChecks.set(`order:${c.tradeNo}`, c.checks);
          if (op.op === 'claimRefunds' && Array.isArray(want))
            for (const c of want as { refundTradeNo: string; checks: number }[]) lastChecks.set(`refund:${c.refundTradeNo}`, c.checks);
          assert.deepEqual(got, want, `${name} differs from the model at step ${i}: ${JSON.stringify(op)}`);
        }
        // and the final state agrees too
        const finals: Op[] = [];
        for (let o = 0; o <= ORDERS; o++) finals.push({ op: 'get', order: o }, { op: 'reconcileState', order: o });
        for (let u = 0; u <= 1; u++)
          finals.push({ op: 'history', user: u, limit: 100, pages: 1 }, { op: 'credits', user: u, balance: 0 }, { op: 'credits', user: u, balance: 1 });
        for (const op of finals) {
          const want = await apply(model, p, now, op);
          assert.deepEqual(await apply(store, p, now, op), want, `${name} final ${JSON.stringify(op)}`);
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
