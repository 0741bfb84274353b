/**
 * The whole device companion in a real headless Chromium: the esbuild browser
 * bundle of `dingdang-pay/device`, on a page of another origin, runs a screen
 * purchase against the fake platform with the browser's fetch, WebSocket and
 * WebCrypto; the pay page's QR data URL is drawn as an <img>.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePlatform } from '../support/fake-platform.js';
import { CHARGE } from '../support/statechart.js';
import { CHROMIUM_SKIP as SKIP, hasChromium, launchChromium, serveBundlePage, type BundlePage } from '../support/chromium.js';

let platform: FakePlatform;
let site: BundlePage | undefined;

before(async () => {
  if (!hasChromium()) return;
  platform = await FakePlatform.start();
  site = await serveBundlePage('src/device/index.ts', '/device.mjs', '<!doctype html><meta charset="utf-8"><title>speaker</title><div id="screen"></div>');
});

after(async () => {
  if (site) await site.close();
  if (platform) await platform.close();
});

test('a screen purchase runs in headless Chromium from the browser bundle', { timeout: 60_000 }, async (t) => {
  if (!hasChromium()) return t.skip(SKIP);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.goto(site!.url);

    await page.evaluate(
      async ({ url, key, deviceId, deviceToken, charge }) => {
        const mod = await import('/device.mjs');
        const w = window as unknown as Record<string, unknown>;
        const log = { states: [] as string[], speech: [] as string[], resumes: [] as unknown[], ends: [] as unknown[], qrLoaded: 0 };
        const c = new mod.DeviceCompanion({ platformUrl: url, tskPublicKey: key, deviceId, deviceToken, countdownMs: 0 });
        c.on('state', (e: { state: string }) => log.states.push(e.state));
        c.on('speak', (e: { text: string }) => log.speech.push(e.text));
        c.on('resume', (e: unknown) => log.resumes.push(e));
        c.on('end', (r: unknown) => log.ends.push(r));
        c.on('render', (view: { kind: string; qr?: { dataUrl: string } }) => {
          if (view.kind !== 'pay' || !view.qr) return;
          const img = new Image();
          img.onload = () => {
            if (img.naturalWidth > 0) log.qrLoaded++;
          };
          img.src = view.qr.dataUrl;
          document.getElementById('screen')!.replaceChildren(img);
        });
        Object.assign(w, { log, companion: c });
        void c.purchase({ charge, speech: '这是付费内容，需要购买才能播放哦', originalRequest: { intent: 'play' } });
      },
      { url: platform.url, key: platform.publicKeyPem, deviceId: platform.deviceId, deviceToken: platform.deviceToken!, charge: CHARGE },
    );
    type Log = {
      states: string[];
      speech: string[];
      resumes: Array<{ directives: Array<{ type: string }> }>;
      ends: Array<{ outcome: string; paid: boolean }>;
      qrLoaded: number;
    };
    const log = () => page.evaluate(() => (window as unknown as { log: Log }).log);
    const until = async (check: (l: Log) => boolean, what: string) => {
      const started = Date.now();
      for (;;) {
        const l = await log();
        if (check(l)) return l;
        if (Date.now() - started > 15_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(l.states)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    await until((l) => l.states.includes('goods'), 'goods');
    const purchaseId = [...platform.purchases.keys()].at(-1)!;
    assert.equal(
      await page.evaluate(() => (window as unknown as { companion: { say(t: string): { intent: string } | null } }).companion.say('好的下单')?.intent),
      'buy',
    );
    const paying = await until((l) => l.states.includes('paying.awaitingScan') && l.qrLoaded > 0, 'pay page with a drawn QR');
    assert.ok(paying.speech.some((s) => s.includes('请用微信扫描屏幕上的二维码')));
    await platform.waitFor(() => platform.subscribers(purchaseId) === 1, 10_000, 'browser subscribed');

    platform.push(purchaseId, { tradeStatus: 'SUCCESS', seq: 50 }, 'forged');
    platform.setStatus(purchaseId, 'PROCESSING');
    await until((l) => l.states.includes('paying.confirming'), 'confirming');
    platform.setStatus(purchaseId, 'SUCCESS');
    const end = await until((l) => l.ends.length > 0, 'end');
    assert.deepEqual(
      end.ends.map((e) => [e.outcome, e.paid]),
      [['done', true]],
    );
    assert.equal(end.resumes[0]!.directives[0]!.type, 'AudioPlayer.Play');
    assert.ok(end.speech.some((s) => s.includes('支付成功')));
    // Before the verified SUCCESS nothing said paid (the forged push did not count).
    const paidAt = end.speech.findIndex((s) => s.includes('支付成功'));
    assert.ok(end.speech.slice(0, paidAt).every((s) => !s.includes('支付成功')));
    assert.ok(end.states.indexOf('paying.confirming') < end.states.indexOf('resuming'));

    await page.evaluate(() => (window as unknown as { companion: { stop(): void } }).companion.stop());
    await platform.waitFor(() => platform.connections === 0, 10_000, 'browser socket closed');
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
  }
});
