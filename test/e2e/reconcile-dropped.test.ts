/**
 * Chaos proof of the reconciler against the real sandbox: the sandbox drops
 * every delivery notification before it reaches the backend (partner fault
 * `drop`), N orders are paid; the backend — the real partner handlers behind
 * node:http over a SQLite file — never hears of them. The reconciler's pass
 * asks the sandbox (orderquery, signed both ways) and delivers all N exactly
 * once; when the notifications get through later, they change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogFrom, createPartnerHandlers, createReconciler, partnerRequestListener, PayClient, SqlitePartnerStore } from '../../src/partner/index.js';
import { parseSandboxConfig, Sandbox } from '../../src/sandbox/index.js';
import { CHARGE } from '../support/statechart.js';
import { platformKeys, SKILL_ID, SKILL_PRIVATE, SKILL_PUBLIC, SKILL_SECRET } from '../support/sandbox.js';

const N = 8;

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
