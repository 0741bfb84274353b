/**
 * `--allowed-origin` / `--allowed-host` of `dingdang-pay sandbox` and
 * `dingdang-pay demo`, through the real bin (run `node scripts/build.js`
 * first; npm test does): another web origin on the control API is refused
 * 403 without the flag and let in with it, a foreign Host header refused 421
 * without and accepted with it (the demo: on its sandbox and its speaker
 * page server); a bad value is a usage error (exit 2) naming the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fixturePath } from '../support/helpers.js';
import { SKILL_ID } from '../support/sandbox.js';
import { startDemo, stopDemo } from '../support/demo-process.js';

const BIN = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;
const ALLOWED = 'http://allowed.example';

/** A GET with the given headers (Host included, which fetch cannot set): status and CORS header. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; allowOrigin: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, signal: AbortSignal.timeout(10_000) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allowOrigin: res.headers['access-control-allow-origin'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const host = (url: string, name: string) => ({ host: `${name}:${new URL(url).port}` });

async function withSandbox(args: string[], fn: (ready: { url: string; controlToken: string }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-allow-'));
  const file = join(dir, 'sandbox.json');
  writeFileSync(
    file,
    JSON.stringify({
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
      platformPrivateKey: fixturePath('tsk-test-private.pem'),
    }),
  );
  const child = spawn(process.execPath, [BIN, 'sandbox', '--config', file, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (clearTimeout(killer), resolve(code))));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => reject(new Error(`exited before ready: ${stderr}`)));
    });
    await fn(JSON.parse(first));
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('sandbox CLI: another origin and a foreign Host are refused by default', async () => {
  await withSandbox([], async ({ url, controlToken }) => {
    const auth = { authorization: `Bearer ${controlToken}` };
    assert.equal((await get(`${url}/sandbox/v1/orders`, auth)).status, 200, 'no Origin: the token is enough');
    assert.equal((await get(`${url}/sandbox/v1/orders`, { ...auth, origin: ALLOWED })).status, 403);
    assert.equal((await get(`${url}/sandbox/v1/info`, host(url, 'dev.example'))).status, 421);
  });
});

test('sandbox CLI: --allowed-origin and --allowed-host (repeatable, comma-separated) let them in', async () => {
  const args = ['--allowed-origin', `http://other.example:8080,${ALLOWED}`, '--allowed-host', 'dev.example', '--allowed-host', 'lan.example:1234'];
  await withSandbox(args, async ({ url, controlToken }) => {
    const auth = { authorization: `Bearer ${controlToken}` };
    const allowed = await get(`${url}/sandbox/v1/orders`, { ...auth, origin: ALLOWED });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.allowOrigin, ALLOWED, 'CORS for that origin, echoed');
    assert.equal((await get(`${url}/sandbox/v1/orders`, { ...auth, origin: 'http://other.example:8080' })).status, 200);
    assert.equal((await get(`${url}/sandbox/v1/orders`, { ...auth, origin: 'http://evil.example' })).status, 403, 'other origins still refused');
    assert.equal((await get(`${url}/sandbox/v1/orders`, { origin: ALLOWED })).status, 401, 'an allowed origin still needs the token');
    assert.equal((await get(`${url}/sandbox/v1/info`, host(url, 'dev.example'))).status, 200);
    assert.equal((await get(`${url}/sandbox/v1/info`, { host: 'lan.example:1234' })).status, 200, 'name:port as given');
    assert.equal((await get(`${url}/sandbox/v1/info`, host(url, 'lan.example'))).status, 421, 'lan.example only with its port');
    assert.equal((await get(`${url}/sandbox/v1/info`, host(url, 'evil.example'))).status, 421);
  });
});

test('demo CLI: the flags reach its sandbox and its speaker page server', async () => {
  for (const flags of [false, true]) {
    const demo = await startDemo(['--clip-seconds', '1', ...(flags ? ['--allowed-origin', ALLOWED, '--allowed-host', 'dev.example'] : [])]);
    try {
      const auth = { authorization: `Bearer ${demo.controlToken}` };
      const control = await get(`${demo.sandbox}/sandbox/v1/orders`, { ...auth, origin: ALLOWED });
      assert.equal(control.status, flags ? 200 : 403, demo.output());
      assert.equal(control.allowOrigin, flags ? ALLOWED : undefined);
      assert.equal((await get(`${demo.sandbox}/sandbox/v1/info`, host(demo.sandbox, 'dev.example'))).status, flags ? 200 : 421, 'the sandbox');
      assert.equal((await get(demo.url, host(demo.url, 'dev.example'))).status, flags ? 200 : 421, 'the speaker page server');
      assert.equal((await get(demo.url, host(demo.url, 'evil.example'))).status, 421);
      if (flags) {
        // The speaker page under the allowed name is one of the page's origins: the sandbox allows it too.
        const pageOrigin = `http://dev.example:${new URL(demo.url).port}`;
        assert.equal((await get(`${demo.sandbox}/sandbox/v1/orders`, { ...auth, origin: pageOrigin })).status, 200);
      }
    } finally {
      assert.equal(await stopDemo(demo.child), 0, demo.output());
    }
  }
});

test('bad --allowed-origin / --allowed-host values: a usage error naming the flag, exit 2, no stack trace', () => {
  const cases: Array<[string, string, string]> = [
    ['sandbox', '--allowed-origin', 'ftp://files.example'],
    ['sandbox', '--allowed-origin', 'http://allowed.example/path'],
    ['sandbox', '--allowed-origin', 'allowed.example'],
    ['sandbox', '--allowed-origin', `${ALLOWED},,http://b.example`],
    ['sandbox', '--allowed-host', 'dev example'],
    ['sandbox', '--allowed-host', 'dev.example:99999'],
    ['sandbox', '--allowed-host', 'http://dev.example'],
    ['demo', '--allowed-origin', 'http://a.example?x=1'],
    ['demo', '--allowed-host', 'dev.example/x'],
  ];
  for (const [command, flag, value] of cases) {
    const extra = command === 'sandbox' ? ['--config', 'does-not-exist.json'] : [];
    const r = spawnSync(process.execPath, [BIN, command, ...extra, flag, value], { encoding: 'utf8', timeout: 20_000 });
    const what = `${command} ${flag} ${value}: ${r.stderr}`;
    assert.equal(r.status, 2, what);
    const [first] = r.stderr.split('\n');
    assert.match(first!, new RegExp(`^dingdang-pay ${command}: ${flag} must be `), what);
    // The value in question: the whole argument, or the one piece of a comma-separated list that is wrong.
    assert.ok(first!.includes(value.includes(',') ? 'got ""' : JSON.stringify(value)), what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, what);
    assert.equal(r.stdout, '', what);
  }
});

test('--help of sandbox and demo lists the flags', () => {
  for (const command of ['sandbox', 'demo']) {
    const r = spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--allowed-origin URL/);
    assert.match(r.stdout, /--allowed-host NAME\[:PORT\]/);
  }
});
