/**
 * Chaos: a partner backend process is SIGKILLed in the middle of a delivery
 * (after its deliver hook gave the goods, before the delivery was recorded).
 * The sandbox platform's own retry schedule keeps notifying; a restarted
 * backend (same SQLite file, same URL through a TCP forwarder) takes the
 * expired claim over, the idempotent hook runs again with the same key, and
 * the order ends with exactly one delivery: one effect, one DELIVERED record,
 * the platform's notification state `delivered`.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqlitePartnerStore } from '../../src/partner/index.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { control, platformKeys, SKILL_ID, SKILL_PRIVATE, skillInput, startBackend, type Backend, trust } from '../support/sandbox.js';
import { hookRuns, killWorker, liveWorkers, sleep, startForwarder, startWorker } from '../support/partner-procs.js';

const until = async <T>(what: string, ms: number, check: () => T | Promise<T>): Promise<NonNullable<T>> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
};

describe('chaos: partner SIGKILLed mid-delivery, recovered by the platform retries', () => {
  let dir = '';
  let skillBackend: Backend | undefined;
  let sandbox: Sandbox | undefined;
  let forwarder: Awaited<ReturnType<typeof startForwarder>> | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-chaos-kill-'));
  });
  after(async () => {
    for (const c of [...liveWorkers]) await killWorker(c);
    await sandbox?.close();
    await skillBackend?.close();
    await forwarder?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exactly one delivery after a SIGKILL between hook and record', { timeout: 90_000 }, async () => {
    const keys = platformKeys();
    const file = join(dir, 'partner.db');
    const args = {
      kind: 'sqlite' as const,
      target: file,
      skillId: SKILL_ID,
      tskPublicKey: keys.publicKeyBase64,
      skillPrivateKey: SKILL_PRIVATE,
      catalog: Array.from({ length: 99 }, (_, i) => ({ itemId: `ep${i + 1}`, price: 100 })),
      hookLog: join(dir, 'hooks.jsonl'),
      effectsDir: join(dir, 'effects'),
      leaseMs: 1_500,
    };
    const doomed = await startWorker({ ...args, crashInHook: true });
    forwarder = await startForwarder();
    forwarder.setTarget(doomed.port);
    const partner = `http://127.0.0.1:${forwarder.port}`;

    skillBackend = await startBackend(keys.publicKeyBase64); // only its HMAC skill endpoint is used
    const config = parseSandboxConfig({
      skills: [
        skillInput(skillBackend.url, {
          createOrderUrl: `${partner}/dingdang/create-order`,
          deliverUrl: `${partner}/dingdang/deliver`,
          refundNotifyUrl: `${partner}/dingdang/refund-notify`,
        }),
      ],
      platformPrivateKey: keys.privateKeyPem,
    });
    sandbox = trust(
      await Sandbox.start({
        config,
        timeScale: 1,
        processingMs: 0,
        callTimeoutMs: 3_000,
        retryScheduleMs: [300, 300, 500, 500, 1000, 1000, 1000, 2000, 2000, 2000, 3000, 3000],
      }),
    );
    const base = sandbox.url;

    // A purchase through the platform: the real partner handlers create the order.
    const said = await control(base, 'POST', '/say', { text: '我要听万古神帝第7集', userId: 'chaos-user' });
    assert.ok(said.json.purchaseId, JSON.stringify(said.json));
    const placed = await control(base, 'POST', `/purchases/${said.json.purchaseId}/order`);
    assert.equal(placed.json.kind, 'order', JSON.stringify(placed.json));
    const { transactionId, tradeNo } = placed.json.order as { transactionId: string; tradeNo: string };

    // Paid → the platform notifies → the backend claims, gives the goods, and is killed.
    const paid = await control(base, 'POST', `/orders/${transactionId}/pay`, { outcome: 'success' });
    assert.equal(paid.json.tradeStatus, 'SUCCESS');
    await until('the backend to die', 15_000, () => doomed.child.signalCode);
    assert.equal(doomed.child.signalCode, 'SIGKILL');
    forwarder.setTarget(undefined); // nobody listens for a while: the retries fail at the socket
    await sleep(700);

    const survivor = await startWorker(args);
    forwarder.setTarget(survivor.port);
    const state = await until('the platform to record the delivery', 30_000, async () => {
      const n = (
        (await control(base, 'GET', '/notifications')).json.notifications as Array<{
          kind: string;
          transactionId: string;
          state: string;
          attempts: number;
          lastError?: string;
        }>
      ).find((x) => x.kind === 'deliver' && x.transactionId === transactionId);
      assert.notEqual(n?.state, 'gave-up', `the platform gave up: ${n?.lastError}`);
      return n?.state === 'delivered' ? n : undefined;
    });
    assert.ok(state.attempts >= 2, `delivered on a retry (attempts ${state.attempts})`);

    const runs = hookRuns(args.hookLog).filter((r) => r.tradeNo === tradeNo);
    assert.equal(runs.length, 2, 'the hook ran in the killed process and once more on the retry (same idempotency key)');
    assert.notEqual(runs[0]!.pid, runs[1]!.pid);
    assert.deepEqual(readdirSync(args.effectsDir), [tradeNo], 'exactly one effect: the goods were given once');
    const store = new SqlitePartnerStore(file);
    try {
      const order = await store.getOrder(tradeNo);
      assert.equal(order?.status, 'DELIVERED');
      assert.equal(order?.transactionId, transactionId);
    } finally {
      await store.close();
    }

    // A late duplicate notification changes nothing.
    const again = await control(base, 'POST', `/orders/${transactionId}/notify`);
    assert.ok(again.status < 500, JSON.stringify(again.json));
    await sleep(300);
    assert.equal(hookRuns(args.hookLog).filter((r) => r.tradeNo === tradeNo).length, 2, 'no hook run for a repeat of a recorded delivery');
    assert.deepEqual(readdirSync(args.effectsDir), [tradeNo]);
  });
});
