/**
 * The device-link contract (src/protocol/device-link*.ts): every frame and
 * body encoded then parsed comes back equal, malformed ones are refused with
 * a typed reason, the parsers never throw (fuzzed), and the routes, ids and
 * modes are the ones docs/device-protocol.md names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CONNECTION_STATES,
  DEVICE_LINK_ERROR_STATUS,
  DEVICE_LINK_ROUTES,
  DEVICE_MODES,
  ELEMENT_TOKEN_MAX,
  END_REASON_STATUS,
  END_REASONS,
  MAX_FRAME_CHARS,
  SELECT_CAUSES,
  SKILL_RET_CODES,
  deviceLinkPath,
  deviceLinkRouteRe,
  deviceStreamUrl,
  encodeClientFrame,
  encodePushFrame,
  encodeServerFrame,
  encodeStatusBody,
  endReasonFor,
  errorBody,
  isDeviceId,
  isDeviceMode,
  isEndReason,
  isPurchaseId,
  matchDeviceLinkRoute,
  parseCancelReply,
  parseClientFrame,
  parseErrorBody,
  parsePlaceOrderReply,
  parsePush,
  parseRefreshOrderReply,
  parseResumeReply,
  parseSelectElementReply,
  parseSelectElementRequest,
  parseServerFrame,
  parseStartPurchaseReply,
  parseStartPurchaseRequest,
  parseStatusBody,
  parseStatusReply,
  selectElementBody,
  startPurchaseBody,
  statusOfDeviceLinkError,
  statusUpdateOf,
  type ClientFrame,
  type DeviceLinkRoute,
  type DeviceOrder,
  type EndReason,
  type SelectElementRequest,
  type ServerFrame,
  type StatusBody,
  type TradeStatus,
} from '../../src/protocol/browser.js';
import * as nodeEntry from '../../src/protocol/index.js';

const order: DeviceOrder = {
  purchaseId: 'p1',
  transactionId: 'DD1',
  tradeNo: 'T1',
  totalAmt: 200,
  payUrl: 'https://pay.example/qr/1',
  expiresAt: 1_800_000_000_000,
};
const status: StatusBody = {
  purchaseId: 'p1',
  deviceId: 'spk-1',
  tradeStatus: 'FAIL',
  seq: 3,
  order,
  reason: '余额不足',
  endReason: 'failed',
  nonceStr: 'abc',
};
const AUTH = 'TSK-RSA2 Datetime=20260101T000000Z, Signature=AAAA';

const idArb = fc.stringMatching(/^[0-9A-Za-z._-]{1,64}$/);
const orderArb = (purchaseId: string) =>
  fc.record(
    {
      purchaseId: fc.constant(purchaseId),
      transactionId: fc.stringMatching(/^[0-9A-Za-z]{1,64}$/),
      tradeNo: fc.stringMatching(/^[0-9A-Za-z]{1,32}$/),
      totalAmt: fc.nat({ max: 10_000_000 }),
      payUrl: fc.webUrl({ withQueryParameters: true }).filter((u) => !/\s/.test(u) && u.length <= 2048),
      expiresAt: fc.nat(),
    },
    { noNullPrototype: true },
  );
/** The end reasons that go with a status (`END_REASON_STATUS`). */
const endReasonsOf = (t: TradeStatus): EndReason[] => END_REASONS.filter((r) => END_REASON_STATUS[r] === t);
const statusArb: fc.Arbitrary<StatusBody> = fc
  .tuple(idArb, fc.constantFrom<TradeStatus>('NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'))
  .chain(([purchaseId, tradeStatus]) =>
    fc.record(
      {
        purchaseId: fc.constant(purchaseId),
        deviceId: idArb,
        tradeStatus: fc.constant(tradeStatus),
        seq: fc.nat(),
        order: orderArb(purchaseId),
        reason: fc.string({ maxLength: 64 }),
        ...(endReasonsOf(tradeStatus).length > 0 ? { endReason: fc.constantFrom(...endReasonsOf(tradeStatus)) } : {}),
        nonceStr: fc.stringMatching(/^[0-9A-Za-z]{1,32}$/),
      },
      { requiredKeys: ['purchaseId', 'deviceId', 'tradeStatus', 'seq', 'nonceStr'], noNullPrototype: true },
    ),
  );

describe('status body', () => {
  test('encode → parse gives the body back, in the documented field order', () => {
    const text = encodeStatusBody(status);
    assert.deepEqual(Object.keys(JSON.parse(text)), ['purchaseId', 'deviceId', 'tradeStatus', 'seq', 'order', 'reason', 'endReason', 'nonceStr']);
    assert.deepEqual(parseStatusBody(text), { ok: true, value: status });
    fc.assert(
      fc.property(statusArb, (s) => assert.deepEqual(parseStatusBody(encodeStatusBody(s)), { ok: true, value: s })),
      {
        numRuns: 500,
      },
    );
  });

  test('the update the device acts on keeps status, seq, order, reason, endReason and names its source', () => {
    assert.deepEqual(statusUpdateOf(status, 'push'), {
      purchaseId: 'p1',
      tradeStatus: 'FAIL',
      seq: 3,
      order,
      reason: '余额不足',
      endReason: 'failed',
      source: 'push',
    });
    assert.deepEqual(statusUpdateOf({ ...status, order: undefined, reason: undefined, endReason: undefined }, 'poll'), {
      purchaseId: 'p1',
      tradeStatus: 'FAIL',
      seq: 3,
      source: 'poll',
    });
  });

  test('endReason (our extension): kept with the status it goes with; unknown or mismatched values are dropped, a non-string is malformed', () => {
    const body = (extra: Record<string, unknown>) => JSON.stringify({ purchaseId: 'p1', deviceId: 'spk-1', seq: 4, nonceStr: 'n', ...extra });
    const parsed = (extra: Record<string, unknown>) => {
      const r = parseStatusBody(body(extra));
      assert.ok(r.ok, JSON.stringify(extra));
      return r.value.endReason;
    };
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: 'cancelled' }), 'cancelled');
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: 'failed' }), 'failed');
    assert.equal(parsed({ tradeStatus: 'NOTPAY', endReason: 'expired' }), 'expired');
    // A newer platform's reason: ignored, the body still parses.
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: 'refunded' }), undefined);
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: '' }), undefined);
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: null }), undefined);
    // Not with that status: never acted on (a SUCCESS stays a plain SUCCESS).
    assert.equal(parsed({ tradeStatus: 'SUCCESS', endReason: 'cancelled' }), undefined);
    assert.equal(parsed({ tradeStatus: 'NOTPAY', endReason: 'cancelled' }), undefined);
    assert.equal(parsed({ tradeStatus: 'PROCESSING', endReason: 'failed' }), undefined);
    assert.equal(parsed({ tradeStatus: 'FAIL', endReason: 'expired' }), undefined);
    for (const bad of [1, true, ['cancelled'], { v: 'cancelled' }]) {
      const r = parseStatusBody(body({ tradeStatus: 'FAIL', endReason: bad }));
      assert.ok(!r.ok && r.reason === 'malformed' && /endReason/.test(r.detail), JSON.stringify(bad));
    }
    // The encoder writes only what the parser keeps.
    const text = encodeStatusBody({ ...status, tradeStatus: 'SUCCESS', endReason: 'cancelled' });
    assert.equal(JSON.parse(text).endReason, undefined);
    assert.deepEqual(END_REASONS, ['cancelled', 'failed', 'expired']);
    assert.ok(isEndReason('cancelled') && !isEndReason('CANCELLED') && !isEndReason(undefined));
    assert.equal(endReasonFor('FAIL', 'cancelled'), 'cancelled');
    assert.equal(endReasonFor('NOTPAY', 'failed'), undefined);
  });

  test('endReason: the parser never throws and only ever keeps a value that goes with the status (fuzz)', () => {
    fc.assert(
      fc.property(statusArb, fc.oneof(fc.constantFrom<unknown>(...END_REASONS), fc.string(), fc.anything()), (s, endReason) => {
        const r = parseStatusBody(JSON.stringify({ ...JSON.parse(encodeStatusBody(s)), endReason }));
        if (!r.ok) {
          assert.ok(endReason !== undefined && endReason !== null && typeof endReason !== 'string', r.detail);
          return;
        }
        if (r.value.endReason !== undefined) {
          assert.equal(r.value.endReason, endReason);
          assert.equal(END_REASON_STATUS[r.value.endReason], s.tradeStatus);
        } else assert.ok(!isEndReason(endReason) || END_REASON_STATUS[endReason] !== s.tradeStatus);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('platform → device frames', () => {
  const push = { type: 'push', body: encodeStatusBody(status), authorization: AUTH, status } as const;
  const frames: ServerFrame[] = [
    push,
    { type: 'pong', t: 5 },
    { type: 'pong' },
    { type: 'ping', t: 1_785_000_000_000 },
    { type: 'ping' },
    { type: 'subscribed', id: 's1', purchaseId: 'p1' },
    { type: 'subscribed', purchaseId: 'p1' },
    { type: 'error', id: 's1', code: 'UNAUTHORIZED', message: 'unknown device token' },
    { type: 'error', code: 'NOT_FOUND', message: 'no such purchase' },
  ];

  test('every frame round-trips: encodeServerFrame → parseServerFrame', () => {
    for (const f of frames) assert.deepEqual(parseServerFrame(encodeServerFrame(f)), { ok: true, value: f }, f.type);
    assert.equal(encodePushFrame(push.body, AUTH), encodeServerFrame(push));
    fc.assert(
      fc.property(statusArb, fc.string({ minLength: 1, maxLength: 200 }), (s, authorization) => {
        const f: ServerFrame = { type: 'push', body: encodeStatusBody(s), authorization, status: s };
        assert.deepEqual(parseServerFrame(encodeServerFrame(f)), { ok: true, value: f });
      }),
      { numRuns: 300 },
    );
  });

  test('a push keeps the exact body text (what was signed) and ignores unknown fields', () => {
    const body = JSON.stringify({ ...status, extra: { future: true } });
    const r = parsePush(encodePushFrame(body, AUTH));
    assert.ok(r.ok);
    assert.equal(r.push.body, body);
    assert.deepEqual(r.push.status, status);
  });

  test('malformed and unsigned frames are refused with a reason', () => {
    const cases: Array<[unknown, 'malformed' | 'unsigned']> = [
      ['', 'malformed'],
      ['{"type":"boom"}', 'malformed'],
      ['{"type":"subscribed"}', 'malformed'],
      [JSON.stringify({ type: 'push', body: JSON.stringify(status) }), 'unsigned'],
      [JSON.stringify({ type: 'push', body: JSON.stringify(status), authorization: '' }), 'unsigned'],
      [JSON.stringify({ type: 'push', body: status, authorization: AUTH }), 'malformed'],
      [encodePushFrame(JSON.stringify({ ...status, seq: -1 }), AUTH), 'malformed'],
      [encodePushFrame(JSON.stringify({ ...status, order: { ...order, purchaseId: 'p2' } }), AUTH), 'malformed'],
      ['x'.repeat(MAX_FRAME_CHARS + 1), 'malformed'],
      [new Uint8Array([123, 125]), 'malformed'],
    ];
    for (const [raw, reason] of cases) {
      const r = parseServerFrame(raw);
      assert.ok(!r.ok && r.reason === reason, String(raw).slice(0, 60));
    }
    const notPush = parsePush(encodeServerFrame({ type: 'pong' }));
    assert.ok(!notPush.ok && notPush.reason === 'malformed');
  });

  test('never throws on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (v) => {
          const r = parseServerFrame(v);
          assert.equal(typeof r.ok, 'boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('device → platform frames', () => {
  const frames: ClientFrame[] = [
    { type: 'subscribe', id: 's1', purchaseId: 'p1', deviceId: 'spk-001', deviceToken: 'tok', lastSeq: 2 },
    { type: 'subscribe', purchaseId: 'p1', deviceId: 'spk-001', lastSeq: 0 },
    { type: 'unsubscribe', purchaseId: 'p1' },
    { type: 'ping', t: 1_785_000_000_000 },
    { type: 'ping' },
    { type: 'pong', t: 7 },
    { type: 'pong' },
  ];

  test('every frame round-trips: encodeClientFrame → parseClientFrame', () => {
    for (const f of frames) assert.deepEqual(parseClientFrame(encodeClientFrame(f)), { ok: true, value: f }, f.type);
    fc.assert(
      fc.property(idArb, idArb, fc.option(fc.string({ minLength: 1 }), { nil: undefined }), fc.nat(), fc.string({ maxLength: 64 }), (p, d, tok, seq, id) => {
        const f: ClientFrame = { type: 'subscribe', id, purchaseId: p, deviceId: d, ...(tok !== undefined ? { deviceToken: tok } : {}), lastSeq: seq };
        assert.deepEqual(parseClientFrame(encodeClientFrame(f)), { ok: true, value: f });
      }),
      { numRuns: 300 },
    );
  });

  test('a subscribe without lastSeq reads as 0; the documented example parses', () => {
    const r = parseClientFrame('{"type":"subscribe","id":"s1","purchaseId":"p_8f3a","deviceId":"spk-001","deviceToken":"tok"}');
    assert.deepEqual(r, { ok: true, value: { type: 'subscribe', id: 's1', purchaseId: 'p_8f3a', deviceId: 'spk-001', deviceToken: 'tok', lastSeq: 0 } });
  });

  test('bad frames are malformed (close 4400); a bad subscribe carries the refusal to answer with', () => {
    for (const raw of ['', 'not json', '[]', 'null', '{"type":"boom"}', '{"type":"unsubscribe"}', 'x'.repeat(MAX_FRAME_CHARS + 1), 42]) {
      const r = parseClientFrame(raw);
      assert.ok(!r.ok && r.reason === 'malformed' && r.refusal === undefined, String(raw).slice(0, 40));
    }
    const sub = (extra: Record<string, unknown>) => JSON.stringify({ type: 'subscribe', id: 'a', purchaseId: 'p1', deviceId: 'spk-1', ...extra });
    const refusals: Array<[string, string]> = [
      [sub({ deviceId: undefined }), 'UNAUTHORIZED'],
      [sub({ deviceId: '../etc' }), 'UNAUTHORIZED'],
      [sub({ deviceToken: 5 }), 'UNAUTHORIZED'],
      [sub({ purchaseId: undefined }), 'BAD_REQUEST'],
      [sub({ purchaseId: 'x'.repeat(65) }), 'BAD_REQUEST'],
      [sub({ lastSeq: -1 }), 'BAD_REQUEST'],
      [sub({ lastSeq: '3' }), 'BAD_REQUEST'],
    ];
    for (const [raw, code] of refusals) {
      const r = parseClientFrame(raw);
      assert.ok(!r.ok, raw);
      assert.deepEqual(!r.ok && r.refusal, { id: 'a', code }, raw);
    }
  });

  test('never throws on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (v) => {
          const r = parseClientFrame(v);
          if (r.ok) assert.ok(['subscribe', 'unsubscribe', 'ping', 'pong'].includes(r.value.type));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('HTTP bodies', () => {
  test('start: the request round-trips; a bad mode or purchaseId is refused', () => {
    const req = { mode: 'screenless' as const, charge: { type: 'Connections.SendRequest' }, originalRequest: { a: 1 }, purchaseId: 'p9' };
    assert.deepEqual(parseStartPurchaseRequest(JSON.parse(JSON.stringify(startPurchaseBody(req)))), { ok: true, value: req });
    assert.deepEqual(startPurchaseBody({ mode: 'screen', charge: {}, originalRequest: undefined }), { mode: 'screen', charge: {}, originalRequest: null });
    for (const bad of [null, [], { mode: 'tv' }, { mode: 'screen', purchaseId: 7 }, { mode: 'screen', purchaseId: '' }]) {
      const r = parseStartPurchaseRequest(bad);
      assert.ok(!r.ok && r.reason === 'malformed', JSON.stringify(bad));
    }
    assert.deepEqual(parseStartPurchaseReply({ purchaseId: 'p1', tradeStatus: 'NOTPAY', seq: 1 }), {
      ok: true,
      value: { purchaseId: 'p1', tradeStatus: 'NOTPAY', seq: 1 },
    });
    const other = parseStartPurchaseReply({ purchaseId: 'p2', tradeStatus: 'NOTPAY', seq: 1 }, 'p1');
    assert.ok(!other.ok && other.reason === 'wrong-purchase');
    for (const bad of [
      { tradeStatus: 'NOTPAY', seq: 1 },
      { purchaseId: 'p1', tradeStatus: 'PAID', seq: 1 },
      { purchaseId: 'p1', tradeStatus: 'NOTPAY' },
    ]) {
      const r = parseStartPurchaseReply(bad);
      assert.ok(!r.ok && r.reason === 'malformed', JSON.stringify(bad));
    }
  });

  test('order and refresh: the order comes back; another purchase is wrong-purchase, garbage malformed', () => {
    assert.deepEqual(parsePlaceOrderReply({ purchaseId: 'p1', kind: 'order', order }, 'p1'), { ok: true, value: { kind: 'order', order } });
    assert.deepEqual(parsePlaceOrderReply({ purchaseId: 'p1', kind: 'already-owned' }, 'p1'), { ok: true, value: { kind: 'already-owned' } });
    assert.deepEqual(parseRefreshOrderReply({ purchaseId: 'p1', order }, 'p1'), { ok: true, value: order });
    const reasons = [
      parsePlaceOrderReply({ purchaseId: 'p2', kind: 'order', order }, 'p1'),
      parsePlaceOrderReply({ purchaseId: 'p1', kind: 'order', order: { ...order, purchaseId: 'p2' } }, 'p1'),
      parsePlaceOrderReply({ purchaseId: 'p1', kind: 'gift' }, 'p1'),
      parsePlaceOrderReply({ purchaseId: 'p1', kind: 'order', order: { ...order, totalAmt: 1.5 } }, 'p1'),
      parseRefreshOrderReply({ purchaseId: 'p1' }, 'p1'),
      parseRefreshOrderReply('[]', 'p1'),
    ].map((r) => (r.ok ? 'ok' : r.reason));
    assert.deepEqual(reasons, ['wrong-purchase', 'wrong-purchase', 'malformed', 'malformed', 'malformed', 'malformed']);
  });

  test('status: the exact text parses; another purchase or device is refused', () => {
    const text = encodeStatusBody(status);
    assert.deepEqual(parseStatusReply(text, 'p1', 'spk-1'), { ok: true, value: status });
    const r = [parseStatusReply(text, 'p2', 'spk-1'), parseStatusReply(text, 'p1', 'spk-2'), parseStatusReply('{', 'p1', 'spk-1')];
    assert.deepEqual(
      r.map((x) => (x.ok ? 'ok' : x.reason)),
      ['wrong-purchase', 'wrong-device', 'malformed'],
    );
  });

  test('cancel and resume, with the platform return code of a refused answer', () => {
    assert.deepEqual(parseCancelReply({ purchaseId: 'p1', cancelled: false }, 'p1'), { ok: true, value: { purchaseId: 'p1', cancelled: false } });
    assert.ok(!parseCancelReply({ purchaseId: 'p1' }, 'p1').ok);
    const answer = { outputSpeech: '好的', directives: [{ type: 'AudioPlayer.Play', playlist: [] }], shouldEndSession: true };
    assert.deepEqual(parseResumeReply({ purchaseId: 'p1', ...answer }, 'p1'), { ok: true, value: answer });
    const failed = {
      outputSpeech: '抱歉，技能暂时无法回答，请稍后再试',
      directives: [],
      shouldEndSession: true,
      error: { code: SKILL_RET_CODES.DIRECTIVE_NOT_ALLOWED, reason: 'response.directives[0]: not allowed' },
    };
    assert.deepEqual(parseResumeReply({ purchaseId: 'p1', ...failed }, 'p1'), { ok: true, value: failed });
    assert.deepEqual(parseResumeReply({ purchaseId: 'p1' }, 'p1'), { ok: true, value: { directives: [] } });
    const bad = [
      { purchaseId: 'p2', ...answer },
      { purchaseId: 'p1', outputSpeech: 5, directives: [] },
      { purchaseId: 'p1', directives: {} },
      { purchaseId: 'p1', directives: [], shouldEndSession: 'yes' },
      { purchaseId: 'p1', directives: [], error: { code: 1.5, reason: 'x' } },
      { purchaseId: 'p1', directives: [], error: 'broken' },
    ].map((v) => {
      const r = parseResumeReply(v, 'p1');
      return r.ok ? 'ok' : r.reason;
    });
    assert.deepEqual(bad, ['wrong-purchase', 'malformed', 'malformed', 'malformed', 'malformed', 'malformed']);
  });

  test('select: the request round-trips (skillId only when set); bad token, mode, cause or skillId is refused', () => {
    const req: SelectElementRequest = { token: 'wgsd004', mode: 'screen', cause: 'ended', skillId: 'audiobookDemo' };
    const wire = (r: SelectElementRequest) => JSON.parse(JSON.stringify(selectElementBody(r))) as unknown;
    assert.deepEqual(parseSelectElementRequest(wire(req)), { ok: true, value: req });
    assert.deepEqual(selectElementBody({ token: 't', mode: 'screenless', cause: 'tap' }), { token: 't', mode: 'screenless', cause: 'tap' });
    assert.deepEqual(parseSelectElementRequest({ token: 't', mode: 'screen', cause: 'next', extra: { future: 1 } }), {
      ok: true,
      value: { token: 't', mode: 'screen', cause: 'next' },
    });
    const longest = 'x'.repeat(ELEMENT_TOKEN_MAX);
    assert.ok(parseSelectElementRequest({ token: longest, mode: 'screen', cause: 'start' }).ok);
    const ok = { token: 't', mode: 'screen', cause: 'ended' };
    for (const bad of [
      null,
      [],
      'token',
      { mode: 'screen', cause: 'ended' },
      { ...ok, token: '' },
      { ...ok, token: 7 },
      { ...ok, token: longest + 'x' },
      { ...ok, mode: 'tv' },
      { ...ok, mode: undefined },
      { ...ok, cause: 'shuffle' },
      { ...ok, cause: undefined },
      { ...ok, skillId: '' },
      { ...ok, skillId: 5 },
      { ...ok, skillId: 's'.repeat(65) },
    ]) {
      const r = parseSelectElementRequest(bad);
      assert.ok(!r.ok && r.reason === 'malformed' && r.detail !== '', JSON.stringify(bad)?.slice(0, 80));
    }
    fc.assert(
      fc.property(
        fc.record(
          {
            token: fc.string({ minLength: 1, maxLength: ELEMENT_TOKEN_MAX }),
            mode: fc.constantFrom(...DEVICE_MODES),
            cause: fc.constantFrom(...SELECT_CAUSES),
            skillId: fc.string({ minLength: 1, maxLength: 64 }),
          },
          { requiredKeys: ['token', 'mode', 'cause'], noNullPrototype: true },
        ),
        (r) => assert.deepEqual(parseSelectElementRequest(wire(r)), { ok: true, value: r }),
      ),
      { numRuns: 300 },
    );
  });

  test('select: the reply about the asked element, with the purchase a Charge opened; another element is wrong-element', () => {
    const charge = { type: 'Connections.SendRequest', name: 'Charge', payload: { chargeInfo: { name: '第4集', items: [] } } };
    const reply = {
      token: 'wgsd004',
      outputSpeech: '这是付费内容，需要购买才能播放哦',
      directives: [charge],
      shouldEndSession: true,
      purchaseId: 'P0a1b',
      skillId: 'audiobookDemo',
    };
    assert.deepEqual(parseSelectElementReply(JSON.parse(JSON.stringify(reply)), 'wgsd004'), { ok: true, value: reply });
    assert.deepEqual(parseSelectElementReply({ token: 't', unknown: 1 }, 't'), { ok: true, value: { token: 't', directives: [] } });
    assert.deepEqual(parseSelectElementReply({ token: 't', outputSpeech: null, purchaseId: null, skillId: null, error: null }, 't'), {
      ok: true,
      value: { token: 't', directives: [] },
    });
    const failed = {
      token: 't',
      outputSpeech: '抱歉，技能暂时无法回答，请稍后再试',
      directives: [],
      shouldEndSession: true,
      skillId: 's1',
      error: { code: SKILL_RET_CODES.DIRECTIVE_NOT_ALLOWED, reason: 'response.directives[0]: not allowed' },
    };
    assert.deepEqual(parseSelectElementReply(failed, 't'), { ok: true, value: failed });
    const reasons = [
      { ...reply, token: 'wgsd005' },
      { ...reply, token: undefined },
      { ...reply, outputSpeech: 5 },
      { ...reply, directives: {} },
      { ...reply, shouldEndSession: 'yes' },
      { ...reply, purchaseId: '' },
      { ...reply, purchaseId: 'a b' },
      { ...reply, purchaseId: 7 },
      { ...reply, skillId: 7 },
      { ...reply, error: { code: 1.5, reason: 'x' } },
      { ...reply, error: 'broken' },
      [reply],
      'wgsd004',
    ].map((v) => {
      const r = parseSelectElementReply(v, 'wgsd004');
      return r.ok ? 'ok' : r.reason;
    });
    assert.deepEqual(reasons, [
      'wrong-element',
      'wrong-element',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
    ]);
  });

  test('select: the parsers never throw on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.record({ token: fc.constant('t') }, { noNullPrototype: true })), (v) => {
        const req = parseSelectElementRequest(v);
        if (req.ok) assert.ok(req.value.token.length >= 1 && req.value.token.length <= ELEMENT_TOKEN_MAX);
        const r = parseSelectElementReply(v, 't');
        if (r.ok) {
          assert.equal(r.value.token, 't');
          assert.ok(Array.isArray(r.value.directives));
        } else assert.ok(['malformed', 'wrong-element'].includes(r.reason));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('token', 'outputSpeech', 'directives', 'shouldEndSession', 'purchaseId', 'skillId', 'error'), fc.jsonValue()),
        (extra) => {
          const r = parseSelectElementReply({ token: 't', ...extra }, 't');
          assert.equal(typeof r.ok, 'boolean');
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('error bodies round-trip; a missing error reads as UNKNOWN', () => {
    assert.deepEqual(parseErrorBody(JSON.parse(JSON.stringify(errorBody('NOT_PAID', 'not paid')))), { code: 'NOT_PAID', message: 'not paid' });
    assert.deepEqual(parseErrorBody(undefined), { code: 'UNKNOWN', message: '' });
    assert.deepEqual(parseErrorBody({ error: { code: 'x'.repeat(100) } }), { code: 'x'.repeat(64), message: '' });
    assert.equal(statusOfDeviceLinkError('UNAUTHORIZED'), 401);
    assert.equal(statusOfDeviceLinkError('UPSTREAM'), 502);
    assert.equal(statusOfDeviceLinkError('toString'), 0);
    assert.equal(DEVICE_LINK_ERROR_STATUS.NOT_PAID, 409);
  });
});

describe('routes, ids, modes', () => {
  test('every route builds a path that matches back to it, with the purchase id decoded', () => {
    for (const route of Object.keys(DEVICE_LINK_ROUTES) as DeviceLinkRoute[]) {
      const { method } = DEVICE_LINK_ROUTES[route];
      const id = route === 'start' || route === 'select' ? undefined : 'p_8f3a.x-1';
      const full = '/device/v1' + deviceLinkPath(route, id);
      assert.deepEqual(matchDeviceLinkRoute(method, full), id === undefined ? { route } : { route, purchaseId: id }, route);
      assert.match(full, deviceLinkRouteRe(route));
    }
    assert.equal(deviceLinkPath('select'), '/elements/selected');
    assert.deepEqual(DEVICE_LINK_ROUTES.select, { method: 'POST', path: '/elements/selected' });
    assert.equal(deviceLinkPath('order', 'a/b'), '/purchases/a%2Fb/order');
    assert.deepEqual(matchDeviceLinkRoute('POST', '/device/v1/purchases/a%2Fb/order'), { route: 'order', purchaseId: 'a/b' });
    assert.equal(matchDeviceLinkRoute('GET', '/device/v1/purchases/p1/order'), undefined);
    assert.equal(matchDeviceLinkRoute('POST', '/device/v1/purchases/%E0%A4%A/order'), undefined);
    assert.equal(matchDeviceLinkRoute('POST', '/device/v1/purchases/p1/order/x'), undefined);
  });

  test('stream URL follows the platform URL', () => {
    assert.equal(deviceStreamUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/device/v1/stream');
    assert.equal(deviceStreamUrl('HTTPS://platform.example/base/'), 'wss://platform.example/base/device/v1/stream');
  });

  test('ids, modes and connection states', () => {
    assert.ok(isPurchaseId('p_8f3a.x-1') && isDeviceId('spk-001'));
    for (const bad of ['', 'x'.repeat(65), 'a b', '../x', 5, null]) assert.ok(!isPurchaseId(bad) && !isDeviceId(bad), String(bad));
    assert.deepEqual([...DEVICE_MODES], ['screen', 'screenless']);
    assert.ok(isDeviceMode('screen') && isDeviceMode('screenless') && !isDeviceMode('tv'));
    assert.deepEqual([...CONNECTION_STATES].sort(), ['closed', 'connecting', 'open', 'polling']);
  });

  test('the Node entry carries the same contract', () => {
    assert.equal(nodeEntry.parseClientFrame, parseClientFrame);
    assert.equal(nodeEntry.encodeStatusBody, encodeStatusBody);
  });
});
