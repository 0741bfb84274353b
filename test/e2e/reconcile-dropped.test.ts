/**
 * Chaos proof of the reconciler against the real sandbox: the sandbox drops
 * every delivery notification before it reaches the backend (partner fault
 * `drop`), N orders are paid; the backend — the real partner handlers behind
 * node:http over a SQLite file — never hears of them. The reconciler's pass
 * asks the sandbox (orderquery, signed both ways) and delivers all N exactly
 * once; when the notifications get through later, they change nothing.
 *
 * The same for refunds: every refund result notification dropped, N refunds
 * requested (episodes and credit packs), the reconciler's refund queries
 * (PROCESSING first: back-off, then SUCCESS) bring each to its final state
 * and its effect — what the order granted taken back — happens exactly once;
 * the late notifications change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  catalogFrom,
  consumeCredits,
  createPartnerHandlers,
  createReconciler,
  creditsOf,
  listPurchases,
  partnerRequestListener,
  PayClient,
  requestRefund,
  SqlitePartnerStore,
  type PartnerStore,
} from '../../src/partner/index.js';
import { parseSandboxConfig, Sandbox } from '../../src/sandbox/index.js';
import { CHARGE } from '../support/statechart.js';
import { platformKeys, SKILL_ID, SKILL_PRIVATE, SKILL_PUBLIC, SKILL_SECRET, until } from '../support/sandbox.js';

const N = 8;
const N_REFUNDS = 6;

test(
  `deliveries dropped on the way: the reconciler delivers all ${N} paid orders exactly once, and the late notifications change nothing`,
  { timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-chaos-recon-'));
    const keys = platformKeys();
    const store = new SqlitePartnerStore(join(dir, 'backend.db'));
    await store.init();
    const hook: string[] = [];
    const handlers = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: keys.publicKeyBase64,
      skillPrivateKey: SKILL_PRIVATE,
      store,
      catalog: catalogFrom([{ itemId: 'ep2', price: 200 }]),
      deliver: ({ idempotencyKey }) => void hook.push(idempotencyKey),
    });
    const server = createServer(partnerRequestListener(handlers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const backend = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = parseSandboxConfig({
      skills: [
        {
          skillId: SKILL_ID,
          skillSecret: SKILL_SECRET,
          skillPublicKey: SKILL_PUBLIC,
          skillEndpoint: `${backend}/skill`,
          createOrderUrl: `${backend}/dingdang/create-order`,
          deliverUrl: `${backend}/dingdang/deliver`,
          refundNotifyUrl: `${backend}/dingdang/refund-notify`,
        },
      ],
      platformPrivateKey: keys.privateKeyPem,
    });
    const sandbox = await Sandbox.start({ config, timeScale: 0.0001, processingMs: 0, callTimeoutMs: 1500 });
    const client = sandbox.client();
    try {
      await client.setFaults({ partner: { mode: 'drop', calls: ['deliver'], count: 0 } });
      const paid: string[] = [];
      for (let i = 0; i < N; i++) {
        const p = await client.startPurchase({ mode: 'screen', charge: CHARGE, originalRequest: { i }, skillId: SKILL_ID, userId: `chaos-u${i}` });
        const placed = await client.placeOrder(p.purchaseId);
        assert.equal(placed.kind, 'order');
        const order = (placed as { order: { transactionId: string; tradeNo: string } }).order;
        await client.payOrder(order.transactionId, 'success');
        paid.push(order.tradeNo);
      }
      // The notifications were tried (and dropped): the backend knows only the orders it created.
      await new Promise((r) => setTimeout(r, 200));
      for (const t of paid) assert.equal((await store.getOrder(t))?.status, 'CREATED');
      assert.equal(hook.length, 0);

      const pay = new PayClient({
        skillId: SKILL_ID,
        skillPrivateKey: SKILL_PRIVATE,
        tskPublicKey: keys.publicKeyBase64,
        baseUrl: sandbox.url,
        timeoutMs: 3000,
      });
      const reconciler = createReconciler({ store, pay, handlers, minAgeMs: 0, batchSize: 5 });
      let delivered = 0;
      for (let pass = 0; pass < 5 && delivered < N; pass++) delivered += (await reconciler.runOnce()).delivered;
      assert.equal(delivered, N, 'every paid order delivered by the reconciler');
      for (const t of paid) assert.equal((await store.getOrder(t))?.status, 'DELIVERED');
      assert.deepEqual([...hook].sort(), [...paid].sort(), 'one hook run per order');

      // The fault clears; the platform's own notifications get through now: SUCCESS, and nothing runs again.
      await client.clearFaults();
      for (const t of paid) {
        const tx = (await store.getOrder(t))!.transactionId!;
        const r = await client.notifyOrder(tx);
        assert.equal(r?.retCode, 'SUCCESS');
      }
      assert.equal(hook.length, N, 'still exactly once');
      assert.equal((await reconciler.runOnce()).delivered, 0, 'nothing left to settle');
    } finally {
      await sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** The store, with every revocation that took something back counted per order. */
function countingRevocations(store: PartnerStore) {
  const revoked = new Map<string, number>();
  const counted = new Proxy(store, {
    get(t, prop) {
      if (prop === 'revokeEntitlements')
        return async (tradeNo: string) => {
          const n = await t.revokeEntitlements(tradeNo);
          if (n > 0) revoked.set(tradeNo, (revoked.get(tradeNo) ?? 0) + 1);
          return n;
        };
      const v = Reflect.get(t, prop, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { store: counted, revoked };
}

const CARD = {
  type: 'Connections.SendRequest' as const,
  name: 'Charge' as const,
  payload: { chargeInfo: { name: '10次点播卡', items: [{ itemId: 'card10', itemName: '10次点播卡', price: 500, count: 1, totalFee: 500 }] } },
};

test(
  'refund notifications dropped on the way: every refund reaches its final state through the reconciler, taken back exactly once',
  { timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-chaos-refund-'));
    const keys = platformKeys();
    const sqlite = new SqlitePartnerStore(join(dir, 'backend.db'));
    await sqlite.init();
    const { store, revoked } = countingRevocations(sqlite);
    const handlers = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: keys.publicKeyBase64,
      skillPrivateKey: SKILL_PRIVATE,
      store,
      catalog: catalogFrom([
        { itemId: 'ep2', price: 200 },
        { itemId: 'card10', price: 500, credits: 10, creditBalance: 'plays' },
      ]),
      deliver: () => {},
    });
    const server = createServer(partnerRequestListener(handlers));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const backend = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = parseSandboxConfig({
      skills: [
        {
          skillId: SKILL_ID,
          skillSecret: SKILL_SECRET,
          skillPublicKey: SKILL_PUBLIC,
          skillEndpoint: `${backend}/skill`,
          createOrderUrl: `${backend}/dingdang/create-order`,
          deliverUrl: `${backend}/dingdang/deliver`,
          refundNotifyUrl: `${backend}/dingdang/refund-notify`,
        },
      ],
      platformPrivateKey: keys.privateKeyPem,
    });
    // A refund stays PROCESSING for 300 platform s (0.3 s here): the first refund queries see it open.
    const sandbox = await Sandbox.start({ config, timeScale: 0.001, processingMs: 0, callTimeoutMs: 1500, refundDelayMs: 300_000 });
    const client = sandbox.client();
    try {
      await client.setFaults({ partner: { mode: 'drop', calls: ['refundNotify'], count: 0 } });
      // N paid and delivered orders (deliveries get through): three episodes, three credit packs of one user.
      const orders: Array<{ tradeNo: string; user: string; amount: number }> = [];
      for (let i = 0; i < N_REFUNDS; i++) {
        const pack = i % 2 === 1;
        const user = pack ? 'chaos-credits' : `chaos-r${i}`;
        const p = await client.startPurchase({ mode: 'screen', charge: pack ? CARD : CHARGE, originalRequest: { i }, skillId: SKILL_ID, userId: user });
        const placed = await client.placeOrder(p.purchaseId);
        assert.equal(placed.kind, 'order');
        const order = (placed as { order: { transactionId: string; tradeNo: string } }).order;
        await client.payOrder(order.transactionId, 'success');
        orders.push({ tradeNo: order.tradeNo, user: (await store.getOrder(order.tradeNo))!.userToken, amount: pack ? 500 : 200 });
      }
      for (const o of orders)
        await until(async () => ((await store.getOrder(o.tradeNo))?.status === 'DELIVERED' ? true : undefined), 10_000, `delivery of ${o.tradeNo}`);
      const packUser = orders.find((o) => o.amount === 500)!.user;
      const packs = orders.filter((o) => o.amount === 500).length;
      assert.equal(await creditsOf(store, SKILL_ID, packUser, 'plays'), 10 * packs);
      assert.equal((await consumeCredits(store, SKILL_ID, packUser, 'plays', 5)).ok, true);

      const pay = new PayClient({
        skillId: SKILL_ID,
        skillPrivateKey: SKILL_PRIVATE,
        tskPublicKey: keys.publicKeyBase64,
        baseUrl: sandbox.url,
        timeoutMs: 3000,
      });
      for (const [i, o] of orders.entries()) {
        const r = await requestRefund({ store, pay }, { tradeNo: o.tradeNo, refundAmt: o.amount, refundTradeNo: `RF${i}` });
        assert.equal(r.status, 'PROCESSING', 'the platform is still processing it');
      }
      assert.equal(revoked.size, 0, 'nothing taken back before a refund went through');

      // The refund notifications never arrive: the reconciler's refund queries settle every one.
      const reconciler = createReconciler({ store, pay, handlers, minAgeMs: 0, batchSize: 4, backoffMs: 100, maxBackoffMs: 400, jitter: 0 });
      let settled = 0;
      let stillOpen = 0;
      for (let pass = 0; pass < 200 && settled < orders.length; pass++) {
        const report = await reconciler.runOnce();
        settled += report.refundsSettled;
        stillOpen += report.stillOpen;
        assert.equal(report.errors, 0, JSON.stringify(report));
        if (settled < orders.length) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(settled, orders.length, 'every refund reached its final state through the reconciler');
      assert.ok(stillOpen > 0, 'some refund was seen PROCESSING first (back-off)');
      for (const [i, o] of orders.entries()) {
        assert.equal((await store.getRefund(`RF${i}`))?.status, 'SUCCESS');
        assert.equal(revoked.get(o.tradeNo), 1, `taken back once: ${o.tradeNo}`);
      }
      for (const o of orders.filter((x) => x.amount === 200)) assert.equal(await store.ownsItem(SKILL_ID, o.user, 'ep2'), false);
      assert.equal(await creditsOf(store, SKILL_ID, packUser, 'plays'), 0, 'what was left of the packs is gone, not below zero');
      const history = await listPurchases(store, SKILL_ID, packUser);
      assert.deepEqual(
        history.purchases.map((p) => [p.status, p.refundedAmt]),
        Array.from({ length: packs }, () => ['revoked', 500]),
      );

      // The fault clears; the platform's own notifications get through on its retry schedule: acknowledged, nothing again.
      await client.clearFaults();
      await until(
        async () => {
          const list = (await client.notifications()).filter((n) => n.kind === 'refundNotify');
          return list.length === orders.length && list.every((n) => n.state === 'delivered') ? true : undefined;
        },
        60_000,
        'the late refund notifications delivered',
      );
      for (const o of orders) assert.equal(revoked.get(o.tradeNo), 1, `still once: ${o.tradeNo}`);
      assert.equal(await creditsOf(store, SKILL_ID, packUser, 'plays'), 0);
      const after = await reconciler.runOnce();
      assert.equal(after.refunds, 0, 'nothing left to settle');
    } finally {
      await sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
