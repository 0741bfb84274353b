/**
 * `dingdang-pay reconcile` on the two paths test/cli/reconcile.test.ts does
 * not take: `--pg URL` (a real PostgreSQL store) and `--watch` through the
 * real bin (a report line per pass that found something, orders written
 * while it runs are picked up by a later pass, SIGTERM ends it with 0).
 * (npm test builds dist first; PostgreSQL is started by test/support/postgres.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runCli } from '../support/cli.js';
import { PostgresPartnerStore, SqlitePartnerStore, type PartnerStore } from '../../src/partner/index.js';
import { fixturePath } from '../support/helpers.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';
import { api, orderOf, SKILL_ID, startPair, tradeStatusOf } from '../support/sandbox.js';

const BIN = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;
const key = fixturePath('tsk-test-private.pem');
const pgSkip = postgresSkipReason();

let pair: Awaited<ReturnType<typeof startPair>>;
let base: string;
let dir: string;
let pgServer: PostgresServer | undefined;

before(async () => {
  pair = await startPair();
  base = pair.sandbox.url;
  dir = mkdtempSync(join(tmpdir(), 'ddp-reconcli2-'));
  if (!pgSkip) pgServer = await startPostgres();
});
after(async () => {
  await pair?.close();
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const run = runCli;

let n = 1;
/** A paid order on the sandbox, and the same order in the local store, undelivered and 5 minutes old. */
async function paidOrder(store: PartnerStore) {
  const user = `rcw-u${n}`;
  const said = await api(base).say({ text: `我要听万古神帝第${n++}集`, userId: user });
  assert.ok(said.purchaseId);
  const o = orderOf(await api(base).placeOrder(said.purchaseId));
  assert.equal(tradeStatusOf(await api(base).payOrder(o.transactionId, 'success')), 'SUCCESS');
  await store.createOrder({
    tradeNo: o.tradeNo,
    skillId: SKILL_ID,
    userToken: user,
    details: [{ itemId: 'ep35', quantity: 1, amount: o.totalAmt }],
    totalAmt: o.totalAmt,
    createdAt: Date.now() - 5 * 60_000,
  });
  return o;
}

test('reconcile --pg delivers through a PostgreSQL store', { skip: pgSkip }, async () => {
  const url = await pgServer!.createDatabase();
  const store = new PostgresPartnerStore({ connectionString: url, poolSize: 2 });
  try {
    await store.init();
    const paid = await paidOrder(store);
    const r = await run('reconcile', '--pg', url, '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.delivered, 1);
    assert.equal(report.errors, 0);
    const stored = await store.getOrder(paid.tradeNo);
    assert.equal(stored?.status, 'DELIVERED');
    assert.equal(stored?.transactionId, paid.transactionId);
    const bad = await run('reconcile', '--pg', 'postgresql://nobody@127.0.0.1:1/none', '--sandbox', base, '--skill-id', SKILL_ID, '--key', key);
    assert.notEqual(bad.code, 0, 'an unreachable database is an error');
    assert.equal(bad.err.trim().split('\n').length, 1, `one line, not a stack trace: ${bad.err}`);
  } finally {
    await store.close();
  }
});

test('reconcile --watch reports each pass that found something, picks up new orders, stops with 0 on SIGTERM', async () => {
  const file = join(dir, 'watch.db');
  const store = new SqlitePartnerStore(file);
  const first = await paidOrder(store);
  const child = spawn(
    process.execPath,
    [BIN, 'reconcile', '--db', file, '--sandbox', base, '--skill-id', SKILL_ID, '--key', key, '--watch', '--interval', '200'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (clearTimeout(killer), resolve(code))));
  const reports: Array<Record<string, number>> = [];
  const lines = createInterface({ input: child.stdout });
  let wake: (() => void) | undefined;
  lines.on('line', (l) => {
    reports.push(JSON.parse(l) as Record<string, number>);
    wake?.();
  });
  const delivered = () => reports.reduce((s, r) => s + (r.delivered ?? 0), 0);
  const until = async (pred: () => boolean, what: string) => {
    while (!pred()) {
      const code = await Promise.race([new Promise<'line'>((r) => (wake = () => r('line'))), exited]);
      if (code !== 'line') assert.fail(`reconcile --watch exited (${code}) before ${what}: ${stderr}`);
    }
  };
  try {
    await until(() => delivered() >= 1, 'delivering the first order');
    assert.equal((await store.getOrder(first.tradeNo))?.status, 'DELIVERED');
    const second = await paidOrder(store);
    await until(() => delivered() >= 2, 'delivering the order written while it ran');
    assert.equal((await store.getOrder(second.tradeNo))?.status, 'DELIVERED');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(delivered(), 2, 'each order delivered once over all passes');
    assert.ok(
      reports.every((r) => r.errors === 0),
      JSON.stringify(reports),
    );
  } finally {
    child.kill('SIGKILL');
    await store.close();
  }
});
