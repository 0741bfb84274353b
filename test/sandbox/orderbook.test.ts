import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderBook, type OrderChange, type RefundChange } from '../../src/sandbox/order-book.js';
import { Scheduler } from '../../src/sandbox/scheduler.js';
import { SandboxStateError } from '../../src/sandbox/errors.js';

function book(opts: { payWindowMs?: number; refundDelayMs?: number } = {}) {
  const scheduler = new Scheduler({ timeScale: 0.001 });
  const b = new OrderBook({ scheduler, payUrl: (t) => `http://sandbox/pay/${t}`, ...opts });
  return { b, scheduler };
}
const details = [{ itemId: 'ep35', quantity: 1, amount: 200 }];
function refused(fn: () => unknown, reason: string) {
  assert.throws(fn, (e: unknown) => e instanceof SandboxStateError && e.reason === reason);
}
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('orders: unique ids, either-or lookup, status machine with events', () => {
  const { b, scheduler } = book();
  try {
    const events: OrderChange[] = [];
    b.on('order', (e) => events.push(e));
    const o = b.createOrder({ skillId: 'sk', tradeNo: 'T1', userToken: 'u', details, totalAmt: 200 });
    assert.match(o.transactionId, /^DD\d{14}[0-9A-Z]{12}$/);
    assert.ok(o.transactionId.length <= 32);
    assert.equal(o.payUrl, `http://sandbox/pay/${o.transactionId}`);
    assert.equal(o.tradeStatus, 'NOTPAY');
    const ids = new Set(
      Array.from({ length: 200 }, (_, i) => b.createOrder({ skillId: 'sk', tradeNo: `X${i}`, userToken: 'u', details, totalAmt: 200 }).transactionId),
    );
    assert.equal(ids.size, 200);
    refused(() => b.createOrder({ skillId: 'sk', tradeNo: 'T1', userToken: 'u', details, totalAmt: 200 }), 'DUPLICATE_TRADE_NO');
    refused(() => b.createOrder({ skillId: 'sk', tradeNo: 'T9', userToken: 'u', details, totalAmt: 201 }), 'AMOUNT_MISMATCH');
    assert.equal(b.find('sk', { tradeNo: 'T1' }).transactionId, o.transactionId);
    assert.equal(b.find('sk', { transactionId: o.transactionId, tradeNo: 'T1' }).tradeNo, 'T1');
    refused(() => b.find('other', { transactionId: o.transactionId }), 'UNKNOWN_ORDER');
    refused(() => b.find('sk', { transactionId: o.transactionId, tradeNo: 'X1' }), 'ORDER_MISMATCH');
    events.length = 0;
    assert.equal(b.scan(o.transactionId).tradeStatus, 'PROCESSING');
    assert.equal(b.pay(o.transactionId).tradeStatus, 'SUCCESS');
    refused(() => b.fail(o.transactionId), 'ALREADY_FINAL');
    refused(() => b.scan(o.transactionId), 'ALREADY_FINAL');
    assert.deepEqual(
      events.map((e) => [e.previous, e.order.tradeStatus]),
      [
        ['NOTPAY', 'PROCESSING'],
        ['PROCESSING', 'SUCCESS'],
      ],
    );
    const c = b.createOrder({ skillId: 'sk', tradeNo: 'T2', userToken: 'u', details, totalAmt: 200 });
    assert.equal(b.fail(c.transactionId, 'cancelled').tradeStatus, 'FAIL');
  } finally {
    b.close();
    scheduler.close();
  }
});

test('the payment window expires (NOTPAY, expired) and refresh reopens it', async () => {
  const { b, scheduler } = book({ payWindowMs: 40 });
  try {
    const o = b.createOrder({ skillId: 'sk', tradeNo: 'T1', userToken: 'u', details, totalAmt: 200 });
    await wait(80);
    const e = b.get(o.transactionId)!;
    assert.equal(e.tradeStatus, 'NOTPAY');
    assert.equal(e.expired, true);
    refused(() => b.scan(o.transactionId), 'EXPIRED');
    const r = b.refresh(o.transactionId, 10_000);
    assert.equal(r.expired, false);
    assert.ok(r.expiresAt > Date.now() + 5000);
    assert.equal(b.pay(o.transactionId).tradeStatus, 'SUCCESS');
  } finally {
    b.close();
    scheduler.close();
  }
});

test('refunds: only paid, bounded by what was paid, repeat returns the existing one, PROCESSING → SUCCESS', async () => {
  const { b, scheduler } = book({ refundDelayMs: 20_000 }); // 20 ms at scale 0.001
  try {
    const o = b.createOrder({ skillId: 'sk', tradeNo: 'T1', userToken: 'u', details, totalAmt: 200 });
    const r0 = { skillId: 'sk', transactionId: o.transactionId, refundTradeNo: 'R1', totalAmt: 200, refundAmt: 120, refundDetails: details };
    refused(() => b.refund(r0), 'NOT_PAID');
    b.pay(o.transactionId);
    refused(() => b.refund({ ...r0, totalAmt: 300 }), 'AMOUNT_MISMATCH');
    const changes: RefundChange[] = [];
    b.on('refund', (c) => changes.push(c));
    const first = b.refund(r0);
    assert.equal(first.created, true);
    assert.equal(first.refund.refundStatus, 'PROCESSING');
    assert.match(first.refund.refundTransactionId, /^DR/);
    const again = b.refund(r0);
    assert.equal(again.created, false);
    assert.equal(again.refund.refundTransactionId, first.refund.refundTransactionId);
    refused(() => b.refund({ ...r0, refundAmt: 50 }), 'REFUND_CONFLICT');
    refused(() => b.refund({ ...r0, refundTradeNo: 'R2', refundAmt: 81 }), 'REFUND_EXCEEDS_PAID');
    const second = b.refund({ ...r0, refundTradeNo: 'R2', tradeNo: 'T1', transactionId: undefined, refundAmt: 80 });
    assert.equal(second.created, true);
    refused(() => b.refund({ ...r0, refundTradeNo: 'R3', refundAmt: 1 }), 'REFUND_EXCEEDS_PAID');
    assert.equal(b.get(o.transactionId)!.refundedAmt, 200);
    await wait(100);
    assert.equal(b.findRefund('sk', { refundTradeNo: 'R1' }).refundStatus, 'SUCCESS');
    assert.equal(b.findRefund('sk', { refundTransactionId: second.refund.refundTransactionId }).refundStatus, 'SUCCESS');
    refused(() => b.findRefund('other', { refundTradeNo: 'R1' }), 'UNKNOWN_REFUND');
    assert.deepEqual(
      changes.map((c) => c.refund.refundStatus),
      ['PROCESSING', 'PROCESSING', 'SUCCESS', 'SUCCESS'],
    );
  } finally {
    b.close();
    scheduler.close();
  }
});

test('property: random operation sequences keep the book consistent; refused operations change nothing', async () => {
  const fc = (await import('fast-check')).default;
  const op = fc.oneof(
    fc.record({ k: fc.constant('create' as const), amt: fc.integer({ min: 0, max: 500 }) }),
    fc.record({ k: fc.constantFrom('scan' as const, 'pay' as const, 'fail' as const, 'expire' as const, 'refresh' as const), i: fc.nat(5) }),
    fc.record({
      k: fc.constant('refund' as const),
      i: fc.nat(5),
      amt: fc.integer({ min: -5, max: 300 }),
      no: fc.constantFrom('R1', 'R2', 'R3', 'R4'),
      total: fc.boolean(),
    }),
    fc.record({ k: fc.constant('finish' as const), i: fc.nat(5), ok: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const scheduler = new Scheduler({ timeScale: 1 });
      const b = new OrderBook({ scheduler, payUrl: (t) => `http://x/pay/${t}`, refundDelayMs: 1e9 });
      const paidEver = new Set<string>();
      try {
        for (const o of ops) {
          const orders = b.list();
          const before = JSON.stringify([b.list(), b.listRefunds()]);
          const pick = 'i' in o ? orders[o.i % Math.max(1, orders.length)] : undefined;
          try {
            switch (o.k) {
              case 'create':
                b.createOrder({
                  skillId: 'sk',
                  tradeNo: `T${orders.length}`,
                  userToken: 'u',
                  details: [{ itemId: 'a', quantity: 1, amount: o.amt }],
                  totalAmt: o.amt,
                });
                break;
              case 'scan':
              case 'pay':
              case 'expire':
              case 'refresh':
                if (pick) b[o.k](pick.transactionId);
                break;
              case 'fail':
                if (pick) b.fail(pick.transactionId, 'declined');
                break;
              case 'refund':
                if (pick)
                  b.refund({
                    skillId: 'sk',
                    transactionId: pick.transactionId,
                    refundTradeNo: o.no,
                    totalAmt: o.total ? pick.totalAmt : pick.totalAmt + 1,
                    refundAmt: o.amt,
                    refundDetails: [],
                  });
                break;
              case 'finish': {
                const rs = b.listRefunds();
                const r = rs[o.i % Math.max(1, rs.length)];
                if (r) b.finishRefund(r.refundTransactionId, o.ok ? 'SUCCESS' : 'FAIL');
                break;
              }
            }
          } catch (e) {
            if (!(e instanceof SandboxStateError) && (e as { code?: string }).code !== 'ERR_INVALID_ARGUMENT') throw e;
            assert.equal(JSON.stringify([b.list(), b.listRefunds()]), before, `refused ${o.k} changed nothing`);
          }
          for (const x of b.list()) {
            if (paidEver.has(x.transactionId)) assert.equal(x.tradeStatus, 'SUCCESS', 'SUCCESS is final');
            if (x.tradeStatus === 'SUCCESS') paidEver.add(x.transactionId);
            const live = b.listRefunds().filter((r) => r.transactionId === x.transactionId && r.refundStatus !== 'FAIL');
            assert.equal(
              x.refundedAmt,
              live.reduce((s, r) => s + r.refundAmt, 0),
            );
            assert.ok(x.refundedAmt <= x.totalAmt, 'refunds never exceed what was paid');
            if (live.length > 0) assert.equal(x.tradeStatus, 'SUCCESS', 'only paid orders have refunds');
          }
        }
      } finally {
        b.close();
        scheduler.close();
      }
    }),
    { numRuns: 300 },
  );
});
