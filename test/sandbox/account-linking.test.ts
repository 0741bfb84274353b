/**
 * Simulated account linking (SKILL-PROTOCOL §6; the flow is our own
 * extension, docs/sandbox.md "Account linking"): a skill with
 * `accountLinking: true` answers `card: { type: "LinkAccount" }` → the /say
 * reply names the sandbox's linking page; linking (the page's button or
 * `POST /link`) makes every later request of that user to that skill carry
 * `context.System.user.accessToken` — minted by the sandbox, or by the
 * partner's `accountLinkingUrl`; linking again rotates it; unlinking removes
 * it. The skill here is raw node:http that records what it receives.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { SandboxConfigError } from '../../src/sandbox/errors.js';
import { api, control, platformKeys, pressPage, SKILL_PUBLIC, trust } from '../support/sandbox.js';

interface Seen {
  userId: string;
  accessToken?: string;
  type: string;
}

let server: Server;
let skillUrl: string;
const seen: Seen[] = [];
let minted = 0;
let sandbox: Sandbox;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/token-broken') {
        res.writeHead(500);
        return res.end('down');
      }
      if (req.url === '/token') {
        const { userId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { userId: string };
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ accessToken: `partner-${userId}-${++minted}` }));
      }
      const env = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        request: { type: string };
        context: { System: { user: { userId: string; accessToken?: string } } };
      };
      const user = env.context.System.user;
      seen.push({ type: env.request.type, ...user });
      // Not linked → ask for linking; linked → greet.
      const response =
        user.accessToken === undefined
          ? { outputSpeech: { type: 'PlainText', text: '请先在叮当APP中关联账号' }, card: { type: 'LinkAccount' } }
          : { outputSpeech: { type: 'PlainText', text: '欢迎回来' } };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: '1.0', response }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  skillUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const common = {
    skillSecret: 's3cret',
    createOrderUrl: 'http://127.0.0.1:9/create',
    deliverUrl: 'http://127.0.0.1:9/deliver',
    skillPublicKey: SKILL_PUBLIC,
    utterances: [{ intent: 'hello', samples: ['你好'] }],
  };
  const config = parseSandboxConfig({
    skills: [
      { ...common, skillId: 'linked', name: '会员书城', skillEndpoint: `${skillUrl}/skill`, accountLinking: true, invocationName: '会员书城' },
      {
        ...common,
        skillId: 'partner-linked',
        skillEndpoint: `${skillUrl}/skill`,
        accountLinking: true,
        accountLinkingUrl: `${skillUrl}/token`,
        invocationName: '伙伴书城',
      },
      {
        ...common,
        skillId: 'broken-partner',
        skillEndpoint: `${skillUrl}/skill`,
        accountLinking: true,
        accountLinkingUrl: `${skillUrl}/token-broken`,
      },
      { ...common, skillId: 'plain', skillEndpoint: `${skillUrl}/skill`, invocationName: '普通书城' },
    ],
    platformPrivateKey: platformKeys().privateKeyPem,
  });
  assert.deepEqual(config.warnings, []);
  sandbox = trust(await Sandbox.start({ config, processingMs: 0 }));
  base = sandbox.url;
});

after(async () => {
  await sandbox.close();
  await new Promise<void>((r) => server.close(() => r()));
});

test('a LinkAccount card → the linking page; the page links; later requests carry accessToken; unlink removes it', async () => {
  const client = api(base);
  const first = await client.say({ text: '打开会员书城', userId: 'u-1', deviceId: 'link-dev-1' });
  assert.equal(first.error, undefined, JSON.stringify(first.error));
  assert.deepEqual(first.answer?.card, { type: 'LinkAccount' });
  assert.equal(first.linkUrl, `${base}/link/linked?userId=u-1`);
  assert.equal(seen.at(-1)!.accessToken, undefined);

  // The phone page: 关联账号 with the skill's name and a button.
  const page = await fetch(first.linkUrl, { signal: AbortSignal.timeout(5000) });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /关联账号/);
  assert.match(html, /会员书城/);
  assert.match(html, /id="link"/);
  assert.match(html, /未关联/);

  // Press the button.
  const pressed = await pressPage(first.linkUrl, 'link');
  assert.equal(pressed.status, 303);
  const after1 = await (await fetch(new URL(pressed.headers.get('location')!, base), { signal: AbortSignal.timeout(5000) })).text();
  assert.match(after1, /已关联/);
  const [link] = (await client.links()).filter((l) => l.skillId === 'linked' && l.userId === 'u-1');
  assert.ok(link, 'the link is listed');
  assert.equal(link.source, 'sandbox');

  const second = await client.say({ text: '打开会员书城', userId: 'u-1', deviceId: 'link-dev-1' });
  assert.equal(second.speech, '欢迎回来');
  assert.equal(second.linkUrl, undefined);
  assert.equal(seen.at(-1)!.accessToken, link.accessToken);

  // Another user of the same skill is not linked.
  await client.say({ text: '打开会员书城', userId: 'u-2', deviceId: 'link-dev-2' });
  assert.equal(seen.at(-1)!.userId, 'u-2');
  assert.equal(seen.at(-1)!.accessToken, undefined);

  // Link again from the control API: a fresh token, carried from now on.
  const again = await client.link({ skillId: 'linked', userId: 'u-1' });
  assert.notEqual(again.accessToken, link.accessToken);
  await client.say({ text: '打开会员书城', userId: 'u-1', deviceId: 'link-dev-1' });
  assert.equal(seen.at(-1)!.accessToken, again.accessToken);

  const un = await client.unlink({ skillId: 'linked', userId: 'u-1' });
  assert.deepEqual(un, { skillId: 'linked', userId: 'u-1', unlinked: true });
  const third = await client.say({ text: '打开会员书城', userId: 'u-1', deviceId: 'link-dev-1' });
  assert.equal(seen.at(-1)!.accessToken, undefined);
  assert.ok(third.linkUrl);
  assert.equal((await client.unlink({ skillId: 'linked', userId: 'u-1' })).unlinked, false);
});

test('accountLinkingUrl: the partner mints the token (its failure is 502); the same user on another skill stays unlinked', async () => {
  const client = api(base);
  const l = await client.link({ skillId: 'partner-linked', userId: 'u-9' });
  assert.equal(l.source, 'partner');
  assert.match(l.accessToken, /^partner-u-9-\d+$/);
  const r = await client.say({ text: '打开伙伴书城', userId: 'u-9', deviceId: 'link-dev-9' });
  assert.equal(r.speech, '欢迎回来');
  assert.equal(seen.at(-1)!.accessToken, l.accessToken);
  await client.say({ text: '打开会员书城', userId: 'u-9', deviceId: 'link-dev-9' });
  assert.equal(seen.at(-1)!.accessToken, undefined);
  // The partner's endpoint fails: 502, nothing linked.
  const broken = await control(base, 'POST', '/link', { skillId: 'broken-partner', userId: 'u-9' });
  assert.equal(broken.status, 502);
  assert.equal(broken.json.error.code, 'ERR_REMOTE');
  assert.equal((await client.links()).filter((x) => x.skillId === 'broken-partner').length, 0);
  // An accessToken given with the turn wins over the link.
  await client.say({ text: '打开伙伴书城', userId: 'u-9', deviceId: 'link-dev-9', accessToken: 'explicit' });
  assert.equal(seen.at(-1)!.accessToken, 'explicit');
});

test('bad input: unknown skill 404, bad userId 400, a skill without account linking 409 and no page (its card is 200502); config: accountLinkingUrl needs accountLinking', async () => {
  assert.equal((await control(base, 'POST', '/link', { skillId: 'nope', userId: 'u' })).status, 404);
  assert.equal((await control(base, 'POST', '/link', { skillId: 'linked', userId: 5 })).status, 400);
  const plain = await control(base, 'POST', '/link', { skillId: 'plain', userId: 'u' });
  assert.equal(plain.status, 409);
  assert.equal(plain.json.error.reason, 'BAD_STATE');
  for (const id of ['nope', 'plain']) {
    const page = await fetch(`${base}/link/${id}?userId=u`, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 404);
    await page.text();
  }
  // The card from a skill without account linking is refused (200502), no linkUrl.
  const r = await api(base).say({ text: '打开普通书城', userId: 'u-p', deviceId: 'link-dev-p' });
  assert.equal(r.error?.code, 200502);
  assert.equal(r.linkUrl, undefined);
  assert.throws(
    () =>
      parseSandboxConfig({
        skills: [
          {
            skillId: 'x',
            skillEndpoint: 'http://127.0.0.1:9/s',
            skillSecret: 's',
            createOrderUrl: 'http://127.0.0.1:9/c',
            deliverUrl: 'http://127.0.0.1:9/d',
            skillPublicKey: SKILL_PUBLIC,
            accountLinkingUrl: 'http://127.0.0.1:9/t',
          },
        ],
      }),
    (e: unknown) => e instanceof SandboxConfigError && /accountLinkingUrl/.test(e.message),
  );
});
