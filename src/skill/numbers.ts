/**
 * Numbers as users say them and the platform writes them into text slots:
 * "35", "３５", "三十五", "十一", "一百零二", "一百二" (= 120), "两千", "3万5千",
 * "一零二" / "二〇二六" (digit by digit), and inside words: "第三十五集", "35集".
 *
 * Non-negative integers only (no decimals, no 负): anything else is `undefined`.
 * Browser-safe, no dependencies.
 */

const DIGITS: Record<string, number> = {
  零: 0,
  〇: 0,
  一: 1,
  壹: 1,
  二: 2,
  贰: 2,
  两: 2,
  三: 3,
  叁: 3,
  四: 4,
  肆: 4,
  五: 5,
  伍: 5,
  六: 6,
  陆: 6,
  七: 7,
  柒: 7,
  八: 8,
  捌: 8,
  九: 9,
  玖: 9,
};
const SMALL_UNITS: Record<string, number> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const BIG_UNITS: Record<string, number> = { 万: 1e4, 萬: 1e4, 亿: 1e8, 億: 1e8 };

const NUMERAL_CHARS = '0-9零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖十拾百佰千仟万萬亿億';
const WHOLE_NUMERAL = new RegExp(`^[${NUMERAL_CHARS}]+$`, 'u');

/** Full-width digits (０-９) to ASCII; spaces (also the ideographic space) removed. */
export function normalizeDigits(text: string): string {
  return text.replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[\s\u3000]+/g, '');
}

type Token = { kind: 'digit'; value: number; zero: boolean; arabic: boolean } | { kind: 'small'; value: number } | { kind: 'big'; value: number };

function tokenize(s: string): Token[] | undefined {
  const out: Token[] = [];
  for (let i = 0; i < s.length;) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') {
      let j = i;
      while (j < s.length && s[j]! >= '0' && s[j]! <= '9') j++;
      const run = s.slice(i, j);
      out.push({ kind: 'digit', value: Number(run), zero: /^0+$/.test(run), arabic: true });
      i = j;
      continue;
    }
    if (c in DIGITS) out.push({ kind: 'digit', value: DIGITS[c]!, zero: DIGITS[c] === 0, arabic: false });
    else if (c in SMALL_UNITS) out.push({ kind: 'small', value: SMALL_UNITS[c]! });
    else if (c in BIG_UNITS) out.push({ kind: 'big', value: BIG_UNITS[c]! });
    else return undefined;
    i++;
  }
  return out;
}

/**
 * Read a whole numeral: Arabic digits, Chinese numerals (also the financial
 * forms 壹贰叁… and 两), or a mix ("3万5千"). A run of bare digits without
 * units reads digit by digit ("一零二" → 102). The colloquial short forms
 * "一百二" (120), "三千五" (3500) and "三万五" (35000) are understood; "十一"
 * and "一十一" are both 11. Returns `undefined` for anything else (also for
 * text around the numeral: see `extractNumber`) and beyond 2^53.
 */
export function parseChineseNumber(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const s = normalizeDigits(text);
  if (!s || !WHOLE_NUMERAL.test(s)) return undefined;
  const tokens = tokenize(s);
  if (!tokens) return undefined;
  let result: number;
  if (tokens.every((t) => t.kind === 'digit')) {
    // Digit by digit: "一零二", "二〇二六", "35", "3５".
    const acc = Array.from(s, (c) => (c >= '0' && c <= '9' ? c : String(DIGITS[c]))).join('');
    result = Number(acc);
  } else {
    const r = withUnits(tokens);
    if (r === undefined) return undefined;
    result = r;
  }
  return Number.isSafeInteger(result) ? result : undefined;
}

function withUnits(tokens: Token[]): number | undefined {
  let total = 0; // whole 亿 part
  let section = 0; // whole 万 part below 亿
  let small = 0; // below 万
  let digit: number | undefined;
  let zeroSeen = false;
  let lastSmall: number | undefined; // last 十/百/千 of the current group
  let lastBig: number | undefined; // last 万/亿
  for (const t of tokens) {
    if (t.kind === 'digit') {
      if (t.zero && !t.arabic) {
        if (digit !== undefined) return undefined;
        if (lastSmall === undefined && lastBig === undefined) return undefined; // a leading 零 before units: "零十"
        zeroSeen = true;
        continue;
      }
      if (digit !== undefined) return undefined; // two numbers without a unit between: "三五十"
      digit = t.value;
      continue;
    }
    if (t.kind === 'small') {
      if (lastSmall !== undefined && t.value >= lastSmall) return undefined; // 十百, 百百
      if (digit === 0) return undefined;
      small += (digit ?? 1) * t.value;
      digit = undefined;
      zeroSeen = false;
      lastSmall = t.value;
      continue;
    }
    // 万 / 亿
    const group = small + (digit ?? 0);
    if (t.value === 1e4) {
      if (lastBig === 1e4 || group === 0) return undefined;
      section = group * 1e4;
    } else {
      if (lastBig === 1e8) return undefined;
      const below = section + group;
      if (below === 0) return undefined;
      total = below * 1e8;
      section = 0;
    }
    small = 0;
    digit = undefined;
    zeroSeen = false;
    lastSmall = undefined;
    lastBig = t.value;
  }
  let tail = digit ?? 0;
  // "一百二" = 120, "三千五" = 3500, "三万五" = 35000: a last digit right after a unit ≥ 百 (no 零) is one step below it.
  if (digit !== undefined && !zeroSeen) {
    const after = lastSmall ?? (small === 0 ? lastBig : undefined);
    if (after !== undefined && after >= 100) tail = digit * (after / 10);
  }
  return total + section + small + tail;
}

/** Measure words `extractNumber` strips after the numeral ("35集", "第三章", "十分钟"). */
export const NUMBER_SUFFIXES: readonly string[] = [
  '集',
  '章',
  '回',
  '节',
  '话',
  '期',
  '季',
  '部',
  '篇',
  '首',
  '个',
  '本',
  '卷',
  '页',
  '课',
  '次',
  '遍',
  '号',
  '位',
  '名',
  '层',
  '楼',
  '岁',
  '天',
  '块',
  '元',
  '张',
  '分钟',
  '小时',
  '秒钟',
  '秒',
];
const SUFFIX_RE = new RegExp(`(?:${[...NUMBER_SUFFIXES].sort((a, b) => b.length - a.length).join('|')})$`, 'u');

/**
 * The number a slot text names: the whole text as a numeral, optionally with
 * the ordinal prefix 第 and one measure word from `NUMBER_SUFFIXES` after it:
 * "第三十五集" → 35, "35集" → 35, "第３集" → 3, "一百零二章" → 102. Anything
 * else is `undefined` — also "下一集" (next, not one), "三体" (a title),
 * "1.5小时" and "负三" (not non-negative integers).
 */
export function extractNumber(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  let s = normalizeDigits(text);
  const whole = parseChineseNumber(s);
  if (whole !== undefined) return whole;
  if (s.startsWith('第')) s = s.slice(1);
  s = s.replace(SUFFIX_RE, '');
  return parseChineseNumber(s);
}

const DIGIT_CHARS = '零一二三四五六七八九';
const SECTION_UNITS = ['千', '百', '十', ''] as const;

function sectionText(n: number): string {
  let out = '';
  let zero = false;
  for (let k = 0, unit = 1000; k < 4; k++, unit /= 10) {
    const d = Math.floor(n / unit) % 10;
    if (d === 0) {
      if (out) zero = true;
    } else {
      if (zero) out += '零';
      zero = false;
      out += DIGIT_CHARS[d]! + SECTION_UNITS[k]!;
    }
  }
  return out;
}

/**
 * A non-negative integer below 10^12 as a Chinese numeral the way it is
 * spoken: 0 → 零, 11 → 十一, 35 → 三十五, 102 → 一百零二, 10010 → 一万零一十.
 * Handy for speech ("第三十五集"). Throws RangeError outside that range.
 */
export function toChineseNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 1e12) throw new RangeError(`toChineseNumber: ${n} is not an integer in 0 … 10^12-1`);
  if (n === 0) return '零';
  const parts: Array<[number, string]> = [
    [Math.floor(n / 1e8), '亿'],
    [Math.floor(n / 1e4) % 1e4, '万'],
    [n % 1e4, ''],
  ];
  let out = '';
  let pendingZero = false;
  for (const [value, unit] of parts) {
    if (value === 0) {
      if (out) pendingZero = true;
      continue;
    }
    if (out && (pendingZero || value < 1000)) out += '零';
    pendingZero = false;
    out += sectionText(value) + unit;
  }
  return out.startsWith('一十') ? out.slice(1) : out;
}
