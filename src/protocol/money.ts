/**
 * Money is an integer number of fen (分); 100 fen = 1 元. Never floating point.
 */
import { MoneyError } from './errors.js';

export type Fen = number;

/** True for a non-negative safe integer: the only valid amount of fen. */
export function isFen(value: unknown): value is Fen {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function assertFen(value: unknown, what = 'amount'): asserts value is Fen {
  if (!isFen(value)) throw new MoneyError(`${what} must be a non-negative integer number of fen, got ${String(value)}`);
}

/** Sum amounts of fen, refusing anything that is not integer fen or that overflows. */
export function sumFen(amounts: Iterable<Fen>): Fen {
  let total = 0;
  for (const a of amounts) {
    assertFen(a);
    total += a;
    if (!Number.isSafeInteger(total)) throw new MoneyError('sum of fen overflows');
  }
  return total;
}

/** Screen text: 200 → "¥2.00", 123456 → "¥1,234.56". */
export function formatFen(fen: Fen, options: { symbol?: string; grouping?: boolean } = {}): string {
  assertFen(fen);
  const symbol = options.symbol ?? '¥';
  const yuan = Math.floor(fen / 100);
  const cents = fen % 100;
  let y = String(yuan);
  if (options.grouping ?? true) y = y.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${symbol}${y}.${String(cents).padStart(2, '0')}`;
}

/**
 * Natural spoken Chinese for voice: 200 → "2元", 250 → "2元5角", 5 → "5分",
 * 205 → "2元零5分", 1234 → "12元3角4分", 0 → "0元".
 */
export function speakFen(fen: Fen): string {
  assertFen(fen);
  const yuan = Math.floor(fen / 100);
  const jiao = Math.floor((fen % 100) / 10);
  const fenPart = fen % 10;
  if (fen === 0) return '0元';
  let out = '';
  if (yuan > 0) out += `${yuan}元`;
  if (jiao > 0) out += `${jiao}角`;
  if (fenPart > 0) {
    if (yuan > 0 && jiao === 0) out += '零';
    out += `${fenPart}分`;
  }
  return out;
}

/** Spoken English: 200 → "2 yuan", 250 → "2 yuan 50 fen", 5 → "5 fen". */
export function speakFenEn(fen: Fen): string {
  assertFen(fen);
  const yuan = Math.floor(fen / 100);
  const rest = fen % 100;
  if (fen === 0) return '0 yuan';
  const parts: string[] = [];
  if (yuan > 0) parts.push(`${yuan} yuan`);
  if (rest > 0) parts.push(`${rest} fen`);
  return parts.join(' ');
}

/** Parse a decimal yuan string ("2", "2.5", "2.50") into fen, exactly, without floats. */
export function yuanToFen(yuan: string): Fen {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (!m) throw new MoneyError(`not a yuan amount with at most 2 decimals: ${JSON.stringify(yuan)}`);
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(2, '0'));
  const fen = whole * 100 + frac;
  assertFen(fen);
  return fen;
}
