/**
 * The example audiobook skill deployed as a Tencent Cloud SCF function
 * (`deployment: 'scf'`, CLI `--scf`): its record says `"deployment":"scf"`
 * (the sandbox config takes it as is), `/skill` is a local SCF stand-in in
 * front of the kit's createScfHandler (the wrapped JSON in, the wrapped answer
 * out; a request that is not wrapped gets the kit's refusal, wrapped), and the
 * seed flows pass through the real bin with `simulate --scf` (the three seed
 * flows in both deployments are in flows.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startAudiobookSkill } from '../../src/demo/example-skill/server.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';

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
  'simulate --scf through the real bin: screen-success and screenless-success pass with the example skill as an SCF function',
  { timeout: 90_000 },
  async () => {
    const runs = await Promise.all(['screen-success', 'screenless-success'].map((s) => simulate(['--script', s, '--scf'])));
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
    const wrapped = (await refused.json()) as { header: Record<string, string>; body: string; statusCode: number };
    assert.equal(wrapped.header['Content-Type'], 'application/json');
    assert.notEqual(wrapped.statusCode, 200);
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
