import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatFen, isFen, MoneyError, speakFen, speakFenEn, sumFen, yuanToFen } from '../../src/protocol/index.js';

describe('money (integer fen)', () => {
  it('formats fen for screens', () => {
    assert.equal(formatFen(200), '¥2.00');
    assert.equal(formatFen(5), '¥0.05');
    assert.equal(formatFen(0), '¥0.00');
    assert.equal(formatFen(123456), '¥1,234.56');
    assert.equal(formatFen(123456, { grouping: false, symbol: '' }), '1234.56');
  });

  it('speaks fen in natural Chinese', () => {
    const cases: Array<[number, string]> = [
      [200, '2元'],
      [250, '2元5角'],
      [5, '5分'],
      [0, '0元'],
      [205, '2元零5分'],
      [1234, '12元3角4分'],
      [50, '5角'],
      [55, '5角5分'],
      [100000, '1000元'],
    ];
    for (const [fen, words] of cases) assert.equal(speakFen(fen), words, String(fen));
  });

  it('speaks fen in English', () => {
    assert.equal(speakFenEn(200), '2 yuan');
    assert.equal(speakFenEn(250), '2 yuan 50 fen');
    assert.equal(speakFenEn(5), '5 fen');
  });

  it('parses yuan strings exactly', () => {
    assert.equal(yuanToFen('2'), 200);
    assert.equal(yuanToFen('2.5'), 250);
    assert.equal(yuanToFen('0.07'), 7);
    assert.equal(yuanToFen('19.99'), 1999);
    for (const bad of ['', '2.555', '-1', '1e3', 'abc', '2.'])
      assert.throws(
        () => yuanToFen(bad),
        (e: unknown) => e instanceof MoneyError && e.code === 'ERR_MONEY',
        bad,
      );
  });

  it('refuses non-integer, negative, unsafe amounts with a typed error', () => {
    for (const bad of [1.5, -1, NaN, Infinity, 2 ** 53, '100' as unknown as number]) {
      assert.equal(isFen(bad), false);
      assert.throws(() => formatFen(bad), MoneyError);
      assert.throws(() => speakFen(bad), MoneyError);
    }
    assert.throws(() => sumFen([Number.MAX_SAFE_INTEGER, 1]), MoneyError);
    assert.equal(sumFen([1, 2, 3]), 6);
  });

  it('round-trips: formatted screen text parses back to the same fen (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (fen) => {
        assert.equal(yuanToFen(formatFen(fen, { symbol: '', grouping: false })), fen);
        const spoken = speakFen(fen);
        // spoken Chinese is digits + units only, and its numbers add back up to the amount
        const m = /^(?:(\d+)元)?(?:零)?(?:(\d)角)?(?:(\d)分)?$/.exec(spoken);
        assert.ok(m, spoken);
        assert.equal(Number(m[1] ?? 0) * 100 + Number(m[2] ?? 0) * 10 + Number(m[3] ?? 0), fen);
      }),
    );
  });
});
