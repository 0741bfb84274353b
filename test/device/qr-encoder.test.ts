/**
 * The device's QR encoder (src/device/qr-encoder.ts) against the `qrcode`
 * package as the oracle: for several hundred texts, the package in byte mode
 * at level M (`QRCode.create([{ data: Buffer.from(text), mode: 'byte' }])`,
 * the text's UTF-8 bytes) must give the same version, the same mask and the
 * same symbol module for module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { encodeQr } from '../../src/device/qr-encoder.js';
import { DEVICE_ERROR_CODES, QrCapacityError } from '../../src/device/errors.js';
import { DingDangPayError } from '../../src/protocol/browser.js';
import { qrImage } from '../../src/device/render.js';

/** Bytes a version holds in byte mode at level M (ISO/IEC 18004 table 7). */
const CAPACITY = [
  14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666, 711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452,
  1538, 1628, 1722, 1809, 1911, 1989, 2099, 2213, 2331,
];

// A seeded generator, so a failure names a text that can be replayed.
let seed = 0x2026_1202;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[int(0, chars.length - 1)]).join('');
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HAN = '会员月卡加油包购买支付成功微信扫码请在手机上确认叮当音箱歌曲专辑';
const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** Like the sandbox's pay URLs: `${baseUrl}/pay/${transactionId}`, transaction ids `DD` + time stamp + 12 random characters. */
const sandboxUrl = () => `http://127.0.0.1:${int(1024, 65535)}/pay/DD${20261202000000 + int(0, 235959)}${pick(ALNUM, 12)}`;

function texts(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 150; i++) out.push(sandboxUrl());
  for (let i = 0; i < 40; i++) out.push(`${sandboxUrl()}?sig=${pick(ALNUM + '-_', int(8, 400))}&m=${encodeURIComponent(pick(HAN, int(1, 20)))}`);
  for (let i = 0; i < 30; i++) out.push(`https://pay.example/购买/${pick(HAN, int(1, 60))}?x=${int(0, 999)}`);
  for (let i = 0; i < 30; i++) out.push(pick(HAN + ALNUM + ' ，。', int(1, 300)));
  out.push('a', 'A', '0', ' ', '\n', '购', '😀', '\uD800', '~~', 'HTTPS://PAY.EXAMPLE/QR/P1/1', '0123456789012345678901234567890123456789');
  for (let i = 0; i < 40; i++) out.push(pick(ALNUM + '/:?&=%.', int(1, 20)));
  // Long ones: version information (≥ 7), 16-bit lengths (≥ 10), more and mixed-length blocks (≥ 27).
  for (let i = 0; i < 30; i++) out.push(pick(ALNUM + '/:?&=', int(CAPACITY[5]!, CAPACITY[39]!)));
  // Each version's boundary: its capacity exactly, and one byte more.
  for (const cap of CAPACITY) {
    out.push(pick(ALNUM, cap));
    if (cap < CAPACITY[39]!) out.push(pick(ALNUM, cap + 1));
  }
  // And reached with 3-byte characters (capacity − 2 … capacity bytes, never a split character).
  for (const cap of CAPACITY.filter((_, v) => v % 4 === 1)) out.push(pick(HAN, Math.floor(cap / 3)), pick(HAN, Math.floor(cap / 3) + 1));
  return out;
}

test('the encoder gives qrcode’s byte-mode level-M symbol for several hundred texts: same version, mask and modules', () => {
  const all = texts();
  assert.ok(all.length >= 400, `${all.length} texts`);
  const versions = new Set<number>();
  const masks = new Set<number>();
  for (const text of all) {
    const ref = QRCode.create([{ data: Buffer.from(text), mode: 'byte' }], { errorCorrectionLevel: 'M' });
    const ours = encodeQr(text);
    const label = `${utf8(text)} bytes: ${JSON.stringify(text.slice(0, 60))}`;
    assert.equal(ours.version, ref.version, label);
    assert.equal(ours.size, ref.modules.size, label);
    assert.equal(ours.mask, ref.maskPattern, label);
    const differ: string[] = [];
    for (let r = 0; r < ours.size; r++) for (let c = 0; c < ours.size; c++) if (ours.get(r, c) !== (ref.modules.get(r, c) === 1)) differ.push(`${r},${c}`);
    assert.deepEqual(differ.slice(0, 10), [], label);
    versions.add(ours.version);
    masks.add(ours.mask);
  }
  // The texts reach every version and every mask.
  assert.equal(versions.size, 40);
  assert.equal(masks.size, 8);
});

test('the smallest version that fits: each version’s capacity fills it, one byte more takes the next', () => {
  CAPACITY.forEach((cap, i) => {
    assert.equal(encodeQr('x'.repeat(cap)).version, i + 1, `${cap} bytes`);
    assert.equal(encodeQr('x'.repeat(cap)).size, 21 + 4 * i);
    if (i < 39) assert.equal(encodeQr('x'.repeat(cap + 1)).version, i + 2, `${cap + 1} bytes`);
  });
  assert.equal(encodeQr('').version, 1);
  assert.equal(encodeQr('购'.repeat(777)).version, 40, '2,331 bytes of UTF-8');
});

test('past version 40 (2,331 bytes) the encoder and qrImage throw QrCapacityError, ERR_DEVICE_QR_TOO_LONG', () => {
  for (const text of ['x'.repeat(2332), '购'.repeat(778), 'y'.repeat(10_000)]) {
    for (const encode of [() => encodeQr(text), () => qrImage(text)])
      assert.throws(encode, (e: unknown) => {
        assert.ok(e instanceof QrCapacityError && e instanceof DingDangPayError);
        assert.equal(e.code, 'ERR_DEVICE_QR_TOO_LONG');
        assert.equal(e.bytes, utf8(text));
        assert.equal(e.maxBytes, 2331);
        return true;
      });
  }
  assert.equal(DEVICE_ERROR_CODES.ERR_DEVICE_QR_TOO_LONG, QrCapacityError);
  // qrcode agrees that it does not fit.
  assert.throws(() => QRCode.create([{ data: Buffer.from('x'.repeat(2332)), mode: 'byte' }], { errorCorrectionLevel: 'M' }));
});
