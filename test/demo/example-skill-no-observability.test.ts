/**
 * The optional peers really are optional: the example skill through the
 * real bin with `pino` and `prom-client` not resolvable (module hooks, as in
 * an install without them) still answers the platform (a signed FAIL for a
 * malformed request), `/metrics` is a 404 with a one-line hint of what to
 * install, and stderr holds no JSON log lines.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { METRICS_OFF_HINT } from '../../src/demo/example-skill/server.js';
import { fixturePath } from '../support/helpers.js';

const root = new URL('../..', import.meta.url).pathname;

it('without pino and prom-client the example skill runs, /metrics says what to install', { timeout: 60_000 }, async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(root, 'test/support/hide-observability.mjs'),
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
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no JSON line in 30 s: ${err}`)), 30_000);
      createInterface({ input: child.stdout }).once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
      void exited.then((code) => reject(new Error(`example-skill exited ${code}: ${err}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    const metrics = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(metrics.status, 404);
    assert.equal(await metrics.text(), METRICS_OFF_HINT + '\n');
    const res = await fetch(`${url}/dingdang/create-order`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { authorization: 'TSK-RSA2 Datetime=x, Signature=y' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { retCode: 'FAIL', retMsg: 'signature: malformed-header' });
    assert.ok(res.headers.get('authorization')?.startsWith('TSK-RSA2 '), 'the reply is signed');
    assert.match(err, /createOrderRequest refused/, 'the text log line is there');
    assert.ok(!err.split('\n').some((l) => l.startsWith('{')), 'no pino lines');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
