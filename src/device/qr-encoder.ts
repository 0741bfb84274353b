/**
 * A small QR Code encoder (ISO/IEC 18004) for the device's pay page: byte mode
 * only (the UTF-8 bytes of the text), error correction level M, versions 1–40
 * (the smallest that fits), Reed–Solomon error correction over GF(256) with
 * blocks interleaved, finder, timing and alignment patterns, format and
 * version information, and the mask of the 8 with the lowest penalty. Follows the structure of Project
 * Nayuki's QR Code generator, without its other modes and segment handling.
 *
 * The penalty is computed as the `qrcode` package computes it, so that both
 * choose the same mask and give the same symbol module for module
 * (test/device/qr-encoder.test.ts): finder-like runs (N3) are counted only as
 * the 11-module windows `10111010000` / `00001011101` inside the symbol, and
 * the dark-module balance (N4) as 10 × |⌈dark % ÷ 5⌉ − 10|.
 */
import { QrCapacityError } from './errors.js';

export interface QrMatrix {
  /** 1–40. */
  version: number;
  /** 0–7. */
  mask: number;
  /** Modules per side (17 + 4 × version), without the quiet zone. */
  size: number;
  /** Whether the module at `row`, `col` is dark. */
  get(row: number, col: number): boolean;
}

// Level M, versions 1–40: EC codewords per block and number of blocks, as char codes − 40.
const EC_PER_BLOCK = '28B:@8:>>BF>>@@DDBBBBDDDDDDDDDDDDDDDDDDD';
const BLOCKS = ')))**,,,---01122356899:<=?ABDEGIKMNPSUWY';

/** Per mask, 0 where a data module is inverted. */
const MASKS: ((r: number, c: number) => number)[] = [
  (r, c) => (r + c) % 2,
  (r) => r % 2,
  (_, c) => c % 3,
  (r, c) => (r + c) % 3,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2,
  (r, c) => ((r * c) % 2) + ((r * c) % 3),
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2,
];

const table = (t: string, version: number) => t.charCodeAt(version - 1) - 40;

/** Data and EC codewords of a version: (16v + 128)v + 64 modules minus alignment and version information, ÷ 8. */
function rawCodewords(v: number): number {
  const n = Math.floor(v / 7) + 2;
  return (((16 * v + 128) * v + 64 - (v > 1 ? (25 * n - 10) * n - 55 : 0) - (v > 6 ? 36 : 0)) / 8) | 0;
}

function gfMul(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

/** The Reed–Solomon remainder of `data` for `degree` EC codewords. */
function reedSolomon(data: number[], degree: number): number[] {
  const divisor = new Array<number>(degree).fill(0);
  divisor[degree - 1] = 1;
  for (let i = 0, root = 1; i < degree; i++, root = gfMul(root, 2))
    for (let j = 0; j < degree; j++) divisor[j] = gfMul(divisor[j]!, root) ^ (divisor[j + 1] ?? 0);
  const rest = new Array<number>(degree).fill(0);
  for (const b of data) {
    const factor = b ^ rest.shift()!;
    rest.push(0);
    divisor.forEach((c, i) => (rest[i]! ^= gfMul(c, factor)));
  }
  return rest;
}

/** `value` followed by its BCH check bits: the remainder by `poly`, of degree `deg`. */
const bch = (value: number, deg: number, poly: number) => {
  let rem = value;
  for (let i = 0; i < deg; i++) rem = (rem << 1) ^ ((rem >>> (deg - 1)) * poly);
  return (value << deg) | rem;
};

/** Encode `text` (its UTF-8 bytes, byte mode, level M). Throws `QrCapacityError` past the 2,331 bytes of version 40. */
export function encodeQr(text: string): QrMatrix {
  const bytes = new TextEncoder().encode(text);
  const dataCodewords = (v: number) => rawCodewords(v) - table(EC_PER_BLOCK, v) * table(BLOCKS, v);
  const usedBits = (v: number) => 12 + (v > 9 ? 8 : 0) + bytes.length * 8;
  let version = 1;
  while (usedBits(version) > dataCodewords(version) * 8) if (++version > 40) throw new QrCapacityError(bytes.length, dataCodewords(40) - 3);

  // Mode 0100, character count (8 or 16 bits), the bytes, terminator, pad to bytes, pad codewords.
  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(4, 4);
  put(bytes.length, version > 9 ? 16 : 8);
  bytes.forEach((b) => put(b, 8));
  const capacity = dataCodewords(version) * 8;
  put(0, Math.min(4, capacity - bits.length));
  put(0, -bits.length & 7);
  for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b));

  // Split into blocks (the short ones first), add EC codewords, interleave.
  const numBlocks = table(BLOCKS, version);
  const ecLen = table(EC_PER_BLOCK, version);
  const raw = rawCodewords(version);
  const numShort = numBlocks - (raw % numBlocks);
  const shortLen = Math.floor(raw / numBlocks) - ecLen;
  const blocks: number[][] = [];
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const dat = data.slice(k, (k += shortLen + (i < numShort ? 0 : 1)));
    blocks.push([...dat, ...(i < numShort ? [0] : []), ...reedSolomon(dat, ecLen)]);
  }
  const codewords: number[] = [];
  for (let i = 0; i <= shortLen + ecLen; i++)
    blocks.forEach((b, j) => {
      if (i !== shortLen || j >= numShort) codewords.push(b[i]!);
    });

  // Function patterns.
  const size = version * 4 + 17;
  const modules = new Uint8Array(size * size);
  const isFunction = new Uint8Array(size * size);
  const set = (r: number, c: number, dark: boolean | number) => {
    modules[r * size + c] = dark ? 1 : 0;
    isFunction[r * size + c] = 1;
  };
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  const numAlign = Math.floor(version / 7) + 2;
  const step = Math.floor((version * 8 + numAlign * 3 + 5) / (numAlign * 4 - 4)) * 2;
  const align = version === 1 ? [] : [6, ...Array.from({ length: numAlign - 1 }, (_, i) => size - 7 - (numAlign - 2 - i) * step)];
  for (const r of align)
    for (const c of align) {
      if ((r === 6 && (c === 6 || c === size - 7)) || (c === 6 && r === size - 7)) continue;
      for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
    }
  for (const [r0, c0] of [
    [3, 3],
    [3, size - 4],
    [size - 4, 3],
  ] as const)
    for (let dr = -4; dr <= 4; dr++)
      for (let dc = -4; dc <= 4; dc++) {
        const d = Math.max(Math.abs(dr), Math.abs(dc));
        const r = r0 + dr;
        const c = c0 + dc;
        if (r >= 0 && r < size && c >= 0 && c < size) set(r, c, d !== 2 && d !== 4);
      }
  const drawFormat = (mask: number) => {
    const f = bch(mask, 10, 0x537) ^ 0x5412; // level M: 00
    for (let i = 0; i < 15; i++) {
      const bit = (f >>> i) & 1;
      set(i < 6 ? i : i < 8 ? i + 1 : size - 15 + i, 8, bit);
      set(8, i < 8 ? size - 1 - i : i < 9 ? 7 : 14 - i, bit);
    }
    set(size - 8, 8, 1);
  };
  drawFormat(0);
  if (version > 6) {
    const v = bch(version, 12, 0x1f25);
    for (let i = 0; i < 18; i++) {
      const bit = (v >>> i) & 1;
      set(Math.floor(i / 3), size - 11 + (i % 3), bit);
      set(size - 11 + (i % 3), Math.floor(i / 3), bit);
    }
  }

  // Codewords in the two-column zigzag from the bottom right; remainder bits stay light.
  for (let right = size - 1, i = 0; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++)
      for (let j = 0; j < 2; j++) {
        const c = right - j;
        const r = (right + 1) & 2 ? vert : size - 1 - vert;
        if (!isFunction[r * size + c] && i < codewords.length * 8) {
          modules[r * size + c] = (codewords[i >>> 3]! >>> (7 - (i & 7))) & 1;
          i++;
        }
      }
  }

  const applyMask = (mask: number) => {
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) if (!MASKS[mask]!(r, c) && !isFunction[r * size + c]) modules[r * size + c]! ^= 1;
  };
  const penalty = () => {
    let score = 0;
    let dark = 0;
    for (let dir = 0; dir < 2; dir++)
      for (let i = 0; i < size; i++) {
        let run = 0;
        let window = 0;
        let prev = 0;
        for (let j = 0; j < size; j++) {
          const m = modules[dir ? j * size + i : i * size + j]!;
          if (j && m === prev) run++;
          else {
            if (run >= 5) score += run - 2;
            run = 1;
          }
          prev = m;
          window = ((window << 1) & 0x7ff) | m;
          if (j >= 10 && (window === 0x5d0 || window === 0x05d)) score += 40;
          if (!dir) {
            dark += m;
            if (i < size - 1 && j < size - 1) {
              const sum = m + modules[i * size + j + 1]! + modules[(i + 1) * size + j]! + modules[(i + 1) * size + j + 1]!;
              if (sum === 0 || sum === 4) score += 3;
            }
          }
        }
        if (run >= 5) score += run - 2;
      }
    return score + Math.abs(Math.ceil((dark * 100) / (size * size) / 5) - 10) * 10;
  };
  let best = 0;
  let lowest = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    drawFormat(mask);
    applyMask(mask);
    const score = penalty();
    applyMask(mask);
    if (score < lowest) [best, lowest] = [mask, score];
  }
  drawFormat(best);
  applyMask(best);
  return { version, mask: best, size, get: (row, col) => modules[row * size + col] === 1 };
}
