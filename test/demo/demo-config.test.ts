/**
 * `dingdang-pay demo --config FILE --mode screenless` through the real bin
 * with a skill written only from SKILL-PROTOCOL.md (test/support/raw-skill.ts,
 * raw node:http, none of our code): the demo speaker talks to it unchanged —
 * launch by its invocation name, a typed slot, an elicited slot across turns,
 * 退出.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRawSkill } from '../support/raw-skill.js';
import { fixturePath } from '../support/helpers.js';

const root = new URL('../..', import.meta.url).pathname;

test('demo --config: a skill written only from SKILL-PROTOCOL.md works with the demo speaker', { timeout: 60_000 }, async () => {
  const skill = await startRawSkill();
  const dir = mkdtempSync(join(tmpdir(), 'ddp-demo-config-'));
  const config = join(dir, 'sandbox.json');
  writeFileSync(
    config,
    JSON.stringify({
      skills: [
        {
          skillId: 'stories',
          name: '睡前故事',
          skillEndpoint: skill.url,
          skillSecret: skill.secret,
          createOrderUrl: 'http://127.0.0.1:9/create',
          deliverUrl: 'http://127.0.0.1:9/deliver',
          skillPublicKey: fixturePath('tsk-test-public.pem'),
          invocationName: '睡前故事',
          utterances: [{ intent: 'tell', samples: ['讲第{number}个故事', '讲个故事'], slots: { number: 'number' } }],
        },
      ],
    }),
  );
  const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), 'demo', '--mode', 'screenless', '--config', config], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', DINGDANG_NO_SPEECH: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      if (re.test(out)) return;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} on stdout\nstdout: ${out}\nstderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await waitFor(/screenless speaker \(this terminal\)/);
    child.stdin.write('打开睡前故事\n');
    await waitFor(/叮当：欢迎来到睡前故事，你想听第几个故事？/);
    child.stdin.write('讲第三十五个故事\n');
    await waitFor(/叮当：从前有座山，这是第35个故事。/);
    child.stdin.write('讲个故事\n');
    await waitFor(/叮当：[^\n]*第几个/);
    child.stdin.write('第七个\n');
    await waitFor(/这是第7个故事/);
    child.stdin.write('退出\n');
    await waitFor(/叮当：[^\n]*(再见|晚安)/);
    child.stdin.end();
    assert.equal(await exited, 0, err);
    assert.deepEqual(skill.violations, [], 'every request followed SKILL-PROTOCOL.md');
    const types = skill.received.map((r) => r.request.type);
    assert.deepEqual(types.slice(0, 1), ['LaunchRequest']);
    assert.ok(types.includes('SessionEndedRequest'), types.join(','));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await skill.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
