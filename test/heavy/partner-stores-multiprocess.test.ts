/**
 * Exactly-once delivery across OS processes: two worker processes
 * (test/support/claim-worker.ts) handle many concurrent duplicate delivery
 * notifications against the same SQLite file / the same PostgreSQL database;
 * and a process SIGKILLed between claim and record is recovered by a retry
 * after the lease. The guarantee: the delivery *record* is exactly-once; the
 * `deliver` hook is at-least-once with idempotency key `tradeNo` (it runs
 * again only when its first holder died before recording).
 *
 * Test-only triggers audit the database itself: one row per UPDATE that
 * grants a claim, one per UPDATE that writes a delivered order.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import pg from 'pg';
import type { PartnerStore } from '../../src/partner/store.js';
import { PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';
import type { WorkerArgs, WorkerResult } from '../support/claim-worker.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const WORKER_SRC = join(ROOT, 'test/support/claim-worker.ts');
// The worker is bundled once (esbuild, real store code, pg and better-sqlite3 left external) and run
// by plain node: a process starts in ~0.1 s instead of ~0.5 s through tsx. The bundle lives under
// node_modules/.cache so its imports resolve to this checkout's node_modules.
const CACHE = join(ROOT, 'node_modules/.cache/dingdang-pay-test');
const WORKER = join(CACHE, `claim-worker-${process.pid}.mjs`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A claim-worker child process with a JSON line protocol and bounded waits. */
class Worker {
  readonly child: ChildProcessWithoutNullStreams;
  #queue: unknown[] = [];
  #waiters: ((m: unknown) => void)[] = [];
  #stderr = '';
  #exited: Promise<number | null>;

  constructor(args: WorkerArgs) {
    this.child = spawn(process.execPath, [WORKER, JSON.stringify(args)], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // not ours
      }
      const w = this.#waiters.shift();
      if (w) w(msg);
      else this.#queue.push(msg);
    });
    this.child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.#exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  next<T>(what: string, timeoutMs = 20_000): Promise<T> {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no ${what} within ${timeoutMs} ms\n${this.#stderr}`)), timeoutMs);
      const waiter = (m: unknown) => {
        clearTimeout(timer);
        if (m && typeof m === 'object' && 'fatal' in m) reject(new Error(`worker failed: ${String(m.fatal)}`));
        else resolve(m as T);
      };
      this.#waiters.push(waiter);
      void this.#exited.then((code) => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        clearTimeout(timer);
        reject(new Error(`worker exited (${code}) before ${what}\n${this.#stderr}`));
      });
    });
  }

  go(startAt = Date.now()) {
    this.child.stdin.write(`go ${startAt}\n`);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
  }
}

const live = new Set<Worker>();
async function startWorkers(list: WorkerArgs[]): Promise<Worker[]> {
  const ws = list.map((a) => new Worker(a));
  for (const w of ws) live.add(w);
  for (const w of ws) await w.next<{ ready: true }>('ready');
  return ws;
}
async function runToEnd(ws: Worker[]): Promise<WorkerResult[]> {
  const startAt = Date.now() + 100;
  for (const w of ws) w.go(startAt);
  const results: WorkerResult[] = [];
  for (const w of ws) results.push(await w.next<WorkerResult>('result', 30_000));
  for (const w of ws) {
    await w.kill();
    live.delete(w);
  }
  return results;
}

interface HookRun {
  tradeNo: string;
  attempt: number;
  pid: number;
  label: string;
}
const hookRuns = (file: string): HookRun[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as HookRun)
    : [];

function countBy<T>(xs: T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

/** One shared database for a test, with the audit triggers installed. */
interface Target {
  kind: WorkerArgs['kind'];
  target: string;
  store: PartnerStore;
  /** trade_no of every audited UPDATE: `claims` granted, `deliveries` written. */
  audit(): Promise<{ claims: string[]; deliveries: string[] }>;
  close(): Promise<void>;
}

interface Backend {
  name: WorkerArgs['kind'];
  skip?: string | undefined;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  target(): Promise<Target>;
}

let tmp = '';
let n = 0;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ddp-mp-'));
  await build({
    entryPoints: [WORKER_SRC],
    outfile: WORKER,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'pg'],
    logLevel: 'error',
  });
});
after(async () => {
  for (const w of live) await w.kill();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(WORKER, { force: true });
});

const sqliteBackend: Backend = {
  name: 'sqlite',
  async setup() {},
  async teardown() {},
  async target() {
    const file = join(tmp, `shared-${n++}.db`);
    const store = new SqlitePartnerStore({ filename: file, busyTimeoutMs: 15_000 });
    await store.init();
    store.db.exec(`
      CREATE TABLE test_audit (what TEXT NOT NULL, trade_no TEXT NOT NULL);
      CREATE TRIGGER test_audit_claim AFTER UPDATE ON partner_orders WHEN NEW.attempts <> OLD.attempts
        BEGIN INSERT INTO test_audit VALUES ('claim', NEW.trade_no); END;
      CREATE TRIGGER test_audit_delivery AFTER UPDATE ON partner_orders WHEN NEW.status = 'DELIVERED'
        BEGIN INSERT INTO test_audit VALUES ('delivery', NEW.trade_no); END;
    `);
    return {
      kind: 'sqlite',
      target: file,
      store,
      async audit() {
        const db = new Database(file, { readonly: true });
        try {
          const rows = db.prepare('SELECT what, trade_no FROM test_audit').all() as { what: string; trade_no: string }[];
          return {
            claims: rows.filter((r) => r.what === 'claim').map((r) => r.trade_no),
            deliveries: rows.filter((r) => r.what === 'delivery').map((r) => r.trade_no),
          };
        } finally {
          db.close();
        }
      },
      close: () => store.close(),
    };
  },
};

let pgServer: PostgresServer | undefined;
const postgresBackend: Backend = {
  name: 'postgres',
  skip: postgresSkipReason(),
  async setup() {
    pgServer = await startPostgres();
  },
  async teardown() {
    await pgServer?.stop();
  },
  async target() {
    const url = await pgServer!.createDatabase();
    const store = new PostgresPartnerStore({ connectionString: url, poolSize: 4 });
    await store.init();
    await store.pool.query(`
      CREATE TABLE test_audit (what text NOT NULL, trade_no text NOT NULL);
      CREATE FUNCTION test_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO test_audit VALUES (TG_ARGV[0], NEW.trade_no); RETURN NEW; END $$;
      CREATE TRIGGER test_audit_claim AFTER UPDATE ON partner_orders FOR EACH ROW
        WHEN (NEW.attempts <> OLD.attempts) EXECUTE FUNCTION test_audit_fn('claim');
      CREATE TRIGGER test_audit_delivery AFTER UPDATE ON partner_orders FOR EACH ROW
        WHEN (NEW.status = 'DELIVERED') EXECUTE FUNCTION test_audit_fn('delivery');
    `);
    return {
      kind: 'postgres',
      target: url,
      store,
      async audit() {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
        await c.connect();
        try {
          const { rows } = await c.query<{ what: string; trade_no: string }>('SELECT what, trade_no FROM test_audit');
          return {
            claims: rows.filter((r) => r.what === 'claim').map((r) => r.trade_no),
            deliveries: rows.filter((r) => r.what === 'delivery').map((r) => r.trade_no),
          };
        } finally {
          await c.end();
        }
      },
      close: () => store.close(),
    };
  },
};

let seq = 0;
const tradeNo = () => `MP${process.pid}x${Date.now().toString(36)}x${(seq++).toString(36)}`.slice(0, 32);

async function createOrders(store: PartnerStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = tradeNo();
    await store.createOrder({
      tradeNo: t,
      skillId: 'skill-mp',
      userToken: `user-${i}`,
      details: [
        { itemId: `ep-${i}`, quantity: 1, amount: 100 },
        { itemId: `ep-${i}-bonus`, quantity: 1, amount: 0 },
      ],
      totalAmt: 100,
      createdAt: Date.now(),
    });
    ids.push(t);
  }
  return ids;
}

function workerArgs(t: Target, over: Partial<WorkerArgs> & Pick<WorkerArgs, 'tradeNos' | 'hookLog' | 'label'>): WorkerArgs {
  return { kind: t.kind, target: t.target, perOrder: 5, leaseMs: 30_000, mode: 'normal', jitterMs: 30, ...over };
}

for (const b of [sqliteBackend, postgresBackend]) {
  describe(`exactly-once delivery across processes: ${b.name}`, { skip: b.skip }, () => {
    before(() => b.setup());
    after(() => b.teardown());

    it('two processes × many concurrent duplicates → one claim, one hook run, one recorded delivery per order', async () => {
      const t = await b.target();
      try {
        const orders = await createOrders(t.store, 20);
        const hookLog = join(tmp, `hooks-${n++}.log`);
        const perOrder = 8;
        const ws = await startWorkers([
          workerArgs(t, { tradeNos: orders, perOrder, hookLog, label: 'A' }),
          workerArgs(t, { tradeNos: [...orders].reverse(), perOrder, hookLog, label: 'B' }),
        ]);
        const results = await runToEnd(ws);
        if (process.env.DDP_DEBUG) console.log(results.map((r) => r.outcomes));
        for (const r of results) assert.deepEqual(r.errors, [], `worker ${r.label} errors`);
        assert.notEqual(results[0]!.pid, results[1]!.pid);
        const total = (k: keyof WorkerResult['outcomes']) => results.reduce((s, r) => s + r.outcomes[k], 0);
        assert.equal(total('claimed'), orders.length, 'exactly one claimed outcome per order, over both processes');
        assert.equal(total('unknown-order'), 0);
        assert.equal(total('claimed') + total('in-progress') + total('already-delivered'), 2 * perOrder * orders.length);

        const runs = hookRuns(hookLog);
        assert.equal(runs.length, orders.length, 'the deliver hook ran once per order');
        assert.deepEqual([...countBy(runs, (r) => r.tradeNo).keys()].sort(), [...orders].sort());
        assert.ok(runs.every((r) => r.attempt === 1));

        const audit = await t.audit();
        assert.deepEqual([...audit.claims].sort(), [...orders].sort(), 'one claim UPDATE per order in the database');
        assert.deepEqual([...audit.deliveries].sort(), [...orders].sort(), 'one delivery UPDATE per order in the database');
        for (const [i, id] of orders.entries()) {
          const o = await t.store.getOrder(id);
          assert.equal(o?.status, 'DELIVERED');
          assert.equal(o?.transactionId, `tx-${id}`);
          assert.equal(await t.store.ownsItem('skill-mp', `user-${i}`, `ep-${i}`), true);
          assert.equal(await t.store.ownsItem('skill-mp', `user-${i}`, `ep-${i + 1}`), false);
        }

        // the platform keeps repeating: every repeat, from either process, is already-delivered
        const again = await runToEnd(
          await startWorkers([
            workerArgs(t, { tradeNos: orders, perOrder: 2, hookLog, label: 'A2' }),
            workerArgs(t, { tradeNos: orders, perOrder: 2, hookLog, label: 'B2' }),
          ]),
        );
        assert.equal(
          again.reduce((s, r) => s + r.outcomes['already-delivered'], 0),
          4 * orders.length,
        );
        assert.equal(hookRuns(hookLog).length, orders.length);
        assert.equal((await t.audit()).deliveries.length, orders.length);
      } finally {
        await t.close();
      }
    });

    it('two processes racing refunds of the same orders never refund more than paid; a shared refundTradeNo is one refund', async () => {
      const t = await b.target();
      try {
        const orders = await createOrders(t.store, 10); // 100 fen each
        const hookLog = join(tmp, `hooks-${n++}.log`);
        const results = await runToEnd(
          await startWorkers([
            workerArgs(t, { tradeNos: orders, perOrder: 8, hookLog, label: 'A', mode: 'refund', refundAmt: 30 }),
            workerArgs(t, { tradeNos: orders, perOrder: 8, hookLog, label: 'B', mode: 'refund', refundAmt: 30 }),
          ]),
        );
        for (const r of results) assert.deepEqual(r.errors, []);
        // a refundTradeNo both processes got back is the same refund (same createdAt)
        const [a, b2] = [results[0]!.refunds!, results[1]!.refunds!];
        for (const id of Object.keys(a)) if (id in b2) assert.equal(a[id], b2[id], `${id} is one refund`);
        for (const [i, id] of orders.entries()) {
          let sum = 0;
          let count = 0;
          for (let k = 0; k < 8; k++) {
            for (const rid of k % 2 === 0 ? [`S${i}x${k}`] : [`A${i}x${k}`, `B${i}x${k}`]) {
              const r = await t.store.getRefund(rid);
              if (!r) continue;
              assert.equal(r.tradeNo, id);
              sum += r.refundAmt;
              count++;
            }
          }
          assert.equal(count, 3, `${id}: three refunds of 30 fit into 100 fen`);
          assert.equal(sum, 90);
        }
      } finally {
        await t.close();
      }
    });

    for (const mode of ['crash-after-hook', 'crash-before-hook'] as const) {
      it(`a process SIGKILLed between claim and record (${mode}) → retries after the lease → exactly one recorded delivery`, async () => {
        const t = await b.target();
        try {
          const [order] = await createOrders(t.store, 1);
          const id = order!;
          const hookLog = join(tmp, `hooks-${n++}.log`);
          const leaseMs = 1000;
          const [doomed] = await startWorkers([workerArgs(t, { tradeNos: [id], hookLog, label: 'doomed', mode, leaseMs })]);
          doomed!.go();
          const claim = await doomed!.next<{ claimed: boolean; attempt: number; now: number }>('claim');
          assert.equal(claim.claimed, true);
          assert.equal(claim.attempt, 1);
          await doomed!.kill();
          live.delete(doomed!);
          assert.equal(doomed!.child.signalCode, 'SIGKILL');

          // while the dead holder's lease runs, a repeat is told to come back later (FAIL → platform retries)
          const early = await t.store.claimDelivery(id, `tx-${id}`, leaseMs, Date.now());
          if (Date.now() < claim.now + leaseMs) assert.equal(early.kind, 'in-progress');
          assert.equal((await t.store.getOrder(id))?.status, 'CREATED');
          assert.equal(hookRuns(hookLog).length, mode === 'crash-after-hook' ? 1 : 0);

          // the platform's retries, from two processes, after the lease (their own leases are long:
          // only the dead holder's lease has to run out)
          const ws = await startWorkers([workerArgs(t, { tradeNos: [id], hookLog, label: 'R1' }), workerArgs(t, { tradeNos: [id], hookLog, label: 'R2' })]);
          const wait = claim.now + leaseMs + 50 - Date.now();
          if (wait > 0) await sleep(wait);
          const results = await runToEnd(ws);
          for (const r of results) assert.deepEqual(r.errors, []);
          assert.equal(
            results.reduce((s, r) => s + r.outcomes.claimed, 0),
            1,
            'one retry took the expired claim over',
          );

          const runs = hookRuns(hookLog);
          const retried = runs.filter((r) => r.label !== 'doomed');
          assert.equal(retried.length, 1);
          assert.equal(retried[0]!.attempt, 2, 'the takeover is attempt 2');
          assert.ok(
            runs.every((r) => r.tradeNo === id),
            'every hook run carries the idempotency key tradeNo',
          );
          assert.equal(runs.length, mode === 'crash-after-hook' ? 2 : 1, 'at-least-once hook');

          const audit = await t.audit();
          assert.deepEqual(audit.deliveries, [id], 'exactly one recorded delivery');
          assert.equal(audit.claims.length, 2);
          const o = await t.store.getOrder(id);
          assert.equal(o?.status, 'DELIVERED');
          assert.equal(await t.store.ownsItem('skill-mp', 'user-0', 'ep-0'), true);
          assert.equal((await t.store.claimDelivery(id, `tx-${id}`, leaseMs, Date.now())).kind, 'already-delivered');
        } finally {
          await t.close();
        }
      });
    }

    it('a process SIGKILLed at a random moment under load → retries record every order exactly once', async () => {
      const t = await b.target();
      try {
        const orders = await createOrders(t.store, 30);
        const hookLog = join(tmp, `hooks-${n++}.log`);
        const leaseMs = 1000;
        const [victim] = await startWorkers([workerArgs(t, { tradeNos: orders, perOrder: 6, hookLog, label: 'victim', leaseMs })]);
        victim!.go();
        // let it get going (some orders claimed and hooked), then kill it mid-flight
        const started = Date.now();
        while (hookRuns(hookLog).length < 5 && Date.now() - started < 10_000) await sleep(2);
        await sleep(Math.floor(Math.random() * 10));
        const killedAt = Date.now();
        await victim!.kill();
        live.delete(victim!);

        const ws = await startWorkers([
          workerArgs(t, { tradeNos: orders, perOrder: 3, hookLog, label: 'R1' }),
          workerArgs(t, { tradeNos: [...orders].reverse(), perOrder: 3, hookLog, label: 'R2' }),
        ]);
        const wait = killedAt + leaseMs + 50 - Date.now();
        if (wait > 0) await sleep(wait);
        const results = await runToEnd(ws);
        for (const r of results) assert.deepEqual(r.errors, []);

        const audit = await t.audit();
        assert.deepEqual([...audit.deliveries].sort(), [...orders].sort(), 'every order recorded exactly once');
        const all = hookRuns(hookLog);
        const runs = countBy(all, (r) => r.tradeNo);
        const retryRuns = countBy(
          all.filter((r) => r.label !== 'victim'),
          (r) => r.tradeNo,
        );
        assert.ok(all.filter((r) => r.label === 'victim').length >= 5, 'the victim was killed mid-flight, after some deliveries');
        if (process.env.DDP_DEBUG)
          console.log('victim hook runs', all.filter((r) => r.label === 'victim').length, 'twice', [...runs.values()].filter((v) => v === 2).length);
        const claims = countBy(audit.claims, (x) => x);
        for (const id of orders) {
          assert.equal((await t.store.getOrder(id))?.status, 'DELIVERED');
          const ran = runs.get(id) ?? 0;
          // the hook ran at least once; more often only because a claim died with the victim
          // (each claim runs it at most once), and the retries ran it at most once
          assert.ok(ran >= 1, `${id}: hook never ran`);
          assert.ok(ran <= (claims.get(id) ?? 0), `${id}: hook runs ≤ claims granted`);
          assert.ok((retryRuns.get(id) ?? 0) <= 1, `${id}: the retries ran the hook at most once`);
        }
      } finally {
        await t.close();
      }
    });
  });
}
