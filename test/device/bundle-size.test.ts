/**
 * The device companion's browser bundle stays within its size budget: built
 * exactly as the `bundle-gzip` bench figure builds it (bench/figures/device.ts
 * `deviceBundle()`: esbuild, minified ESM, browser platform), gzip -9 at most
 * 45 KiB, and it imports no Node built-in. A size check, not a timing one.
 * QR codes come from the device's own encoder (src/device/qr-encoder.ts):
 * nothing of the `qrcode` package is in the bundle.
 * Skips when esbuild (a dev dependency) is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';

const BUDGET = 46_080;
const ESBUILD_SKIP = 'install esbuild (npm install: a dev dependency) to run this';

async function hasEsbuild(): Promise<boolean> {
  try {
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

test(`the device bundle is at most ${BUDGET} bytes gzip -9 and imports no Node built-in`, async (t) => {
  if (!(await hasEsbuild())) return t.skip(ESBUILD_SKIP);
  const { deviceBundle } = await import('../../bench/figures/device.js');
  const { code, metafile } = await deviceBundle();
  const gz = gzipSync(Buffer.from(code), { level: 9 }).length;
  t.diagnostic(`gzip ${gz} bytes, minified ${Buffer.byteLength(code)} bytes, budget ${BUDGET}`);
  assert.ok(gz <= BUDGET, `device bundle is ${gz} bytes gzip, over the ${BUDGET}-byte budget`);

  const out = Object.values(metafile.outputs)[0]!;
  assert.deepEqual(out.imports, [], 'the bundle imports nothing from outside');
  assert.doesNotMatch(code, /\b(?:from|import|require)\s*\(?\s*["'`]node:/, 'a node: specifier in the bundle');
  for (const p of Object.keys(metafile.inputs)) assert.ok(!p.startsWith('node:'), `Node built-in among the inputs: ${p}`);

  // What keeps it small: the device's own QR encoder instead of the qrcode package (and its dijkstrajs), and the Charge schema without the other messages'.
  const inputs = Object.keys(out.inputs);
  assert.ok(inputs.some((p) => p.endsWith('src/device/qr-encoder.ts')));
  for (const p of inputs) assert.doesNotMatch(p, /node_modules\/(?:qrcode|dijkstrajs)\//, `qrcode in the bundle: ${p}`);
  assert.doesNotMatch(code, /createOrderRequest|refundNotifyRequest/, 'the other messages’ schemas are in the bundle');
});
