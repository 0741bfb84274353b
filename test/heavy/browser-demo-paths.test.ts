/**
 * The ordinary moments of a purchase on the demo page, as a person at the
 * speaker lives them (headless Chromium, the real demo process): a question
 * about the price at the goods and at the QR code, "刷新二维码" while the code
 * still works, and a cancel on the phone's WeChat page, which must end as
 * *cancelled* (said and shown), never as a payment failure offering a retry.
 * At the default screen and at 1024×600; a screenshot per step in
 * test-artifacts/browser-demo-paths-<size>/, each checked to lie inside the
 * speaker's screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CHROMIUM_SKIP as SKIP, hasChromium } from '../support/chromium.js';
import { openDemoPage } from '../support/demo-process.js';
import { SCREEN_LAYOUT_CHECK } from '../support/screen-layout.js';

for (const size of ['600x375', '1024x600']) {
  test(
    `the demo page at ${size}: price questions, a refresh while the code works, a cancel on the phone ends as cancelled`,
    { timeout: 120_000 },
    async (t) => {
      if (!hasChromium()) return t.skip(SKIP);
      const { demo, page, errors, dir, close } = await openDemoPage(`browser-demo-paths-${size}`);
      try {
        let n = 0;
        const shot = async (name: string) => {
          await page.screenshot({ path: join(dir, `${String(++n).padStart(2, '0')}-${name}.png`) });
          assert.deepEqual(await page.evaluate(SCREEN_LAYOUT_CHECK), [], `${name}: everything inside the speaker's screen`);
        };
        const screen = page.locator('#screen');
        const speech = page.locator('#speech-text');
        const say = async (text: string) => {
          await page.fill('#utterance', text);
          await page.press('#utterance', 'Enter');
        };
        await page.goto(`${demo.url}?screen=${size}`, { timeout: 30_000 });
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });

        // The wake word is the speaker's own; the episode in Chinese numerals.
        await say('叮当叮当，我要听万古神帝第三十五集');
        await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 30_000 });
        await say('多少钱');
        await page.waitForFunction(() => /《万古神帝 第35集》，2元/.test(document.getElementById('speech-text')?.textContent ?? ''), undefined, {
          timeout: 10_000,
        });
        assert.equal(await screen.getAttribute('data-kind'), 'goods', 'the question changed nothing on the screen');
        await shot('goods-price-asked');

        await say('买');
        await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
        const firstUrl = await page.getAttribute('#qr', 'data-pay-url');
        await say('刷新二维码');
        await page.waitForFunction(() => /二维码还有效/.test(document.getElementById('speech-text')?.textContent ?? ''), undefined, { timeout: 10_000 });
        assert.equal(await page.getAttribute('#qr', 'data-pay-url'), firstUrl, 'the same, still valid code');
        await shot('qr-still-valid');

        // The phone scans and presses 取消 on the WeChat page.
        await page.click('#scan');
        const phone = page.frameLocator('#phone-frame');
        await phone.locator('#pay-cancel').click({ timeout: 20_000 });
        await page.waitForSelector('#screen[data-kind="result"]', { timeout: 20_000 });
        await page.waitForFunction(() => /已取消购买/.test(document.getElementById('speech-text')?.textContent ?? ''), undefined, { timeout: 10_000 });
        const shown = await screen.innerText();
        assert.match(shown, /已取消/);
        assert.doesNotMatch(shown, /支付失败|重试/, 'a cancel is not a failure');
        assert.doesNotMatch(await speech.innerText(), /支付没有成功|重试/);
        assert.equal(await page.locator('[data-touch="retry"]').count(), 0, 'no retry offered');
        await shot('cancelled-on-phone');
        assert.deepEqual(errors, [], 'no page errors');
      } finally {
        await close();
      }
    },
  );
}

test(
  'the demo page: a payment that fails on the phone offers a retry (the only outcome that does), and a code left to expire says so and offers a fresh one',
  { timeout: 120_000 },
  async (t) => {
    if (!hasChromium()) return t.skip(SKIP);
    const { demo, page, errors, dir, close } = await openDemoPage('browser-demo-paths-fail-expire', { demoArgs: ['--clip-seconds', '1', '--pay-window', '6'] });
    try {
      let n = 0;
      const shot = async (name: string) => {
        await page.screenshot({ path: join(dir, `${String(++n).padStart(2, '0')}-${name}.png`) });
        assert.deepEqual(await page.evaluate(SCREEN_LAYOUT_CHECK), [], `${name}: everything inside the speaker's screen`);
      };
      const screen = page.locator('#screen');
      const say = async (text: string) => {
        await page.fill('#utterance', text);
        await page.press('#utterance', 'Enter');
      };
      await page.goto(demo.url, { timeout: 30_000 });
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });

      // 1. The payment fails on the phone: said and shown as a failure, with a retry.
      await say('我要听万古神帝第35集');
      await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 30_000 });
      await say('买');
      await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
      await page.click('#scan');
      await page.frameLocator('#phone-frame').locator('#pay-fail').click({ timeout: 20_000 });
      await page.waitForSelector('[data-touch="retry"]', { timeout: 20_000 });
      assert.match(await screen.innerText(), /支付/);
      assert.doesNotMatch(await screen.innerText(), /已取消/);
      await page.waitForFunction(() => /支付没有成功.*重试/.test(document.getElementById('speech-text')?.textContent ?? ''), undefined, { timeout: 10_000 });
      await shot('payment-failed-retry');

      // 2. Retry, then leave the fresh code alone until its 6 s window is over: expired, said, a fresh code offered.
      await page.click('[data-touch="retry"]');
      await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
      await page.waitForFunction(() => /二维码已过期/.test(document.getElementById('speech-text')?.textContent ?? ''), undefined, { timeout: 20_000 });
      assert.ok((await page.locator('[data-touch="refresh"]').count()) > 0, 'a fresh code is offered');
      await shot('code-expired');
      await say('支付好了吗');
      await page.waitForFunction(
        () =>
          /过期/.test(document.getElementById('speech-text')?.textContent ?? '') && !/查一下/.test(document.getElementById('speech-text')?.textContent ?? ''),
        undefined,
        {
          timeout: 10_000,
        },
      );
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await close();
    }
  },
);
