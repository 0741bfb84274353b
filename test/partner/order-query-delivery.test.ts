/**
 * Delivery from a verified order-query answer (`handlers.deliverFromOrderQuery`):
 * the same exactly-once path as the signed delivery notification — one
 * deliver hook run per order whichever arrives first or both at once — and an
 * answer that does not match the stored order delivers nothing and changes
 * nothing.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { OrderQueryReply } from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  MemoryPartnerStore,
  SqlitePartnerStore,
  type DeliverContext,
  type PartnerOptions,
  type PartnerStore,
} from '../../src/partner/index.js';
import { CATALOG, createOrderBody, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';

const MUTATORS = ['createOrder', 'claimDelivery', 'claimDeliveryChecked', 'completeDelivery', 'releaseDelivery', 'saveRefund', 'updateRefund'];

/** A store whose mutating calls are counted; without `claimDeliveryChecked` when `checked` is false. */
function tracked(inner: PartnerStore, checked = true) {
  const writes: string[] = [];
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'claimDeliveryChecked' && !checked) return undefined;
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (MUTATORS.includes(prop as string)) writes.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, writes };
}

const dir = mkdtempSync(join(tmpdir(), 'ddp-oq-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const STORES: Array<{ name: string; make: () => PartnerStore; checked: boolean }> = [
  { name: 'memory', make: () => new MemoryPartnerStore(), checked: true },
  { name: 'memory without claimDeliveryChecked', make: () => new MemoryPartnerStore(), checked: false },
  { name: 'sqlite', make: () => new SqlitePartnerStore({ filename: join(dir, `s${files++}.db`) }), checked: true },
];

async function setup(make: () => PartnerStore, checked: boolean, over: Partial<PartnerOptions> = {}) {
  const inner = make();
  await inner.init();
  const { store, writes } = tracked(inner, checked);
  const delivered: DeliverContext[] = [];
  const errors: Array<{ kind: string; retMsg: string }> = [];
  const h = createPartnerHandlers({
    skillId: [SKILL_ID, 'otherSkill'],
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store,
    catalog: catalogFrom(CATALOG),
    deliver: async (ctx) => {
      delivered.push(ctx);
    },
    onError: (_e, info) => errors.push(info),
    ...over,
  });
  const created = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody()))), 'createOrderReply');
  assert.equal(created.retCode, 'SUCCESS');
  const tradeNo = created.tradeNo!;
  const notify = async (body = deliverBody(tradeNo)) => readReply(await h.deliver(signedRequest(JSON.stringify(body))), 'deliverNotifyReply');
  return { h, store: inner, writes, delivered, errors, tradeNo, notify, close: () => inner.close() };
}

/** What `PayClient.orderQuery` resolves with for a paid order (the notification's transactionId). */
function paidAnswer(tradeNo: string, over: Partial<OrderQueryReply> = {}): OrderQueryReply {
  return {
    retCode: 'SUCCESS',
    skillId: SKILL_ID,
    transactionId: deliverBody(tradeNo).transactionId,
    tradeNo,
    totalAmt: 200,
    tradeStatus: 'SUCCESS',
    tradeStatusDesc: '支付成功',
    ...over,
  };
}

for (const { name, make, checked } of STORES) {
  describe(`delivery from an order-query answer (${name} store)`, () => {
    it('a paid answer delivers once; repeats and the later notification answer SUCCESS without a second run', async () => {
      const s = await setup(make, checked);
      try {
        assert.deepEqual(await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo)), { retCode: 'SUCCESS' });
        assert.equal(s.delivered.length, 1);
        assert.equal(s.delivered[0]!.idempotencyKey, s.tradeNo);
        assert.equal(s.delivered[0]!.transactionId, paidAnswer(s.tradeNo).transactionId);
        assert.equal(s.delivered[0]!.attempt, 1);
        const order = await s.store.getOrder(s.tradeNo);
        assert.equal(order?.status, 'DELIVERED');
        assert.equal(order?.transactionId, paidAnswer(s.tradeNo).transactionId);
        assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
        assert.deepEqual(await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo)), { retCode: 'SUCCESS' });
        assert.equal((await s.notify()).retCode, 'SUCCESS');
        assert.equal(s.delivered.length, 1);
        assert.deepEqual(s.errors, []);
      } finally {
        await s.close();
      }
    });

    it('a notification and a query-based delivery racing for the same order deliver once, both SUCCESS', async () => {
      for (let round = 0; round < 6; round++) {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const runs: string[] = [];
        const s = await setup(make, checked, {
          deliver: async (ctx) => {
            runs.push(ctx.idempotencyKey);
            await gate;
          },
        });
        try {
          // Alternate which one starts first; either way one claims and the other waits for it.
          const query = () => s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo));
          const both = round % 2 === 0 ? [s.notify(), query(), s.notify(), query()] : [query(), s.notify(), query(), s.notify()];
          setTimeout(release, 30);
          const replies = await Promise.all(both);
          assert.deepEqual(
            replies.map((r) => r.retCode),
            ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS'],
          );
          assert.deepEqual(runs, [s.tradeNo]);
          assert.equal((await s.store.getOrder(s.tradeNo))?.status, 'DELIVERED');
        } finally {
          await s.close();
        }
      }
    });

    it('an answer that does not match the order (amount, skillId, NOTPAY, …) delivers nothing and changes nothing', async () => {
      const s = await setup(make, checked);
      try {
        const before = await s.store.getOrder(s.tradeNo);
        const writesBefore = s.writes.length;
        const cases: Array<[OrderQueryReply, string]> = [
          [paidAnswer(s.tradeNo, { totalAmt: 1 }), 'totalAmt mismatch'],
          [paidAnswer(s.tradeNo, { totalAmt: 400 }), 'totalAmt mismatch'],
          [paidAnswer(s.tradeNo, { skillId: 'otherSkill' }), 'skillId mismatch'],
          [paidAnswer(s.tradeNo, { skillId: 'notOurSkill' }), 'unknown skillId'],
          [paidAnswer(s.tradeNo, { tradeStatus: 'NOTPAY', tradeStatusDesc: '未支付' }), 'tradeStatus NOTPAY'],
          [paidAnswer(s.tradeNo, { tradeStatus: 'PROCESSING' }), 'tradeStatus PROCESSING'],
          [paidAnswer(s.tradeNo, { tradeStatus: 'FAIL' }), 'tradeStatus FAIL'],
          [paidAnswer('NoSuchOrder1'), 'unknown tradeNo'],
          [{ retCode: 'FAIL', retMsg: 'ORDER_NOT_EXIST' }, 'order query failed'],
        ];
        for (const [answer, retMsg] of cases) {
          assert.deepEqual(await s.h.deliverFromOrderQuery(answer), { retCode: 'FAIL', retMsg }, JSON.stringify(answer));
        }
        // Not a valid answer at all: refused by validation (a SUCCESS must name the order and its amount).
        const { totalAmt: _omit, ...noAmount } = paidAnswer(s.tradeNo);
        const invalid = await s.h.deliverFromOrderQuery(noAmount);
        assert.equal(invalid.retCode, 'FAIL');
        assert.match(invalid.retMsg ?? '', /totalAmt/);
        const fractional = await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo, { totalAmt: 200.5 }));
        assert.equal(fractional.retCode, 'FAIL');

        assert.equal(s.delivered.length, 0);
        // Nothing written: a checked claim on a mismatch changes no row, no other mutator ran.
        assert.deepEqual(
          s.writes.slice(writesBefore).filter((w) => w !== 'claimDeliveryChecked'),
          [],
        );
        assert.deepEqual(await s.store.getOrder(s.tradeNo), before);
        assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), false);
        // Every refusal was told to onError, as kind orderQueryReply.
        assert.equal(s.errors.length, cases.length + 2);
        assert.ok(s.errors.every((e) => e.kind === 'orderQueryReply'));
        // The real answer still delivers, once.
        assert.deepEqual(await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo)), { retCode: 'SUCCESS' });
        assert.equal(s.delivered.length, 1);
      } finally {
        await s.close();
      }
    });

    it('after a delivery recorded with one transactionId, an answer naming another is refused', async () => {
      const s = await setup(make, checked);
      try {
        assert.equal((await s.notify()).retCode, 'SUCCESS');
        const before = await s.store.getOrder(s.tradeNo);
        const other = await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo, { transactionId: 'DDanother' }));
        assert.deepEqual(other, { retCode: 'FAIL', retMsg: 'transactionId mismatch' });
        assert.deepEqual(await s.store.getOrder(s.tradeNo), before);
        assert.equal(s.delivered.length, 1);
      } finally {
        await s.close();
      }
    });

    it('a failing hook answers FAIL and releases the claim: the notification delivers afterwards (attempt 2)', async () => {
      let fail = true;
      const attempts: number[] = [];
      const s = await setup(make, checked, {
        deliver: async (ctx) => {
          attempts.push(ctx.attempt);
          if (fail) throw new Error('warehouse offline');
        },
      });
      try {
        assert.deepEqual(await s.h.deliverFromOrderQuery(paidAnswer(s.tradeNo)), { retCode: 'FAIL', retMsg: 'delivery failed' });
        assert.equal((await s.store.getOrder(s.tradeNo))?.status, 'CREATED');
        fail = false;
        assert.equal((await s.notify()).retCode, 'SUCCESS');
        assert.deepEqual(attempts, [1, 2]);
      } finally {
        await s.close();
      }
    });
  });
}
