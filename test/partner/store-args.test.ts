/**
 * stores/check-args.ts: one table of argument checks for every PartnerStore
 * method; the stores refuse bad input with exactly its error, before touching
 * any state.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MemoryPartnerStore, SqlitePartnerStore, type PartnerStore } from '../../src/partner/index.js';
import { checkArgs } from '../../src/partner/stores/check-args.js';

const order = { tradeNo: 'T1', skillId: 's', userToken: 'u', details: [{ itemId: 'a', quantity: 1, amount: 1 }], totalAmt: 1, createdAt: 0 };
const refund = { refundTradeNo: 'R1', tradeNo: 'T1', refundAmt: 1, status: 'PROCESSING' as const, refundTransactionId: null, createdAt: 0 };
const expect = { skillId: 's', userToken: 'u', totalAmt: 1 };

/** Per method: arguments that pass, and arguments that each break one rule. */
const CASES: { [M in keyof typeof checkArgs]: { good: Parameters<(typeof checkArgs)[M]>; bad: Array<Parameters<(typeof checkArgs)[M]>> } } = {
  createOrder: {
    good: [order],
    bad: [[{ ...order, tradeNo: 'no-dashes' }], [{ ...order, totalAmt: 1.5 }], [{ ...order, details: [] }], [{ ...order, userToken: 'a\u0000b' }]],
  },
  getOrder: { good: ['T1'], bad: [[''], ['x'.repeat(33)]] },
  claimDelivery: {
    good: ['T1', 'DD1', 1000, 0],
    bad: [
      ['T1', '', 1000, 0],
      ['T1', 'DD1', 0, 0],
      ['T1', 'DD1', 1000, -1],
    ],
  },
  claimDeliveryChecked: {
    good: ['T1', 'DD1', expect, 1000, 0],
    bad: [
      ['T1', 'DD1', { ...expect, totalAmt: -1 }, 1000, 0],
      ['T1', 'DD1', null as never, 1000, 0],
    ],
  },
  completeDelivery: { good: ['T1', 0], bad: [['T1', 1.5]] },
  releaseDelivery: {
    good: ['T1'],
    bad: [
      ['T1', 0],
      ['T1', 1.5],
    ],
  },
  ownsItem: {
    good: ['s', 'u', 'a'],
    bad: [
      ['', 'u', 'a'],
      ['s', 'u', 'x'.repeat(1025)],
    ],
  },
  saveRefund: { good: [refund], bad: [[{ ...refund, refundAmt: 0 }], [{ ...refund, status: 'DONE' as never }]] },
  getRefund: { good: ['R1'], bad: [['R-1']] },
  updateRefund: {
    good: ['R1', { status: 'SUCCESS' }],
    bad: [
      ['R1', { status: 'DONE' as never }],
      ['R1', null as never],
    ],
  },
  listPurchases: {
    good: ['s', 'u', { limit: 10, cursor: '5.T1' }],
    bad: [
      ['s', 'u', { limit: 0 }],
      ['s', 'u', { limit: 10, cursor: 'T1' }],
      ['s', '', { limit: 10 }],
    ],
  },
  getCredits: { good: ['s', 'u', 'plays'], bad: [['s', 'u', '']] },
  consumeCredits: {
    good: ['s', 'u', 'plays', 1],
    bad: [
      ['s', 'u', 'plays', 0],
      ['s', 'u', 'p'.repeat(65), 1],
    ],
  },
};

const messageOf = (run: () => void): string => {
  try {
    run();
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
    return (e as Error).message;
  }
  assert.fail('expected ERR_INVALID_ARGUMENT');
};

describe('store argument checks', () => {
  it('every method of the contract but init/close has checks; good arguments pass, each bad one is refused', () => {
    for (const [method, { good, bad }] of Object.entries(CASES)) {
      const check = (checkArgs as Record<string, (...a: unknown[]) => void>)[method]!;
      assert.doesNotThrow(() => check(...good), method);
      for (const args of bad) messageOf(() => check(...args));
    }
  });

  for (const [name, make] of [
    ['memory', () => new MemoryPartnerStore()],
    ['sqlite', () => new SqlitePartnerStore({ filename: ':memory:' })],
  ] as const) {
    it(`the ${name} store refuses bad arguments with the table's error and stores nothing`, async () => {
      const store: PartnerStore = make();
      await store.init();
      try {
        for (const [method, { bad }] of Object.entries(CASES)) {
          for (const args of bad) {
            const want = messageOf(() => (checkArgs as Record<string, (...a: unknown[]) => void>)[method]!(...args));
            await assert.rejects(
              (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args),
              (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && e.message === want,
              `${name}.${method}(${JSON.stringify(args)})`,
            );
          }
        }
        assert.equal(await store.getOrder('T1'), undefined);
        assert.equal(await store.getRefund('R1'), undefined);
      } finally {
        await store.close();
      }
    });
  }
});
