/**
 * `dingdang-pay reconcile` against a real sandbox: orders of the backend's
 * SQLite store that the platform has as paid (their delivery notification
 * never reached this store) are delivered once through the sandbox's
 * orderquery; unpaid ones stay open; the report is one JSON line; usage
 * errors exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { SqlitePartnerStore } from '../../src/partner/index.js';
import { fixturePath } from '../support/helpers.js';
import { api, orderOf, SKILL_ID, startPair, tradeStatusOf } from '../support/sandbox.js';

let pair: Awaited<ReturnType<typeof startPair>>;
let base: string;
let dir: string;
const key = fixturePath('tsk-test-private.pem');

before(async () => {
  pair = await startPair();
  base = pair.sandbox.url;
  dir = mkdtempSync(join(tmpdir(), 'ddp-reconcli-'));
});
after(async () => {
  await pair?.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

let n = 1;
/** An order on the sandbox (paid or not), and the same order in the local store, undelivered and 5 minutes old. */
async function order(store: SqlitePartnerStore, paid: boolean) {
  const said = await api(base).say({ text: `我要听万古神帝第${n++}集`, userId: `rc-u${n}` });
  assert.ok(said.purchaseId);
  const o = orderOf(await api(base).placeOrder(said.purchaseId));
  if (paid) assert.equal(tradeStatusOf(await api(base).payOrder(o.transactionId, 'success')), 'SUCCESS');
  await store.createOrder({
    tradeNo: o.tradeNo,
    skillId: SKILL_ID,
    userToken: `rc-u${n}`,
    details: [{ itemId: 'ep35', quantity: 1, amount: o.totalAmt }],
    totalAmt: o.totalAmt,
    createdAt: Date.now() - 5 * 60_000,
  });
  return o;
}

test('reconcile delivers the paid orders once through the sandbox orderquery and leaves unpaid ones open', async () => {
  const file = join(dir, 'backend.db');
  const store = new SqlitePartnerStore(file);
  try {
    const paid = await order(store, true);
    const unpaid = await order(store, false);
    const r = await run('reconcile', '--db', file, '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.deepEqual([report.found, report.delivered, report.closed, report.stillOpen, report.errors], [2, 1, 0, 1, 0]);
    assert.equal((await store.getOrder(paid.tradeNo))?.status, 'DELIVERED');
    assert.equal((await store.getOrder(paid.tradeNo))?.transactionId, paid.transactionId);
    assert.equal((await store.getOrder(unpaid.tradeNo))?.status, 'CREATED');
    const again = JSON.parse((await run('reconcile', '--db', file, '--sandbox', base, '--skill-id', SKILL_ID, '--key', key)).out);
    assert.equal(again.found, 0, 'the unpaid one is backed off, the paid one done');
  } finally {
    await store.close();
  }
});

test('reconcile usage errors exit 2 with the usage', async () => {
  const none = await run('reconcile', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
  assert.equal(none.code, 2);
  assert.match(none.err, /--db FILE\.sqlite or --pg URL/);
  const both = await run('reconcile', '--db', 'x.db', '--pg', 'postgresql://x', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
  assert.equal(both.code, 2);
  const bad = await run('reconcile', '--db', 'x.db', '--interval', 'soon', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
  assert.equal(bad.code, 2);
  const help = await run('reconcile', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--watch/);
});
