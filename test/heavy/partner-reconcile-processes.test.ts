/**
 * Two reconciler processes (test/support/reconcile-worker.ts) at once over
 * one SQLite file and over one PostgreSQL database holding N paid orders
 * whose delivery notifications never arrived: every order is queried by one
 * process at a time and delivered exactly once (one hook run, one record),
 * against a pay platform here that signs its orderquery answers and notes
 * how many queries of one order ran at the same moment.
 *
 * And N refunds still PROCESSING whose result notifications never arrived
 * (delivered orders, half of them credit packs of one user): each refund is
 * queried by one process at a time, reaches SUCCESS, and what its order
 * granted is taken back exactly once (one revocation in all processes; the
 * user's credits end at zero, never below).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatTskDatetime, signRsa2 } from '../../src/protocol/index.js';
import { PostgresPartnerStore, SqlitePartnerStore, type PartnerStore } from '../../src/partner/index.js';
import { deliverBody, platform, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { hookRuns } from '../support/partner-procs.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';
import type { ReconcileWorkerArgs } from '../support/reconcile-worker.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const N = 60;
let tmp = '';
let pgServer: PostgresServer | undefined;
let files = 0;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ddp-recproc-'));
});
after(async () => {
  await pgServer?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** /paycgi/orderquery: every order paid; /paycgi/refundquery: every refund of `refunds` done; counts queries and overlapping ones per id. */
async function startPayPlatform(refunds = new Map<string, { tradeNo: string; refundAmt: number; totalAmt: number }>()) {
  const queries: string[] = [];
  const inFlight = new Map<string, number>();
  let overlaps = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tradeNo?: string; refundTradeNo?: string };
      const refund = req.url?.endsWith('/refundquery') ? refunds.get(body.refundTradeNo ?? '') : undefined;
      const t = refund ? body.refundTradeNo! : body.tradeNo!;
      queries.push(t);
      const n = (inFlight.get(t) ?? 0) + 1;
      inFlight.set(t, n);
      if (n > 1) overlaps++;
      setTimeout(() => {
        inFlight.set(t, inFlight.get(t)! - 1);
        const reply = JSON.stringify(
          refund
            ? {
                retCode: 'SUCCESS',
                skillId: SKILL_ID,
                transactionId: deliverBody(refund.tradeNo).transactionId,
                tradeNo: refund.tradeNo,
                refundTransactionId: `RT${t}`,
                refundTradeNo: t,
                totalAmt: refund.totalAmt,
                refundAmt: refund.refundAmt,
                refundStatus: 'SUCCESS',
                refundStatusDesc: '退款成功',
              }
            : {
                retCode: 'SUCCESS',
                skillId: SKILL_ID,
                transactionId: deliverBody(t).transactionId,
                tradeNo: t,
                totalAmt: 200,
                tradeStatus: 'SUCCESS',
                tradeStatusDesc: '支付成功',
              },
        );
        res.writeHead(200, {
          'content-type': 'application/json',
          authorization: signRsa2(reply, platform.privateKey, { datetime: formatTskDatetime(Date.now()) }),
        });
        res.end(reply);
      }, 10);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queries,
    get overlaps() {
      return overlaps;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function runWorker(args: ReconcileWorkerArgs): Promise<{ passes: number; found: number; delivered: number; refundsSettled: number; errors: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/reconcile-worker.ts'), JSON.stringify(args)], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim()) as never);
      else reject(new Error(`reconcile worker exited ${code}: ${err}`));
    });
  });
}

const backends: Array<{ name: 'sqlite' | 'postgres'; skip: string | undefined; target(): Promise<{ target: string; open(): PartnerStore }> }> = [
  {
    name: 'sqlite',
    skip: undefined,
    async target() {
      const file = join(tmp, `shared-${files++}.db`);
      return { target: file, open: () => new SqlitePartnerStore({ filename: file, shared: true }) };
    },
  },
  {
    name: 'postgres',
    skip: postgresSkipReason(),
    async target() {
      pgServer ??= await startPostgres();
      const url = await pgServer.createDatabase();
      return { target: url, open: () => new PostgresPartnerStore({ connectionString: url, poolSize: 2 }) };
    },
  },
];

for (const b of backends) {
  describe(`two reconciler processes on one ${b.name} store`, { skip: b.skip }, () => {
    it(`deliver ${N} paid-but-undelivered orders exactly once, never checking one order twice at once`, async () => {
      const { target, open } = await b.target();
      const store = open();
      const pay = await startPayPlatform();
      const made: string[] = [];
      try {
        await store.init();
        for (let i = 0; i < N; i++) {
          const tradeNo = `R${b.name.slice(0, 2)}${Date.now().toString(36)}${i}`;
          await store.createOrder({
            tradeNo,
            skillId: SKILL_ID,
            userToken: 'user-1',
            details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
            totalAmt: 200,
            createdAt: Date.now() - 120_000,
          });
          made.push(tradeNo);
        }
        const hookLog = join(tmp, `${b.name}-hooks.jsonl`);
        const args: ReconcileWorkerArgs = {
          kind: b.name,
          target,
          skillId: SKILL_ID,
          tskPublicKey: platform.publicKeyBase64,
          skillPrivateKey: skill.privateKeyPem,
          payBaseUrl: pay.url,
          hookLog,
          batchSize: 7,
          startAt: Date.now() + 3_000, // both processes loaded by then
        };
        const reports = await Promise.all([runWorker(args), runWorker(args)]);
        assert.equal(reports[0].delivered + reports[1].delivered, N, JSON.stringify(reports));
        assert.ok(reports[0].delivered > 0 && reports[1].delivered > 0, `both processes worked: ${JSON.stringify(reports)}`);
        assert.equal(reports[0].errors + reports[1].errors, 0);
        assert.equal(pay.overlaps, 0, 'no order was queried by both processes at once');
        assert.deepEqual([...pay.queries].sort(), [...made].sort(), 'each order queried once');
        const runs = hookRuns(hookLog);
        assert.deepEqual(runs.map((r) => r.tradeNo).sort(), [...made].sort(), 'one hook run per order');
        assert.equal(new Set(runs.map((r) => r.pid)).size, 2, 'hooks ran in both processes');
        for (const t of made) assert.equal((await store.getOrder(t))?.status, 'DELIVERED');
      } finally {
        await store.close();
        await pay.close();
      }
    });

    it(`settle ${N} refunds whose notifications never came, each queried by one process at a time and taken back exactly once`, async () => {
      const { target, open } = await b.target();
      const store = open();
      const refunds = new Map<string, { tradeNo: string; refundAmt: number; totalAmt: number }>();
      const pay = await startPayPlatform(refunds);
      const tradeNos: string[] = [];
      const packUser = 'user-packs';
      try {
        await store.init();
        const at = Date.now() - 120_000;
        for (let i = 0; i < N; i++) {
          const tradeNo = `F${b.name.slice(0, 2)}${Date.now().toString(36)}${i}`;
          const pack = i % 2 === 1;
          await store.createOrder({
            tradeNo,
            skillId: SKILL_ID,
            userToken: pack ? packUser : `user-r${i}`,
            details: [{ itemId: pack ? 'card10' : 'ep35', quantity: 1, amount: 200 }],
            totalAmt: 200,
            createdAt: at,
            ...(pack ? { credits: [{ itemId: 'card10', balance: 'plays', count: 10, onRefund: 'remaining' as const }] } : {}),
          });
          const claim = await store.claimDelivery(tradeNo, deliverBody(tradeNo).transactionId, 60_000, at);
          assert.equal(claim.kind, 'claimed');
          await store.completeDelivery(tradeNo, at);
          const refundTradeNo = `RF${tradeNo}`;
          // what requestRefund records before the platform's answer; the result notification never comes
          await store.saveRefund({ refundTradeNo, tradeNo, refundAmt: 200, status: 'PROCESSING', refundTransactionId: null, createdAt: at });
          refunds.set(refundTradeNo, { tradeNo, refundAmt: 200, totalAmt: 200 });
          tradeNos.push(tradeNo);
        }
        const packs = N / 2;
        assert.equal(await store.getCredits!(SKILL_ID, packUser, 'plays'), 10 * packs);
        assert.equal((await store.consumeCredits!(SKILL_ID, packUser, 'plays', 15)).ok, true);
        const revokeLog = join(tmp, `${b.name}-revokes.jsonl`);
        const args: ReconcileWorkerArgs = {
          kind: b.name,
          target,
          skillId: SKILL_ID,
          tskPublicKey: platform.publicKeyBase64,
          skillPrivateKey: skill.privateKeyPem,
          payBaseUrl: pay.url,
          hookLog: join(tmp, `${b.name}-refund-hooks.jsonl`),
          revokeLog,
          batchSize: 7,
          startAt: Date.now() + 3_000,
        };
        const reports = await Promise.all([runWorker(args), runWorker(args)]);
        assert.equal(reports[0].refundsSettled + reports[1].refundsSettled, N, JSON.stringify(reports));
        assert.ok(reports[0].refundsSettled > 0 && reports[1].refundsSettled > 0, `both processes worked: ${JSON.stringify(reports)}`);
        assert.equal(reports[0].errors + reports[1].errors, 0);
        assert.equal(pay.overlaps, 0, 'no refund was queried by both processes at once');
        assert.deepEqual([...pay.queries].sort(), [...refunds.keys()].sort(), 'each refund queried once');
        const revocations = hookRuns(revokeLog) as unknown as Array<{ tradeNo: string; pid: number }>;
        assert.deepEqual(revocations.map((r) => r.tradeNo).sort(), [...tradeNos].sort(), 'one revocation per order, in all processes');
        for (const [refundTradeNo, r] of refunds) {
          assert.equal((await store.getRefund(refundTradeNo))?.status, 'SUCCESS');
          assert.equal(await store.ownsItem(SKILL_ID, (await store.getOrder(r.tradeNo))!.userToken, 'ep35'), false);
        }
        assert.equal(await store.getCredits!(SKILL_ID, packUser, 'plays'), 0, 'what was left of the packs taken back, not below zero');
        const history = await store.listPurchases!(SKILL_ID, packUser, { limit: 100 });
        assert.equal(history.purchases.length, packs);
        assert.ok(history.purchases.every((p) => p.status === 'revoked'));
      } finally {
        await store.close();
        await pay.close();
      }
    });
  });
}
