/**
 * `dingdang-pay orderquery | refund | refundquery` against a real sandbox:
 * signed with the skill's key, the reply printed only after it verified,
 * exit 0 on SUCCESS, 1 on a FAIL (the reply still printed, one line on
 * stderr), 2 for usage errors; one line, no stack trace.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { fixturePath } from '../support/helpers.js';
import { api, orderOf, SKILL_ID, startPair, tradeStatusOf } from '../support/sandbox.js';

const root = new URL('../..', import.meta.url).pathname;
let pair: Awaited<ReturnType<typeof startPair>>;
let base: string;
let dir: string;
const key = fixturePath('tsk-test-private.pem');

before(async () => {
  pair = await startPair({ refundDelayMs: 3_000_000 });
  base = pair.sandbox.url;
  dir = mkdtempSync(join(tmpdir(), 'ddp-paycli-'));
});
after(async () => {
  await pair?.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

let n = 1;
async function paidOrder() {
  const said = await api(base).say({ text: `我要听万古神帝第${n++}集`, userId: `cli-u${n}` });
  assert.ok(said.purchaseId);
  const o = orderOf(await api(base).placeOrder(said.purchaseId));
  assert.equal(tradeStatusOf(await api(base).payOrder(o.transactionId, 'success')), 'SUCCESS');
  return o;
}

test('orderquery against the sandbox prints the verified reply; a FAIL exits 1 with the reply and one line', async () => {
  const o = await paidOrder();
  const r = await run('orderquery', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key, '--trade-no', o.tradeNo);
  assert.equal(r.code, 0, r.err);
  const reply = JSON.parse(r.out);
  assert.equal(reply.retCode, 'SUCCESS');
  assert.equal(reply.tradeNo, o.tradeNo);
  assert.equal(reply.transactionId, o.transactionId);
  assert.equal(reply.tradeStatus, 'SUCCESS');
  const byTx = await run('orderquery', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key, '--transaction-id', o.transactionId);
  assert.equal(JSON.parse(byTx.out).tradeNo, o.tradeNo);
  const missing = await run('orderquery', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key, '--trade-no', 'NoSuchOrder1');
  assert.equal(missing.code, 1);
  assert.equal(JSON.parse(missing.out).retCode, 'FAIL');
  assert.match(missing.err, /^FAIL: /);
  assert.equal(missing.err.trim().split('\n').length, 1);
});

test('refund then refundquery: the refund is accepted, its query names it; --base-url needs the platform key, and replies are verified with it', async () => {
  const o = await paidOrder();
  const r = await run(
    'refund',
    '--sandbox',
    base,
    '--skill-id',
    SKILL_ID,
    '--key',
    key,
    '--trade-no',
    o.tradeNo,
    '--amount',
    '200',
    '--item',
    'wgsd001',
    '--refund-trade-no',
    'R1cli',
  );
  assert.equal(r.code, 0, r.err + r.out);
  const refund = JSON.parse(r.out);
  assert.equal(refund.retCode, 'SUCCESS');
  assert.equal(refund.refundTradeNo, 'R1cli');
  assert.equal(refund.refundAmt, 200);
  assert.equal(refund.totalAmt, 200, 'the total came from an order query');
  const q = await run('refundquery', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key, '--refund-trade-no', 'R1cli');
  assert.equal(q.code, 0, q.err);
  const query = JSON.parse(q.out);
  assert.equal(query.refundTradeNo, 'R1cli');
  assert.ok(['PROCESSING', 'SUCCESS'].includes(query.refundStatus), query.refundStatus);
  // A configured platform: the reply must verify with the key given, else nothing is printed as a reply.
  const pub = join(dir, 'tsk.pub');
  writeFileSync(pub, pair.keys.publicKeyPem);
  const ok = await run('refundquery', '--base-url', base, '--tsk-public-key', pub, '--skill-id', SKILL_ID, '--key', key, '--refund-trade-no', 'R1cli');
  assert.equal(ok.code, 0, ok.err);
  const wrong = await run(
    'refundquery',
    '--base-url',
    base,
    '--tsk-public-key',
    fixturePath('tsk-test-public.pem'),
    '--skill-id',
    SKILL_ID,
    '--key',
    key,
    '--refund-trade-no',
    'R1cli',
  );
  assert.equal(wrong.code, 1);
  assert.equal(wrong.out, '', 'an unverified reply is never printed');
  assert.match(wrong.err, /^dingdang-pay refundquery: ERR_\w+: /);
});

test('usage errors exit 2 with the usage; the bin prints one line, no stack trace', async () => {
  for (const argv of [
    ['orderquery', '--sandbox', 'http://127.0.0.1:9', '--skill-id', SKILL_ID, '--key', key],
    ['orderquery', '--trade-no', 'T1', '--skill-id', SKILL_ID, '--key', key],
    ['refund', '--sandbox', 'http://127.0.0.1:9', '--skill-id', SKILL_ID, '--key', key, '--trade-no', 'T1', '--amount', '1.5', '--item', 'x'],
    ['refundquery', '--sandbox', 'http://127.0.0.1:9', '--key', key, '--refund-trade-no', 'R1'],
  ]) {
    const r = await run(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, /^dingdang-pay \S+: [^\n]* --help shows the usage\)\n?$/, `one line: ${r.err}`);
  }
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin/dingdang-pay.js'),
      'orderquery',
      '--sandbox',
      'http://127.0.0.1:9',
      '--skill-id',
      SKILL_ID,
      '--key',
      key,
      '--trade-no',
      'T1',
      '--timeout',
      '2000',
    ],
    {
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 1, err);
  assert.equal(err.trim().split('\n').length, 1, err);
  assert.doesNotMatch(err, /\n\s+at /);
});
