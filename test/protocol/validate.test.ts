import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MESSAGE_KINDS,
  parseJsonMessage,
  parseMessage,
  validate,
  validateJson,
  ValidationError,
  type IssueCode,
  type MessageKind,
} from '../../src/protocol/index.js';
import { validateChargeDirective } from '../../src/protocol/validate-charge.js';

// ---- arbitraries of VALID messages -------------------------------------------------------
const chars = fc.constantFrom(...'abcxyzABCXYZ0189_-.叮当音箱😀'.split(/(?:)/u));
const text = (max: number) => fc.string({ unit: chars, minLength: 1, maxLength: max });
const anyText = fc.string({ unit: chars, minLength: 1, maxLength: 80 });
const orderNo = fc.stringMatching(/^[0-9A-Za-z]{1,32}$/);
const fen = fc.integer({ min: 0, max: 1_000_000_000 });
const detail = fc.record({ itemId: text(32), quantity: fc.integer({ min: 1, max: 99 }), amount: fen });
const details = fc.array(detail, { minLength: 1, maxLength: 5 });
const retFail = fc.record({ retCode: fc.constant('FAIL'), retMsg: text(32) }, { requiredKeys: ['retCode'] });

type Msg = Record<string, unknown>;
const sum = (ds: Array<{ amount: number }>) => ds.reduce((s, d) => s + d.amount, 0);

const VALID: Record<MessageKind, fc.Arbitrary<Msg>> = {
  createOrderRequest: fc.record({ skillId: text(32), userToken: anyText, details, nonceStr: text(32) }).map((m) => ({ ...m, totalAmt: sum(m.details) })),
  createOrderReply: fc.oneof(fc.record({ retCode: fc.constant('SUCCESS'), tradeNo: orderNo }), retFail),
  deliverNotifyRequest: fc.record({
    skillId: text(32),
    userToken: anyText,
    transactionId: text(32),
    tradeNo: orderNo,
    totalAmt: fen,
    nonceStr: text(32),
  }),
  deliverNotifyReply: fc.oneof(fc.record({ retCode: fc.constant('SUCCESS') }), retFail),
  orderQueryRequest: fc.oneof(
    fc.record({ skillId: text(32), transactionId: text(32), nonceStr: text(32) }),
    fc.record({ skillId: text(32), tradeNo: orderNo, nonceStr: text(32), version: text(5) }),
  ),
  orderQueryReply: fc.oneof(
    fc.record({
      retCode: fc.constant('SUCCESS'),
      skillId: text(32),
      transactionId: text(32),
      tradeNo: orderNo,
      totalAmt: fen,
      tradeStatus: fc.constantFrom('NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'),
      tradeStatusDesc: text(16),
    }),
    retFail,
  ),
  refundRequest: fc
    .record({
      skillId: text(32),
      transactionId: text(32),
      refundTradeNo: orderNo,
      totalAmt: fc.integer({ min: 1, max: 1_000_000 }),
      refundDesc: text(64),
      refundDetails: details,
      nonceStr: text(32),
    })
    .chain((m) => fc.integer({ min: 1, max: m.totalAmt }).map((refundAmt) => ({ ...m, refundAmt }))),
  refundReply: fc.oneof(
    fc.record({
      retCode: fc.constant('SUCCESS'),
      skillId: text(32),
      transactionId: text(32),
      tradeNo: orderNo,
      refundTransactionId: text(32),
      refundTradeNo: orderNo,
      totalAmt: fen,
      refundAmt: fen,
    }),
    retFail,
  ),
  refundQueryRequest: fc.oneof(
    fc.record({ skillId: text(32), refundTransactionId: text(32), nonceStr: text(32) }),
    fc.record({ skillId: text(32), refundTradeNo: orderNo, nonceStr: text(32) }),
  ),
  refundQueryReply: fc.record({
    retCode: fc.constant('SUCCESS'),
    skillId: text(32),
    transactionId: text(32),
    tradeNo: orderNo,
    refundTransactionId: text(32),
    refundTradeNo: orderNo,
    totalAmt: fen,
    refundAmt: fen,
    refundStatus: fc.constantFrom('PROCESSING', 'SUCCESS', 'FAIL'),
    refundStatusDesc: text(16),
  }),
  refundNotifyRequest: fc
    .record({
      skillId: text(32),
      transactionId: text(32),
      tradeNo: orderNo,
      refundTransactionId: text(32),
      refundTradeNo: orderNo,
      totalAmt: fc.integer({ min: 1, max: 1_000_000 }),
      refundStatus: fc.constantFrom('PROCESSING', 'SUCCESS', 'FAIL'),
      refundStatusDesc: text(16),
      nonceStr: text(32),
    })
    .chain((m) => fc.integer({ min: 0, max: m.totalAmt }).map((refundAmt) => ({ ...m, refundAmt }))),
  refundNotifyReply: fc.oneof(fc.record({ retCode: fc.constant('SUCCESS') }), retFail),
  chargeDirective: fc
    .record({
      name: anyText,
      description: anyText,
      userId: anyText,
      items: fc.array(
        fc
          .record({ itemId: text(32), itemName: anyText, price: fc.integer({ min: 0, max: 100000 }), count: fc.integer({ min: 1, max: 9 }) })
          .map((i) => ({ ...i, totalFee: i.price * i.count })),
        { minLength: 1, maxLength: 3 },
      ),
    })
    .map((chargeInfo) => ({ type: 'Connections.SendRequest', name: 'Charge', payload: { chargeInfo } })),
  chargeResponseEvent: fc
    .record({ requestId: anyText, timestamp: anyText, dingdangOrderId: text(32), partnerOrderId: orderNo })
    .map(({ dingdangOrderId, partnerOrderId, ...rest }) => ({
      type: 'Connections.Response',
      name: 'Charge',
      ...rest,
      payload: { dingdangOrderId, partnerOrderId },
    })),
};

// ---- single-field violations -----------------------------------------------------------------
interface Mutation {
  kind: MessageKind;
  name: string;
  applies?: (m: Msg) => boolean;
  apply: (m: Msg) => void;
  code: IssueCode;
  path: string;
}
const M: Mutation[] = [];
const add = (kind: MessageKind, name: string, code: IssueCode, path: string, apply: (m: Msg) => void, applies?: (m: Msg) => boolean) =>
  M.push({ kind, name, code, path, apply, applies });

const REQUIRED_STRINGS: Array<[MessageKind, string, number | undefined]> = [
  ['createOrderRequest', 'skillId', 32],
  ['createOrderRequest', 'userToken', undefined],
  ['createOrderRequest', 'nonceStr', 32],
  ['deliverNotifyRequest', 'skillId', 32],
  ['deliverNotifyRequest', 'userToken', undefined],
  ['deliverNotifyRequest', 'transactionId', 32],
  ['deliverNotifyRequest', 'tradeNo', 32],
  ['deliverNotifyRequest', 'nonceStr', 32],
  ['orderQueryRequest', 'skillId', 32],
  ['orderQueryRequest', 'nonceStr', 32],
  ['refundRequest', 'skillId', 32],
  ['refundRequest', 'refundTradeNo', 32],
  ['refundRequest', 'nonceStr', 32],
  ['refundQueryRequest', 'skillId', 32],
  ['refundQueryRequest', 'nonceStr', 32],
  ['refundNotifyRequest', 'transactionId', 32],
  ['refundNotifyRequest', 'refundTransactionId', 32],
  ['refundNotifyRequest', 'refundStatusDesc', 16],
  ['orderQueryReply', 'tradeStatusDesc', 16],
];
for (const [kind, field, max] of REQUIRED_STRINGS) {
  const onSuccess = (m: Msg) => m.retCode === undefined || m.retCode === 'SUCCESS';
  add(kind, `${field} missing`, 'REQUIRED', field, (m) => delete m[field], onSuccess);
  add(kind, `${field} null`, 'REQUIRED', field, (m) => (m[field] = null), onSuccess);
  add(kind, `${field} not a string`, 'WRONG_TYPE', field, (m) => (m[field] = 12345), onSuccess);
  add(kind, `${field} empty`, 'EMPTY', field, (m) => (m[field] = ''), onSuccess);
  if (max) add(kind, `${field} too long`, 'TOO_LONG', field, (m) => (m[field] = 'x'.repeat(max + 1)), onSuccess);
}
const AMOUNTS: Array<[MessageKind, string]> = [
  ['createOrderRequest', 'totalAmt'],
  ['deliverNotifyRequest', 'totalAmt'],
  ['refundRequest', 'totalAmt'],
  ['refundRequest', 'refundAmt'],
  ['refundNotifyRequest', 'refundAmt'],
];
for (const [kind, field] of AMOUNTS) {
  add(kind, `${field} fractional`, 'NOT_INTEGER', field, (m) => (m[field] = (m[field] as number) + 0.5));
  add(kind, `${field} as string`, 'WRONG_TYPE', field, (m) => (m[field] = String(m[field])));
  add(kind, `${field} unsafe integer`, 'NOT_INTEGER', field, (m) => (m[field] = 2 ** 60));
}
add('deliverNotifyRequest', 'totalAmt negative', 'NEGATIVE', 'totalAmt', (m) => (m.totalAmt = -1));
add('createOrderRequest', 'line amount negative', 'NEGATIVE', 'details[0].amount', (m) => ((m.details as Msg[])[0]!.amount = -100));
add('createOrderRequest', 'line amount fractional', 'NOT_INTEGER', 'details[0].amount', (m) => ((m.details as Msg[])[0]!.amount = 0.5));
add('createOrderRequest', 'quantity 0', 'TOO_SMALL', 'details[0].quantity', (m) => ((m.details as Msg[])[0]!.quantity = 0));
add('createOrderRequest', 'quantity fractional', 'NOT_INTEGER', 'details[0].quantity', (m) => ((m.details as Msg[])[0]!.quantity = 1.5));
add('createOrderRequest', 'itemId missing', 'REQUIRED', 'details[0].itemId', (m) => delete (m.details as Msg[])[0]!.itemId);
add('createOrderRequest', 'itemId too long', 'TOO_LONG', 'details[0].itemId', (m) => ((m.details as Msg[])[0]!.itemId = 'i'.repeat(33)));
add('createOrderRequest', 'details empty', 'EMPTY', 'details', (m) => (m.details = []));
add('createOrderRequest', 'details not an array', 'WRONG_TYPE', 'details', (m) => (m.details = { itemId: 'a' }));
add('createOrderRequest', 'detail not an object', 'WRONG_TYPE', 'details[0]', (m) => ((m.details as unknown[])[0] = 'x'));
add('createOrderRequest', 'totalAmt ≠ Σ details', 'SUM_MISMATCH', 'totalAmt', (m) => (m.totalAmt = (m.totalAmt as number) + 1));
add('deliverNotifyRequest', 'tradeNo with a dash', 'BAD_CHARSET', 'tradeNo', (m) => (m.tradeNo = 'AB-12'));
add('deliverNotifyRequest', 'tradeNo with Chinese', 'BAD_CHARSET', 'tradeNo', (m) => (m.tradeNo = '订单1'));
add('refundRequest', 'refundTradeNo with space', 'BAD_CHARSET', 'refundTradeNo', (m) => (m.refundTradeNo = 'R 1'));
add('refundRequest', 'no transactionId nor tradeNo', 'EITHER_OR', '', (m) => {
  delete m.transactionId;
  delete m.tradeNo;
});
add('orderQueryRequest', 'no transactionId nor tradeNo', 'EITHER_OR', '', (m) => {
  delete m.transactionId;
  delete m.tradeNo;
});
add('refundQueryRequest', 'no refund ids', 'EITHER_OR', '', (m) => {
  delete m.refundTransactionId;
  delete m.refundTradeNo;
});
add('orderQueryRequest', 'version too long', 'TOO_LONG', 'version', (m) => (m.version = '1.0.0.0'));
add('refundRequest', 'refundAmt > totalAmt', 'EXCEEDS_TOTAL', 'refundAmt', (m) => (m.refundAmt = (m.totalAmt as number) + 1));
add('refundRequest', 'refundAmt 0', 'TOO_SMALL', 'refundAmt', (m) => (m.refundAmt = 0));
add('refundRequest', 'refundDesc too long', 'TOO_LONG', 'refundDesc', (m) => (m.refundDesc = '退'.repeat(65)));
add('refundRequest', 'refundDetails missing', 'REQUIRED', 'refundDetails', (m) => delete m.refundDetails);
add('refundNotifyRequest', 'refundStatus unknown', 'BAD_ENUM', 'refundStatus', (m) => (m.refundStatus = 'DONE'));
add(
  'orderQueryReply',
  'tradeStatus unknown',
  'BAD_ENUM',
  'tradeStatus',
  (m) => (m.tradeStatus = 'PAID'),
  (m) => m.retCode === 'SUCCESS',
);
add(
  'orderQueryReply',
  'tradeStatus missing on SUCCESS',
  'REQUIRED',
  'tradeStatus',
  (m) => delete m.tradeStatus,
  (m) => m.retCode === 'SUCCESS',
);
add(
  'createOrderReply',
  'tradeNo missing on SUCCESS',
  'REQUIRED',
  'tradeNo',
  (m) => delete m.tradeNo,
  (m) => m.retCode === 'SUCCESS',
);
add(
  'createOrderReply',
  'tradeNo 33 chars',
  'TOO_LONG',
  'tradeNo',
  (m) => (m.tradeNo = 'A'.repeat(33)),
  (m) => m.retCode === 'SUCCESS',
);
add('deliverNotifyReply', 'retCode other', 'BAD_ENUM', 'retCode', (m) => (m.retCode = 'OK'));
add('deliverNotifyReply', 'retMsg 33 chars', 'TOO_LONG', 'retMsg', (m) => (m.retMsg = '错'.repeat(33)));
add('refundNotifyReply', 'retCode missing', 'REQUIRED', 'retCode', (m) => delete m.retCode);
add('chargeDirective', 'wrong type', 'BAD_CONST', 'type', (m) => (m.type = 'Connections.Response'));
add('chargeDirective', 'price fractional', 'NOT_INTEGER', 'payload.chargeInfo.items[0].price', (m) => {
  ((m.payload as Msg).chargeInfo as { items: Msg[] }).items[0]!.price = 1.99;
});
add('chargeDirective', 'totalFee ≠ price × count', 'SUM_MISMATCH', 'payload.chargeInfo.items[0].totalFee', (m) => {
  const item = ((m.payload as Msg).chargeInfo as { items: Msg[] }).items[0]!;
  item.totalFee = (item.totalFee as number) + 1;
});
add('chargeDirective', 'count 0', 'TOO_SMALL', 'payload.chargeInfo.items[0].count', (m) => {
  ((m.payload as Msg).chargeInfo as { items: Msg[] }).items[0]!.count = 0;
});
add('chargeDirective', 'no items', 'EMPTY', 'payload.chargeInfo.items', (m) => {
  ((m.payload as Msg).chargeInfo as { items: Msg[] }).items = [];
});
add('chargeResponseEvent', 'partnerOrderId bad charset', 'BAD_CHARSET', 'payload.partnerOrderId', (m) => {
  (m.payload as Msg).partnerOrderId = 'x_y';
});
add('chargeResponseEvent', 'dingdangOrderId missing', 'REQUIRED', 'payload.dingdangOrderId', (m) => delete (m.payload as Msg).dingdangOrderId);

const clone = <T>(v: T): T => structuredClone(v);

describe('validation (SPEC §4), property-based', () => {
  it('every kind has a generator', () => {
    assert.deepEqual(Object.keys(VALID).sort(), [...MESSAGE_KINDS].sort());
  });

  for (const kind of MESSAGE_KINDS) {
    it(`valid ${kind} messages pass, also as raw JSON, with unknown fields kept`, () => {
      fc.assert(
        fc.property(VALID[kind], fc.dictionary(fc.stringMatching(/^x[A-Za-z]{1,8}$/), fc.jsonValue(), { maxKeys: 3 }), (msg, extra) => {
          const r = validate(kind, msg);
          assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
          const withExtra = { ...msg, ...extra };
          const r2 = validateJson(kind, JSON.stringify(withExtra));
          assert.ok(r2.ok, JSON.stringify(!r2.ok && r2.issues));
          const sent = JSON.parse(JSON.stringify(extra)) as Msg;
          for (const k of Object.keys(sent)) assert.deepEqual((r2.value as Msg)[k], sent[k], 'unknown field kept');
        }),
        { numRuns: 60 },
      );
    });
  }

  for (const mut of M) {
    it(`${mut.kind}: ${mut.name} → ${mut.code}`, () => {
      let applied = 0;
      fc.assert(
        fc.property(VALID[mut.kind], (msg) => {
          if (mut.applies && !mut.applies(msg)) return;
          const bad = clone(msg);
          mut.apply(bad);
          applied++;
          const r = validate(mut.kind, bad);
          assert.equal(r.ok, false, `accepted: ${JSON.stringify(bad)}`);
          if (r.ok) return;
          assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
          assert.equal(r.issues[0]!.code, mut.code);
          assert.equal(r.issues[0]!.path, mut.path);
          const err = new ValidationError(r.issues);
          assert.ok(Array.from(err.retMsg).length <= 32, err.retMsg);
        }),
        { numRuns: 30 },
      );
      assert.ok(applied > 0, 'mutation applied at least once');
    });
  }
});

describe('validation details', () => {
  it('version defaults to "1.0" where the seed lists it, and is kept when given', () => {
    const q = parseMessage('orderQueryRequest', { skillId: 's', tradeNo: 'T1', nonceStr: 'n' });
    assert.equal(q.version, '1.0');
    assert.equal(parseMessage('refundQueryRequest', { skillId: 's', refundTradeNo: 'R1', nonceStr: 'n', version: '2.0' }).version, '2.0');
    assert.equal('version' in parseMessage('deliverNotifyReply', { retCode: 'SUCCESS' }), false);
  });

  it('both ids given is fine at the wire level (they must name the same order: the platform checks)', () => {
    assert.ok(validate('orderQueryRequest', { skillId: 's', tradeNo: 'T1', transactionId: 'D1', nonceStr: 'n' }).ok);
  });

  it('FAIL replies need no success fields', () => {
    assert.ok(validate('orderQueryReply', { retCode: 'FAIL', retMsg: 'order not found' }).ok);
    assert.ok(validate('refundReply', { retCode: 'FAIL' }).ok);
  });

  it('lengths count characters, not bytes or UTF-16 units', () => {
    assert.ok(validate('deliverNotifyReply', { retCode: 'FAIL', retMsg: '😀'.repeat(32) }).ok);
    assert.ok(!validate('deliverNotifyReply', { retCode: 'FAIL', retMsg: '😀'.repeat(33) }).ok);
  });

  it('raw JSON: bad UTF-8, bad JSON and non-objects are rejected with codes', () => {
    const codeOf = (raw: Uint8Array | string) => {
      const r = validateJson('deliverNotifyReply', raw);
      return r.ok ? 'ok' : r.issues[0]!.code;
    };
    assert.equal(codeOf(new Uint8Array([0x7b, 0xff, 0x7d])), 'BAD_JSON');
    assert.equal(codeOf('{"retCode":'), 'BAD_JSON');
    assert.equal(codeOf('[1,2]'), 'NOT_OBJECT');
    assert.equal(codeOf('null'), 'NOT_OBJECT');
    assert.equal(codeOf(Buffer.from('{"retCode":"SUCCESS"}')), 'ok');
    assert.throws(
      () => parseJsonMessage('deliverNotifyReply', '"x"'),
      (e: unknown) => e instanceof ValidationError && e.code === 'ERR_VALIDATION',
    );
  });

  it('retMsg of a validation error names the field and stays within 32 characters', () => {
    const r = validate('createOrderRequest', {
      skillId: 's',
      userToken: 'u',
      details: [{ itemId: 'a', quantity: 1, amount: 100 }],
      totalAmt: 99,
      nonceStr: 'n',
    });
    assert.ok(!r.ok);
    const err = new ValidationError(r.issues);
    assert.equal(err.retMsg, 'totalAmt sum mismatch');
    assert.match(err.message, /totalAmt/);
  });

  it("the device's validateChargeDirective answers exactly as validate('chargeDirective'): values, issue codes, paths and messages", () => {
    const same = (msg: unknown) => assert.deepEqual(validateChargeDirective(msg), validate('chargeDirective', msg), JSON.stringify(msg));
    fc.assert(
      fc.property(VALID.chargeDirective, (msg) => {
        same(msg);
        for (const mut of M.filter((m) => m.kind === 'chargeDirective')) {
          const bad = clone(msg);
          mut.apply(bad);
          same(bad);
        }
      }),
      { numRuns: 40 },
    );
    for (const odd of [
      null,
      [],
      'x',
      {},
      { type: 'Connections.SendRequest', name: 'Charge' },
      { type: 'Connections.SendRequest', name: 'Charge', payload: { chargeInfo: { name: '', items: {} } } },
    ])
      same(odd);
  });

  it('unknown message kinds are a programming error', () => {
    assert.throws(() => validate('nope' as MessageKind, {}), TypeError);
  });
});
