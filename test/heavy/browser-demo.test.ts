/**
 * `npm start` as a person sees it: the real `dingdang-pay demo` process
 * (example skill + sandbox + the screen speaker page), its page driven in
 * headless Chromium through a whole purchase. The device companion runs in
 * the page and talks to the sandbox on another origin (CORS, WebSocket,
 * WebCrypto-verified replies). A screenshot per step is kept in
 * test-artifacts/browser-demo/; the purchase's screens again at 1024×600 and
 * 1280×800 (?screen=) in test-artifacts/browser-demo-<size>/. Every screen
 * shot is also checked to lie inside the speaker's screen, touch targets
 * included (test/support/screen-layout.ts).
 */
import { SandboxClient } from '../../src/sandbox/client.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_SKIP as SKIP, hasChromium } from '../support/chromium.js';
import { openDemoPage } from '../support/demo-process.js';
import { SCREEN_LAYOUT_CHECK } from '../support/screen-layout.js';

test('the demo page: a whole screen purchase in headless Chromium, a screenshot per step', { timeout: 150_000 }, async (t) => {
  if (!hasChromium()) return t.skip(SKIP);
  const { demo, page, errors, dir: artifacts, close } = await openDemoPage('browser-demo');
  let exitCode: number | null;
  try {
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    const corsReplies: Array<{ url: string; allowOrigin: string | null; exposed: string | null }> = [];
    page.on('response', async (r) => {
      if (r.url().startsWith(`${demo.sandbox}/device/v1/`) && r.request().method() !== 'OPTIONS') {
        const h = await r.allHeaders();
        corsReplies.push({ url: r.url(), allowOrigin: h['access-control-allow-origin'] ?? null, exposed: h['access-control-expose-headers'] ?? null });
      }
    });
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    let n = 0;
    const shot = async (name: string) => {
      const file = join(artifacts, `${String(++n).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file });
      assert.ok(existsSync(file));
      if (name !== 'phone-pay-page') assert.deepEqual(await page.evaluate(SCREEN_LAYOUT_CHECK), [], `layout of ${name}`);
    };
    const screen = page.locator('#screen');
    const speech = page.locator('#speech-text');

    await page.goto(demo.url, { timeout: 30_000 });
    try {
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
    } catch (e) {
      throw new Error(
        `the speaker page did not start: ${(e as Error).message}\npage errors: ${errors.join('\n')}\nconsole: ${consoleLines.join('\n')}\n${demo.output()}`,
        { cause: e },
      );
    }
    assert.equal(await screen.getAttribute('data-kind'), 'idle');
    await shot('idle');

    // 1. The user asks for a paid episode: the skill answers with a Charge, the goods show.
    await page.fill('#utterance', '我要听万古神帝第35集');
    await page.click('#say-button');
    await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 30_000 });
    assert.match(await screen.innerText(), /万古神帝 第35集/);
    assert.match(await screen.innerText(), /¥2\.00/);
    assert.match(await speech.innerText(), /这是付费内容.*说“购买”下单/);
    await shot('goods');

    // 2. The user says 买: the order is placed, the QR code and the countdown show.
    await page.fill('#utterance', '买');
    await page.press('#utterance', 'Enter');
    await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
    const payUrl = await page.getAttribute('#qr', 'data-pay-url');
    assert.ok(payUrl?.startsWith(`${demo.sandbox}/pay/DD`), `pay URL ${payUrl}`);
    assert.match((await page.getAttribute('#qr', 'src')) ?? '', /^data:image\/svg\+xml;base64,/);
    const first = await page.locator('#countdown').innerText();
    assert.match(first, /剩余 0[45]:\d\d/);
    await page.waitForFunction((f) => document.getElementById('countdown')?.textContent !== f, first, { timeout: 5000 });
    assert.match(await speech.innerText(), /请用微信扫描屏幕上的二维码/);
    await shot('qr-code');

    // 3. The phone scans the QR code: the sandbox's WeChat pay page, in the phone panel.
    await page.click('#scan');
    const phone = page.frameLocator('#phone-frame');
    await phone.locator('#pay-success').waitFor({ timeout: 20_000 });
    assert.match(await phone.locator('#amount').innerText(), /¥2\.00/);
    await shot('phone-pay-page');

    // 4. Pay: the speaker shows "scanned, confirm on the phone" (PROCESSING), then paid, then the resume.
    await phone.locator('#pay-success').click();
    await page.waitForSelector('#screen[data-state="paying.confirming"]', { timeout: 20_000 });
    assert.match(await page.locator('#phase').innerText(), /已扫码/);
    await shot('processing');
    // The success moment: 支付成功 on the screen, held for 1.5 s before the resumed content replaces it.
    await page.waitForSelector('#result[data-outcome="paid"]', { state: 'visible', timeout: 20_000 });
    assert.match(await page.locator('#result').innerText(), /支付成功/);
    await shot('paid');
    await page.waitForSelector('#now-playing', { timeout: 30_000 });
    await shot('now-playing');
    await assertSuccessHeld(page);
    // The resume's AudioPlayer.Play playlist: the bought episode first, the following ones locked.
    // (The episode's audio lasts a second: read what started from the dialog log, not the screen.)
    await page.locator('#log li.device', { hasText: '购买成功，开始播放万古神帝第35集' }).waitFor({ timeout: 5000 });
    await page.locator('#log li.event', { hasText: /▶ 万古神帝 第35集（第 1\/\d+ 首） · 支付后继续/ }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#now-playing-subtitle').innerText(), /万古神帝/);
    assert.ok((await page.locator('#playlist li.locked').count()) >= 1, 'the unbought episodes are listed as locked');
    assert.match(await page.locator('#playlist li.locked').first().innerText(), /需购买/);
    const audioSrc = await page.getAttribute('#audio', 'src');
    assert.match(audioSrc ?? '', /\/audio\/wgsd035\.wav\?t=/);
    // The episode ends; the next one is not bought: the platform asks the skill (Display.ElementSelected), which offers it.
    await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 15_000 });
    assert.match(await screen.innerText(), /万古神帝 第36集/);
    assert.match(await speech.innerText(), /这是付费内容.*说“购买”下单/);
    await phone.locator('#status[data-status="SUCCESS"]').waitFor({ timeout: 20_000 });
    await shot('next-episode-offered');
    // The user declines: the player stays at episode 36 and says why.
    await page.fill('#utterance', '取消');
    await page.press('#utterance', 'Enter');
    await page.waitForSelector('#screen[data-state="stopped"]', { timeout: 15_000 });
    assert.match(await page.locator('#now-playing-title').innerText(), /万古神帝 第36集/);
    assert.match(await page.locator('#now-playing-position').innerText(), /^第 2\/\d+ 首/);
    assert.match(await page.locator('#player-notice').innerText(), /播放停在《万古神帝 第36集》，这一集需要购买/);
    assert.match(await speech.innerText(), /播放停在《万古神帝 第36集》/);
    assert.equal(await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).paused), true, 'nothing plays');
    await shot('next-episode-declined');

    // The dialog log holds the whole story, in order.
    const log = await page.locator('#log').innerText();
    const order = ['→ goods', '→ ordering', '→ paying.awaitingScan', '→ paying.confirming', '→ resuming', '→ done'].map((s) => log.indexOf(s));
    assert.ok(
      order.every((i) => i >= 0),
      `states in the log:\n${log}`,
    );
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'states in order',
    );
    assert.match(log, /购买结束：done（已支付）/);
    assert.match(log, /购买结束：cancelled/);

    // Cross-origin device link: CORS answered, Authorization exposed, a WebSocket to the stream.
    assert.notEqual(new URL(demo.url).origin, new URL(demo.sandbox).origin);
    assert.ok(corsReplies.length >= 3, `device replies seen: ${corsReplies.length}`);
    for (const r of corsReplies) {
      assert.equal(r.allowOrigin, '*', r.url);
      assert.match(r.exposed ?? '', /authorization/i, r.url);
    }
    assert.ok(
      sockets.some((u) => u.startsWith(demo.sandbox.replace('http:', 'ws:') + '/device/v1/stream')),
      `sockets: ${sockets}`,
    );

    // Delivered exactly once (the sandbox's notification log).
    const deliveries = (await new SandboxClient({ baseUrl: demo.sandbox, token: demo.controlToken }).notifications()).filter((x) => x.kind === 'deliver');
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]!.state, 'delivered');

    // 5. Asking again: already owned, the skill plays at once (no purchase).
    await page.fill('#utterance', '我要听万古神帝第35集');
    await page.click('#say-button');
    await page.locator('#log li.skill', { hasText: '开始播放万古神帝第35集' }).waitFor({ timeout: 20_000 });
    assert.equal(await screen.getAttribute('data-kind'), 'playing');
    await shot('owned-plays-at-once');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    exitCode = await close();
  }
  assert.equal(exitCode, 0, `the demo stops cleanly on Ctrl-C\n${demo.output()}`);
  assert.match(demo.output(), /dingdang-pay demo: stopped/);
});

test(
  'the demo page: listening to the free episodes of 万古神帝 reaches episode 4, it is offered, paid, and listening goes on from it',
  { timeout: 150_000 },
  async (t) => {
    if (!hasChromium()) return t.skip(SKIP);
    const { demo, page, errors, dir, close } = await openDemoPage('browser-demo-listen');
    try {
      let n = 0;
      const shot = (name: string) => page.screenshot({ path: join(dir, `${String(++n).padStart(2, '0')}-${name}.png`) });
      const screen = page.locator('#screen');
      await page.goto(demo.url, { timeout: 30_000 });
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });

      await page.fill('#utterance', '我要听万古神帝');
      await page.click('#say-button');
      await page.waitForSelector('#now-playing', { timeout: 30_000 });
      await shot('episode-1');
      // Each free episode plays to its end and the next one starts (the page's <audio> "ended").
      for (const ep of [1, 2, 3]) await page.locator('#log li.event', { hasText: `▶ 万古神帝 第${ep}集（第 ${ep}/` }).waitFor({ timeout: 20_000 });
      // Episode 4 is not bought: never played; the skill's Charge puts the goods on the screen.
      await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 20_000 });
      assert.match(await screen.innerText(), /万古神帝 第4集/);
      assert.equal(await page.locator('#log li.event', { hasText: '▶ 万古神帝 第4集' }).count(), 0, 'episode 4 did not play before it was bought');
      await shot('episode-4-offered');
      await page.click('[data-touch="buy"]');
      await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
      await shot('episode-4-qr');
      await page.click('#scan');
      const phone = page.frameLocator('#phone-frame');
      await phone.locator('#pay-success').click({ timeout: 20_000 });
      await page.locator('#log li.event', { hasText: /▶ 万古神帝 第4集（第 1\/\d+ 首） · 支付后继续/ }).waitFor({ timeout: 30_000 });
      assert.match((await page.getAttribute('#audio', 'src')) ?? '', /\/audio\/wgsd004\.wav\?t=/);
      await shot('episode-4-playing');
      const deliveries = (await new SandboxClient({ baseUrl: demo.sandbox, token: demo.controlToken }).notifications()).filter((x) => x.kind === 'deliver');
      assert.equal(deliveries.length, 1, 'episode 4 delivered exactly once');
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await close();
    }
  },
);

type Paint = { kind: string; state: string; outcome?: string; at: number };

/** From the page's own record of its screens: 支付成功 was shown, and nothing else replaced it for at least 1.5 s. */
async function assertSuccessHeld(page: import('playwright-core').Page): Promise<void> {
  const paints = await page.evaluate(() => (window as unknown as { speaker: { paints: Paint[] } }).speaker.paints);
  const at = paints.findIndex((p) => p.outcome === 'paid');
  assert.ok(at >= 0, `支付成功 was drawn: ${JSON.stringify(paints.map((p) => p.outcome ?? p.kind))}`);
  const next = paints.slice(at + 1).find((p) => p.outcome !== 'paid');
  assert.ok(next, 'something followed the success screen');
  assert.ok(next.at - paints[at]!.at >= 1500, `the success screen stayed ${Math.round(next.at - paints[at]!.at)} ms`);
}

for (const [size, want, say, title] of [
  ['1024x600', { width: 1024, height: 600 }, '我要听万古神帝第35集', /万古神帝 第35集/],
  ['1280x800', { width: 1280, height: 800 }, '我要听斗破苍穹第20集', /斗破苍穹 第20集/],
] as const) {
  test(`the demo page at ?screen=${size}: the purchase's screens fill the larger screen and stay inside it`, { timeout: 120_000 }, async (t) => {
    if (!hasChromium()) return t.skip(SKIP);
    const { demo, page, errors, dir, close } = await openDemoPage(`browser-demo-${size}`, { viewport: { width: 1400, height: 1000 } });
    try {
      let n = 0;
      // The device alone (what a speaker user sees), and every element inside the screen at this size.
      const shot = async (name: string) => {
        const file = join(dir, `${String(++n).padStart(2, '0')}-${name}.png`);
        await page.locator('div.device').screenshot({ path: file });
        assert.ok(existsSync(file));
        assert.deepEqual(await page.evaluate(SCREEN_LAYOUT_CHECK), [], `layout of ${name} at ${size}`);
      };
      await page.goto(`${demo.url}?screen=${size}`, { timeout: 30_000 });
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
      const box = (await page.locator('#screen').boundingBox())!;
      assert.ok(Math.abs(box.width - want.width) <= 1 && Math.abs(box.height - want.height) <= 1, `the screen is ${box.width}×${box.height}`);
      assert.equal(await page.getAttribute('#screen', 'data-size'), size);
      const screen = page.locator('#screen');

      await page.fill('#utterance', say);
      await page.click('#say-button');
      await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 30_000 });
      assert.match(await screen.innerText(), title);
      await shot('goods');
      await page.click('[data-touch="buy"]');
      await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
      await shot('qr-code');
      await page.click('#scan');
      const phone = page.frameLocator('#phone-frame');
      await phone.locator('#pay-success').click({ timeout: 20_000 });
      await page.waitForSelector('#screen[data-state="paying.confirming"]', { timeout: 20_000 });
      await shot('processing');
      await page.waitForSelector('#result[data-outcome="paid"]', { state: 'visible', timeout: 20_000 });
      await shot('paid');
      await page.waitForSelector('#now-playing', { timeout: 30_000 });
      await shot('now-playing');
      await assertSuccessHeld(page);
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await close();
    }
  });
}
