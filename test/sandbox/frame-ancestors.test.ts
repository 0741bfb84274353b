/**
 * Who may frame the sandbox's pages (clickjacking of the pay page's 确认支付):
 * every HTML page the sandbox serves carries `Content-Security-Policy:
 * frame-ancestors 'self' <allowed origins>` — exactly those, the ones given
 * at start and the ones allowed later (the demo's speaker page) — and no
 * `X-Frame-Options` (it cannot name several origins). A real sandbox on
 * 127.0.0.1; in headless Chromium (skipped without it), an allowed origin's
 * page shows the framed pay page and another origin's does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api, orderOf, pressPage, startPair } from '../support/sandbox.js';
import { CHROMIUM_SKIP, hasChromium, launchChromium } from '../support/chromium.js';

/** GET as a browser asks for a page: the status, content type and framing headers. */
async function page(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { accept: 'text/html', ...headers }, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    csp: res.headers.get('content-security-policy'),
    xfo: res.headers.get('x-frame-options'),
  };
}

/** The sources of a `frame-ancestors` policy, in order; fails when the policy says anything else. */
function ancestors(csp: string | null): string[] {
  assert.ok(csp, 'a Content-Security-Policy header');
  const [directive, ...sources] = csp.trim().split(/\s+/);
  assert.equal(directive, 'frame-ancestors', csp);
  assert.ok(!csp.includes(';'), `one directive only: ${csp}`);
  return sources;
}

test("every HTML page: frame-ancestors 'self' plus exactly the allowed origins", async () => {
  const pair = await startPair({ allowedOrigins: ['http://allowed.example', 'https://Other.Example:8443'], skill: { accountLinking: true } });
  const base = pair.sandbox.url;
  try {
    // Allowed after start, as the demo does for its speaker page: in the policy from then on.
    pair.sandbox.allowOrigin('http://127.0.0.1:8700');
    const expected = ["'self'", 'http://allowed.example', 'https://other.example:8443', 'http://127.0.0.1:8700'];
    const said = await api(base).say({ text: '我要听万古神帝第35集' });
    const order = orderOf(await api(base).placeOrder(said.purchaseId!));
    const screenless = await api(base).say({ text: '我要听万古神帝第36集', userId: 'u2', mode: 'screenless' });
    const pages: Record<string, [string, number]> = {
      'pay page': [order.payUrl, 200],
      'pay page after a press': [`${order.payUrl}?m=x`, 200],
      'app page': [`${base}/app/${screenless.purchaseId}`, 200],
      'link page': [`${base}/link/${said.skillId}?userId=u1`, 200],
      'not-found page': [`${base}/pay/NOPE`, 404],
      'locked dashboard': [`${base}/`, 401],
    };
    for (const [what, [url, status]] of Object.entries(pages)) {
      const p = await page(url);
      assert.equal(p.status, status, what);
      assert.match(p.type, /^text\/html/, what);
      assert.deepEqual(ancestors(p.csp), expected, what);
      assert.equal(p.xfo, null, `${what}: no X-Frame-Options`);
    }
    const dashboard = await page(`${base}/`, { authorization: `Bearer ${pair.sandbox.controlToken}` });
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.type, /^text\/html/);
    assert.deepEqual(ancestors(dashboard.csp), expected, 'dashboard');
    // The page a press lands on (after the 303) carries it too, and so does the redirect itself.
    const pressed = await pressPage(order.payUrl, 'success');
    assert.equal(pressed.status, 303);
    assert.deepEqual(ancestors(pressed.headers.get('content-security-policy')), expected, 'the redirect of a press');
    const landed = await page(new URL(pressed.headers.get('location')!, base).href);
    assert.equal(landed.status, 200);
    assert.deepEqual(ancestors(landed.csp), expected, 'the page after paying');
  } finally {
    await pair.close();
  }
});

test("no allowed origins: frame-ancestors 'self' alone", async () => {
  const pair = await startPair();
  const base = pair.sandbox.url;
  try {
    const said = await api(base).say({ text: '我要听万古神帝第35集' });
    const order = orderOf(await api(base).placeOrder(said.purchaseId!));
    for (const url of [order.payUrl, `${base}/app/${said.purchaseId}`, `${base}/`]) {
      const p = await page(url);
      assert.match(p.type, /^text\/html/, url);
      assert.deepEqual(ancestors(p.csp), ["'self'"], url);
    }
  } finally {
    await pair.close();
  }
});

/** A page on its own origin (127.0.0.1, another port) that frames `target`. */
async function framingSite(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>site</title><iframe id="f" src="${target}" width="400" height="500"></iframe>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

test('in Chromium: an allowed origin frames the pay page, another origin gets nothing', async (t) => {
  if (!hasChromium()) return t.skip(CHROMIUM_SKIP);
  const pair = await startPair();
  const base = pair.sandbox.url;
  const sites: Server[] = [];
  const browser = await launchChromium();
  try {
    const said = await api(base).say({ text: '我要听万古神帝第35集' });
    const order = orderOf(await api(base).placeOrder(said.purchaseId!));
    const allowed = await framingSite(order.payUrl);
    const other = await framingSite(order.payUrl);
    sites.push(allowed.server, other.server);
    pair.sandbox.allowOrigin(new URL(allowed.url).origin);
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    // goto waits for the load event, which waits for the frame's own load (the pay page, or the browser's refusal).
    const framed = async (url: string) => {
      await page.goto(url);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      assert.ok(frame, 'the site has its frame');
      return (await frame.$('#pay-success')) !== null;
    };
    assert.equal(await framed(allowed.url), true, 'the allowed origin shows the pay page and its button');
    assert.equal(await framed(other.url), false, 'another origin: the browser refuses to show the pay page');
  } finally {
    await browser.close();
    for (const s of sites) await new Promise((r) => s.close(r));
    await pair.close();
  }
});
