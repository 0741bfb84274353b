/**
 * The device transport bundles for a browser (esbuild, platform "browser"):
 * no Node built-ins, no `ws`, nothing outside src/protocol,
 * src/device/transport and the device's errors — and the bundle actually works: loaded as a module it
 * talks to a real platform with the global fetch and a WebSocket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import WebSocket from 'ws';
import { FakePlatform, waitUntil } from '../support/fake-platform.js';

const entry = new URL('../../src/device/transport/index.ts', import.meta.url).pathname;
let dir: string;
let platform: FakePlatform;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ddp-transport-bundle-'));
  platform = await FakePlatform.start();
});
after(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

test('src/device/transport/index.ts bundles for the browser without Node built-ins', async () => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  for (const input of inputs) assert.match(input, /^src\/(protocol\/|device\/transport\/|device\/errors\.ts$)/, `unexpected input ${input}`);
  assert.ok(!inputs.some((i) => i.includes('node_modules')), 'no dependency is bundled (no ws)');
  for (const [file, info] of Object.entries(result.metafile.inputs))
    for (const imp of info.imports) {
      assert.ok(!imp.external, `${file} imports external ${imp.path}`);
      assert.ok(!imp.path.startsWith('node:'), `${file} imports ${imp.path}`);
    }
  const code = result.outputFiles[0]!.text;
  assert.ok(!/\brequire\(/.test(code), 'no require() in the bundle');
  assert.ok(code.includes('createHttpTransport') && code.includes('parsePush'));
  writeFileSync(join(dir, 'transport.mjs'), code);
});

test('the browser bundle runs: verified status and pushes from a real platform', async () => {
  const mod = (await import(pathToFileURL(join(dir, 'transport.mjs')).href)) as typeof import('../../src/device/transport/index.js');
  const t = mod.createHttpTransport({
    platformUrl: platform.url,
    tskPublicKey: platform.publicKeyBase64,
    deviceId: platform.deviceId,
    deviceToken: platform.deviceToken!,
    WebSocket: WebSocket as unknown as import('../../src/device/transport/index.js').WebSocketConstructor,
    pollIntervalMs: 100,
  });
  try {
    const p = platform.addPurchase();
    assert.equal((await t.queryStatus(p.purchaseId, new AbortController().signal)).tradeStatus, 'NOTPAY');
    const seen: string[] = [];
    t.subscribe(p.purchaseId, { onUpdate: (u) => void seen.push(`${u.tradeStatus}/${u.source}`) });
    await waitUntil(() => platform.subscribers(p.purchaseId) === 1, 3000, 'subscribed');
    platform.setStatus(p.purchaseId, 'SUCCESS');
    await waitUntil(() => seen.some((s) => s.startsWith('SUCCESS')), 3000, 'SUCCESS');
    assert.ok(!mod.parsePush('garbage').ok);
  } finally {
    t.close();
  }
  await waitUntil(() => platform.connections === 0, 3000, 'closed');
});
