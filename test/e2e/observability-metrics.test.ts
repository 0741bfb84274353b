/**
 * "A developer can see in /metrics that a notification was lost and then
 * recovered": the example skill (its SQLite store, its reconciler, pino and
 * prom-client wired by default) behind the real sandbox, which drops every
 * delivery notification before it reaches the skill. The reconciler first
 * finds the order unpaid (backlog 1), the user pays, the notification is
 * lost, the next pass delivers it through the order query: `/metrics` counts
 * one recovery and the backlog is back to 0; the pino lines (JSON, through
 * the example's `log`) hold the recovery with the order's ids and no key,
 * secret, signature or token. Without observability `/metrics` is a 404 with
 * a one-line hint.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { METRICS_DISABLED_HINT, startAudiobookSkill } from '../../src/demo/example-skill/server.js';
import { parseSandboxConfig, Sandbox } from '../../src/sandbox/index.js';
import { SKILL_PRIVATE } from '../support/sandbox.js';

const tmp = mkdtempSync(join(tmpdir(), 'ddp-obs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CHARGE = {
  type: 'Connections.SendRequest' as const,
  name: 'Charge' as const,
  payload: { chargeInfo: { name: '万古神帝 第35集', items: [{ itemId: 'wgsd035', itemName: '第35集', price: 200, count: 1, totalFee: 200 }] } },
};

/** One sample of prom-client's text format (undefined: not there). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean).sort();
    if (have.length === want.length && have.every((x, i) => x === want[i])) return Number(m[3]);
  }
  return undefined;
}

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe('observability of the example skill', () => {
  it('a dropped delivery notification shows in /metrics as a recovery, the backlog back to 0; pino logs it without secrets', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const skill = await startAudiobookSkill({
      dbFile: join(tmp, 'skill.db'),
      skillPrivateKey: SKILL_PRIVATE,
      skillSecret: 'obs-test-skill-secret-0123456789',
      log: (line) => lines.push(line),
      // Passes only when the test asks (after the first, empty one at start); items due again at once.
      reconcile: { intervalMs: 3_600_000, minAgeMs: 0, backoffMs: 1 },
    });
    const { url: _url, ...record } = skill.record;
    const sandbox = await Sandbox.start({
      config: parseSandboxConfig({ skills: [record] }),
      timeScale: 0.0001,
      processingMs: 0,
      callTimeoutMs: 1500,
    });
    const client = sandbox.client();
    try {
      skill.configurePlatform({ tskPublicKey: sandbox.tskPublicKey, payBaseUrl: sandbox.url });
      const reconciler = skill.reconciler!;
      assert.ok(reconciler, 'the example runs the reconciler');
      const metricsUrl = `${skill.record.url}/metrics`;
      const p = 'dingdang_partner_';
      const before = await get(metricsUrl);
      assert.equal(before.status, 200);
      assert.match(before.type, /^text\/plain/);
      assert.equal(sample(before.text, `${p}reconcile_recoveries_total`), 0);

      await client.setFaults({ partner: { mode: 'drop', calls: ['deliver'], count: 0 } });
      const purchase = await client.startPurchase({
        mode: 'screen',
        charge: CHARGE,
        originalRequest: { intent: 'play' },
        skillId: record.skillId,
        userId: 'obs-u1',
      });
      const placed = await client.placeOrder(purchase.purchaseId);
      assert.equal(placed.kind, 'order');
      const { tradeNo, transactionId } = (placed as { order: { transactionId: string; tradeNo: string } }).order;

      // Not paid yet: the reconciler finds it open.
      const first = await reconciler.runOnce();
      assert.deepEqual([first.orders, first.stillOpen, first.delivered], [1, 1, 0]);
      assert.equal(sample((await get(metricsUrl)).text, `${p}reconcile_backlog`, { kind: 'order' }), 1);

      // Paid; the delivery notification is dropped on the way: the skill never hears of it.
      await client.payOrder(transactionId, 'success');
      assert.equal((await skill.store.getOrder(tradeNo))?.status, 'CREATED');
      const second = await reconciler.runOnce();
      assert.equal(second.delivered, 1, 'the reconciler delivered the paid order');
      assert.equal((await skill.store.getOrder(tradeNo))?.status, 'DELIVERED');

      const m = (await get(metricsUrl)).text;
      assert.equal(sample(m, `${p}reconcile_recoveries_total`), 1, 'one notification lost and recovered');
      assert.equal(sample(m, `${p}reconcile_backlog`, { kind: 'order' }), 0, 'the backlog is back to 0');
      assert.equal(sample(m, `${p}deliveries_total`, { source: 'reconciler' }), 1);
      assert.equal(sample(m, `${p}deliveries_total`, { source: 'notification' }), undefined, 'no delivery by notification');
      assert.equal(sample(m, `${p}requests_total`, { interface: 'createOrder', outcome: 'success' }), 1);
      assert.equal(sample(m, `${p}requests_total`, { interface: 'deliver', outcome: 'success' }), undefined, 'the notification never arrived');
      assert.equal(sample(m, `${p}reconcile_checks_total`, { kind: 'order', outcome: 'open' }), 1);
      assert.equal(sample(m, `${p}reconcile_checks_total`, { kind: 'order', outcome: 'delivered' }), 1);
      assert.equal(sample(m, `${p}delivery_duration_seconds_count`, { source: 'reconciler' }), 1);

      // The platform's notification gets through at last: an exactly-once hit, still one recovery.
      await client.clearFaults();
      assert.equal((await client.notifyOrder(transactionId))?.retCode, 'SUCCESS');
      // (The sandbox's own retries of the dropped notification may land too: each one is an exactly-once hit.)
      const late = (await get(metricsUrl)).text;
      const arrived = sample(late, `${p}requests_total`, { interface: 'deliver', outcome: 'success' }) ?? 0;
      assert.ok(arrived >= 1);
      assert.equal(sample(late, `${p}duplicates_total`, { kind: 'delivery', source: 'notification' }), arrived, 'every late notification a duplicate');
      assert.equal(sample(late, `${p}deliveries_total`, { source: 'notification' }), undefined);
      assert.equal(sample(late, `${p}reconcile_recoveries_total`), 1);

      // pino: JSON lines through the example's log (stderr from the CLI).
      const records = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const recovery = records.find((r) => r.event === 'delivery' && r.recovered === true);
      assert.ok(recovery, 'the recovery is logged');
      assert.deepEqual([recovery.tradeNo, recovery.transactionId, recovery.skillId, recovery.source], [tradeNo, transactionId, record.skillId, 'reconciler']);
      assert.match(String(recovery.msg), /recovered/);
      assert.ok(records.some((r) => r.event === 'reconcile.item' && r.tradeNo === tradeNo && r.outcome === 'open' && r.status === 'NOTPAY'));
      assert.ok(records.some((r) => r.event === 'request' && r.interface === 'createOrder' && r.tradeNo === tradeNo));
      const all = lines.join('\n');
      const privateBody = SKILL_PRIVATE.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const chunk of privateBody) assert.ok(!all.includes(chunk), 'no line of the private key in the log');
      assert.ok(!all.includes(record.skillSecret), 'no skill secret');
      assert.ok(!all.includes(sandbox.tskPublicKey.slice(40, 80)), 'no platform key');
      assert.doesNotMatch(all, /authorization|accessToken|TSK-RSA2|Signature=/i);
    } finally {
      await sandbox.close();
      await skill.close();
    }
  });

  it('without observability /metrics answers 404 with a one-line hint and nothing is logged as JSON', async () => {
    const lines: string[] = [];
    const skill = await startAudiobookSkill({ observability: false, reconcile: false, log: (l) => lines.push(l) });
    try {
      const r = await get(`${skill.record.url}/metrics`);
      assert.equal(r.status, 404);
      assert.equal(r.text, METRICS_DISABLED_HINT + '\n');
      assert.equal(r.text.trim().split('\n').length, 1);
      assert.equal(skill.metrics, undefined);
      assert.ok(!lines.some((l) => l.startsWith('{')));
    } finally {
      await skill.close();
    }
  });
});
