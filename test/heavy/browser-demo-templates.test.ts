/**
 * What the screen speaker shows for what a skill really answers: a real
 * sandbox (src/sandbox) configured with a tiny skill written here on
 * node:http that answers in DingDang's format — each Display.RenderTemplate
 * template, an AudioPlayer.Play playlist with paid items, a LinkAccount card,
 * an answer that keeps the session, and one the platform refuses — and the
 * real speaker page (page.ts + the bundle of web/speaker.ts) in headless
 * Chromium. The page posts utterances to its own server, which passes them
 * to the sandbox's /sandbox/v1/say with the run's control token and hands the
 * reply back byte for byte, so the test sees contract C as the sandbox
 * sends it. Screenshots land in test-artifacts/browser-demo-templates/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateTskKeyPair } from '../../src/protocol/tsk-node.js';
import type { SkillDirective, SkillRequestEnvelope, SkillResponseBody } from '../../src/protocol/skill-types.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { speakerPage } from '../../src/demo/page.js';
import { speakerBundle } from '../../src/demo/bundle.js';
import { CHROMIUM_SKIP as SKIP, hasChromium, launchChromium } from '../support/chromium.js';
import { SCREEN_LAYOUT_CHECK as LAYOUT_CHECK } from '../support/screen-layout.js';

const root = new URL('../..', import.meta.url).pathname;
const artifacts = join(root, 'test-artifacts', 'browser-demo-templates');

/** A short mono 16-bit PCM WAV (a quiet tone), so that items really end in the browser. */
function wav(seconds: number, hz = 440): Buffer {
  const rate = 8000;
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(2000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return b;
}

const svg = (label: string, from: string, to: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs><rect width="600" height="600" fill="url(#g)"/><circle cx="300" cy="260" r="120" fill="#ffffff33"/><text x="300" y="500" font-size="64" text-anchor="middle" fill="#fff" font-family="sans-serif">${label}</text></svg>`;

/** The tiny skill: answers by intent, in DingDang's response format. */
function startTinySkill() {
  const requests: SkillRequestEnvelope[] = [];
  let base = '';
  const art = (name: string) => `${base}/art/${name}.svg`;
  const missing = (name: string) => `${base}/missing/${name}.png`;
  const ep = (n: number, pay: boolean, artUrl?: string) => ({
    stream: pay ? { url: '', token: `wgsd${n}` } : { url: `${base}/audio/wgsd${n}.wav`, token: `wgsd${n}` },
    // Episode 2 has a long title: one line with an ellipsis, never wrapped, never outside the screen.
    info: {
      title: n === 2 ? '万古神帝 第2集：张若尘重回八百年前，昆仑界风云再起，少年天帝之路从此开始' : `万古神帝 第${n}集`,
      subtitle: '万古神帝 · 飞天鱼',
      ...(artUrl ? { art: { contentDescription: '万古神帝 封面', source: { url: artUrl } } } : {}),
    },
    ...(pay ? { pay: true } : {}),
  });
  const say = (text: string, more: Partial<SkillResponseBody> = {}): SkillResponseBody => ({ outputSpeech: { type: 'PlainText', text }, ...more });
  const template = (token: string, t: unknown): SkillDirective => ({ type: 'Display.RenderTemplate', token, template: t }) as SkillDirective;
  const answers: Record<string, () => unknown> = {
    news: () =>
      say('为你播报今日要闻', {
        directives: [
          template('news', {
            type: 'NewsBodyTemplate',
            textContent: {
              title: '叮当音箱上线技能内购买',
              description: '说一句“购买”，扫码就能买下一集：有声书、课程和会员都可以在音箱上直接购买，支付完成后马上继续播放。',
            },
            backgroundImage: { contentDescription: '新闻配图', source: { url: art('news') } },
          }),
        ],
      }),
    news1: () =>
      say('一条快讯', {
        directives: [
          template('news1', {
            type: 'NewsBodyTemplate1',
            textContent: { title: '快讯：今晚有流星雨', description: '晚上十点以后，在城市以外的开阔地带最容易看到，记得带上外套。' },
            backgroundImage: { contentDescription: '流星雨夜空（图片加载失败时显示这段说明）', source: { url: missing('meteor') } },
          }),
        ],
      }),
    text: () =>
      say('好的，讲一个小故事', {
        directives: [
          template('story', {
            type: 'TextBodyTemplate',
            textContent: {
              title: '小马过河',
              description:
                '小马驮着半口袋麦子去磨坊，一条小河挡住了去路。松鼠说河水很深，老牛说河水很浅。小马不知道该听谁的，回家问妈妈。妈妈说：“孩子，光听别人说，自己不动脑筋，不去试试，是不行的。”小马自己下河试了试，原来河水既不像老牛说的那样浅，也不像松鼠说的那样深。',
            },
          }),
        ],
      }),
    list: () =>
      say('为你推荐这几本', {
        directives: [
          template('shelf', {
            type: 'HorizontialListTemplate',
            listItems: [
              {
                token: 'wgsd',
                textContent: { title: '万古神帝', description: '飞天鱼 著 · 连载中' },
                image: { contentDescription: '万古神帝', source: { url: art('wgsd') } },
              },
              {
                token: 'dpcq',
                textContent: { title: '斗破苍穹', description: '天蚕土豆 著 · 已完结' },
                image: { contentDescription: '斗破苍穹', source: { url: art('dpcq') } },
              },
              {
                token: 'xyj',
                textContent: { title: '西游记（少儿版）', description: '吴承恩 原著' },
                image: { contentDescription: '西游记 封面', source: { url: missing('xyj') } },
              },
              { token: 'sgyy', textContent: { title: '三国演义', description: '罗贯中 著 · 评书' } },
              {
                token: 'hlm',
                textContent: { title: '红楼梦', description: '曹雪芹 著' },
                image: { contentDescription: '红楼梦', source: { url: art('hlm') } },
              },
            ],
          }),
        ],
      }),
    play: () =>
      say('开始播放万古神帝第1集', {
        directives: [
          { type: 'AudioPlayer.Play', playlist: [ep(1, false, art('wgsd')), ep(2, false, missing('wgsd2')), ep(3, true, art('wgsd')), ep(4, true)] },
        ],
      }),
    link: () => say('查看书架需要先关联账号，请在叮当APP里完成关联', { card: { type: 'LinkAccount' } }),
    ask: () => say('你想听哪一本？', { shouldEndSession: false }),
    // A field DingDang does not define: the platform refuses the answer (200503).
    bad: () => ({ version: '1.0', response: { ...say('这句不会被说出来'), speech: 'x' } }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://skill');
    if (req.method === 'GET' && url.pathname.startsWith('/art/')) {
      const name = url.pathname.slice(5).replace(/\.svg$/, '');
      const colors: Record<string, [string, string]> = {
        news: ['#0f4c81', '#6ea8d8'],
        wgsd: ['#7a1f1f', '#e0a040'],
        dpcq: ['#1f5a3a', '#8fd18f'],
        hlm: ['#6a2a5a', '#f0a0c8'],
      };
      const [a, b] = colors[name] ?? ['#333', '#999'];
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      return void res.end(svg(name, a, b));
    }
    if (req.method === 'GET' && url.pathname.startsWith('/audio/')) {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      return void res.end(wav(1.2));
    }
    if (req.method === 'POST' && url.pathname === '/skill') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const env = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SkillRequestEnvelope;
        requests.push(env);
        const r = env.request;
        let body: unknown;
        if (r.type === 'IntentRequest') {
          const a = answers[r.intent.name]?.();
          body = a && typeof a === 'object' && 'version' in a ? a : { version: '1.0', response: a ?? say('我不会这个') };
        } else if (r.type === 'SessionEndedRequest') body = { version: '1.0', response: say('再见', { shouldEndSession: true }) };
        // The player reached a paid item: this skill sells nothing, it says so (the player stops there, showing why).
        else if (r.type === 'Display.ElementSelected') body = { version: '1.0', response: say(`${r.token.replace('wgsd', '第')}集需要在叮当APP里购买`) };
        else body = { version: '1.0', response: say('好的') };
        res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify(body));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  return new Promise<{ url: string; requests: SkillRequestEnvelope[]; close(): Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url: base,
        requests,
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    }),
  );
}

/** The speaker page on `localhost` (another origin than the sandbox on 127.0.0.1), saying straight to the sandbox. */
async function servePage(sandbox: Sandbox) {
  const js = await speakerBundle();
  const html = speakerPage({
    platformUrl: sandbox.url,
    tskPublicKey: sandbox.tskPublicKey,
    deviceId: 'tpl-speaker',
    ...(sandbox.deviceToken !== undefined ? { deviceToken: sandbox.deviceToken } : {}),
    sayUrl: '/say',
    example: '看新闻',
  });
  const server = createServer((req, res) => {
    if (req.url === '/say' && req.method === 'POST') {
      // The sandbox's /sandbox/v1/say with this run's control token; its reply passed on byte for byte.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fetch(`${sandbox.url}/sandbox/v1/say`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
          body: Buffer.concat(chunks),
          signal: AbortSignal.timeout(15_000),
        }).then(
          async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await r.arrayBuffer()));
          },
          () => res.writeHead(502).end(),
        );
      });
      return;
    }
    if (req.url === '/speaker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      return void res.end(js);
    }
    if (req.url === '/favicon.ico') return void res.writeHead(204).end();
    // This page is about the screen: no statechart panel here (/statechart.json, /mermaid.js answer 404).
    if (req.url !== '/') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test(
  'the speaker screen shows each template, the player with paid items, account linking, the open mic and a refused answer',
  { timeout: 120_000 },
  async (t) => {
    if (!hasChromium()) return t.skip(SKIP);
    rmSync(artifacts, { recursive: true, force: true });
    mkdirSync(artifacts, { recursive: true });
    const skill = await startTinySkill();
    const partner = generateTskKeyPair();
    const config = parseSandboxConfig({
      skills: [
        {
          skillId: 'tpl-test',
          name: '模板测试',
          skillEndpoint: `${skill.url}/skill`,
          skillSecret: 'tiny-skill-secret',
          createOrderUrl: `${skill.url}/create-order`,
          deliverUrl: `${skill.url}/deliver`,
          skillPublicKey: partner.publicKeyPem,
          accountLinking: true,
          utterances: [
            { intent: 'news', samples: ['看新闻'] },
            { intent: 'news1', samples: ['看快讯'] },
            { intent: 'text', samples: ['讲个故事'] },
            { intent: 'list', samples: ['推荐几本书'] },
            { intent: 'play', samples: ['播放万古神帝'] },
            { intent: 'link', samples: ['我的书架'] },
            { intent: 'ask', samples: ['问我'] },
            { intent: 'bad', samples: ['坏回答'] },
          ],
        },
      ],
    });
    const sandbox = await Sandbox.start({ config, port: 0 });
    const web = await servePage(sandbox);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(web.url, { timeout: 30_000 });
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
      const screen = page.locator('#screen');
      const speech = page.locator('#speech-text');
      let n = 0;
      const shot = async (name: string) => {
        // The device alone (what a speaker user sees) and the whole page once at the start.
        const file = join(artifacts, `${String(++n).padStart(2, '0')}-${name}.png`);
        await page.locator('.device').screenshot({ path: file });
        assert.ok(existsSync(file));
        assert.deepEqual(await page.evaluate(LAYOUT_CHECK), [], `layout of ${name}`);
      };
      const say = async (text: string) => {
        await page.fill('#utterance', text);
        await page.click('#say-button');
      };
      const imagesLoaded = () =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLImageElement>('#screen img')).map((i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 })),
        );
      const placeholders = () => page.evaluate(() => Array.from(document.querySelectorAll('#screen .ph')).map((p) => p.textContent));
      const settle = () =>
        page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('#screen img')).every((i) => i.complete), undefined, {
          timeout: 10_000,
        });

      await page.screenshot({ path: join(artifacts, '00-page.png') });

      // NewsBodyTemplate: title, ~3 lines, the background image from the skill's server.
      await say('看新闻');
      await page.waitForSelector('#screen[data-kind="template"][data-state="NewsBodyTemplate"]', { timeout: 15_000 });
      await settle();
      assert.equal(await page.locator('#tpl-title').innerText(), '叮当音箱上线技能内购买');
      assert.match(await page.locator('#tpl-description').innerText(), /扫码就能买下一集/);
      assert.deepEqual(
        (await imagesLoaded()).map((i) => i.ok),
        [true],
      );
      assert.equal(await speech.innerText(), '为你播报今日要闻');
      const lines = await page.evaluate(() => {
        const d = document.getElementById('tpl-description')!;
        return Math.round(d.getBoundingClientRect().height / parseFloat(getComputedStyle(d).lineHeight));
      });
      assert.ok(lines >= 1 && lines <= 3, `NewsBodyTemplate shows at most 3 lines (${lines})`);
      // The touch target is drawn in the screen (its bottom bar), so the layout check covers it.
      assert.equal(await page.locator('#screen #actions [data-touch="close"]').count(), 1);
      await shot('news-body');

      // NewsBodyTemplate1: 2 lines; the image cannot be loaded → its contentDescription.
      await say('看快讯');
      await page.waitForSelector('#screen[data-state="NewsBodyTemplate1"] .ph', { timeout: 15_000 });
      assert.deepEqual(await placeholders(), ['流星雨夜空（图片加载失败时显示这段说明）']);
      const lines1 = await page.evaluate(() => {
        const d = document.getElementById('tpl-description')!;
        return Math.round(d.getBoundingClientRect().height / parseFloat(getComputedStyle(d).lineHeight));
      });
      assert.ok(lines1 <= 2, `NewsBodyTemplate1 shows at most 2 lines (${lines1})`);
      await shot('news-body-1-placeholder');

      // TextBodyTemplate: title + description.
      await say('讲个故事');
      await page.waitForSelector('#screen[data-state="TextBodyTemplate"]', { timeout: 15_000 });
      assert.equal(await page.locator('#tpl-title').innerText(), '小马过河');
      assert.match(await page.locator('#tpl-description').innerText(), /^小马驮着半口袋麦子/);
      await shot('text-body');

      // HorizontialListTemplate: cards with image + text; a broken and a missing image show placeholders.
      await say('推荐几本书');
      await page.waitForSelector('#screen[data-state="HorizontialListTemplate"] .cards li', { timeout: 15_000 });
      await settle();
      assert.equal(await page.locator('#screen .cards li').count(), 5);
      assert.deepEqual(await page.locator('#screen .cards .ct').allInnerTexts(), ['万古神帝', '斗破苍穹', '西游记（少儿版）', '三国演义', '红楼梦']);
      assert.deepEqual(
        (await imagesLoaded()).map((i) => i.ok),
        [true, true, true],
      );
      assert.deepEqual(await placeholders(), ['西游记 封面', '三国演义']);
      await shot('horizontal-list');

      // The player: first item plays; the list shows the paid items locked.
      await say('播放万古神帝');
      await page.waitForSelector('#now-playing', { timeout: 15_000 });
      assert.equal(await screen.getAttribute('data-state'), 'playing');
      assert.equal(await page.locator('#now-playing-title').innerText(), '万古神帝 第1集');
      assert.equal(await page.locator('#now-playing-subtitle').innerText(), '万古神帝 · 飞天鱼');
      assert.equal(await page.locator('#now-playing-position').innerText(), '第 1/4 首');
      assert.equal(await page.locator('#playlist li.locked').count(), 2);
      assert.deepEqual(await page.locator('#playlist li.locked .lock').allInnerTexts(), ['需购买', '需购买']);
      assert.match((await page.getAttribute('#audio', 'src')) ?? '', /\/audio\/wgsd1\.wav$/);
      await settle();
      assert.deepEqual(
        (await imagesLoaded()).map((i) => i.ok),
        [true],
        'the art',
      );
      assert.equal(await speech.innerText(), '开始播放万古神帝第1集');
      await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.3, undefined, { timeout: 10_000 });
      assert.equal(await page.locator('#now-playing [data-touch="close"]').count(), 1, 'the player has its 关闭 in its controls row');
      await shot('player');

      // End of item → the next one (its art cannot load: a placeholder) → the paid one stops the player.
      await page.waitForFunction(() => document.getElementById('now-playing-position')?.textContent === '第 2/4 首', undefined, { timeout: 10_000 });
      assert.match((await page.getAttribute('#audio', 'src')) ?? '', /\/audio\/wgsd2\.wav$/);
      // The platform sent the skill Display.ElementSelected with the item's token; the skill did not offer it.
      await page.waitForSelector('#screen[data-state="stopped"]', { timeout: 10_000 });
      assert.equal(await page.locator('#now-playing-title').innerText(), '万古神帝 第3集');
      assert.equal(await page.locator('#player-notice').innerText(), '第3集需要在叮当APP里购买');
      assert.equal(await speech.innerText(), '第3集需要在叮当APP里购买');
      const selected = skill.requests.filter((e) => e.request.type === 'Display.ElementSelected');
      assert.deepEqual(
        selected.map((e) => (e.request as { token: string }).token),
        ['wgsd3'],
      );
      assert.equal(await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).paused), true, 'nothing plays');
      await shot('player-locked');

      // Previous (touch) plays item 2 again; tapping a locked item in the list stops there.
      await page.click('#prev');
      await page.waitForSelector('#screen[data-state="playing"]', { timeout: 5000 });
      assert.equal(await page.locator('#now-playing-position').innerText(), '第 2/4 首');
      assert.equal(await page.getAttribute('#now-playing-title', 'title'), '万古神帝 第2集：张若尘重回八百年前，昆仑界风云再起，少年天帝之路从此开始');
      await shot('player-long-title');
      await page.click('#playlist li[data-token="wgsd4"]');
      await page.waitForFunction(() => document.getElementById('player-notice')?.textContent === '第4集需要在叮当APP里购买', undefined, { timeout: 5000 });
      assert.equal(await screen.getAttribute('data-state'), 'stopped');
      assert.equal(await page.locator('#now-playing-title').innerText(), '万古神帝 第4集');
      assert.equal(await page.locator('#next').isDisabled(), true, 'nothing after the last item');
      assert.equal(await page.locator('#now-playing .no-art').count(), 1, 'no art: a neutral placeholder, not the subtitle');
      await shot('player-locked-no-art');

      // A LinkAccount card.
      await say('我的书架');
      await page.waitForSelector('#link-account', { timeout: 15_000 });
      assert.match(await page.locator('#link-account').innerText(), /请在叮当APP中完成账号关联/);
      assert.equal(await speech.innerText(), '查看书架需要先关联账号，请在叮当APP里完成关联');
      await shot('link-account');

      // shouldEndSession false: the mic opens ("请说…"); the next utterance closes it.
      await say('问我');
      await page.locator('#mic').waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await page.locator('#mic').innerText(), '请说…');
      assert.equal(await page.locator('#reply-text').innerText(), '你想听哪一本？', 'a speech-only answer replaces the older card');
      assert.equal(await speech.innerText(), '你想听哪一本？');
      await shot('mic-open');

      // An answer the platform refuses: its fallback line, and the return code, small and dim.
      await say('坏回答');
      await page.locator('#ret-code').waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await page.locator('#ret-code').innerText(), '平台返回码 200503');
      assert.equal(await page.locator('#mic').isVisible(), false);
      assert.doesNotMatch(await speech.innerText(), /不会被说出来/);
      assert.match(await speech.innerText(), /技能暂时无法回答/);
      assert.match(await page.locator('#reply-text').innerText(), /技能暂时无法回答/);
      await shot('refused-answer');

      // The skill really got DingDang-format requests for every utterance.
      const intents = skill.requests.filter((r) => r.request.type === 'IntentRequest').map((r) => (r.request as { intent: { name: string } }).intent.name);
      for (const name of ['news', 'news1', 'text', 'list', 'play', 'link', 'ask', 'bad']) assert.ok(intents.includes(name), `${name} in ${intents}`);
      assert.ok(skill.requests.every((r) => r.context.System.device.deviceId === 'tpl-speaker'));
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await browser.close();
      await web.close();
      await sandbox.close();
      await skill.close();
    }
  },
);
