/**
 * Two reconciler processes (test/support/reconcile-worker.ts) at once over
 * one SQLite file and over one PostgreSQL database holding N paid orders
 * whose delivery notifications never arrived: every order is queried by one
 * process at a time and delivered exactly once (one hook run, one record),
 * against a pay platform here that signs its orderquery answers and notes
 * how many queries of one order ran at the same moment.
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
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ddp-recproc-'));
});
after(async () => {
  await pgServer?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** /paycgi/orderquery: every order paid; counts queries and overlapping ones per tradeNo. */
async function startPayPlatform() {
  const queries: string[] = [];
  const inFlight = new Map<string, number>();
  let overlaps = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tradeNo: string };
      const t = body.tradeNo;
      queries.push(t);
      const n = (inFlight.get(t) ?? 0) + 1;
      inFlight.set(t, n);
      if (n > 1) overlaps++;
      setTimeout(() => {
        inFlight.set(t, inFlight.get(t)! - 1);
        const reply = JSON.stringify({
          retCode: 'SUCCESS',
          skillId: SKILL_ID,
          transactionId: deliverBody(t).transactionId,
          tradeNo: t,
          totalAmt: 200,
          tradeStatus: 'SUCCESS',
          tradeStatusDesc: '支付成功',
        });
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

function runWorker(args: ReconcileWorkerArgs): Promise<{ passes: number; found: number; delivered: number; errors: number }> {
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
      const file = join(tmp, 'shared.db');
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
  });
}
