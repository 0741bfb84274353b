/**
 * The sandbox's phone pages in real headless Chromium: the WeChat pay page
 * (countdown, buttons, live status by polling) and the DingDang app page.
 * Skips when Chromium is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, orderOf, startPair } from '../support/sandbox.js';
import { CHROMIUM_SKIP as SKIP, hasChromium, launchChromium } from '../support/chromium.js';

test('pay page and app page in headless Chromium', async (t) => {
  if (!hasChromium()) return t.skip(SKIP);
  const pair = await startPair({ payWindowMs: 120_000, processingMs: 300 });
  const browser = await launchChromium();
  const base = pair.sandbox.url;
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(5000);
    // 1. the user scans and pays with the button
    const said = await api(base).say({ text: '我要听万古神帝第35集' });
    const o = orderOf(await api(base).placeOrder(said.purchaseId!));
    await page.setViewportSize({ width: 360, height: 440 }); // the demo's phone panel
    await page.goto(o.payUrl);
    assert.equal(await page.textContent('h1'), '万古神帝第35集');
    // The whole choice is above the fold: pay, cancel and fail all visible without scrolling.
    for (const id of ['#pay-success', '#pay-cancel', '#pay-fail']) {
      const box = (await page.locator(id).boundingBox())!;
      assert.ok(box.y + box.height <= 440, `${id} bottom ${box.y + box.height} within the phone's 440 px`);
    }
    assert.equal(await page.textContent('#amount'), '¥2.00');
    await page.waitForFunction(() => /剩余 0[12]:\d\d/.test(document.getElementById('countdown')?.textContent ?? ''), undefined, { timeout: 5000 });
    await page.click('#pay-success');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'SUCCESS');
    assert.equal(await page.isVisible('#pay-success'), false);
    assert.equal((await api(base).order(o.transactionId)).tradeStatus, 'SUCCESS');
    // The outcome is said once (the status line), not repeated as a message below it.
    assert.equal(((await page.textContent('body')) ?? '').split('支付成功').length - 1, 1, 'the outcome appears once');

    // 2. a page left open follows a payment made elsewhere (its script polls)
    const s2 = await api(base).say({ text: '我要听万古神帝第36集', userId: 'u2' });
    const o2 = orderOf(await api(base).placeOrder(s2.purchaseId!));
    await page.goto(o2.payUrl);
    await api(base).payOrder(o2.transactionId, 'fail');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'FAIL');
    assert.equal(await page.isVisible('#actions'), false, 'buttons hidden once final');

    // 3. the DingDang app of a screenless purchase
    const s3 = await api(base).say({ text: '我要听万古神帝第37集', userId: 'u3', mode: 'screenless' });
    await page.goto(`${base}/app/${s3.purchaseId}`);
    assert.equal(await page.textContent('h1'), '万古神帝第37集');
    await page.click('#app-pay');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'SUCCESS');
    const p3 = await api(base).purchase(s3.purchaseId!);
    assert.equal(p3.state, 'paid');

    // 4. the dashboard at / lists the purchases with links to their pages (opened with the printed URL: ?token= → cookie → /)
    await page.goto(pair.sandbox.dashboardUrl);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    const items = await page.$$eval('#purchases li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.equal(items.length, 3);
    assert.match(items[0]!, /万古神帝第37集 · screenless · paid/);
    assert.match(items[2]!, /万古神帝第35集 · screen · paid · seq \d+/);
    await page.click(`a[href="/pay/${o2.transactionId}"]`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'FAIL');
  } finally {
    await browser.close();
    await pair.close();
  }
});
