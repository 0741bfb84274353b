/**
 * The example skill's logs and metrics through the real bin. With pino and
 * prom-client installed: a refused request is one pino JSON line on stderr
 * (its reason, no Authorization header) and a count in `/metrics`. With
 * them not resolvable (module hooks, as in an install without the optional
 * peers): the skill still answers the platform (a signed FAIL), `/metrics`
 * is a 404 with a one-line hint of what to install, and stderr holds no JSON
 * lines.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { METRICS_OFF_HINT } from '../../src/demo/example-skill/server.js';
import { fixturePath } from '../support/helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const AUTHORIZATION = 'TSK-RSA2 Datetime=x, Signature=forged-signature-0123456789';

/** The example skill through the bin (optionally with pino and prom-client hidden); its URL, stderr and a stop. */
async function startSkill(hidePeers: boolean) {
  const child = spawn(
    process.execPath,
    [
      ...(hidePeers ? ['--import', join(root, 'test/support/hide-observability.mjs')] : []),
      join(root, 'bin/dingdang-pay.js'),
      'example-skill',
      '--port',
      '0',
      '--tsk-public-key',
      fixturePath('tsk-test-public.pem'),
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no JSON line in 30 s: ${err}`)), 30_000);
      createInterface({ input: child.stdout }).once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
      void exited.then((code) => reject(new Error(`example-skill exited ${code}: ${err}`)));
    });
    return { url: (JSON.parse(line) as { url: string }).url, stderr: () => err, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function forgedCreateOrder(url: string) {
  const res = await fetch(`${url}/dingdang/create-order`, {
    method: 'POST',
    body: '{"a":1}',
    headers: { authorization: AUTHORIZATION },
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { retCode: 'FAIL', retMsg: 'signature: malformed-header' });
  assert.ok(res.headers.get('authorization')?.startsWith('TSK-RSA2 '), 'the reply is signed');
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok(), what);
}

it('with pino and prom-client: a pino JSON line on stderr per request, without its Authorization; /metrics counts it', { timeout: 60_000 }, async () => {
  const skill = await startSkill(false);
  try {
    await forgedCreateOrder(skill.url);
    await until('the pino line', () => skill.stderr().includes('"event":"request"'));
    const records = skill
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = records.find((r) => r.event === 'request');
    assert.deepEqual([refused?.interface, refused?.outcome, refused?.reason], ['createOrder', 'refused', 'signature:malformed-header']);
    assert.ok(!skill.stderr().includes('forged-signature'), 'no Authorization header in the log');
    const metrics = await fetch(`${skill.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^dingdang_partner_refusals_total\{interface="createOrder",reason="signature:malformed-header"\} 1$/m);
  } finally {
    await skill.stop();
  }
});

it('without pino and prom-client the example skill runs, /metrics says what to install', { timeout: 60_000 }, async () => {
  const skill = await startSkill(true);
  const url = skill.url;
  try {
    const metrics = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(metrics.status, 404);
    assert.equal(await metrics.text(), METRICS_OFF_HINT + '\n');
    await forgedCreateOrder(url);
    await until('the text log line', () => skill.stderr().includes('createOrderRequest refused'));
    assert.ok(
      !skill
        .stderr()
        .split('\n')
        .some((l) => l.startsWith('{')),
      'no pino lines',
    );
  } finally {
    await skill.stop();
  }
});
