/**
 * `dingdang-pay simulate` through the real bin: every shipped script in
 * src/demo/scripts/ passes (exit 0, a JSON-lines transcript ending in "done"),
 * a script whose expectation cannot hold fails with exit 1 naming the step,
 * and a malformed script is a usage error (exit 2) before anything starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const scriptsDir = join(root, 'src/demo/scripts');
const scripts = readdirSync(scriptsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, any>>;
}

function simulate(args: string[], timeoutMs = 45_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), 'simulate', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simulate ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, any>);
      resolve({ code, stdout, stderr, events });
    });
  });
}

/** Run `fn` over `items`, at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

test('the shipped scripts cover every seed flow and outcome', () => {
  for (const name of [
    'screen-success.json',
    'screenless-success.json',
    'pay-fail-retry.json',
    'cancel.json',
    'phone-cancel.json',
    'app-cancel-screenless.json',
    'expiry-refresh.json',
    'already-owned.json',
    'socket-drop.json',
    'duplicate-delivery.json',
    'listen-buy-next.json',
    'listen-buy-next-screenless.json',
    'listen-cancel-next.json',
    'listen-cancel-next-screenless.json',
    'phone-cancel.json',
    'app-cancel-screenless.json',
    'ask-like-people-do.json',
    'ask-like-people-do-screenless.json',
    'app-cancel-after-order-screenless.json',
  ])
    assert.ok(scripts.includes(name), `src/demo/scripts/${name} is missing`);
});

test('every shipped script passes through the real bin (exit 0, transcript ends "done")', { timeout: 240_000 }, async () => {
  const runs = await pool(scripts, 4, (s) => simulate(['--script', join(scriptsDir, s)]));
  runs.forEach((run, i) => {
    const name = scripts[i]!;
    assert.equal(
      run.code,
      0,
      `${name} exit ${run.code}\n${run.stderr}\n${run.events
        .filter((e) => e.type === 'fail')
        .map((e) => JSON.stringify(e))
        .join('\n')}`,
    );
    const script = JSON.parse(readFileSync(join(scriptsDir, name), 'utf8'));
    const last = run.events.at(-1)!;
    assert.equal(last.type, 'done', `${name}: last event ${JSON.stringify(last)}`);
    assert.equal(run.events[0]!.type, 'start');
    // Every step was run, and every expectation reported as held.
    const steps = run.events.filter((e) => e.type === 'step');
    assert.equal(steps.length, script.steps.length, `${name}: steps run`);
    const expects = script.steps.filter((s: object) => Object.keys(s).some((k) => k.startsWith('expect'))).length;
    assert.equal(run.events.filter((e) => e.type === 'expect' && e.ok === true).length, expects, `${name}: expectations held`);
    // Times are monotonic.
    const times = run.events.map((e) => e.t as number);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      `${name}: transcript in time order`,
    );
    assert.match(run.stderr, /every expectation held/);
  });
  // Semantics visible in the transcripts, beyond "exit 0":
  const byName = (n: string) => runs[scripts.indexOf(n)]!;
  const dup = byName('duplicate-delivery.json');
  const delivered = dup.events.find((e) => e.type === 'delivered')!;
  assert.ok(delivered.notificationsSent >= 4, `duplicates were sent: ${JSON.stringify(delivered)}`);
  assert.equal(dup.events.filter((e) => e.type === 'deliver-hook').length, 1, 'delivered exactly once');
  const drop = byName('socket-drop.json');
  assert.ok(drop.events.filter((e) => e.type === 'connection' && e.state === 'closed').length >= 2, 'the socket was dropped twice');
  const owned = byName('already-owned.json');
  assert.equal(owned.events.find((e) => e.type === 'resume')?.alreadyOwned, true);
  assert.equal(owned.events.filter((e) => e.type === 'state' && e.state.startsWith('paying')).length, 0, 'no QR code when already owned');
  // The resume is the skill's real answer: a playlist, plus the album list on a screen speaker only.
  for (const [n, expected] of [
    ['screen-success.json', ['AudioPlayer.Play', 'Display.RenderTemplate']],
    ['screenless-success.json', ['AudioPlayer.Play']],
  ] as const) {
    const resume = byName(n).events.find((e) => e.type === 'resume')!;
    assert.deepEqual(resume.directives, expected, `${n}: resumed with ${expected.join(' + ')}`);
  }
  // Listening that sells the next episode: 1, 2, 3 played, 4 reached and asked about (not played), bought, then 4 plays, resumed.
  for (const n of ['listen-buy-next.json', 'listen-buy-next-screenless.json']) {
    const ev = byName(n).events;
    const plays = ev.filter((e) => e.type === 'play').map((e) => `${e.token}${e.resumed ? '+' : ''}`);
    assert.deepEqual(plays, ['wgsd001', 'wgsd002', 'wgsd003', 'wgsd004+'], `${n}: what played`);
    const locked = ev.filter((e) => e.type === 'locked');
    assert.deepEqual(
      locked.map((e) => e.token),
      ['wgsd004'],
      `${n}: the player reached episode 4 once`,
    );
    const playedAt = (tok: string) => ev.findIndex((e) => e.type === 'play' && e.token === tok);
    assert.ok(ev.indexOf(locked[0]!) < ev.findIndex((e) => e.type === 'purchase'), `${n}: the purchase followed the player reaching the item`);
    assert.ok(ev.findIndex((e) => e.type === 'resume') < playedAt('wgsd004'), `${n}: episode 4 played only after the payment`);
    assert.equal(ev.filter((e) => e.type === 'deliver-hook').length, 1);
  }
  for (const n of ['listen-cancel-next.json', 'listen-cancel-next-screenless.json']) {
    const ev = byName(n).events;
    const stopped = ev.find((e) => e.type === 'player-stopped')!;
    assert.equal(stopped.reason, 'cancelled', n);
    assert.equal(stopped.token, 'wgsd004', `${n}: stopped at the declined episode`);
    const after = ev.slice(ev.indexOf(stopped));
    const firstPlay = after.find((e) => e.type === 'play');
    assert.equal(firstPlay?.token, 'wgsd004', `${n}: nothing played before episode 4 was bought (no skipping ahead)`);
    assert.equal(firstPlay?.resumed, true);
  }
  // A cancel anywhere ends cancelled: said on the speaker, on the WeChat pay page, in the DingDang app before ordering.
  for (const n of ['cancel.json', 'phone-cancel.json', 'app-cancel-screenless.json', 'app-cancel-after-order-screenless.json']) {
    const ev = byName(n).events;
    assert.equal(ev.filter((e) => e.type === 'deliver-hook').length, 0, `${n}: nothing delivered after a cancel`);
    assert.equal(ev.find((e) => e.type === 'end')?.outcome, 'cancelled', n);
    assert.deepEqual(ev.at(-1)!.milestones, n.includes('screenless') ? ['app-prompt', 'cancelled'] : ['goods', 'qr', 'cancelled'], n);
    assert.ok(!ev.some((e) => e.type === 'state' && e.state === 'payFailed'), `${n}: no payment failure`);
    const speech = ev.filter((e) => e.type === 'speak').map((e) => e.text as string);
    assert.equal(speech.at(-1), '好的，已取消购买。', n);
    assert.ok(!speech.some((t) => /重试|支付没有成功/.test(t)), `${n}: no retry offer: ${speech.join(' | ')}`);
  }
  const appCancel = byName('app-cancel-screenless.json').events;
  assert.equal(appCancel.find((e) => e.type === 'paid-on-phone')?.tradeStatus, null, 'cancelled in the app before any order');
  // After ordering: the order was made (the speaker said so) before the cancel in the app.
  const afterOrder = byName('app-cancel-after-order-screenless.json').events;
  const orderedAt = afterOrder.findIndex((e) => e.type === 'state' && e.state === 'app.ordered');
  assert.ok(orderedAt > 0 && orderedAt < afterOrder.findIndex((e) => e.type === 'paid-on-phone'), 'ordered, then cancelled in the app');
});

test('a failing expectation exits 1 and names the step', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-simulate-'));
  try {
    const file = join(dir, 'wrong.json');
    writeFileSync(
      file,
      JSON.stringify({
        mode: 'screen',
        steps: [
          { say: '我要听万古神帝第35集' },
          { expect: 'goods' },
          { touch: 'buy' },
          { expect: 'qr' },
          { pay: 'success' },
          { expect: 'failed', timeoutMs: 2000 },
          { expect: 'resumed' },
        ],
      }),
    );
    const run = await simulate(['--script', file]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /FAILED at step 6 \{"expect":"failed","timeoutMs":2000\}/);
    assert.match(run.stderr, /waited 2000 ms for "failed"/);
    const fail = run.events.find((e) => e.type === 'fail')!;
    assert.equal(fail.step, 6);
    assert.equal(fail.expect, 'failed');
    assert.ok(fail.milestones.includes('paid'), 'the transcript shows what happened instead');
    // Step 7 never ran.
    assert.equal(run.events.filter((e) => e.type === 'step').length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed script is a usage error (exit 2) naming the step', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-simulate-'));
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ steps: [{ say: '我要听万古神帝第35集' }, { fault: 'meteor-strike' }] }));
    const run = await simulate(['--script', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /step 2: unknown fault "meteor-strike"/);
    assert.equal(run.stdout, '', 'nothing ran');
    const missing = await simulate(['--script', join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT|no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--config: the script runs against a sandbox configured with another skill backend (here the example, run on its own)', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-simulate-'));
  const { generateTskKeyPair } = await import('../../src/protocol/tsk-node.js');
  const { loadExampleSkill } = await import('../../src/demo/stack.js');
  const platform = generateTskKeyPair();
  const { startAudiobookSkill } = await loadExampleSkill();
  const skill = await startAudiobookSkill({ tskPublicKey: platform.publicKeyBase64, dbFile: join(dir, 'skill.sqlite'), log: () => {} });
  try {
    const { url: _url, ...record } = skill.record;
    const config = join(dir, 'sandbox.json');
    writeFileSync(config, JSON.stringify({ skills: [record], platformPrivateKey: platform.privateKeyPem }));
    const file = join(dir, 'script.json');
    writeFileSync(
      file,
      JSON.stringify({
        steps: [
          { say: '我要听斗破苍穹第6集' },
          { expect: 'goods' },
          { expectSpeech: '斗破苍穹 第6集，1元5角' },
          { say: '确认购买' },
          { expect: 'qr' },
          { pay: 'success' },
          { expect: 'paid' },
          { expect: 'resumed' },
          { expectSpeech: '开始播放斗破苍穹第6集' },
          { expect: 'delivered' },
        ],
      }),
    );
    const run = await simulate(['--script', file, '--config', config]);
    assert.equal(
      run.code,
      0,
      `${run.stderr}\n${run.events
        .filter((e) => e.type === 'fail')
        .map((e) => JSON.stringify(e))
        .join('\n')}`,
    );
    assert.deepEqual(run.events[0]!.skills, [record.skillId]);
    assert.equal(run.events.filter((e) => e.type === 'deliver-hook').length, 0, 'the hook count is only for the built-in example');
    assert.ok(run.events.some((e) => e.type === 'delivered'));
  } finally {
    await skill.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
