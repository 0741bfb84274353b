/**
 * The partner kit's observer (src/partner/observer.ts) and its pino and
 * prom-client adapters, over the real handlers and a memory store: one event
 * per request with its outcome and ids, refusals by reason, exactly-once
 * hits, deliveries with their duration, refunds by final state; pino lines
 * carry ids and never keys, tokens or signatures; prom-client renders the
 * metrics; an observer that throws changes no answer; bad arguments throw
 * typed errors.
 */
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import * as promClient from 'prom-client';
import { randomNonce, type OrderQueryReply, type RefundQueryReply, type TradeStatus } from '../../src/protocol/index.js';
import {
  catalogFrom,
  combineObservers,
  createPartnerHandlers,
  createPromObserver,
  createReconciler,
  MemoryPartnerStore,
  PayRemoteError,
  pinoObserver,
  requestRefund,
  type PartnerEvent,
  type PartnerObserver,
} from '../../src/partner/index.js';
import type { OrderQueryResult, RefundQueryResult } from '../../src/partner/pay-client.js';
import { CATALOG, createOrderBody, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';

function setup(observer: PartnerObserver) {
  const store = new MemoryPartnerStore();
  const h = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store,
    catalog: catalogFrom(CATALOG),
    deliver: () => undefined,
    observer,
  });
  return { h, store };
}

async function order(h: ReturnType<typeof setup>['h'], userToken = 'user-1') {
  const reply = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ userToken })))), 'createOrderReply');
  assert.equal(reply.retCode, 'SUCCESS');
  return reply.tradeNo!;
}

function refundBody(tradeNo: string, refundTradeNo: string, refundStatus: 'SUCCESS' | 'FAIL' | 'PROCESSING') {
  return {
    skillId: SKILL_ID,
    transactionId: 'DD' + tradeNo.slice(0, 20),
    tradeNo,
    refundTransactionId: 'RF' + refundTradeNo,
    refundTradeNo,
    totalAmt: 200,
    refundAmt: 200,
    refundStatus,
    refundStatusDesc: '退款结果',
    nonceStr: randomNonce(),
  };
}

/** A pino logger writing JSON lines into an array. */
function capturedPino() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The value of one sample in prom-client's text format (undefined: no such sample). */
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

describe('partner observer', () => {
  it('one event per request: outcome, retCode, ids of verified requests; refusals by reason; duplicates; delivery duration; refunds by final state', async () => {
    const events: PartnerEvent[] = [];
    const { h } = setup((e) => events.push(e));
    const tradeNo = await order(h);
    const body = JSON.stringify(deliverBody(tradeNo));
    const first = readReply(await h.deliver(signedRequest(body)), 'deliverNotifyReply');
    assert.equal(first.retCode, 'SUCCESS');
    // The same signed body again: a replay (the nonce), refused, no ids from it.
    const replay = readReply(await h.deliver(signedRequest(body)), 'deliverNotifyReply');
    assert.equal(replay.retCode, 'FAIL');
    // A fresh notification of the same order: an exactly-once hit.
    assert.equal(readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)))), 'deliverNotifyReply').retCode, 'SUCCESS');
    // Signed by someone else: refused before anything is read from it.
    const forged = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)), { key: skill.privateKey })), 'deliverNotifyReply');
    assert.equal(forged.retCode, 'FAIL');
    const refund = readReply(await h.refundNotify(signedRequest(JSON.stringify(refundBody(tradeNo, 'R1', 'SUCCESS')))), 'refundNotifyReply');
    assert.equal(refund.retCode, 'SUCCESS', refund.retMsg);
    assert.equal(readReply(await h.refundNotify(signedRequest(JSON.stringify(refundBody(tradeNo, 'R1', 'SUCCESS')))), 'refundNotifyReply').retCode, 'SUCCESS');

    const requests = events.filter((e) => e.type === 'request');
    assert.deepEqual(
      requests.map((e) => [e.interface, e.outcome, e.retCode, e.reason]),
      [
        ['createOrder', 'success', 'SUCCESS', undefined],
        ['deliver', 'success', 'SUCCESS', undefined],
        ['deliver', 'refused', 'FAIL', 'replay'],
        ['deliver', 'success', 'SUCCESS', undefined],
        ['deliver', 'refused', 'FAIL', 'signature:bad-signature'],
        ['refundNotify', 'success', 'SUCCESS', undefined],
        ['refundNotify', 'success', 'SUCCESS', undefined],
      ],
    );
    assert.equal(requests[0]!.tradeNo, tradeNo, 'create order: the new tradeNo');
    assert.equal(requests[0]!.skillId, SKILL_ID);
    assert.equal(requests[1]!.transactionId, 'DD' + tradeNo.slice(0, 20));
    assert.equal(requests[2]!.tradeNo, undefined, 'a replayed request names no ids');
    assert.equal(requests[4]!.tradeNo, undefined, 'a forged request names no ids');
    assert.equal(requests[5]!.refundTradeNo, 'R1');

    const deliveries = events.filter((e) => e.type === 'delivery');
    assert.deepEqual(
      deliveries.map((e) => [e.source, e.outcome, e.tradeNo]),
      [
        ['notification', 'delivered', tradeNo],
        ['notification', 'duplicate', tradeNo],
      ],
    );
    assert.equal(deliveries[0]!.attempt, 1);
    assert.ok(typeof deliveries[0]!.durationMs === 'number' && deliveries[0]!.durationMs >= 0);
    const refunds = events.filter((e) => e.type === 'refund');
    assert.deepEqual(
      refunds.map((e) => [e.source, e.outcome, e.status, e.revoked]),
      [
        ['notification', 'final', 'SUCCESS', 1],
        ['notification', 'duplicate', 'SUCCESS', 0],
      ],
    );
    assert.ok(!JSON.stringify(events).includes('user-1'), 'no userToken in any event');
  });

  it('an observer that throws changes no answer and no state', async () => {
    const { h, store } = setup(() => {
      throw new Error('observer down');
    });
    const tradeNo = await order(h);
    assert.equal(readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)))), 'deliverNotifyReply').retCode, 'SUCCESS');
    assert.equal((await store.getOrder(tradeNo))?.status, 'DELIVERED');
    const seen: string[] = [];
    const both = combineObservers(
      () => {
        throw new Error('first fails');
      },
      (e) => seen.push(e.type),
    );
    both({ type: 'reconcile.failed' });
    assert.deepEqual(seen, ['reconcile.failed'], 'the next observer still hears it');
  });

  it('pino: one JSON line per event with ids, never keys, tokens, signatures or bodies', async () => {
    const log = capturedPino();
    const { h } = setup(pinoObserver(log.logger));
    const tradeNo = await order(h, 'secret-user-token-xyz');
    const notify = signedRequest(JSON.stringify(deliverBody(tradeNo, { userToken: 'secret-user-token-xyz' })));
    await h.deliver(notify);
    await h.deliver(signedRequest('{"not":"a notification"}'));
    const records = log.records();
    assert.deepEqual(
      records.map((r) => [r.event, r.msg]),
      [
        ['request', 'createOrder success'],
        ['delivery', 'delivery delivered'],
        ['request', 'deliver success'],
        ['request', 'deliver refused'],
      ],
    );
    assert.equal(records[1]!.tradeNo, tradeNo);
    assert.equal(records[3]!.reason, 'validation');
    assert.equal(records[3]!.level, 40, 'a refusal is a warning');
    const all = log.lines.join('\n');
    const authorization = String(notify.headers.authorization);
    for (const secret of ['secret-user-token-xyz', authorization.slice(-40), skill.privateKeyPem.split('\n')[1]!, 'TSK-RSA2', '"not"'])
      assert.ok(!all.includes(secret), `no ${secret.slice(0, 12)}… in the log`);
    assert.doesNotMatch(all, /authorization|accessToken/i);
  });

  it('prom-client: requests, refusals, duplicates, delivery duration and refunds by final state in the Registry', async () => {
    const registry = new promClient.Registry();
    const observer = await createPromObserver({ registry });
    // A second observer on the same Registry reuses the metrics (a restart of the handlers in one process).
    const again = await createPromObserver({ registry, client: promClient });
    const { h } = setup(combineObservers(observer));
    const tradeNo = await order(h);
    await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo))));
    await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo))));
    await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo, { totalAmt: 300 }))));
    await h.createOrder(signedRequest(JSON.stringify(createOrderBody()), { at: Date.now() - 10 * 60_000 }));
    await h.refundNotify(signedRequest(JSON.stringify(refundBody(tradeNo, 'R9', 'FAIL'))));
    again({ type: 'reconcile.pass', found: 0, orders: 0, refunds: 0, delivered: 0, closed: 0, refundsSettled: 0, stillOpen: 0, errors: 0, durationMs: 1 });
    const text = await registry.metrics();
    const p = 'dingdang_partner_';
    assert.equal(sample(text, `${p}requests_total`, { interface: 'createOrder', outcome: 'success' }), 1);
    assert.equal(sample(text, `${p}requests_total`, { interface: 'createOrder', outcome: 'refused' }), 1);
    assert.equal(sample(text, `${p}requests_total`, { interface: 'deliver', outcome: 'success' }), 2);
    assert.equal(sample(text, `${p}refusals_total`, { interface: 'deliver', reason: 'totalAmt mismatch' }), 1);
    assert.equal(sample(text, `${p}refusals_total`, { interface: 'createOrder', reason: 'signature:stale' }), 1);
    assert.equal(sample(text, `${p}duplicates_total`, { kind: 'delivery', source: 'notification' }), 1);
    assert.equal(sample(text, `${p}deliveries_total`, { source: 'notification' }), 1);
    assert.equal(sample(text, `${p}delivery_duration_seconds_count`, { source: 'notification' }), 1);
    assert.equal(sample(text, `${p}refunds_total`, { status: 'FAIL', source: 'notification' }), 1);
    assert.equal(sample(text, `${p}reconcile_recoveries_total`), 0);
    assert.equal(sample(text, `${p}reconcile_backlog`, { kind: 'order' }), 0);
    assert.equal(sample(text, `${p}reconcile_passes_total`, { result: 'ok' }), 1);
  });

  it('the reconciler: items and passes; a delivery it makes is a recovery, a repeat is not; the backlog follows open items until settled', async () => {
    const registry = new promClient.Registry();
    const events: PartnerEvent[] = [];
    const observer = combineObservers(await createPromObserver({ registry }), (e) => events.push(e));
    const { h, store } = setup(observer);
    const status = new Map<string, TradeStatus>();
    const refundStatus = new Map<string, 'PROCESSING' | 'SUCCESS'>();
    const pay = {
      orderQuery: async ({ tradeNo }: { tradeNo?: string }) => {
        const reply: OrderQueryReply = {
          retCode: 'SUCCESS',
          skillId: SKILL_ID,
          transactionId: deliverBody(tradeNo!).transactionId,
          tradeNo: tradeNo!,
          totalAmt: 200,
          tradeStatus: status.get(tradeNo!) ?? 'NOTPAY',
          tradeStatusDesc: 'status',
        };
        return reply as OrderQueryResult;
      },
      refundQuery: async ({ refundTradeNo }: { refundTradeNo?: string }) => {
        const reply: RefundQueryReply = {
          retCode: 'SUCCESS',
          skillId: SKILL_ID,
          transactionId: deliverBody(lost).transactionId,
          tradeNo: lost,
          refundTransactionId: 'RT1',
          refundTradeNo: refundTradeNo!,
          totalAmt: 200,
          refundAmt: 200,
          refundStatus: refundStatus.get(refundTradeNo!) ?? 'PROCESSING',
          refundStatusDesc: 'status',
        };
        return reply as RefundQueryResult;
      },
    };
    const reconciler = createReconciler({ store, pay, handlers: h, observer, minAgeMs: 0, backoffMs: 1, jitter: 0 });
    const lost = await order(h, 'user-a');
    const unpaid = await order(h, 'user-b');
    status.set(lost, 'SUCCESS');
    const first = await reconciler.runOnce();
    assert.deepEqual([first.delivered, first.stillOpen], [1, 1]);
    let text = await registry.metrics();
    assert.equal(sample(text, 'dingdang_partner_reconcile_recoveries_total'), 1);
    assert.equal(sample(text, 'dingdang_partner_reconcile_backlog', { kind: 'order' }), 1, 'the unpaid order is open');
    // The reconciler's query for an order already delivered: an exactly-once hit, no second recovery.
    assert.equal((await h.deliverFromOrderQuery(await pay.orderQuery({ tradeNo: lost }), { source: 'reconciler' })).retCode, 'SUCCESS');
    // The unpaid order is paid and its notification arrives: no longer open.
    assert.equal(
      readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(unpaid, { userToken: 'user-b' })))), 'deliverNotifyReply').retCode,
      'SUCCESS',
    );
    // A refund whose result notification never comes: settled by the refund query.
    await store.saveRefund({ refundTradeNo: 'RQ1', tradeNo: lost, refundAmt: 200, status: 'PROCESSING', refundTransactionId: null, createdAt: Date.now() - 1 });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await reconciler.runOnce()).stillOpen, 1, 'the refund is still PROCESSING');
    refundStatus.set('RQ1', 'SUCCESS');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await reconciler.runOnce()).refundsSettled, 1);
    text = await registry.metrics();
    assert.equal(sample(text, 'dingdang_partner_reconcile_recoveries_total'), 1);
    assert.equal(sample(text, 'dingdang_partner_duplicates_total', { kind: 'delivery', source: 'reconciler' }), 1);
    assert.equal(sample(text, 'dingdang_partner_reconcile_backlog', { kind: 'order' }), 0);
    assert.equal(sample(text, 'dingdang_partner_reconcile_backlog', { kind: 'refund' }), 0);
    assert.equal(sample(text, 'dingdang_partner_refunds_total', { status: 'SUCCESS', source: 'query' }), 1);
    assert.equal(sample(text, 'dingdang_partner_reconcile_checks_total', { kind: 'refund', outcome: 'open' }), 1);
    assert.equal(sample(text, 'dingdang_partner_reconcile_passes_total', { result: 'ok' }), 3);
    const items = events.filter((e) => e.type === 'reconcile.item');
    assert.deepEqual(
      items.map((e) => [e.kind, e.id, e.outcome, e.status]),
      [
        ['order', lost, 'delivered', 'SUCCESS'],
        ['order', unpaid, 'open', 'NOTPAY'],
        ['refund', 'RQ1', 'open', 'PROCESSING'],
        ['refund', 'RQ1', 'refundSettled', 'SUCCESS'],
      ],
    );
  });

  it('requestRefund: requested, then final when the platform refused one it does not know', async () => {
    const events: PartnerEvent[] = [];
    const observer: PartnerObserver = (e) => events.push(e);
    const { h, store } = setup(observer);
    const tradeNo = await order(h);
    await h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo))));
    let refuse = false;
    const refused = () => new PayRemoteError('refund', 'refused', 'refused', { retCode: 'FAIL', retMsg: 'refused' });
    const pay = {
      refund: async () => {
        if (refuse) throw refused();
        return { retCode: 'SUCCESS', refundTransactionId: 'RT9' };
      },
      refundQuery: async () => {
        throw refused();
      },
    } as unknown as Parameters<typeof requestRefund>[0]['pay'];
    const ok = await requestRefund({ store, pay, observer }, { tradeNo, refundAmt: 50, refundTradeNo: 'RR1' });
    assert.equal(ok.status, 'PROCESSING');
    refuse = true;
    await assert.rejects(requestRefund({ store, pay, observer }, { tradeNo, refundAmt: 50, refundTradeNo: 'RR2' }), PayRemoteError);
    assert.equal((await store.getRefund('RR2'))?.status, 'FAIL');
    assert.deepEqual(
      events.filter((e) => e.type === 'refund').map((e) => [e.source, e.outcome, e.refundTradeNo, e.status, e.refundAmt]),
      [
        ['request', 'requested', 'RR1', 'PROCESSING', 50],
        ['request', 'final', 'RR2', 'FAIL', 50],
      ],
    );
  });

  it('bad arguments throw typed errors', async () => {
    await assert.rejects(createPromObserver({ registry: {} as never }), (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT');
    await assert.rejects(
      createPromObserver({ registry: new promClient.Registry(), prefix: 'bad prefix' }),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
    );
    assert.throws(
      () => pinoObserver({} as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
    );
    assert.throws(
      () => setup('not a function' as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT',
    );
  });
});
