/**
 * The example audiobook skill deployed as a Tencent Cloud SCF function
 * (`deployment: 'scf'`, CLI `--scf`): its record says `"deployment":"scf"`
 * (the sandbox config takes it as is), `/skill` is a local SCF stand-in in
 * front of the kit's createScfHandler (the wrapped JSON in, the wrapped answer
 * out; a request that is not wrapped gets the kit's refusal, wrapped), and the
 * seed flows pass through the real bin with `simulate --scf` (the three seed
 * flows in both deployments are in flows.test.ts).
 *
 * The listening purchase against the SCF skill: the speaker plays the free
 * episodes 1–3 of 万古神帝, its player reaches episode 4 (`pay: true`, no url),
 * the platform sends the skill `Display.ElementSelected` with that token
 * (`POST /sandbox/v1/select`, standing in for the device's own call), the
 * skill's Charge runs the purchase on the device (screen and screenless), and
 * after payment the player goes on from episode 4; delivered exactly once.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startAudiobookSkill } from '../../src/demo/example-skill/server.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { createNodeTransport, DeviceCompanion } from '../../src/device/node.js';
import { parseSayReply, SpeakerHost, type PlayInfo } from '../../src/demo/host.js';
import { platformSay } from '../../src/demo/speaker-server.js';
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js';
import { deviceAuth, pageTokenOf } from '../support/sandbox.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/dingdang-pay.js');

interface Run {
  code: number | null;
  stderr: string;
  events: Array<Record<string, any>>;
}

function simulate(args: string[], timeoutMs = 45_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'simulate', ...args], {
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
      resolve({ code, stderr, events });
    });
  });
}

test(
  'simulate --scf through the real bin: the seed flows and listening that sells the next episode (both modes) pass with the example skill as an SCF function',
  { timeout: 90_000 },
  async () => {
    const runs = await Promise.all(
      ['screen-success', 'screenless-success', 'listen-buy-next', 'listen-buy-next-screenless'].map((s) => simulate(['--script', s, '--scf'])),
    );
    for (const [i, run] of runs.entries()) {
      const fails = run.events.filter((e) => e.type === 'fail').map((e) => JSON.stringify(e));
      assert.equal(run.code, 0, `run ${i}: exit ${run.code}\n${run.stderr}\n${fails.join('\n')}`);
      assert.deepEqual(run.events[0]!.scfSkills, ['audiobookDemo'], 'the sandbox calls the example skill in the SCF form');
      const last = run.events.at(-1)!;
      assert.equal(last.type, 'done');
      assert.equal(last.ok, true);
      assert.equal(last.deliveries, 1, 'delivered exactly once');
      assert.ok((last.milestones as string[]).includes('resumed'), `resumed: ${JSON.stringify(last.milestones)}`);
      assert.ok((last.milestones as string[]).includes('playing'), `playing: ${JSON.stringify(last.milestones)}`);
      if (i >= 2) assert.ok((last.milestones as string[]).includes('locked'), `the player reached the paid episode: ${JSON.stringify(last.milestones)}`);
    }
  },
);

test('simulate --scf with --config is a usage error (exit 2) before anything starts', { timeout: 20_000 }, async () => {
  const run = await simulate(['--script', 'screen-success', '--scf', '--config', join(root, 'nothing.json')]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--scf runs the example skill: not with --config/);
  assert.equal(run.events.length, 0);
});

test('example-skill --scf through the real bin prints a record with "deployment":"scf" that the sandbox config takes as is', { timeout: 20_000 }, async () => {
  const child = spawn(process.execPath, [bin, 'example-skill', '--scf'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('no record within 15 s')), 15_000);
      child.stdout.on('data', (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.on('error', reject);
    });
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.equal(record.deployment, 'scf');
    assert.match(String(record.skillEndpoint), /^http:\/\/127\.0\.0\.1:\d+\/skill$/);
    const { url: _url, ...skill } = record;
    const config = parseSandboxConfig({ skills: [skill] });
    assert.equal(config.skills[0]!.deployment, 'scf');
  } finally {
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await closed;
  }
});

test('the SCF stand-in on /skill: wrapped answers only; GET 405, a body that is not a JSON object 400; the plain HTTP record has no deployment', async () => {
  const scf = await startAudiobookSkill({ deployment: 'scf', log: () => {} });
  const http = await startAudiobookSkill({ log: () => {} });
  try {
    assert.equal(scf.record.deployment, 'scf');
    assert.equal('deployment' in http.record, false);
    const post = (body: string) =>
      fetch(scf.record.skillEndpoint, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
    // An unsigned wrapped request: the function runs and refuses it, in the wrapped form.
    const refused = await post(JSON.stringify({ header: {}, body: JSON.stringify({ version: '1.0' }) }));
    assert.equal(refused.status, 200);
    const wrapped = (await refused.json()) as { header: Record<string, string>; body: string };
    assert.equal(wrapped.header['Content-Type'], 'application/json');
    assert.deepEqual(Object.keys(wrapped).sort(), ['body', 'header']);
    assert.equal(typeof (JSON.parse(wrapped.body) as { error: { code: string } }).error.code, 'string');
    const notJson = await post('not json');
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: { code: string } }).error.code, 'ERR_SCF_EVENT');
    const arr = await post('[]');
    assert.equal(arr.status, 400);
    await arr.arrayBuffer();
    const get = await fetch(scf.record.skillEndpoint, { signal: AbortSignal.timeout(5000) });
    assert.equal(get.status, 405);
    await get.arrayBuffer();
    await assert.rejects(startAudiobookSkill({ deployment: 'lambda' as 'scf' }), { code: 'ERR_INVALID_ARGUMENT' });
  } finally {
    await scf.close();
    await http.close();
  }
});

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the listening purchase with the example skill as an SCF function', () => {
  // One stack per mode: the sandbox's one user owns episode 4 after the first purchase.
  let stack: DemoStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  for (const mode of ['screen', 'screenless'] as const) {
    test(
      `${mode}: the player reaches episode 4, the skill is asked (ElementSelected), pays, and listening goes on from episode 4`,
      { timeout: 30_000 },
      async () => {
        const st = (stack = await startDemoStack({ deployment: 'scf', sandbox: { timeScale: 0.01, device: { repeatStatusMs: 2000 } } }));
        const deviceId = `scf-listen-${mode}`;
        const companion = new DeviceCompanion({
          transport: createNodeTransport({ platformUrl: st.sandbox.url, tskPublicKey: st.sandbox.tskPublicKey, deviceId, ...deviceAuth(st.sandbox) }),
          mode,
          countdownMs: 0,
        });
        // "@select <token>" is the platform call for a paid item the player reached.
        const host = new SpeakerHost(companion, async (text) =>
          text.startsWith('@select ')
            ? parseSayReply(await st.client.select({ token: text.slice(8), deviceId, mode }))
            : platformSay(st.client, text, deviceId, mode),
        );
        const plays: Array<PlayInfo & { resumed: boolean }> = [];
        const locked: string[] = [];
        host.on('play', (p) => plays.push(p));
        host.on('locked', (e) => locked.push(e.item.token));
        try {
          const before = (await st.client.calls()).filter((c) => c.kind === 'skill').length;
          assert.deepEqual(await host.hear('我要听万古神帝第1集'), { handledBy: 'platform' });
          assert.equal(plays.at(-1)?.item.token, 'wgsd001');
          host.ended();
          host.ended();
          assert.equal(plays.at(-1)?.item.token, 'wgsd003', 'the free episodes play one after the other');
          host.ended();
          assert.deepEqual(locked, ['wgsd004'], 'the player stops at episode 4, which needs buying');
          assert.equal(host.busy, false);

          const heard = await host.hear('@select wgsd004');
          assert.deepEqual(heard, { handledBy: 'platform', purchase: true });
          const run = host.purchase!;
          if (mode === 'screen') {
            await until(() => companion.state === 'goods', 10_000, 'goods');
            host.touch('buy');
            await until(() => companion.state === 'paying.awaitingScan', 10_000, 'the QR code');
            const view = companion.view();
            assert.equal(view?.kind, 'pay');
            if (view?.kind !== 'pay') return;
            assert.equal(view.amountFen, 200);
            await payOnPhone(view.payUrl);
          } else {
            await until(() => companion.state === 'app.pushed', 10_000, 'the app prompt');
            await payOnPhone(`${st.sandbox.url}/app/${companion.context!.purchaseId!}`);
          }
          const result = await run;
          assert.equal(result.outcome, 'done');
          assert.equal(result.paid, true);
          assert.equal(result.resume?.outputSpeech, '购买成功，开始播放万古神帝第4集');
          await until(() => plays.at(-1)?.resumed === true, 5000, 'the player to go on');
          assert.equal(plays.at(-1)!.item.token, 'wgsd004', 'listening goes on from the bought episode');

          // The skill was asked with ElementSelected for that token, in the SCF wrapped form.
          const calls = (await st.client.calls()).filter((c) => c.kind === 'skill').slice(before);
          const selected = calls.map((c) => JSON.parse(c.body)).find((b) => b.request.type === 'Display.ElementSelected');
          assert.equal(selected?.request.token, 'wgsd004', JSON.stringify(calls.map((c) => JSON.parse(c.body).request.type)));
          for (const c of calls) assert.equal(typeof JSON.parse(String(c.response)).body, 'string', 'a wrapped answer');

          const purchase = await st.client.purchase(result.purchaseId!);
          await until(() => st.deliveryCount(purchase.tradeNo!) === 1, 10_000, 'the delivery');
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(st.deliveryCount(purchase.tradeNo!), 1, 'delivered exactly once');
        } finally {
          host.stop();
        }
      },
    );
  }

  async function payOnPhone(pageUrl: string): Promise<void> {
    const page = await fetch(pageUrl, { signal: AbortSignal.timeout(10_000) });
    assert.equal(page.status, 200);
    const html = await page.text();
    const post = await fetch(pageUrl, {
      method: 'POST',
      body: new URLSearchParams({ action: 'success', pageToken: pageTokenOf(html) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(post.status, 303);
  }
});
