/**
 * The device transport in a real headless Chromium: the esbuild browser
 * bundle, loaded by a page on another origin, talks to the fake platform with
 * the browser's own fetch (CORS, exposed Authorization header), WebSocket and
 * WebCrypto. Verified pushes are delivered; forged and unsigned ones are not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePlatform } from '../support/fake-platform.js';
import { CHROMIUM_SKIP as SKIP, hasChromium, launchChromium, serveBundlePage, type BundlePage } from '../support/chromium.js';

let platform: FakePlatform;
let site: BundlePage | undefined;

before(async () => {
  if (!hasChromium()) return;
  platform = await FakePlatform.start();
  site = await serveBundlePage('src/device/transport/index.ts', '/transport.mjs', '<!doctype html><meta charset="utf-8"><title>transport</title><p>device</p>');
});

after(async () => {
  if (site) await site.close();
  if (platform) await platform.close();
});

test('the transport bundle works in headless Chromium (fetch, WebSocket, WebCrypto, CORS)', { timeout: 60_000 }, async (t) => {
  if (!hasChromium()) return t.skip(SKIP);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    // tsx (esbuild keepNames) wraps functions in __name(); the functions sent to the page need it too.
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.goto(site!.url);
    const p = platform.addPurchase();

    const start = await page.evaluate(
      async ({ url, key, deviceId, deviceToken, purchaseId }) => {
        const mod = await import('/transport.mjs');
        const w = window as unknown as Record<string, unknown>;
        const seen: string[] = [];
        const rejected: string[] = [];
        const transport = mod.createHttpTransport({ platformUrl: url, tskPublicKey: key, deviceId, deviceToken, silenceMs: 60_000 });
        const status = await transport.queryStatus(purchaseId, new AbortController().signal);
        const stop = transport.subscribe(purchaseId, {
          onUpdate: (u: { tradeStatus: string; seq: number; source: string }) => seen.push(`${u.tradeStatus}#${u.seq}/${u.source}`),
          onRejected: (r: { reason: string }) => rejected.push(r.reason),
        });
        Object.assign(w, { seen, rejected, transport, stop });
        return { status: status.tradeStatus, subtle: typeof crypto.subtle, hasWs: typeof WebSocket };
      },
      { url: platform.url, key: platform.publicKeyPem, deviceId: platform.deviceId, deviceToken: platform.deviceToken!, purchaseId: p.purchaseId },
    );
    assert.deepEqual(start, { status: 'NOTPAY', subtle: 'object', hasWs: 'function' });
    assert.ok(platform.requestsTo('status')[0]!.headers.origin?.startsWith('http://localhost:'), 'a cross-origin request');

    await platform.waitFor(() => platform.subscribers(p.purchaseId) === 1, 10_000, 'browser subscribed');
    const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen.slice());
    const rejected = () => page.evaluate(() => (window as unknown as { rejected: string[] }).rejected.slice());
    const until = async (check: () => Promise<boolean>, what: string) => {
      const started = Date.now();
      while (!(await check())) {
        if (Date.now() - started > 10_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    platform.push(p.purchaseId, { seq: 5, tradeStatus: 'SUCCESS' }, 'forged');
    platform.push(p.purchaseId, { seq: 5, tradeStatus: 'SUCCESS' }, 'none');
    platform.push(p.purchaseId, { seq: 5, tradeStatus: 'SUCCESS' }, 'other-key');
    await until(async () => (await rejected()).length === 3, 'three rejections');
    assert.deepEqual(await rejected(), ['bad-signature', 'unsigned', 'bad-signature']);

    // Seqs 10 and 11 exist only in these pushes (the platform's state stays at seq 1): only the socket can deliver them.
    platform.push(p.purchaseId, { seq: 10, tradeStatus: 'PROCESSING' });
    platform.push(p.purchaseId, { seq: 10, tradeStatus: 'PROCESSING' });
    platform.push(p.purchaseId, { seq: 11, tradeStatus: 'SUCCESS' });
    await until(async () => (await seen()).some((s) => s.startsWith('SUCCESS')), 'SUCCESS');
    const delivered = await seen();
    assert.deepEqual(delivered.slice(-2), ['PROCESSING#10/push', 'SUCCESS#11/push']);
    assert.ok(!delivered.some((s) => s.includes('#5')), 'nothing forged delivered');

    await page.evaluate(() => (window as unknown as { transport: { close(): void } }).transport.close());
    await platform.waitFor(() => platform.connections === 0, 10_000, 'browser socket closed');
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
  }
});
