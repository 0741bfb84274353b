/**
 * The pure parts of the device transport: the push parser (fuzzed: it never
 * throws), the seq gate, the backoff, the stream URL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Backoff, SeqGate } from '../../src/device/transport/index.js';
import { deviceStreamUrl as streamUrlOf, MAX_FRAME_CHARS, parsePush, parseServerFrame, parseStatusBody } from '../../src/protocol/browser.js';

const order = {
  purchaseId: 'p1',
  transactionId: 'DD1',
  tradeNo: 'T1',
  totalAmt: 200,
  payUrl: 'https://pay.example/qr/1',
  expiresAt: 1_800_000_000_000,
};
const status = { purchaseId: 'p1', deviceId: 'spk-1', tradeStatus: 'PROCESSING', seq: 3, order, nonceStr: 'abc' };
const frame = (body: unknown, authorization: unknown = 'TSK-RSA2 Datetime=20260101T000000Z, Signature=AAAA') =>
  JSON.stringify({ type: 'push', body: typeof body === 'string' ? body : JSON.stringify(body), authorization });

function checkResult(r: ReturnType<typeof parsePush>): void {
  if (r.ok) {
    assert.equal(r.push.type, 'push');
    assert.equal(typeof r.push.body, 'string');
    assert.ok(r.push.authorization.length > 0);
    assert.ok(['NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'].includes(r.push.status.tradeStatus));
    assert.ok(Number.isSafeInteger(r.push.status.seq) && r.push.status.seq >= 0);
  } else {
    assert.ok(r.reason === 'malformed' || r.reason === 'unsigned', r.reason);
    assert.equal(typeof r.detail, 'string');
  }
}

describe('parsePush', () => {
  test('accepts a well-formed push, keeps the exact body text, ignores unknown fields', () => {
    const body = JSON.stringify({ ...status, extra: { future: true } });
    const r = parsePush(frame(body));
    assert.ok(r.ok);
    assert.equal(r.push.body, body);
    assert.deepEqual(r.push.status, status);
  });

  test('typed rejections for the usual garbage', () => {
    const cases: Array<[unknown, 'malformed' | 'unsigned']> = [
      ['', 'malformed'],
      ['null', 'malformed'],
      ['[]', 'malformed'],
      ['{"type":"pong"}', 'malformed'],
      [JSON.stringify({ type: 'push', body: status, authorization: 'x' }), 'malformed'], // body must be text
      [JSON.stringify({ type: 'push', body: JSON.stringify(status) }), 'unsigned'],
      [frame(status, null), 'unsigned'],
      [frame(status, ''), 'unsigned'],
      [frame(status, 42), 'malformed'],
      [frame({ ...status, tradeStatus: 'PAID' }), 'malformed'],
      [frame({ ...status, seq: -1 }), 'malformed'],
      [frame({ ...status, seq: 1.5 }), 'malformed'],
      [frame({ ...status, seq: '3' }), 'malformed'],
      [frame({ ...status, purchaseId: '../x' }), 'malformed'],
      [frame({ ...status, deviceId: undefined }), 'malformed'],
      [frame({ ...status, nonceStr: 'x'.repeat(33) }), 'malformed'],
      [frame({ ...status, reason: 'x'.repeat(65) }), 'malformed'],
      [frame({ ...status, order: { ...order, totalAmt: 1.5 } }), 'malformed'],
      [frame({ ...status, order: { ...order, payUrl: 'javascript:alert(1)' } }), 'malformed'],
      [frame({ ...status, order: { ...order, tradeNo: 'bad-no' } }), 'malformed'],
      [frame({ ...status, order: { ...order, purchaseId: 'p2' } }), 'malformed'],
      [frame('{"__proto__":{"tradeStatus":"SUCCESS"}}'), 'malformed'],
      ['x'.repeat(MAX_FRAME_CHARS + 1), 'malformed'],
      [Buffer.from(frame(status)), 'malformed'], // binary frames are not text
      [undefined, 'malformed'],
      [{ type: 'push' }, 'malformed'],
    ];
    for (const [raw, reason] of cases) {
      const r = parsePush(raw);
      assert.equal(r.ok, false, String(raw).slice(0, 80));
      assert.equal(!r.ok && r.reason, reason, String(raw).slice(0, 80));
    }
  });

  test('never throws on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => checkResult(parsePush(v))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => checkResult(parsePush(s))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (body, auth) => {
        checkResult(parsePush(JSON.stringify({ type: 'push', body: JSON.stringify(body), authorization: auth })));
        checkResult(parsePush(JSON.stringify({ type: 'push', body, authorization: auth })));
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws on mutated valid frames (fuzz), and only well-formed ones pass', () => {
    const valid = frame(status);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })), { maxLength: 6 }), (edits) => {
        let s = valid;
        for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
        const r = parsePush(s);
        checkResult(r);
        if (r.ok) assert.deepEqual(parseStatusBody(r.push.body), { ok: true, value: r.push.status });
      }),
      { numRuns: 3000 },
    );
  });

  test('generated valid status bodies parse back to themselves', () => {
    const arb = fc.record({
      purchaseId: fc.stringMatching(/^[0-9A-Za-z._-]{1,64}$/),
      deviceId: fc.stringMatching(/^[0-9A-Za-z._-]{1,64}$/),
      tradeStatus: fc.constantFrom('NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'),
      seq: fc.nat(),
      nonceStr: fc.stringMatching(/^[0-9A-Za-z]{1,32}$/),
    });
    fc.assert(
      fc.property(arb, (s) => {
        const r = parsePush(frame(s));
        assert.ok(r.ok);
        assert.deepEqual(r.push.status, { ...s });
      }),
      { numRuns: 500 },
    );
  });

  test('other server frames parse; unknown ones are malformed', () => {
    assert.deepEqual(parseServerFrame('{"type":"pong","t":5}'), { ok: true, value: { type: 'pong', t: 5 } });
    assert.deepEqual(parseServerFrame('{"type":"subscribed","id":"s1","purchaseId":"p1"}'), {
      ok: true,
      value: { type: 'subscribed', id: 's1', purchaseId: 'p1' },
    });
    const err = parseServerFrame('{"type":"error","code":"UNAUTHORIZED","message":"no"}');
    assert.ok(err.ok && err.value.type === 'error' && err.value.code === 'UNAUTHORIZED');
    const unknown = parseServerFrame('{"type":"boom"}');
    assert.ok(!unknown.ok && unknown.reason === 'malformed');
  });
});

describe('SeqGate', () => {
  test('each seq once, never backwards', () => {
    const g = new SeqGate();
    assert.deepEqual(
      [1, 1, 3, 2, 3, 4, 0].map((s) => g.admit(s)),
      ['new', 'duplicate', 'new', 'stale', 'duplicate', 'new', 'stale'],
    );
    assert.equal(g.lastSeq, 4);
  });
  test('whatever the arrival order, the delivered seqs are strictly increasing and end at the max', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20 }), { minLength: 1 }), (seqs) => {
        const g = new SeqGate();
        const delivered = seqs.filter((s) => g.admit(s) === 'new');
        for (let i = 1; i < delivered.length; i++) assert.ok(delivered[i]! > delivered[i - 1]!);
        assert.equal(delivered.at(-1), Math.max(...seqs));
      }),
    );
  });
});

describe('Backoff', () => {
  test('doubles to the cap with 50-100 % jitter, and resets', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => lo.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => hi.next()),
      [100, 200, 400, 800, 1000],
    );
    hi.reset();
    assert.equal(hi.attempt, 0);
    assert.equal(hi.next(), 100);
    const real = new Backoff({ initialMs: 100, maxMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const nominal = Math.min(1000, 100 * 2 ** i);
      const d = real.next();
      assert.ok(d >= nominal / 2 && d <= nominal, `${d} vs ${nominal}`);
    }
    assert.throws(
      () => new Backoff({ initialMs: 0 }),
      (e: unknown) => (e as { code: string }).code === 'ERR_INVALID_ARGUMENT',
    );
  });
});

test('stream URL follows the platform URL', () => {
  assert.equal(streamUrlOf('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/device/v1/stream');
  assert.equal(streamUrlOf('https://platform.example/base/'), 'wss://platform.example/base/device/v1/stream');
});
