/**
 * `dingdang-pay sandbox` through the real bin: prints one JSON line when
 * ready, serves, and stops cleanly on SIGTERM / SIGINT. (npm test builds dist first.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { publicKeyToBase64, signRsa2, verifyRsa2 } from '../../src/protocol/tsk-node.js';
import { fixturePath } from '../support/helpers.js';
import { api, SKILL_ID, SKILL_PRIVATE, nonce } from '../support/sandbox.js';
import { SandboxClient } from '../../src/sandbox/client.js';
import { SandboxApiError } from '../../src/sandbox/errors.js';

const BIN = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;

function withConfig(config: unknown, fn: (file: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-sbcli-'));
  const file = join(dir, 'sandbox.json');
  writeFileSync(file, JSON.stringify(config));
  return fn(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const config = {
  skills: [
    {
      skillId: SKILL_ID,
      skillEndpoint: 'http://127.0.0.1:9/skill',
      skillSecret: 's',
      createOrderUrl: 'http://127.0.0.1:9/create',
      deliverUrl: 'http://127.0.0.1:9/deliver',
      skillPublicKey: fixturePath('tsk-test-public.pem'),
    },
  ],
};

async function runUntilReady(args: string[], signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [BIN, 'sandbox', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Bounded: the child is killed if it neither gets ready nor stops in time.
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  {
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', () => reject(new Error(`exited before ready: ${stderr}`)));
    });
    const ready = JSON.parse(first);
    return { ready, stop: async () => (child.kill(signal), { code: await exited, stderr }) };
  }
}

test('sandbox CLI: JSON ready line with url and tskPublicKey; serves; SIGTERM stops it', async () => {
  await withConfig({ ...config, platformPrivateKey: fixturePath('tsk-test-private.pem') }, async (file) => {
    const { ready, stop } = await runUntilReady(['--config', file, '--port', '0'], 'SIGTERM');
    try {
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(ready.port > 0);
      assert.equal(ready.tskPublicKey, publicKeyToBase64(SKILL_PRIVATE), 'the configured platform key (the test fixture)');
      assert.match(ready.tskPublicKey, /^[A-Za-z0-9+/]+=*$/);
      assert.deepEqual(ready.skills, [SKILL_ID]);
      const info = await api(ready.url).info();
      assert.equal(info.tskPublicKey, ready.tskPublicKey);
      // the control token and the device token of this run, from the ready line (docs/sandbox.md "Safety on a developer's machine")
      assert.match(ready.controlToken, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(ready.dashboardUrl, `${ready.url}/?token=${ready.controlToken}`);
      assert.match(ready.deviceToken, /^[A-Za-z0-9_-]{24}$/);
      await assert.rejects(api(ready.url).orders(), (e: unknown) => e instanceof SandboxApiError && e.status === 401);
      assert.deepEqual(await new SandboxClient({ baseUrl: ready.url, token: ready.controlToken }).orders(), []);
      // the pay CGI answers, signed with the platform key
      const body = JSON.stringify({ skillId: SKILL_ID, tradeNo: 'NOPE1', nonceStr: nonce() });
      const res = await fetch(`${ready.url}/paycgi/orderquery`, { method: 'POST', body, headers: { authorization: signRsa2(body, SKILL_PRIVATE) } });
      const raw = await res.text();
      assert.equal(JSON.parse(raw).retMsg, 'order not found');
      assert.equal(verifyRsa2(raw, res.headers.get('authorization'), ready.tskPublicKey).ok, true);
    } finally {
      const { code, stderr } = await stop();
      assert.equal(code, 0, stderr);
      assert.match(stderr, /stopped \(SIGTERM\)/);
    }
  });
});

test('sandbox CLI: generated key when absent; SIGINT stops it', async () => {
  await withConfig(config, async (file) => {
    const { ready, stop } = await runUntilReady(['--config', file, '--port', '0', '--time-scale', '0.01'], 'SIGINT');
    assert.equal(ready.generatedKey, true);
    assert.match(ready.tskPublicKey, /^[A-Za-z0-9+/]{300,}=*$/);
    const { code } = await stop();
    assert.equal(code, 0);
  });
});

test('sandbox CLI: usage and config errors', async () => {
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'sandbox', ...args], { encoding: 'utf8', timeout: 20_000 });
  const help = run(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--config FILE/);
  assert.equal(run([]).status, 2);
  assert.equal(run(['--config', 'x.json', '--bogus']).status, 2);
  assert.equal(run(['--config', 'x.json', '--port', '70000']).status, 2);
  await withConfig({ skills: [{ ...config.skills[0], deliverUrl: 'nope' }] }, async (file) => {
    const r = run(['--config', file, '--port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERR_SANDBOX_CONFIG: config skills\[0\]\.deliverUrl/);
    assert.equal(r.stdout, '', 'nothing on stdout when not ready');
  });
});
