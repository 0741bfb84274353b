/**
 * The speaker page's live statechart, in headless Chromium: the real
 * `dingdang-pay demo` process serves the page, `/statechart.json` (the
 * build's diagrams of the purchase machine) and `/mermaid.js` (the installed
 * mermaid's browser build); a whole screen purchase is walked and the lit box
 * follows the states, goods → ordering → paying.awaitingScan →
 * paying.confirming → … → done, the state before it dimmed and the arrow
 * taken marked. Screenshots of the panel at idle, at the QR code, while
 * confirming and at done in test-artifacts/browser-statechart/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openDemoPage } from '../support/demo-process.js';
import { CHROMIUM_SKIP as SKIP, hasChromium } from '../support/chromium.js';
import { generateStatechart, type Statechart } from '../../src/demo/statechart.js';

const root = new URL('../..', import.meta.url).pathname;

/** The boxes lit, dimmed (trail) and the arrows marked in the view shown, by state id. */
function panelNow(page: Page) {
  return page.evaluate(() => {
    const panel = document.getElementById('statechart')!;
    const pane = panel.querySelector<HTMLElement>('.chart-pane:not([hidden])')!;
    const ids = (sel: string) => Array.from(pane.querySelectorAll(sel)).map((g) => g.getAttribute('data-id') ?? /-state-(.+)-\d+$/.exec(g.id)?.[1] ?? g.id);
    const chart = panel.querySelector('#chart')!.getBoundingClientRect();
    const lit = pane.querySelector('g.lit');
    const r = lit?.getBoundingClientRect();
    return {
      view: pane.dataset.view ?? '',
      state: panel.dataset.state ?? '',
      lit: ids('g.lit'),
      trail: ids('g.trail'),
      taken: pane.querySelectorAll('path.taken').length,
      litVisible: r ? r.left >= chart.left - 1 && r.right <= chart.right + 1 && r.top >= chart.top - 1 && r.bottom <= chart.bottom + 1 : false,
    };
  });
}

test('the live statechart: the lit box follows a screen purchase from goods to done', { timeout: 150_000 }, async (t) => {
  if (!hasChromium()) return t.skip(SKIP);
  const {
    demo,
    context,
    page,
    errors,
    dir: artifacts,
    close,
  } = await openDemoPage('browser-statechart', { demoArgs: [], viewport: { width: 1400, height: 1000 } });
  let exitCode: number | null;
  try {
    // tsx names the functions the test hands to page.evaluate with its __name helper: the page gets one too.
    await context.addInitScript('window.__name = (f) => f;');
    const offsite: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !/^(data|blob|about):/.test(r.url())) offsite.push(r.url());
    });
    const panel = page.locator('#statechart');
    let n = 0;
    const shot = async (name: string) => {
      await page.waitForTimeout(600); // the smooth scroll to the lit box
      const file = join(artifacts, `${String(++n).padStart(2, '0')}-${name}.png`);
      await panel.screenshot({ path: file });
      assert.ok(existsSync(file));
    };

    // The artifact the page draws is the build's, and it is what the generator gives.
    const served = (await (await fetch(new URL('/statechart.json', demo.url))).json()) as Statechart;
    assert.deepEqual(served, generateStatechart());
    assert.deepEqual(served, JSON.parse(readFileSync(join(root, 'dist/demo/web/statechart.json'), 'utf8')));
    const mermaidJs = await fetch(new URL('/mermaid.js', demo.url));
    assert.equal(mermaidJs.status, 200);
    assert.match(mermaidJs.headers.get('content-type') ?? '', /javascript/);
    await mermaidJs.arrayBuffer();
    const speakerJs = await (await fetch(new URL('/speaker.js', demo.url))).text();
    assert.ok(!/stateDiagram|classDiagram/.test(speakerJs), 'mermaid and the diagram text are not in the page bundle');

    await page.goto(demo.url, { timeout: 30_000 });
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
    await page.waitForSelector('#statechart[data-ready="true"]', { timeout: 30_000 });
    // Idle: both views drawn, nothing lit, the screen flow open.
    assert.equal(await page.locator('#chart .chart-pane svg').count(), served.views.length);
    let now = await panelNow(page);
    assert.deepEqual({ view: now.view, state: now.state, lit: now.lit, trail: now.trail }, { view: 'screen', state: '', lit: [], trail: [] });
    assert.equal(await page.locator('#chart-now').innerText(), '空闲 · idle');
    for (const label of ['goods', 'ordering', 'awaitingScan', 'confirming', 'verifying'])
      assert.match(await page.locator('#chart').innerText(), new RegExp(label));
    await shot('idle');

    const expectLit = async (state: string, view: string, lit: string[], trail?: string[]) => {
      await page.waitForSelector(`#statechart[data-state="${state}"]`, { timeout: 20_000 });
      let s = await panelNow(page);
      for (const end = Date.now() + 3000; !s.litVisible && Date.now() < end; s = await panelNow(page)) await page.waitForTimeout(100); // the smooth scroll
      assert.equal(s.view, view, `${state}: the view`);
      assert.deepEqual(s.lit, lit, `${state}: lit`);
      if (trail) assert.deepEqual(s.trail, trail, `${state}: trail`);
      assert.ok(s.litVisible, `${state}: the lit box is scrolled into the panel`);
      return s;
    };

    await page.fill('#utterance', '我要听万古神帝第35集');
    await page.click('#say-button');
    await page.waitForSelector('#screen[data-kind="goods"]', { timeout: 30_000 });
    await expectLit('goods', 'screen', ['checkout_screen_goods'], ['starting']);
    assert.equal(await page.locator('#chart-now').innerText(), 'goods');

    await page.fill('#utterance', '买');
    await page.press('#utterance', 'Enter');
    await page.waitForSelector('#screen[data-kind="pay"] #qr', { timeout: 30_000 });
    now = await expectLit('paying.awaitingScan', 'screen', ['checkout_screen_paying_awaitingScan'], ['checkout_screen_ordering']);
    assert.equal(now.taken, 1, 'the arrow ordering → paying is marked');
    // The pay page around it is marked too.
    assert.equal(await page.locator('#chart .chart-pane:not([hidden]) g.statediagram-cluster.within').count(), 2);
    await shot('qr-code');

    await page.click('#scan');
    const phone = page.frameLocator('#phone-frame');
    await phone.locator('#pay-success').click({ timeout: 20_000 });
    await page.waitForSelector('#screen[data-state="paying.confirming"]', { timeout: 20_000 });
    now = await expectLit('paying.confirming', 'screen', ['checkout_screen_paying_confirming'], ['checkout_screen_paying_awaitingScan']);
    assert.equal(now.taken, 1, 'the arrow awaitingScan → confirming is marked');
    await shot('confirming');

    // Paid (its `always` goes on at once: no event of its own) → resuming → done: the panel follows into the whole purchase, where done is drawn.
    await expectLit('done', 'purchase', ['done'], ['resume_resuming']);
    await shot('done');
    await page.waitForSelector('#now-playing', { timeout: 30_000 });

    // The whole walk, as the panel lit it, in order.
    const walk = (await page.evaluate(() => (window as unknown as { speaker: { chart: { lit: Array<{ state: string; ids: string[] }> } } }).speaker.chart.lit))
      .filter((r) => r.state !== '')
      .map((r) => `${r.state}:${r.ids.join(',')}`);
    const want = [
      'starting:starting',
      'goods:checkout_screen_goods',
      'ordering:checkout_screen_ordering',
      'paying.awaitingScan:checkout_screen_paying_awaitingScan',
      'paying.confirming:checkout_screen_paying_confirming',
      'resuming:resume_resuming',
      'done:done',
    ];
    assert.deepEqual([...new Set(walk)], want, walk.join('\n'));

    // A tab picked by hand stays: the screen flow again, done is not drawn there and nothing is lit.
    await page.click('#chart-tabs button[data-view="screen"]');
    now = await panelNow(page);
    assert.equal(now.view, 'screen');
    assert.deepEqual(now.lit, []);
    // Zoom: fit shows the whole view inside the panel.
    await page.click('#chart-fit');
    const fits = await page.evaluate(() => {
      const c = document.getElementById('chart')!;
      return c.scrollWidth <= c.clientWidth + 1 && c.scrollHeight <= c.clientHeight + 1;
    });
    assert.ok(fits, 'the fitted diagram lies inside the panel');
    await page.click('#chart-zoom-in');
    assert.notEqual(await panel.getAttribute('data-zoom'), 'fit');
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(offsite, [], 'nothing from the network');
  } finally {
    exitCode = await close();
  }
  assert.equal(exitCode, 0, `the demo stops cleanly on Ctrl-C\n${demo.output()}`);
});
