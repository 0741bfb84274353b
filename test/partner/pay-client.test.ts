import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  generateTskKeyPair,
  NonceGuard,
  SignatureError,
  signedJsonHeaders,
  TimeoutError,
  TransportError,
  validateJson,
  ValidationError,
  verifyRsa2,
} from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  MemoryPartnerStore,
  PayClient,
  PostgresPartnerStore,
  type PartnerStore,
  PayRemoteError,
  RefundError,
  requestRefund,
  type PayClientOptions,
} from '../../src/partner/index.js';
import { CATALOG, platform, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

/** A small /paycgi that plays the platform: verifies requests, keeps refunds, signs replies. */
type Mode = 'ok' | 'forged' | 'slow' | 'fail503' | 'drop' | 'unsigned' | 'tamper' | 'otherRefund' | 'failKnown';
const state = {
  modes: [] as Mode[],
  hits: [] as { path: string; body: Record<string, unknown> }[],
  refunds: new Map<string, { refundTransactionId: string; refundAmt: number; tradeNo: string }>(),
  refunded: 0,
  bad: [] as string[],
};
const forger = generateTskKeyPair();
const guard = new NonceGuard();
const ORDER = { transactionId: 'DD0001', tradeNo: 'T0001', totalAmt: 300 };

function reply(res: ServerResponse, obj: object, mode: Mode) {
  const body = Buffer.from(JSON.stringify(obj));
  const headers: Record<string, string> =
    mode === 'unsigned' ? { 'content-type': 'application/json' } : signedJsonHeaders(body, mode === 'forged' ? forger.privateKey : platform.privateKey);
  if (mode === 'tamper') {
    const b = Buffer.from(JSON.stringify({ ...obj, totalAmt: 1 }));
    res.writeHead(200, headers).end(b);
    return;
  }
  res.writeHead(200, headers).end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const mode = state.modes.shift() ?? 'ok';
  const v = verifyRsa2(raw, req.headers.authorization, skill.publicKey);
  const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  if (!v.ok) state.bad.push(`signature ${v.reason}`);
  if (!guard.check(String(body.nonceStr))) state.bad.push('replayed nonce');
  state.hits.push({ path: req.url!, body });
  if (mode === 'slow') return void setTimeout(() => res.writeHead(200).end('{}'), 1500);
  if (mode === 'fail503') return void res.writeHead(503).end('busy');
  if (req.url === '/paycgi/orderquery') {
    const kind = validateJson('orderQueryRequest', raw);
    if (!kind.ok) return reply(res, { retCode: 'FAIL', retMsg: 'bad request' }, mode);
    if (body.tradeNo !== ORDER.tradeNo && body.transactionId !== ORDER.transactionId) return reply(res, { retCode: 'FAIL', retMsg: 'order not found' }, mode);
    return reply(res, { retCode: 'SUCCESS', skillId: SKILL_ID, ...ORDER, tradeStatus: 'SUCCESS', tradeStatusDesc: '支付成功', extra: '新字段' }, mode);
  }
  if (req.url === '/paycgi/refund') {
    const kind = validateJson('refundRequest', raw);
    if (!kind.ok) return reply(res, { retCode: 'FAIL', retMsg: 'bad request' }, mode);
    const no = String(body.refundTradeNo);
    let r = state.refunds.get(no);
    if (!r) {
      const amt = body.refundAmt as number;
      if (state.refunded + amt > ORDER.totalAmt) return reply(res, { retCode: 'FAIL', retMsg: 'refund exceeds paid amount' }, mode);
      state.refunded += amt;
      r = { refundTransactionId: `RT${state.refunds.size + 1}`, refundAmt: amt, tradeNo: ORDER.tradeNo };
      state.refunds.set(no, r);
    }
    if (mode === 'drop') return void req.socket.destroy();
    // Accepted, but the answer says FAIL (a busy platform): only a refund query tells the truth.
    if (mode === 'failKnown') return reply(res, { retCode: 'FAIL', retMsg: 'system busy' }, 'ok');
    const named = mode === 'otherRefund' ? 'SomeoneElse' : no;
    return reply(
      res,
      { retCode: 'SUCCESS', skillId: SKILL_ID, ...ORDER, refundTransactionId: r.refundTransactionId, refundTradeNo: named, refundAmt: r.refundAmt },
      mode,
    );
  }
  if (req.url === '/paycgi/refundquery') {
    const entry = [...state.refunds.entries()].find(([no, r]) => no === body.refundTradeNo || r.refundTransactionId === body.refundTransactionId);
    if (!entry) return reply(res, { retCode: 'FAIL', retMsg: 'refund not found' }, mode);
    const [no, r] = entry;
    return reply(
      res,
      {
        retCode: 'SUCCESS',
        skillId: SKILL_ID,
        ...ORDER,
        refundTransactionId: r.refundTransactionId,
        refundTradeNo: no,
        refundAmt: r.refundAmt,
        refundStatus: 'SUCCESS',
        refundStatusDesc: '退款成功',
      },
      mode,
    );
  }
  res.writeHead(404).end();
}

const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
let baseUrl = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  state.modes = [];
  state.hits = [];
  state.bad = [];
});

const client = (over: Partial<PayClientOptions> = {}) =>
  new PayClient({
    skillId: SKILL_ID,
    skillPrivateKey: skill.privateKeyPem,
    tskPublicKey: platform.publicKeyBase64,
    baseUrl,
    timeoutMs: 2000,
    retryDelayMs: 10,
    ...over,
  });
const refundInput = (over = {}) => ({
  tradeNo: ORDER.tradeNo,
  totalAmt: ORDER.totalAmt,
  refundAmt: 100,
  refundDetails: [{ itemId: 'ep35', quantity: 1, amount: 100 }],
  ...over,
});

describe('pay client', () => {
  it('defaults to the seed production host', () => {
    const c = new PayClient({ skillId: SKILL_ID, skillPrivateKey: skill.privateKey, tskPublicKey: platform.publicKey });
    assert.equal(c.baseUrl, 'https://aiwx.html5.qq.com');
    assert.throws(() => client({ baseUrl: 'ftp://x' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => client({ baseUrl: 'not a url' }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('order query: signed request, verified and validated reply', async () => {
    const r = await client().orderQuery({ tradeNo: ORDER.tradeNo });
    assert.equal(r.tradeStatus, 'SUCCESS');
    assert.equal(r.transactionId, ORDER.transactionId);
    assert.equal(state.hits.length, 1);
    assert.equal(state.hits[0]!.body.version, '1.0');
    assert.deepEqual(state.bad, []);
  });

  it('a FAIL reply is a PayRemoteError with the platform retMsg, not retried', async () => {
    const e = await client()
      .orderQuery({ tradeNo: 'Unknown1' })
      .catch((x) => x);
    assert.ok(e instanceof PayRemoteError);
    assert.equal(e.code, 'ERR_REMOTE');
    assert.equal(e.retMsg, 'order not found');
    assert.equal(state.hits.length, 1);
  });

  it('rejects a forged, unsigned or tampered reply (SignatureError), without retrying', async () => {
    for (const mode of ['forged', 'unsigned', 'tamper'] as const) {
      state.hits = [];
      state.modes = [mode];
      const e = await client()
        .orderQuery({ tradeNo: ORDER.tradeNo })
        .catch((x) => x);
      assert.ok(e instanceof SignatureError, `${mode}: ${e}`);
      assert.equal(state.hits.length, 1);
    }
  });

  it('times out each attempt and retries a query, then gives up with TimeoutError', async () => {
    state.modes = ['slow', 'slow', 'slow'];
    const t0 = Date.now();
    const e = await client({ timeoutMs: 100, retries: 2 })
      .orderQuery({ tradeNo: ORDER.tradeNo })
      .catch((x) => x);
    assert.ok(e instanceof TimeoutError, String(e));
    assert.equal(state.hits.length, 3);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('retries a query after 503 and a timeout, with a fresh nonce each time', async () => {
    state.modes = ['fail503', 'slow'];
    const r = await client({ timeoutMs: 700 }).orderQuery({ transactionId: ORDER.transactionId });
    assert.equal(r.tradeNo, ORDER.tradeNo);
    assert.equal(state.hits.length, 3);
    assert.equal(new Set(state.hits.map((h) => h.body.nonceStr)).size, 3);
    assert.deepEqual(state.bad, []);
  });

  it('a refund retry reuses its refundTradeNo: one refund although the first answer was lost', async () => {
    const before = state.refunded;
    state.modes = ['drop'];
    const r = await client().refund(refundInput({ refundTradeNo: 'RF1' }));
    assert.equal(r.refundTradeNo, 'RF1');
    assert.equal(state.hits.length, 2);
    assert.deepEqual(
      state.hits.map((h) => h.body.refundTradeNo),
      ['RF1', 'RF1'],
    );
    assert.equal(state.refunded - before, 100);
    // Calling again later with the same refundTradeNo returns the same refund.
    const again = await client().refund(refundInput({ refundTradeNo: 'RF1' }));
    assert.equal(again.refundTransactionId, r.refundTransactionId);
    assert.equal(state.refunded - before, 100);
    const q = await client().refundQuery({ refundTradeNo: 'RF1' });
    assert.equal(q.refundStatus, 'SUCCESS');
    assert.equal(q.refundTransactionId, r.refundTransactionId);
  });

  it('a generated refundTradeNo is kept across retries', async () => {
    state.modes = ['fail503'];
    const r = await client().refund(refundInput({ refundAmt: 50, refundDetails: [] }));
    assert.match(r.refundTradeNo, /^[0-9A-Za-z]{32}$/);
    assert.equal(state.hits[0]!.body.refundTradeNo, state.hits[1]!.body.refundTradeNo);
  });

  it('refund bounds surface as typed errors', async () => {
    const c = client();
    const local = await c.refund(refundInput({ refundAmt: 301 })).catch((x) => x);
    assert.ok(local instanceof ValidationError);
    assert.equal(local.issues[0]?.code, 'EXCEEDS_TOTAL');
    const zero = await c.refund(refundInput({ refundAmt: 0 })).catch((x) => x);
    assert.ok(zero instanceof ValidationError);
    const badNo = await c.refund(refundInput({ refundTradeNo: 'has-dash' })).catch((x) => x);
    assert.ok(badNo instanceof ValidationError);
    const noId = await c.orderQuery({} as never).catch((x) => x);
    assert.ok(noId instanceof ValidationError);
    assert.equal(state.hits.length, 0, 'nothing sent for bad arguments');
    // Remote bound: more than what is left of the paid amount.
    const remote = await c.refund(refundInput({ refundTradeNo: 'RF9', refundAmt: 300 })).catch((x) => x);
    assert.ok(remote instanceof PayRemoteError, String(remote));
    assert.equal(remote.retMsg, 'refund exceeds paid amount');
    assert.equal(remote.operation, 'refund');
  });

  it('a signed reply about another refund or order is refused (PayRemoteError), not trusted', async () => {
    state.modes = ['otherRefund'];
    const e = await client()
      .refund(refundInput({ refundTradeNo: 'RF7', refundAmt: 10 }))
      .catch((x) => x);
    assert.ok(e instanceof PayRemoteError, String(e));
    assert.match(e.message, /another refund/);
    const q = await client()
      .orderQuery({ tradeNo: ORDER.tradeNo, transactionId: 'DDwrong' })
      .catch((x) => x);
    assert.ok(q instanceof PayRemoteError, String(q));
    assert.match(q.message, /another transactionId/);
  });

  it('connection refused → TransportError after the retries', async () => {
    const c = client({ baseUrl: 'http://127.0.0.1:1', retries: 1 });
    const e = await c.orderQuery({ tradeNo: ORDER.tradeNo }).catch((x) => x);
    assert.ok(e instanceof TransportError, String(e));
  });

  it('an aborted call stops at once', async () => {
    state.modes = ['slow', 'slow', 'slow'];
    const ac = new AbortController();
    const pending = client({ timeoutMs: 5000 })
      .orderQuery({ tradeNo: ORDER.tradeNo }, { signal: ac.signal })
      .catch((x) => x);
    const deadline = Date.now() + 5000;
    while (state.hits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    ac.abort(); // while the server sits on the first attempt
    const e = await pending;
    assert.ok(Date.now() - t0 < 1000, 'stopped at once');
    assert.ok(e instanceof TimeoutError);
    assert.equal(state.hits.length, 1);
  });
});

describe('requestRefund: store first, then the platform, same refundTradeNo on every retry', () => {
  beforeEach(() => {
    state.refunds.clear();
    state.refunded = 0;
  });

  async function paidStore() {
    const store = new MemoryPartnerStore();
    await store.createOrder({
      tradeNo: ORDER.tradeNo,
      skillId: SKILL_ID,
      userToken: 'user-1',
      details: [{ itemId: 'ep35', quantity: 1, amount: ORDER.totalAmt }],
      totalAmt: ORDER.totalAmt,
      createdAt: Date.now(),
    });
    await store.claimDelivery(ORDER.tradeNo, ORDER.transactionId, 1000, Date.now());
    await store.completeDelivery(ORDER.tradeNo, Date.now());
    return store;
  }

  it('records the refund, asks the platform once, and a repeat returns the same refund', async () => {
    const store = await paidStore();
    const pay = client();
    const r = await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ1' });
    assert.equal(r.status, 'PROCESSING');
    assert.equal(r.refundTransactionId, 'RT1');
    const again = await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ1' });
    assert.equal(again.refundTransactionId, 'RT1');
    assert.equal(state.refunded, 100);
    const conflict = await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 50, refundTradeNo: 'RQ1' }).catch((x) => x);
    assert.ok(conflict instanceof RefundError);
    assert.equal(conflict.code, 'ERR_REFUND_CONFLICT');
  });

  it('never refunds more than the order: the store refuses before the platform is asked', async () => {
    const store = await paidStore();
    const pay = client();
    await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 200, refundTradeNo: 'RQ2' });
    state.hits = [];
    const e = await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 101, refundTradeNo: 'RQ3' }).catch((x) => x);
    assert.equal(e.code, 'ERR_REFUND_EXCEEDS');
    assert.equal(state.hits.length, 0);
    assert.equal(await store.getRefund('RQ3'), undefined);
    const over = await requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 301 }).catch((x) => x);
    assert.equal(over.code, 'ERR_INVALID_ARGUMENT');
  });

  it('after a timeout the refund stays PROCESSING; the retry with the same refundTradeNo completes it once', async () => {
    const store = await paidStore();
    state.modes = ['slow', 'slow'];
    const e = await requestRefund(
      { store, pay: client({ timeoutMs: 100, retries: 1 }) },
      { tradeNo: ORDER.tradeNo, refundAmt: 120, refundTradeNo: 'RQ4' },
    ).catch((x) => x);
    assert.ok(e instanceof TimeoutError);
    assert.equal((await store.getRefund('RQ4'))?.status, 'PROCESSING');
    const r = await requestRefund({ store, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 120, refundTradeNo: 'RQ4' });
    assert.equal(r.refundTransactionId, 'RT1');
    assert.equal(state.refunded, 120);
    assert.ok(state.hits.every((h) => h.body.refundTradeNo === 'RQ4'));
  });

  it('two concurrent refunds reusing one refundTradeNo with different amounts: one is sent, the other refused before anything is sent', async () => {
    const store = await paidStore();
    const pay = client();
    const [a, b] = await Promise.allSettled([
      requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ9' }),
      requestRefund({ store, pay }, { tradeNo: ORDER.tradeNo, refundAmt: 50, refundTradeNo: 'RQ9' }),
    ]);
    const ok = [a, b].filter((r) => r.status === 'fulfilled');
    const refused = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal((refused[0]!.reason as RefundError).code, 'ERR_REFUND_CONFLICT');
    const sent = state.hits.filter((h) => h.path === '/paycgi/refund');
    assert.equal(sent.length, 1, 'the platform was asked once');
    assert.equal(sent[0]!.body.refundAmt, (await store.getRefund('RQ9'))!.refundAmt, "the partner's record and the platform's agree");
  });

  it('a FAIL answer to a refund the platform did accept: asked by refund query, recorded as the platform has it (not FAIL)', async () => {
    const store = await paidStore();
    state.modes = ['failKnown'];
    const r = await requestRefund({ store, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ8' });
    assert.equal(r.status, 'SUCCESS');
    assert.equal(r.refundTransactionId, 'RT1');
    assert.ok(
      state.hits.some((h) => h.path === '/paycgi/refundquery'),
      'the platform was asked before anything was marked',
    );
  });

  it('a refund the query reports SUCCESS revokes what the order granted, as a notification would (revokeOnRefund: false keeps it)', async () => {
    const owns = (store: MemoryPartnerStore) => store.ownsItem(SKILL_ID, 'user-1', 'ep35');
    const store = await paidStore();
    assert.equal(await owns(store), true, 'delivered: granted');
    state.modes = ['failKnown'];
    const r = await requestRefund({ store, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ10' });
    assert.equal(r.status, 'SUCCESS');
    assert.equal(await owns(store), false, 'the refund took the entitlement back');

    const kept = await paidStore();
    state.modes = ['failKnown'];
    await requestRefund({ store: kept, pay: client(), revokeOnRefund: false }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ11' });
    assert.equal(await owns(kept), true, 'revokeOnRefund: false');

    // With the backend's handlers, the answer goes through refundFromQuery: the notification's own effect and rule.
    const viaHandlers = await paidStore();
    const handlers = createPartnerHandlers({
      skillId: SKILL_ID,
      tskPublicKey: platform.publicKeyBase64,
      skillPrivateKey: skill.privateKeyPem,
      store: viaHandlers,
      catalog: catalogFrom(CATALOG),
      deliver: () => undefined,
    });
    state.modes = ['failKnown'];
    const h = await requestRefund({ store: viaHandlers, pay: client(), handlers }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ12' });
    assert.equal(h.status, 'SUCCESS');
    assert.equal(h.refundTransactionId, state.refunds.get('RQ12')?.refundTransactionId);
    assert.equal(await owns(viaHandlers), false, 'revoked through the handlers');
  });

  it('a platform FAIL marks the refund FAIL (the amount is free again); unknown and unpaid orders are refused', async () => {
    const store = await paidStore();
    state.refunded = 250; // the platform thinks most was refunded already
    const e = await requestRefund({ store, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 100, refundTradeNo: 'RQ5' }).catch((x) => x);
    assert.ok(e instanceof PayRemoteError);
    assert.equal((await store.getRefund('RQ5'))?.status, 'FAIL');
    const unknown = await requestRefund({ store, pay: client() }, { tradeNo: 'Nope1', refundAmt: 1 }).catch((x) => x);
    assert.equal(unknown.code, 'ERR_REFUND_UNKNOWN_ORDER');
    await store.createOrder({
      tradeNo: 'Unpaid1',
      skillId: SKILL_ID,
      userToken: 'u',
      details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
      totalAmt: 200,
      createdAt: 1,
    });
    const unpaid = await requestRefund({ store, pay: client() }, { tradeNo: 'Unpaid1', refundAmt: 1 }).catch((x) => x);
    assert.equal(unpaid.code, 'ERR_REFUND_NOT_PAID');
  });
});

describe('requestRefund on PostgreSQL with two backend instances', { skip: postgresSkipReason() }, () => {
  let pg: PostgresServer;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });
  beforeEach(() => {
    state.refunds.clear();
    state.refunded = 0;
    state.hits.length = 0;
    state.modes = [];
  });

  async function paid(store: PartnerStore) {
    await store.createOrder({
      tradeNo: ORDER.tradeNo,
      skillId: SKILL_ID,
      userToken: 'user-1',
      details: [{ itemId: 'ep35', quantity: 1, amount: ORDER.totalAmt }],
      totalAmt: ORDER.totalAmt,
      createdAt: Date.now(),
    });
    await store.claimDelivery(ORDER.tradeNo, ORDER.transactionId, 1000, Date.now());
    await store.completeDelivery(ORDER.tradeNo, Date.now());
  }

  it('two instances race one refundTradeNo with different amounts: one is sent, the other refused before anything is sent, the books agree', async () => {
    const url = await pg.createDatabase();
    const a = new PostgresPartnerStore({ connectionString: url, poolSize: 2 });
    const b = new PostgresPartnerStore({ connectionString: url, poolSize: 2 });
    try {
      await a.init();
      await b.init();
      await paid(a);
      for (let round = 0; round < 5; round++) {
        const no = `RP${round}`;
        const before = state.hits.filter((h) => h.path === '/paycgi/refund').length;
        const [x, y] = await Promise.allSettled([
          requestRefund({ store: a, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 10, refundTradeNo: no }),
          requestRefund({ store: b, pay: client() }, { tradeNo: ORDER.tradeNo, refundAmt: 20, refundTradeNo: no }),
        ]);
        const ok = [x, y].filter((r) => r.status === 'fulfilled');
        const refused = [x, y].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(ok.length, 1, `round ${round}: one refund goes through`);
        assert.equal((refused[0]!.reason as RefundError).code, 'ERR_REFUND_CONFLICT', `round ${round}`);
        const sent = state.hits.filter((h) => h.path === '/paycgi/refund').slice(before);
        assert.equal(sent.length, 1, `round ${round}: the platform was asked once`);
        const stored = (await b.getRefund(no))!;
        assert.equal(sent[0]!.body.refundAmt, stored.refundAmt, `round ${round}: the partner's record and the platform's agree`);
        assert.equal(state.refunds.get(no)?.refundAmt, stored.refundAmt);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
