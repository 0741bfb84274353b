import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('../../src/device/index.ts', import.meta.url));

test('dingdang-pay/device bundles for the browser: no Node built-ins, no server code, no private keys', async () => {
  assert.ok(existsSync(fileURLToPath(new URL('../../src/device/transport/index.ts', import.meta.url))), 'the default transport is part of the entry');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const out = result.outputFiles[0]!.text;
  assert.ok(out.length > 10_000, 'bundle has content');
  for (const banned of ['PRIVATE KEY', 'node:crypto', 'createPrivateKey', 'require("crypto")', 'better-sqlite3', 'node:fs', 'node:http']) {
    assert.ok(!out.includes(banned), `bundle contains ${banned}`);
  }
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((p) => p.includes('node_modules/xstate')));
  assert.ok(inputs.some((p) => p.endsWith('src/device/qr-encoder.ts')));
  assert.ok(inputs.some((p) => p.includes('src/device/transport/')));
  for (const p of inputs) {
    assert.doesNotMatch(p, /src\/(partner|sandbox|cli)\//, `server code in the bundle: ${p}`);
    assert.doesNotMatch(p, /tsk-node|node_modules\/ws\//, `Node-only module in the bundle: ${p}`);
  }
  // The public API is there.
  for (const name of ['DeviceCompanion', 'purchaseMachine', 'matchIntent', 'renderView', 'qrImage', 'createHttpTransport']) {
    assert.match(out, new RegExp(`\\b${name}\\b`), `exports ${name}`);
  }
});

test('a Node built-in in the device code would fail the browser bundle (the check has teeth)', async () => {
  await assert.rejects(
    build({
      stdin: { contents: `import { createHash } from 'node:crypto'; export const h = createHash;`, resolveDir: process.cwd() },
      bundle: true,
      write: false,
      platform: 'browser',
      logLevel: 'silent',
    }),
    /node:crypto/,
  );
});
