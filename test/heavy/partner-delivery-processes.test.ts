/**
 * Exactly-once delivery through the real handlers over HTTP, across OS
 * processes (test/support/partner-http-worker.ts) sharing one SQLite file or
 * one PostgreSQL database:
 *
 * * many concurrent duplicate notifications sent to two backend processes →
 *   one hook run and one recorded delivery per order, SUCCESS in the end to all;
 * * a process killed between the hook and the record, then the notification
 *   retried to the other process → the hook runs again with the same
 *   idempotency key, the idempotent effect happens once, the record once.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomNonce, validateJson, verifyRsa2, type MessageKind } from '../../src/protocol/index.js';
import { PostgresPartnerStore, SqlitePartnerStore, type PartnerStore } from '../../src/partner/index.js';
import { CATALOG, createOrderBody, deliverBody, platform, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';
import type { HttpWorkerArgs } from '../support/partner-http-worker.js';
import { hookRuns, killWorker, liveWorkers, sleep, startWorker } from '../support/partner-procs.js';

let tmp = '';
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ddp-deliv-'));
});
after(async () => {
  for (const c of liveWorkers) await killWorker(c);
  rmSync(tmp, { recursive: true, force: true });
});

async function send<K extends MessageKind>(base: string, path: string, message: object, kind: K) {
  const req = signedRequest(JSON.stringify(message));
  const res = await fetch(base + path, {
    method: 'POST',
    headers: req.headers as Record<string, string>,
    body: new Uint8Array(req.rawBody),
    signal: AbortSignal.timeout(15_000),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  assert.ok(verifyRsa2(raw, res.headers.get('authorization'), skill.publicKey).ok, 'reply signed by the skill');
  const v = validateJson(kind, raw);
  assert.ok(v.ok);
  return v.value;
}

/** Send a delivery notification until SUCCESS, like the platform's retries (bounded). */
async function deliverUntilSuccess(base: string, tradeNo: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 60; i++) {
    const r = await send(base, '/dingdang/deliver', deliverBody(tradeNo, { nonceStr: randomNonce() }), 'deliverNotifyReply');
    seen.push(r.retCode === 'SUCCESS' ? 'SUCCESS' : `FAIL ${r.retMsg}`);
    if (r.retCode === 'SUCCESS') return seen;
    await sleep(50);
  }
  throw new Error(`no SUCCESS: ${seen.join(', ')}`);
}

interface Backend {
  name: 'sqlite' | 'postgres';
  skip: string | undefined;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  target(): Promise<{ target: string; open(): PartnerStore }>;
}

let n = 0;
let pgServer: PostgresServer | undefined;
const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async setup() {},
    async teardown() {},
    async target() {
      const file = join(tmp, `shared-${n++}.db`);
      return { target: file, open: () => new SqlitePartnerStore({ filename: file }) };
    },
  },
  {
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
      return { target: url, open: () => new PostgresPartnerStore({ connectionString: url, poolSize: 2 }) };
    },
  },
];

for (const b of backends) {
  describe(`delivery across processes through the handlers: ${b.name}`, { skip: b.skip }, () => {
    before(() => b.setup());
    after(() => b.teardown());

    const argsFor = (target: string, dir: string, over: Partial<HttpWorkerArgs> = {}): HttpWorkerArgs => ({
      kind: b.name,
      target,
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKeyBase64,
      skillPrivateKey: skill.privateKeyPem,
      catalog: CATALOG.map(({ itemId, price }) => ({ itemId, price })),
      hookLog: join(dir, 'hooks.jsonl'),
      effectsDir: join(dir, 'effects'),
      leaseMs: 5_000,
      ...over,
    });

    it('a request replayed to the other process is refused: the replay guard lives in the shared store', async () => {
      const { target, open } = await b.target();
      const dir = mkdtempSync(join(tmp, 'replay-'));
      const [w1, w2] = await Promise.all([startWorker(argsFor(target, dir, { sharedStore: true })), startWorker(argsFor(target, dir, { sharedStore: true }))]);
      try {
        const req = signedRequest(JSON.stringify(createOrderBody()));
        const post = async (base: string) => {
          const res = await fetch(base + '/dingdang/create-order', {
            method: 'POST',
            headers: req.headers as Record<string, string>,
            body: new Uint8Array(req.rawBody),
            signal: AbortSignal.timeout(15_000),
          });
          const raw = Buffer.from(await res.arrayBuffer());
          assert.ok(verifyRsa2(raw, res.headers.get('authorization'), skill.publicKey).ok, 'reply signed by the skill');
          const v = validateJson('createOrderReply', raw);
          assert.ok(v.ok);
          return v.value;
        };
        const first = await post(w1.base);
        assert.equal(first.retCode, 'SUCCESS');
        const replayed = await post(w2.base);
        assert.deepEqual([replayed.retCode, replayed.retMsg], ['FAIL', 'signature: replay'], 'the other process refused the replay');
        const again = await post(w1.base);
        assert.deepEqual([again.retCode, again.retMsg], ['FAIL', 'signature: replay']);
        const store = open();
        try {
          assert.ok(await store.getOrder(first.tradeNo!), 'the first one created its order');
        } finally {
          await store.close();
        }
      } finally {
        await Promise.all([killWorker(w1.child), killWorker(w2.child)]);
      }
    });

    it('two processes × many concurrent duplicates → one hook run and one delivery per order', async () => {
      const { target, open } = await b.target();
      const dir = mkdtempSync(join(tmp, 'dup-'));
      const [w1, w2] = await Promise.all([startWorker(argsFor(target, dir, { hookDelayMs: 30 })), startWorker(argsFor(target, dir, { hookDelayMs: 30 }))]);
      try {
        const orders: string[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await send(w1.base, '/dingdang/create-order', createOrderBody(), 'createOrderReply');
          assert.equal(r.retCode, 'SUCCESS');
          orders.push(r.tradeNo!);
        }
        const storms = orders.flatMap((tradeNo) =>
          Array.from({ length: 16 }, (_, k) => deliverUntilSuccess(k % 2 ? w1.base : w2.base, tradeNo).then(() => tradeNo)),
        );
        const done = await Promise.all(storms);
        assert.equal(done.length, 64);
        const runs = hookRuns(join(dir, 'hooks.jsonl'));
        assert.deepEqual(runs.map((r) => r.tradeNo).sort(), [...orders].sort(), 'one hook run per order');
        assert.deepEqual(readdirSync(join(dir, 'effects')).sort(), [...orders].sort());
        const store = open();
        try {
          for (const t of orders) assert.equal((await store.getOrder(t))?.status, 'DELIVERED');
        } finally {
          await store.close();
        }
      } finally {
        await killWorker(w1.child);
        await killWorker(w2.child);
      }
    });

    it('a process killed between hook and record; the retry to another process delivers exactly once', async () => {
      const { target, open } = await b.target();
      const dir = mkdtempSync(join(tmp, 'crash-'));
      const leaseMs = 1_500;
      const [doomed, survivor] = await Promise.all([
        startWorker(argsFor(target, dir, { leaseMs, crashInHook: true })),
        startWorker(argsFor(target, dir, { leaseMs })),
      ]);
      try {
        const created = await send(survivor.base, '/dingdang/create-order', createOrderBody({ userToken: 'user-1' }), 'createOrderReply');
        const tradeNo = created.tradeNo!;
        // The first notification reaches the doomed process: hook runs, process dies before the record.
        await assert.rejects(send(doomed.base, '/dingdang/deliver', deliverBody(tradeNo), 'deliverNotifyReply'));
        await doomed.exited;
        const store = open();
        try {
          assert.equal((await store.getOrder(tradeNo))?.status, 'CREATED', 'not recorded');
          // While the dead holder's lease lasts, a retry does not deliver a second time.
          const early = await send(survivor.base, '/dingdang/deliver', deliverBody(tradeNo), 'deliverNotifyReply');
          assert.deepEqual([early.retCode, early.retMsg], ['FAIL', 'delivery in progress']);
          assert.equal(hookRuns(join(dir, 'hooks.jsonl')).length, 1);
          await sleep(leaseMs + 100);
          const seen = await deliverUntilSuccess(survivor.base, tradeNo);
          assert.equal(seen.at(-1), 'SUCCESS');
          assert.equal((await deliverUntilSuccess(survivor.base, tradeNo)).length, 1, 'repeats get SUCCESS at once');
          const runs = hookRuns(join(dir, 'hooks.jsonl'));
          assert.deepEqual(
            runs.map((r) => [r.tradeNo, r.attempt]),
            [
              [tradeNo, 1],
              [tradeNo, 2],
            ],
            'hook at-least-once with the same key',
          );
          assert.notEqual(runs[0]!.pid, runs[1]!.pid);
          assert.deepEqual(readdirSync(join(dir, 'effects')), [tradeNo], 'the idempotent effect happened once');
          const order = await store.getOrder(tradeNo);
          assert.equal(order?.status, 'DELIVERED');
          assert.equal(await store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
        } finally {
          await store.close();
        }
      } finally {
        await killWorker(doomed.child);
        await killWorker(survivor.child);
      }
    });
  });
}
