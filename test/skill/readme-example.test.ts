/**
 * The README's skill (its "A skill on the kit" block), served by the kit's
 * node:http adapter and called by the sandbox exactly as the platform would:
 * launch, a typed slot, a free episode's playlist with the next one, a paid
 * episode → Charge (a purchase opens), the player reaching a paid item.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateTskKeyPair, publicKeyToBase64 } from '../../src/protocol/index.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { listen, type ListeningSkill, type Skill } from '../../src/skill/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let served: ListeningSkill;
let sandbox: Sandbox;

before(async () => {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  const section = md.slice(md.indexOf('## A skill on the kit'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the README has the skill block');
  assert.ok(code.split('\n').length <= 32, `the README skill stays about 30 lines (${code.split('\n').length})`);
  dir = mkdtempSync(join(tmpdir(), 'readme-skill-'));
  const file = join(dir, 'skill.mts'); // an ES module, like the user's
  writeFileSync(file, code.replace("'dingdang-pay/skill'", `'${pathToFileURL(join(root, 'src/skill/index.ts')).href}'`));
  delete process.env.PORT;
  process.env.SKILL_SECRET = 'readme-secret';
  const { skill } = (await import(pathToFileURL(file).href)) as { skill: Skill };
  served = await listen(skill, { port: 0, path: '/skill' });
  const keys = generateTskKeyPair();
  const config = parseSandboxConfig({
    skills: [
      {
        skillId: 'audiobook',
        skillEndpoint: served.url, // the endpoint, path included
        skillSecret: 'readme-secret',
        createOrderUrl: 'http://127.0.0.1:9/create',
        deliverUrl: 'http://127.0.0.1:9/deliver',
        skillPublicKey: publicKeyToBase64(keys.publicKey),
        invocationName: '有声书',
        utterances: [{ intent: 'play', samples: ['播放第{index}集', '我要听第{index}集', '播放'], slots: { index: 'number' } }],
      },
    ],
  });
  sandbox = await Sandbox.start({ config, processingMs: 0 });
});

after(async () => {
  await sandbox?.close();
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function api(path: string, body: unknown) {
  const r = await fetch(`${sandbox.url}/sandbox/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await r.json();
  assert.equal(r.status, 200, JSON.stringify(json));
  assert.equal(json.error, undefined, `the sandbox accepted the answer: ${JSON.stringify(json.error)}`);
  return json;
}
const say = (text: string, deviceId = 'readme-speaker') => api('/say', { text, deviceId, mode: 'screen' });

test('the README skill works with the sandbox as the platform calls it', async () => {
  const hello = await say('打开有声书');
  assert.equal(hello.requestType, 'LaunchRequest');
  assert.equal(hello.speech, '欢迎收听，想听第几集？');
  assert.equal(hello.shouldEndSession, false);

  const asked = await say('播放');
  assert.deepEqual(asked.answer.directives, [{ type: 'Dialog.ElicitSlot', slotToElicit: 'index' }]);
  const free = await say('第二集');
  assert.equal(free.requestType, 'IntentRequest');
  assert.equal(free.speech, '开始播放第2集');
  assert.deepEqual(
    free.answer.directives[0].playlist.map((i: any) => [i.stream.token, i.pay === true]),
    [
      ['ep2', false],
      ['ep3', false],
    ],
  );

  const near = await say('播放第三集', 'readme-2');
  assert.deepEqual(
    near.answer.directives[0].playlist.map((i: any) => [i.stream.token, i.pay === true, i.stream.url]),
    [
      ['ep3', false, 'https://cdn.example.com/ep3.mp3'],
      ['ep4', true, ''],
    ],
  );

  const paid = await say('我要听第三十五集', 'readme-3');
  assert.equal(paid.speech, '这是付费内容，需要购买才能播放哦');
  assert.equal(typeof paid.purchaseId, 'string', 'the Charge opened a purchase');

  const reached = await api('/select', { deviceId: 'readme-2', token: 'ep4', mode: 'screen' });
  assert.equal(reached.requestType, 'Display.ElementSelected');
  assert.equal(reached.answer.directives[0].payload.chargeInfo.items[0].itemId, 'ep4');
});
