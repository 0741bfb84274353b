/**
 * Chaos: 1,000 orders × 10 duplicate delivery notifications, spread over two
 * partner backend processes (the real handlers over HTTP) sharing one
 * PostgreSQL database, sent concurrently in random order; every FAIL
 * ("delivery in progress") is retried like the platform would. Exactly 1,000
 * deliveries: one hook run and one effect per order, every order DELIVERED,
 * every notification answered SUCCESS in the end.
 * CHAOS_ORDERS / CHAOS_DUPLICATES change the size (defaults 1000 × 10).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomNonce } from '../../src/protocol/index.js';
import { PostgresPartnerStore } from '../../src/partner/index.js';
import { CATALOG, deliverBody, platform, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';
import { hookRuns, killWorker, liveWorkers, pool, SignedClient, sleep, startWorker } from '../support/partner-procs.js';

const ORDERS = Number(process.env.CHAOS_ORDERS ?? 1000);
const DUPLICATES = Number(process.env.CHAOS_DUPLICATES ?? 10);
const skip = postgresSkipReason();

describe('chaos: duplicate deliveries from two processes on PostgreSQL', { skip }, () => {
  let pg: PostgresServer | undefined;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-chaos-pg-'));
    pg = await startPostgres();
  });
  after(async () => {
    for (const c of [...liveWorkers]) await killWorker(c);
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${ORDERS} orders × ${DUPLICATES} duplicates → exactly ${ORDERS} deliveries`, { timeout: 300_000 }, async () => {
    const url = await pg!.createDatabase();
    const store = new PostgresPartnerStore({ connectionString: url, poolSize: 8 });
    await store.init();
    const tradeNos = Array.from({ length: ORDERS }, () => 'C' + randomNonce(20));
    await pool(tradeNos, 16, async (tradeNo) => {
      await store.createOrder({
        tradeNo,
        skillId: SKILL_ID,
        userToken: 'user-1',
        details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
        totalAmt: 200,
        createdAt: Date.now(),
      });
    });

    const args = {
      kind: 'postgres' as const,
      target: url,
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKeyBase64,
      skillPrivateKey: skill.privateKeyPem,
      catalog: CATALOG.map(({ itemId, price }) => ({ itemId, price })),
      hookLog: join(dir, 'hooks.jsonl'),
      effectsDir: join(dir, 'effects'),
      leaseMs: 30_000,
    };
    const workers = await Promise.all([startWorker(args), startWorker(args)]);
    const t0 = Date.now();
    const client = new SignedClient(platform.privateKey, skill.publicKey);
    const jobs = tradeNos.flatMap((tradeNo) => Array.from({ length: DUPLICATES }, (_, k) => ({ tradeNo, worker: k % 2 })));
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    const fails = new Map<string, number>();
    let successes = 0;
    try {
      await pool(jobs, 48, async ({ tradeNo, worker }) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          let r: { retCode: string; retMsg?: string };
          try {
            r = await client.post(`${workers[worker]!.base}/dingdang/deliver`, deliverBody(tradeNo));
          } catch (e) {
            // A reused keep-alive socket closed by the server: the platform just retries.
            if (!/socket hang up|ECONNRESET/.test(String(e))) throw e;
            r = { retCode: 'FAIL', retMsg: 'network: ' + (e as Error).message };
          }
          if (r.retCode === 'SUCCESS') return void successes++;
          fails.set(r.retMsg ?? '', (fails.get(r.retMsg ?? '') ?? 0) + 1);
          await sleep(20 + Math.random() * 80); // the platform retries later
        }
        throw new Error(`no SUCCESS for ${tradeNo}`);
      });
    } finally {
      client.close();
    }
    assert.equal(successes, ORDERS * DUPLICATES, 'every notification got SUCCESS in the end');
    for (const msg of fails.keys())
      assert.ok(msg === 'delivery in progress' || msg.startsWith('network: '), `only "in progress" FAILs (got ${JSON.stringify([...fails])})`);
    for (const w of workers) assert.equal(w.child.exitCode ?? w.child.signalCode, null, 'both backends are still up');
    console.log(`# retries: ${JSON.stringify([...fails])}`);

    const t1 = Date.now();
    const runs = hookRuns(args.hookLog);
    const perOrder = new Map<string, number>();
    for (const r of runs) perOrder.set(r.tradeNo, (perOrder.get(r.tradeNo) ?? 0) + 1);
    assert.equal(runs.length, ORDERS, `hook ran ${runs.length} times for ${ORDERS} orders`);
    assert.equal(perOrder.size, ORDERS);
    assert.ok(
      [...perOrder.values()].every((n) => n === 1),
      'one hook run per order',
    );
    assert.equal(new Set(runs.map((r) => r.pid)).size, 2, 'both processes delivered some orders');
    assert.equal(readdirSync(args.effectsDir).length, ORDERS, 'one effect per order');
    let delivered = 0;
    await pool(tradeNos, 16, async (t) => {
      if ((await store.getOrder(t))?.status === 'DELIVERED') delivered++;
    });
    assert.equal(delivered, ORDERS, 'every order recorded DELIVERED');
    console.log(`# storm ${t1 - t0} ms, checks ${Date.now() - t1} ms`);
    await store.close();
    for (const w of workers) await killWorker(w.child);
  });
});
