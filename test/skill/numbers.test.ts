import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { extractNumber, parseChineseNumber, toChineseNumber } from '../../src/skill/index.js';

const fullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

describe('parseChineseNumber', () => {
  const cases: Array<[string, number]> = [
    ['35', 35],
    ['三十五', 35],
    ['十一', 11],
    ['一十一', 11],
    ['十', 10],
    ['两', 2],
    ['两百', 200],
    ['两千', 2000],
    ['一百零二', 102],
    ['一百二', 120],
    ['三千五', 3500],
    ['三万五', 35000],
    ['三万零五', 30005],
    ['一千零五十', 1050],
    ['一万零一十', 10010],
    ['十万', 100000],
    ['一亿二千万', 120000000],
    ['零', 0],
    ['〇', 0],
    ['一零二', 102],
    ['二〇二六', 2026],
    ['３５', 35],
    ['3万5千', 35000],
    ['35万', 350000],
    ['叁拾伍', 35],
    [' 三十 五 ', 35],
  ];
  for (const [text, n] of cases) it(`${JSON.stringify(text)} → ${n}`, () => assert.equal(parseChineseNumber(text), n));

  for (const bad of ['', '三五十', '十百', '一万万', '亿', 'abc', '1.5', '-3', '第三集', '三点五', '零十'])
    it(`${JSON.stringify(bad)} → undefined`, () => assert.equal(parseChineseNumber(bad), undefined));

  it('refuses non-strings and numbers beyond 2^53', () => {
    assert.equal(parseChineseNumber(35 as unknown as string), undefined);
    assert.equal(parseChineseNumber('99999999999999999999'), undefined);
  });

  it('round trip: number → Chinese numeral → number for 0..9999 (every value)', () => {
    for (let n = 0; n <= 9999; n++) assert.equal(parseChineseNumber(toChineseNumber(n)), n, `${n} → ${toChineseNumber(n)}`);
  });

  it('round trip property up to 10^12 − 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 - 1 }), (n) => parseChineseNumber(toChineseNumber(n)) === n),
      { numRuns: 2000 },
    );
  });

  it('property: Arabic, full-width and digit-by-digit Chinese forms read the same number', () => {
    const digitChars = '零一二三四五六七八九';
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999 }), (n) => {
        const s = String(n);
        return (
          parseChineseNumber(s) === n &&
          parseChineseNumber(fullWidth(s)) === n &&
          parseChineseNumber(Array.from(s, (d) => digitChars[Number(d)]).join('')) === n
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('property: the numeral inside 第…集 is found', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 99_999 }), (n) => extractNumber(`第${toChineseNumber(n)}集`) === n && extractNumber(`${n}集`) === n));
  });
});

describe('toChineseNumber', () => {
  const cases: Array<[number, string]> = [
    [0, '零'],
    [10, '十'],
    [11, '十一'],
    [35, '三十五'],
    [102, '一百零二'],
    [110, '一百一十'],
    [1050, '一千零五十'],
    [10010, '一万零一十'],
    [100000, '十万'],
    [100000001, '一亿零一'],
  ];
  for (const [n, text] of cases) it(`${n} → ${text}`, () => assert.equal(toChineseNumber(n), text));
  it('throws RangeError outside 0 … 10^12 − 1', () => {
    for (const bad of [-1, 1.5, 1e12, Number.NaN]) assert.throws(() => toChineseNumber(bad), RangeError);
  });
});

describe('extractNumber', () => {
  const cases: Array<[string, number | undefined]> = [
    ['第三十五集', 35],
    ['35集', 35],
    ['第35集', 35],
    ['第３５集', 35],
    ['一百零二章', 102],
    ['十分钟', 10],
    ['第十二', 12],
    ['下一集', undefined],
    ['三体', undefined],
    ['三点钟', undefined],
    ['1.5小时', undefined],
    ['三点五', undefined],
    ['负三', undefined],
    ['没有数字', undefined],
  ];
  for (const [text, n] of cases) it(`${text} → ${n}`, () => assert.equal(extractNumber(text), n));
});
