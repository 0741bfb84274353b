// Runs the complete skill of docs/skill.md (its first ```ts block) against the kit's source.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkSkillResponse } from '../../src/protocol/index.js';
import type { Skill } from '../../src/skill/index.js';
import { chargeResponse, elementSelected, intent, launch, slot, textValue } from '../support/skill.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('docs/skill.md: the complete skill', () => {
  let dir: string;
  let skill: Skill;
  before(async () => {
    const md = readFileSync(join(root, 'docs/skill.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(md)?.[1];
    assert.ok(code, 'docs/skill.md has a ts block');
    assert.ok(code.split('\n').length <= 45, 'the example stays short');
    dir = mkdtempSync(join(tmpdir(), 'skill-doc-'));
    const file = join(dir, 'example.ts');
    writeFileSync(file, code.replace("'dingdang-pay/skill'", `'${pathToFileURL(join(root, 'src/skill/index.ts')).href}'`));
    skill = ((await import(pathToFileURL(file).href)) as { skill: Skill }).skill;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const app = { applicationId: 'audiobook' };
  const check = (answer: unknown, requestType: Parameters<typeof checkSkillResponse>[1]['requestType']) => {
    const r = checkSkillResponse(answer, { requestType });
    assert.ok(r.ok, r.ok ? '' : r.reason);
  };

  it('welcome, play a free episode (the next one free too), a paid one → Charge, payment done → play', async () => {
    const welcome = await skill.invoke(launch(app));
    assert.deepEqual([welcome.response.outputSpeech.text, welcome.response.shouldEndSession], ['欢迎收听有声书，想听第几集？', false]);

    const first = await skill.invoke(intent('play', { index: slot('index', textValue('1', '第一集')) }, app));
    check(first, 'IntentRequest');
    const list1 = (first.response.directives?.[0] as { playlist: Array<{ pay?: boolean }> }).playlist;
    assert.deepEqual(
      list1.map((i) => i.pay ?? false),
      [false, false],
    );

    const second = await skill.invoke(intent('play', { index: slot('index', textValue('二', '第二集')) }, app));
    const list2 = (second.response.directives?.[0] as { playlist: Array<{ pay?: boolean; stream: { url?: string } }> }).playlist;
    assert.deepEqual(
      list2.map((i) => [i.pay ?? false, i.stream.url === '']),
      [
        [false, false],
        [true, true],
      ],
      'episode 3 is offered locked',
    );

    const paid = await skill.invoke(intent('play', { index: slot('index', textValue('第三十五集')) }, app));
    check(paid, 'IntentRequest');
    assert.equal(paid.response.outputSpeech.text, '这是付费内容，需要购买才能播放哦');
    const charge = paid.response.directives?.[0] as { type: string; payload: { chargeInfo: { items: Array<{ itemId: string; totalFee: number }> } } };
    assert.deepEqual(
      [charge.type, charge.payload.chargeInfo.items[0]],
      ['Connections.SendRequest', { itemId: 'ep35', itemName: '第35集', price: 300, count: 1, totalFee: 300 }],
    );

    const done = await skill.invoke(chargeResponse(app));
    check(done, 'Connections.Response');
    assert.equal(done.response.outputSpeech.text, '购买成功，开始播放第35集');
    assert.equal(
      (done.response.directives?.[0] as { playlist: Array<{ stream: { url: string } }> }).playlist[0]!.stream.url,
      'https://cdn.example.com/ep35.mp3',
    );
  });

  it('no episode named → Dialog.ElicitSlot; the player reaching a paid item → Charge; errors are spoken', async () => {
    const ask = await skill.invoke(intent('play', {}, app));
    assert.deepEqual(ask.response.directives, [{ type: 'Dialog.ElicitSlot', slotToElicit: 'index' }]);
    const selected = await skill.invoke(elementSelected('ep7', app));
    check(selected, 'Display.ElementSelected');
    assert.equal(selected.response.directives?.[0]?.type, 'Connections.SendRequest');
    const unknown = await skill.invoke(intent('dance', {}, app));
    assert.equal(unknown.response.outputSpeech.text, '抱歉，出了点问题，请稍后再试');
  });
});
