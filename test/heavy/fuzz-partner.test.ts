/**
 * Fuzzing the partner's three HTTP handlers (create order, delivery, refund
 * notification) over loopback through the node-http adapter, on a real
 * SQLite store: random bytes, random JSON, field mutations and byte edits of
 * valid requests, every way of breaking the Authorization header.
 *
 * For every request: no crash, no 5xx, the reply is signed with the skill key
 * over its exact bytes and is a valid reply, `retMsg` ≤ 32 characters, a FAIL
 * leaves the store exactly as it was, an unsigned/badly signed request always
 * FAILs, the deliver hook never runs twice for one order.
 * DINGDANG_FUZZ_RUNS=5000 for a longer run (DINGDANG_FUZZ_SEED to replay).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { randomNonce, validateJson, verifyRsa2, type MessageKind } from '../../src/protocol/index.js';
import { catalogFrom, createPartnerHandlers, DEFAULT_PARTNER_PATHS, partnerRequestListener, SqlitePartnerStore } from '../../src/partner/index.js';
import { CATALOG, platform, skill, SKILL_ID } from '../support/partner-fixtures.js';
import {
  applyEdits,
  byteEdits,
  check,
  charLength,
  fuzzParams,
  fuzzTimeout,
  garbageHeader,
  mutate,
  mutation,
  post,
  signAs,
  signMode,
  type Json,
} from '../support/fuzz-common.js';

type Route = 'createOrder' | 'deliver' | 'refundNotify';
const REPLY_KIND: Record<Route, MessageKind> = {
  createOrder: 'createOrderReply',
  deliver: 'deliverNotifyReply',
  refundNotify: 'refundNotifyReply',
};
const DELIVERED = 'SEEDDELIVERED01';

let dir: string;
let store: SqlitePartnerStore;
let server: http.Server;
let base: string;
const hookRuns = new Map<string, number>();
const tally = { SUCCESS: 0, FAIL: 0 };

/**
 * The store's write counter: SQLite's total_changes() counts every row
 * inserted, updated or deleted through this connection (the handlers' store
 * is the only writer), so an unchanged value means an unchanged store.
 */
function snapshot(): string {
  return JSON.stringify(store.db.prepare('SELECT total_changes() AS n').get());
}

async function freshOrder(delivered = false): Promise<string> {
  const tradeNo = 'F' + randomNonce(20);
  await store.createOrder({
    tradeNo,
    skillId: SKILL_ID,
    userToken: 'user-1',
    details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
    totalAmt: 200,
    createdAt: Date.now(),
  });
  if (delivered) {
    await store.claimDelivery(tradeNo, 'DD' + tradeNo, 60_000, Date.now());
    await store.completeDelivery(tradeNo, Date.now());
  }
  return tradeNo;
}

function template(route: Route, tradeNo: string, refundTradeNo: string): Record<string, Json> {
  const nonceStr = randomNonce();
  if (route === 'createOrder')
    return { skillId: SKILL_ID, userToken: 'buyer-' + nonceStr.slice(0, 8), details: [{ itemId: 'ep35', quantity: 1, amount: 200 }], totalAmt: 200, nonceStr };
  if (route === 'deliver') return { skillId: SKILL_ID, userToken: 'user-1', transactionId: 'DD' + tradeNo, tradeNo, totalAmt: 200, nonceStr };
  return {
    skillId: SKILL_ID,
    transactionId: 'DD' + tradeNo,
    tradeNo,
    refundTransactionId: 'RT' + refundTradeNo,
    refundTradeNo,
    totalAmt: 200,
    refundAmt: 50,
    refundStatus: 'SUCCESS',
    refundStatusDesc: 'ok',
    nonceStr,
  };
}

type BodyPlan =
  | { kind: 'template'; mutations: Array<ReturnType<typeof mutation.generate>['value']>; target: 'fresh' | 'delivered' | 'unknown' }
  | { kind: 'edited'; edits: Array<[number, number, string]> }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'json'; value: unknown };

const bodyPlan: fc.Arbitrary<BodyPlan> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('template' as const),
      mutations: fc.array(mutation, { maxLength: 3 }),
      target: fc.constantFrom('fresh' as const, 'delivered' as const, 'unknown' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('edited' as const), edits: byteEdits }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 3 }) }) },
);

function checkReply(route: Route, res: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }) {
  assert.ok(res.status < 500, `no 5xx (got ${res.status})`);
  assert.equal(res.status, 200);
  const auth = res.headers.authorization;
  assert.equal(typeof auth, 'string', 'reply is signed');
  const v = verifyRsa2(res.body, auth, skill.publicKey);
  assert.ok(v.ok, `reply signature verifies with the skill public key: ${v.ok ? '' : v.message}`);
  const parsed = validateJson(REPLY_KIND[route], res.body);
  assert.ok(parsed.ok, `reply is a valid ${REPLY_KIND[route]}`);
  const reply = parsed.value as { retCode: string; retMsg?: string; tradeNo?: string };
  if (reply.retMsg !== undefined) assert.ok(charLength(reply.retMsg) <= 32, `retMsg ≤ 32: ${reply.retMsg}`);
  return reply;
}

async function fuzzRoute(route: Route, runs: number) {
  await check(
    fc.asyncProperty(bodyPlan, signMode, garbageHeader, async (plan, mode, garbage) => {
      // Refunds need a paid order; each run gets its own so refunds never add up past the total.
      const fresh = await freshOrder(route === 'refundNotify');
      const refundTradeNo = 'R' + randomNonce(20);
      const target = plan.kind === 'template' ? plan.target : 'fresh';
      const tradeNo =
        target === 'fresh' || (target === 'delivered' && route === 'refundNotify') ? fresh : target === 'delivered' ? DELIVERED : 'NOSUCH' + randomNonce(8);
      const tpl = template(route, tradeNo, refundTradeNo);
      let text: Buffer;
      if (plan.kind === 'template') text = Buffer.from(JSON.stringify(mutate(tpl, plan.mutations)));
      else if (plan.kind === 'edited') text = Buffer.from(applyEdits(JSON.stringify(tpl), plan.edits));
      else if (plan.kind === 'bytes') text = Buffer.from(plan.bytes);
      else text = Buffer.from(JSON.stringify(plan.value) ?? '');
      const req = signAs(mode, text, platform.privateKey, skill.privateKey, garbage);

      const beforeState = snapshot();
      const res = await post(base + DEFAULT_PARTNER_PATHS[route], req.body, req.headers);
      const reply = checkReply(route, res);
      tally[reply.retCode as 'SUCCESS' | 'FAIL']++;

      if (mode !== 'good') assert.equal(reply.retCode, 'FAIL', `a request signed "${mode}" is refused`);
      const untouched = plan.kind === 'template' && plan.mutations.every((m) => m.op === 'none' || m.op === 'add') && target !== 'unknown';
      if (mode === 'good' && untouched && !(route === 'createOrder' && plan.mutations.length > 0))
        assert.equal(reply.retCode, 'SUCCESS', `an intact, well-signed ${route} is accepted: ${JSON.stringify(reply)}`);

      if (reply.retCode === 'FAIL') {
        assert.equal(snapshot(), beforeState, `FAIL "${reply.retMsg}" left the store unchanged`);
        return;
      }
      // SUCCESS: only valid requests may get here, and the store shows their effect.
      const kind = route === 'createOrder' ? 'createOrderRequest' : route === 'deliver' ? 'deliverNotifyRequest' : 'refundNotifyRequest';
      const request = validateJson(kind, req.body);
      assert.ok(request.ok, 'only a valid request is accepted');
      const m = request.value as Record<string, unknown>;
      if (route === 'createOrder') {
        const order = await store.getOrder(reply.tradeNo!);
        assert.ok(order, 'the new order is stored');
        assert.notEqual(snapshot(), beforeState, 'the write counter sees a write (the FAIL check has teeth)');
        const sum = order.details.reduce((a, d) => a + d.quantity * (CATALOG.find((c) => c.itemId === d.itemId)?.price ?? NaN), 0);
        assert.equal(order.totalAmt, sum, 'stored total equals the catalog price of its lines');
        assert.equal(order.userToken, m.userToken);
      } else if (route === 'deliver') {
        assert.equal((await store.getOrder(String(m.tradeNo)))?.status, 'DELIVERED');
      } else {
        assert.ok(await store.getRefund(String(m.refundTradeNo)), 'the refund is stored');
      }
    }),
    fuzzParams(runs),
  );
}

describe('fuzz: partner HTTP handlers (node-http adapter, SQLite store)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-fuzz-partner-'));
    store = new SqlitePartnerStore(join(dir, 'partner.db'));
    await store.init();
    await store.createOrder({
      tradeNo: DELIVERED,
      skillId: SKILL_ID,
      userToken: 'user-1',
      details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
      totalAmt: 200,
      createdAt: Date.now(),
    });
    await store.claimDelivery(DELIVERED, 'DD' + DELIVERED, 60_000, Date.now());
    await store.completeDelivery(DELIVERED, Date.now());
    const handlers = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKeyBase64,
      skillPrivateKey: skill.privateKeyPem,
      store,
      catalog: catalogFrom(CATALOG),
      deliver: ({ idempotencyKey }) => {
        hookRuns.set(idempotencyKey, (hookRuns.get(idempotencyKey) ?? 0) + 1);
      },
      inProgressWaitMs: 0,
    });
    server = http.createServer(partnerRequestListener(handlers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create order: signed replies, no 5xx, FAIL changes nothing', { timeout: fuzzTimeout(120) }, () => fuzzRoute('createOrder', 120));
  it('delivery notification: signed replies, no 5xx, FAIL changes nothing, hook at most once per order', { timeout: fuzzTimeout(120) }, async () => {
    await fuzzRoute('deliver', 120);
    for (const [tradeNo, n] of hookRuns) assert.equal(n, 1, `deliver hook ran ${n} times for ${tradeNo}`);
  });
  it('refund notification: signed replies, no 5xx, FAIL changes nothing', { timeout: fuzzTimeout(120) }, () => fuzzRoute('refundNotify', 120));

  it('oversized and empty bodies get a signed FAIL and change nothing', { timeout: 60_000 }, async () => {
    await check(
      fc.asyncProperty(
        fc.constantFrom<'createOrder' | 'deliver' | 'refundNotify'>('createOrder', 'deliver', 'refundNotify'),
        fc.integer({ min: 64 * 1024 + 1, max: 300_000 }),
        async (route, size) => {
          const beforeState = snapshot();
          const body = Buffer.alloc(size, 0x7b);
          const res = await post(base + DEFAULT_PARTNER_PATHS[route], body, [['content-type', 'application/json']]);
          const reply = checkReply(route, res);
          assert.deepEqual([reply.retCode, reply.retMsg], ['FAIL', 'body too large']);
          assert.equal(snapshot(), beforeState);
        },
      ),
      fuzzParams(10),
    );
    const empty = await post(base + DEFAULT_PARTNER_PATHS.deliver, Buffer.alloc(0), []);
    assert.equal(checkReply('deliver', empty).retCode, 'FAIL');
  });

  it('the fuzzer reached both outcomes (it is not refusing everything)', () => {
    assert.ok(tally.SUCCESS > 0, `some requests succeeded (${JSON.stringify(tally)})`);
    assert.ok(tally.FAIL > 0, `some requests failed (${JSON.stringify(tally)})`);
  });
});
