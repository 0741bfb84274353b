import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatAuthorization, formatTskDatetime, generateTskKeyPair, randomNonce, RET_MSG_ALREADY_OWNED, rsa2Signature } from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  MemoryPartnerStore,
  type DeliverContext,
  type PartnerOptions,
  type PartnerStore,
} from '../../src/partner/index.js';
import { CATALOG, createOrderBody, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';

const MUTATORS = ['createOrder', 'claimDelivery', 'claimDeliveryChecked', 'completeDelivery', 'releaseDelivery', 'saveRefund', 'updateRefund'] as const;

/** A real memory store whose mutating calls are counted. */
function tracked() {
  const store = new MemoryPartnerStore();
  const writes: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if ((MUTATORS as readonly string[]).includes(prop as string)) writes.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as PartnerStore;
  return { store: proxy, writes };
}

function setup(over: Partial<PartnerOptions> = {}) {
  const { store, writes } = tracked();
  const delivered: DeliverContext[] = [];
  const h = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store,
    catalog: catalogFrom(CATALOG),
    deliver: async (ctx) => {
      delivered.push(ctx);
    },
    ...over,
  });
  return { h, store, writes, delivered };
}

async function createOrder(h: ReturnType<typeof setup>['h'], over = {}) {
  const res = await h.createOrder(signedRequest(JSON.stringify(createOrderBody(over))));
  return readReply(res, 'createOrderReply');
}

describe('create order', () => {
  it('creates and stores an order with a fresh tradeNo; the reply is signed over its bytes', async () => {
    const { h, store } = setup();
    const reply = await createOrder(h);
    assert.equal(reply.retCode, 'SUCCESS');
    assert.match(reply.tradeNo!, /^[0-9A-Za-z]{1,32}$/);
    const order = await store.getOrder(reply.tradeNo!);
    assert.equal(order?.status, 'CREATED');
    assert.equal(order?.totalAmt, 200);
    assert.equal(order?.userToken, 'user-1');
    const again = await createOrder(h);
    assert.notEqual(again.tradeNo, reply.tradeNo);
  });

  it('a tradeNo that collides in the store is replaced by a fresh one; a broken generator is an internal error', async () => {
    const ids = ['Same1', 'Same1', 'Same1', 'Other2'];
    const { h, store } = setup({ newTradeNo: () => ids.shift() ?? 'Never' });
    assert.equal((await createOrder(h)).tradeNo, 'Same1');
    assert.equal((await createOrder(h, { userToken: 'user-2' })).tradeNo, 'Other2');
    assert.equal((await store.getOrder('Other2'))?.userToken, 'user-2');
    const bad = setup({ newTradeNo: () => 'has-dash' });
    const r = await createOrder(bad.h);
    assert.deepEqual([r.retCode, r.retMsg], ['FAIL', 'internal error']);
    assert.deepEqual(bad.writes, []);
  });

  it('accepts odd spacing, Chinese text and unknown fields in the raw body', async () => {
    const { h } = setup();
    const body = `{ "skillId" : "${SKILL_ID}",\n  "userToken":"用户-一", "备注": "万古神帝 第35集",\t"details":[ {"itemId":"ep35","quantity":1,"amount":200,"extra":true} ],"totalAmt":200,"nonceStr":"n1abc" }`;
    const reply = readReply(await h.createOrder(signedRequest(body)), 'createOrderReply');
    assert.equal(reply.retCode, 'SUCCESS');
  });

  it('checks lines against the partner price list: tampered price or quantity is refused', async () => {
    const { h, writes } = setup();
    const cheap = await createOrder(h, { details: [{ itemId: 'ep35', quantity: 1, amount: 1 }], totalAmt: 1 });
    assert.deepEqual([cheap.retCode, cheap.retMsg], ['FAIL', 'price mismatch']);
    const qty = await createOrder(h, { details: [{ itemId: 'coins', quantity: 3, amount: 20 }], totalAmt: 20 });
    assert.deepEqual([qty.retCode, qty.retMsg], ['FAIL', 'price mismatch']);
    const tooMany = await createOrder(h, { details: [{ itemId: 'coins', quantity: 101, amount: 1010 }], totalAmt: 1010 });
    assert.deepEqual([tooMany.retCode, tooMany.retMsg], ['FAIL', 'quantity too large']);
    const unknown = await createOrder(h, { details: [{ itemId: 'nope', quantity: 1, amount: 200 }] });
    assert.deepEqual([unknown.retCode, unknown.retMsg], ['FAIL', 'unknown itemId']);
    const dup = await createOrder(h, {
      details: [
        { itemId: 'coins', quantity: 1, amount: 10 },
        { itemId: 'coins', quantity: 1, amount: 10 },
      ],
      totalAmt: 20,
    });
    assert.deepEqual([dup.retCode, dup.retMsg], ['FAIL', 'duplicate itemId']);
    assert.deepEqual(writes, []);
  });

  it('refuses a totalAmt that is not the sum of the lines', async () => {
    const { h, writes } = setup();
    const r = await createOrder(h, {
      details: [
        { itemId: 'ep35', quantity: 1, amount: 200 },
        { itemId: 'ep36', quantity: 1, amount: 200 },
      ],
      totalAmt: 200,
    });
    assert.equal(r.retCode, 'FAIL');
    assert.equal(r.retMsg, 'totalAmt sum mismatch');
    assert.deepEqual(writes, []);
  });

  it('refuses another skillId and a user the partner does not know', async () => {
    const { h, writes } = setup({ user: (token) => token.startsWith('user-') });
    const other = await createOrder(h, { skillId: 'someoneElse' });
    assert.deepEqual([other.retCode, other.retMsg], ['FAIL', 'unknown skillId']);
    const stranger = await createOrder(h, { userToken: 'mallory' });
    assert.deepEqual([stranger.retCode, stranger.retMsg], ['FAIL', 'unknown user']);
    assert.deepEqual(writes, []);
  });

  it('answers ALREADY_OWNED distinctly once the user owns the item; consumables can be bought again', async () => {
    const { h, store } = setup();
    const first = await createOrder(h, {
      details: [
        { itemId: 'ep35', quantity: 1, amount: 200 },
        { itemId: 'coins', quantity: 2, amount: 20 },
      ],
      totalAmt: 220,
    });
    const d = readReply(await h.deliver(signedRequest(JSON.stringify(deliverBody(first.tradeNo!, { totalAmt: 220 })))), 'deliverNotifyReply');
    assert.equal(d.retCode, 'SUCCESS');
    assert.equal(await store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
    const again = await createOrder(h);
    assert.deepEqual([again.retCode, again.retMsg], ['FAIL', RET_MSG_ALREADY_OWNED]);
    const coins = await createOrder(h, { details: [{ itemId: 'coins', quantity: 1, amount: 10 }], totalAmt: 10 });
    assert.equal(coins.retCode, 'SUCCESS');
    const otherUser = await createOrder(h, { userToken: 'user-2' });
    assert.equal(otherUser.retCode, 'SUCCESS');
  });
});

describe('every request is verified; bad input → signed FAIL, nothing changed', () => {
  const body = () => JSON.stringify(createOrderBody());

  it('forged signature (another key)', async () => {
    const { h, writes } = setup();
    const forger = generateTskKeyPair();
    const r = readReply(await h.createOrder(signedRequest(body(), { key: forger.privateKey })), 'createOrderReply');
    assert.deepEqual([r.retCode, r.retMsg], ['FAIL', 'signature: bad-signature']);
    assert.deepEqual(writes, []);
  });

  it('body changed after signing (one space)', async () => {
    const { h, writes } = setup();
    const req = signedRequest(body());
    req.rawBody = Buffer.from(Buffer.from(req.rawBody).toString('utf8').replace('{', '{ '));
    const r = readReply(await h.createOrder(req), 'createOrderReply');
    assert.equal(r.retMsg, 'signature: bad-signature');
    assert.deepEqual(writes, []);
  });

  it('stale and future timestamps (more than 3 minutes)', async () => {
    const { h, writes } = setup();
    const stale = readReply(await h.createOrder(signedRequest(body(), { at: Date.now() - 4 * 60_000 })), 'createOrderReply');
    assert.equal(stale.retMsg, 'signature: stale');
    const future = readReply(await h.createOrder(signedRequest(body(), { at: Date.now() + 4 * 60_000 })), 'createOrderReply');
    assert.equal(future.retMsg, 'signature: future');
    const inside = readReply(await h.createOrder(signedRequest(body(), { at: Date.now() - 2 * 60_000 })), 'createOrderReply');
    assert.equal(inside.retCode, 'SUCCESS');
    assert.deepEqual(writes, ['createOrder']);
  });

  it('replayed request (same bytes, same header) is refused the second time', async () => {
    const { h, writes } = setup();
    const req = signedRequest(body());
    const first = readReply(await h.createOrder(req), 'createOrderReply');
    assert.equal(first.retCode, 'SUCCESS');
    const second = readReply(await h.createOrder(req), 'createOrderReply');
    assert.deepEqual([second.retCode, second.retMsg], ['FAIL', 'signature: replay']);
    assert.deepEqual(writes, ['createOrder']);
  });

  it('malformed: missing header, other algorithm, not JSON, wrong fields', async () => {
    const { h, writes } = setup();
    const noHeader = readReply(await h.createOrder({ headers: {}, rawBody: Buffer.from(body()) }), 'createOrderReply');
    assert.equal(noHeader.retMsg, 'signature: malformed-header');
    const raw = Buffer.from(body());
    const dt = formatTskDatetime(Date.now());
    const hmacNamed = formatAuthorization({ algorithm: 'TSK-HMAC-SHA256-BASIC', datetime: dt, signature: rsa2Signature(raw, dt, platform.privateKey) });
    const alg = readReply(await h.createOrder({ headers: { Authorization: hmacNamed }, rawBody: raw }), 'createOrderReply');
    assert.equal(alg.retMsg, 'signature: algorithm-mismatch');
    const notJson = readReply(await h.createOrder(signedRequest('{"skillId":')), 'createOrderReply');
    assert.deepEqual([notJson.retCode, notJson.retMsg], ['FAIL', 'body is not JSON']);
    const badUtf8 = readReply(await h.createOrder(signedRequest(Buffer.from([0x7b, 0xff, 0x7d]))), 'createOrderReply');
    assert.equal(badUtf8.retMsg, 'body is not JSON');
    const array = readReply(await h.createOrder(signedRequest('[1,2]')), 'createOrderReply');
    assert.equal(array.retMsg, 'body is not an object');
    const float = readReply(
      await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ details: [{ itemId: 'ep35', quantity: 1, amount: 2.5 }], totalAmt: 2.5 })))),
      'createOrderReply',
    );
    assert.equal(float.retMsg, 'details.amount not integer fen');
    const missing = { ...createOrderBody() } as Record<string, unknown>;
    delete missing.userToken;
    const m = readReply(await h.createOrder(signedRequest(JSON.stringify(missing))), 'createOrderReply');
    assert.equal(m.retMsg, 'userToken missing');
    const twoHeaders = signedRequest(body());
    twoHeaders.headers.authorization = [twoHeaders.headers.authorization as string, twoHeaders.headers.authorization as string];
    const th = readReply(await h.createOrder(twoHeaders), 'createOrderReply');
    assert.equal(th.retMsg, 'signature: malformed-header');
    assert.deepEqual(writes, []);
  });

  it('the default replay guard remembers nonces as long as the tolerance lets a signature live: a replay at minute 7 of a 10-minute tolerance is refused', async () => {
    let t = Date.now();
    const { h, writes } = setup({ toleranceMs: 10 * 60_000, now: () => t });
    const req = signedRequest(body(), { at: t });
    assert.equal(readReply(await h.createOrder(req), 'createOrderReply').retCode, 'SUCCESS');
    t += 7 * 60_000;
    // (The reply is signed at the handler's clock, 7 minutes ahead: read it without the ±3 min check.)
    const replay = JSON.parse(Buffer.from((await h.createOrder(req)).body).toString('utf8')) as { retCode: string; retMsg: string };
    assert.deepEqual([replay.retCode, replay.retMsg], ['FAIL', 'signature: replay']);
    assert.deepEqual(writes, ['createOrder']);
  });

  it('a shared (async) replay guard refuses a replay sent to another instance', async () => {
    const seen = new Set<string>();
    const shared = { check: async (nonce: string) => (seen.has(nonce) ? false : (seen.add(nonce), true)) };
    const store = new MemoryPartnerStore();
    const one = setup({ store, nonceGuard: shared });
    const two = setup({ store, nonceGuard: shared });
    const req = signedRequest(body());
    assert.equal(readReply(await one.h.createOrder(req), 'createOrderReply').retCode, 'SUCCESS');
    const replay = readReply(await two.h.createOrder(req), 'createOrderReply');
    assert.deepEqual([replay.retCode, replay.retMsg], ['FAIL', 'signature: replay']);
    // without the shared guard, the other instance would have accepted it
    const three = setup({ store });
    assert.equal(readReply(await three.h.createOrder(req), 'createOrderReply').retCode, 'SUCCESS');
  });

  it('oversized body is refused before any parsing', async () => {
    const { h, writes } = setup({ maxBodyBytes: 1024 });
    const big = JSON.stringify(createOrderBody({ padding: 'x'.repeat(2000) }));
    const r = readReply(await h.createOrder(signedRequest(big)), 'createOrderReply');
    assert.deepEqual([r.retCode, r.retMsg], ['FAIL', 'body too large']);
    assert.deepEqual(writes, []);
  });

  it('retMsg is never longer than 32 characters, also for internal errors', async () => {
    const errors: unknown[] = [];
    const { h } = setup({
      catalog: () => {
        throw new Error('database exploded with a very very long explanation that goes on');
      },
      onError: (e) => errors.push(e),
    });
    const r = await createOrder(h);
    assert.deepEqual([r.retCode, r.retMsg], ['FAIL', 'internal error']);
    assert.equal(errors.length, 1);
  });
});

describe('delivery notification', () => {
  async function paidOrder(s: ReturnType<typeof setup>) {
    const reply = await createOrder(s.h);
    assert.equal(reply.retCode, 'SUCCESS');
    return reply.tradeNo!;
  }
  const deliver = async (s: ReturnType<typeof setup>, body: object) => readReply(await s.h.deliver(signedRequest(JSON.stringify(body))), 'deliverNotifyReply');

  it('repeats → one deliver hook call, SUCCESS every time', async () => {
    const s = setup();
    const tradeNo = await paidOrder(s);
    for (let i = 0; i < 4; i++) {
      const r = await deliver(s, deliverBody(tradeNo));
      assert.equal(r.retCode, 'SUCCESS');
    }
    assert.equal(s.delivered.length, 1);
    assert.equal(s.delivered[0]!.idempotencyKey, tradeNo);
    assert.equal(s.delivered[0]!.attempt, 1);
    const order = await s.store.getOrder(tradeNo);
    assert.equal(order?.status, 'DELIVERED');
    assert.equal(order?.transactionId, deliverBody(tradeNo).transactionId);
    assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), true);
  });

  it('concurrent duplicates in one process → one delivery, all SUCCESS', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    const s = setup({
      deliver: async (ctx) => {
        calls.push(ctx.idempotencyKey);
        await gate;
      },
    });
    const tradeNo = await paidOrder(s);
    const all = Array.from({ length: 25 }, () => deliver(s, deliverBody(tradeNo)));
    setTimeout(release, 100);
    const replies = await Promise.all(all);
    assert.deepEqual(
      replies.map((r) => r.retCode),
      replies.map(() => 'SUCCESS'),
    );
    assert.deepEqual(calls, [tradeNo]);
  });

  it('a duplicate that cannot wait for a slow delivery answers FAIL (platform retries), never delivers twice', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const s = setup({
      inProgressWaitMs: 50,
      deliver: async () => {
        calls++;
        await gate;
      },
    });
    const tradeNo = await paidOrder(s);
    const first = deliver(s, deliverBody(tradeNo));
    for (let i = 0; i < 500 && calls === 0; i++) await new Promise((r) => setTimeout(r, 5)); // the first holds the claim
    const dup = await deliver(s, deliverBody(tradeNo));
    assert.deepEqual([dup.retCode, dup.retMsg], ['FAIL', 'delivery in progress']);
    release();
    assert.equal((await first).retCode, 'SUCCESS');
    assert.equal((await deliver(s, deliverBody(tradeNo))).retCode, 'SUCCESS');
    assert.equal(calls, 1);
  });

  it('amount, skillId, userToken or transactionId mismatch → FAIL without delivering', async () => {
    const s = setup({ skillId: [SKILL_ID, 'otherSkill'] });
    const tradeNo = await paidOrder(s);
    const writesBefore = s.writes.length;
    const orderBefore = await s.store.getOrder(tradeNo);
    const amt = await deliver(s, deliverBody(tradeNo, { totalAmt: 1 }));
    assert.deepEqual([amt.retCode, amt.retMsg], ['FAIL', 'totalAmt mismatch']);
    const sk = await deliver(s, deliverBody(tradeNo, { skillId: 'otherSkill' }));
    assert.deepEqual([sk.retCode, sk.retMsg], ['FAIL', 'skillId mismatch']);
    const ut = await deliver(s, deliverBody(tradeNo, { userToken: 'user-2' }));
    assert.deepEqual([ut.retCode, ut.retMsg], ['FAIL', 'userToken mismatch']);
    const unknown = await deliver(s, deliverBody('NoSuchOrder1'));
    assert.deepEqual([unknown.retCode, unknown.retMsg], ['FAIL', 'unknown tradeNo']);
    assert.equal(s.delivered.length, 0);
    // the checked claim compares inside the store and writes nothing on a mismatch:
    // no other mutator ran, and the stored order is exactly as before
    assert.deepEqual(
      s.writes.slice(writesBefore).filter((w) => w !== 'claimDeliveryChecked'),
      [],
    );
    assert.deepEqual(await s.store.getOrder(tradeNo), orderBefore);
    assert.equal((await s.store.getOrder(tradeNo))?.status, 'CREATED');
    // the real notification still works, and then a different transactionId is refused
    assert.equal((await deliver(s, deliverBody(tradeNo))).retCode, 'SUCCESS');
    const tx = await deliver(s, deliverBody(tradeNo, { transactionId: 'DDother' }));
    assert.deepEqual([tx.retCode, tx.retMsg], ['FAIL', 'transactionId mismatch']);
    assert.equal(s.delivered.length, 1);
  });

  it('hook throws → FAIL, the retry delivers once (attempt 2)', async () => {
    let fail = true;
    const attempts: number[] = [];
    const s = setup({
      deliver: async (ctx) => {
        attempts.push(ctx.attempt);
        if (fail) throw new Error('warehouse offline');
      },
    });
    const tradeNo = await paidOrder(s);
    const r1 = await deliver(s, deliverBody(tradeNo));
    assert.deepEqual([r1.retCode, r1.retMsg], ['FAIL', 'delivery failed']);
    assert.equal((await s.store.getOrder(tradeNo))?.status, 'CREATED');
    assert.equal(await s.store.ownsItem(SKILL_ID, 'user-1', 'ep35'), false);
    fail = false;
    assert.equal((await deliver(s, deliverBody(tradeNo))).retCode, 'SUCCESS');
    assert.equal((await deliver(s, deliverBody(tradeNo))).retCode, 'SUCCESS');
    assert.deepEqual(attempts, [1, 2]);
    assert.equal((await s.store.getOrder(tradeNo))?.status, 'DELIVERED');
  });

  it('a slow hook times out with FAIL and keeps the claim; its late success is still recorded (no second run)', async () => {
    let now = Date.now();
    const attempts: number[] = [];
    let aborted = false;
    const s = setup({
      now: () => now,
      deliverTimeoutMs: 50,
      inProgressWaitMs: 0,
      leaseMs: 10_000,
      deliver: async (ctx) => {
        attempts.push(ctx.attempt);
        ctx.signal.addEventListener('abort', () => (aborted = true));
        await new Promise((r) => setTimeout(r, 200));
      },
    });
    const tradeNo = await paidOrder(s);
    const r1 = await deliver(s, deliverBody(tradeNo));
    assert.deepEqual([r1.retCode, r1.retMsg], ['FAIL', 'delivery timed out']);
    assert.equal(aborted, true);
    const r2 = await deliver(s, deliverBody(tradeNo));
    assert.deepEqual([r2.retCode, r2.retMsg], ['FAIL', 'delivery in progress']);
    for (let i = 0; i < 200 && (await s.store.getOrder(tradeNo))?.status !== 'DELIVERED'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await s.store.getOrder(tradeNo))?.status, 'DELIVERED');
    now += 11_000;
    const r3 = await s.h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)), { at: now }));
    assert.equal(readReply(r3, 'deliverNotifyReply').retCode, 'SUCCESS');
    assert.deepEqual(attempts, [1]);
  });

  it('a hook that hangs for good: after the lease a retry takes over with the same key', async () => {
    let now = Date.now();
    const attempts: number[] = [];
    const s = setup({
      now: () => now,
      deliverTimeoutMs: 50,
      inProgressWaitMs: 0,
      leaseMs: 10_000,
      deliver: async (ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) await new Promise(() => undefined); // never settles
      },
    });
    const tradeNo = await paidOrder(s);
    assert.equal((await deliver(s, deliverBody(tradeNo))).retMsg, 'delivery timed out');
    now += 11_000; // lease expired: the first holder is presumed dead
    const r = await s.h.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)), { at: now }));
    assert.equal(readReply(r, 'deliverNotifyReply').retCode, 'SUCCESS');
    assert.deepEqual(attempts, [1, 2]);
  });

  it('a delivery that cannot be recorded answers FAIL; the retry delivers with the same idempotency key', async () => {
    const s = setup({ leaseMs: 1, inProgressWaitMs: 0 });
    const tradeNo = await paidOrder(s);
    const real = s.store.completeDelivery.bind(s.store);
    let broken = true;
    s.store.completeDelivery = async (t, n) => {
      if (broken) throw new Error('disk full');
      return real(t, n);
    };
    const r1 = await deliver(s, deliverBody(tradeNo));
    assert.deepEqual([r1.retCode, r1.retMsg], ['FAIL', 'could not record delivery']);
    broken = false;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await deliver(s, deliverBody(tradeNo))).retCode, 'SUCCESS');
    assert.deepEqual(
      s.delivered.map((d) => d.idempotencyKey),
      [tradeNo, tradeNo],
    );
    assert.equal((await s.store.getOrder(tradeNo))?.status, 'DELIVERED');
  });

  it('a stale holder whose hook fails after a takeover does not cancel the newer claim', async () => {
    let now = Date.now();
    const attempts: number[] = [];
    const s = setup({
      now: () => now,
      leaseMs: 1_000,
      inProgressWaitMs: 0,
      deliver: async (ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) {
          await new Promise((r) => setTimeout(r, 60));
          throw new Error('late failure');
        }
        await new Promise((r) => setTimeout(r, 400));
      },
    });
    const tradeNo = await paidOrder(s);
    const signedAt = now;
    const at = (body: object) => s.h.deliver(signedRequest(JSON.stringify(body), { at: signedAt })).then((r) => readReply(r, 'deliverNotifyReply'));
    const a = at(deliverBody(tradeNo));
    for (let i = 0; i < 500 && attempts.length === 0; i++) await new Promise((r) => setTimeout(r, 5)); // A holds the claim
    now += 1_100; // A's lease expired: A is presumed dead
    const b = at(deliverBody(tradeNo)); // takes over: attempt 2
    const ra = await a;
    assert.deepEqual([ra.retCode, ra.retMsg], ['FAIL', 'delivery failed']); // A released only its own attempt 1
    const c = await at(deliverBody(tradeNo));
    assert.deepEqual([c.retCode, c.retMsg], ['FAIL', 'delivery in progress']); // B's claim is still live
    assert.equal((await b).retCode, 'SUCCESS');
    assert.deepEqual(attempts, [1, 2]);
  });

  it('replayed delivery notification → FAIL and nothing changed', async () => {
    const s = setup();
    const tradeNo = await paidOrder(s);
    const req = signedRequest(JSON.stringify(deliverBody(tradeNo, { totalAmt: 1 })));
    assert.equal(readReply(await s.h.deliver(req), 'deliverNotifyReply').retMsg, 'totalAmt mismatch');
    assert.equal(readReply(await s.h.deliver(req), 'deliverNotifyReply').retMsg, 'signature: replay');
    assert.equal(s.delivered.length, 0);
  });
});

describe('refund result notification', () => {
  it('records the refund result, moves status forward only, and checks the order; a notification that disagrees with the books is acknowledged and reported, never refused forever', async () => {
    const mismatches: Array<{ reason: string }> = [];
    const reported: Array<{ code: string | undefined; retMsg: string }> = [];
    const s = setup({
      onRefund: async (c) => void (c.mismatch && mismatches.push(c.mismatch)),
      onError: (e, info) => void reported.push({ code: (e as { code?: string }).code, retMsg: info.retMsg }),
    });
    const reply = await createOrder(s.h);
    const tradeNo = reply.tradeNo!;
    const d = deliverBody(tradeNo);
    assert.equal(readReply(await s.h.deliver(signedRequest(JSON.stringify(d))), 'deliverNotifyReply').retCode, 'SUCCESS');
    const base = {
      skillId: SKILL_ID,
      transactionId: d.transactionId,
      tradeNo,
      refundTransactionId: 'RT1',
      refundTradeNo: 'R1',
      totalAmt: 200,
      refundAmt: 100,
      refundStatus: 'PROCESSING',
      refundStatusDesc: '退款中',
    };
    const send = async (over: object) =>
      readReply(
        await s.h.refundNotify(signedRequest(JSON.stringify({ ...base, nonceStr: Math.random().toString(36).slice(2), ...over }))),
        'refundNotifyReply',
      );
    assert.equal((await send({})).retCode, 'SUCCESS');
    assert.equal((await s.store.getRefund('R1'))?.status, 'PROCESSING');
    assert.equal((await send({ refundStatus: 'SUCCESS', refundStatusDesc: '退款成功' })).retCode, 'SUCCESS');
    assert.equal((await send({ refundStatus: 'PROCESSING' })).retCode, 'SUCCESS');
    assert.equal((await s.store.getRefund('R1'))?.status, 'SUCCESS');
    const over = await send({ refundAmt: 300 });
    assert.equal(over.retCode, 'FAIL');
    // Disagreeing with the books: acknowledged (no retries forever), reported, nothing changed.
    const amt = await send({ refundAmt: 50 });
    assert.equal(amt.retCode, 'SUCCESS');
    assert.equal((await s.store.getRefund('R1'))?.refundAmt, 100, 'the record is unchanged');
    const unknown = await send({ tradeNo: 'Nope1', refundTradeNo: 'R2' });
    assert.deepEqual([unknown.retCode, unknown.retMsg], ['FAIL', 'unknown tradeNo']);
    const tooMuch = await send({ refundTradeNo: 'R3', refundAmt: 150 });
    assert.equal(tooMuch.retCode, 'SUCCESS');
    assert.equal(await s.store.getRefund('R3'), undefined);
    assert.deepEqual(
      mismatches.map((m) => m.reason),
      ['refundAmt mismatch', 'refund exceeds order'],
    );
    assert.deepEqual(
      reported.filter((r) => r.code === 'ERR_REFUND_MISMATCH').map((r) => r.retMsg),
      ['refundAmt mismatch', 'refund exceeds order'],
    );
  });
});

describe('refunds take back what they paid for', () => {
  async function refunded(over: Partial<PartnerOptions>, status: 'SUCCESS' | 'FAIL') {
    const s = setup(over);
    const tradeNo = (await createOrder(s.h)).tradeNo!;
    const d = deliverBody(tradeNo);
    assert.equal(readReply(await s.h.deliver(signedRequest(JSON.stringify(d))), 'deliverNotifyReply').retCode, 'SUCCESS');
    const order = (await s.store.getOrder(tradeNo))!;
    const itemId = order.details[0]!.itemId;
    assert.equal(await s.store.ownsItem(SKILL_ID, order.userToken, itemId), true);
    const n = {
      skillId: SKILL_ID,
      transactionId: d.transactionId,
      tradeNo,
      refundTransactionId: 'RT9',
      refundTradeNo: 'R9',
      totalAmt: order.totalAmt,
      refundAmt: order.totalAmt,
      refundStatus: status,
      refundStatusDesc: status === 'SUCCESS' ? '退款成功' : '退款失败',
      nonceStr: randomNonce(),
    };
    assert.equal(readReply(await s.h.refundNotify(signedRequest(JSON.stringify(n))), 'refundNotifyReply').retCode, 'SUCCESS');
    return s.store.ownsItem(SKILL_ID, order.userToken, itemId);
  }

  it('a successful refund revokes the entitlement by default; a failed one does not; revokeOnRefund: false (or a function) keeps it', async () => {
    assert.equal(await refunded({}, 'SUCCESS'), false);
    assert.equal(await refunded({}, 'FAIL'), true);
    assert.equal(await refunded({ revokeOnRefund: false }, 'SUCCESS'), true);
    const asked: string[] = [];
    assert.equal(await refunded({ revokeOnRefund: ({ order }) => (asked.push(order.tradeNo), false) }, 'SUCCESS'), true);
    assert.equal(asked.length, 1);
  });
});

describe('options', () => {
  it('bad options throw typed errors', () => {
    assert.throws(() => setup({ skillId: '' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => setup({ tskPublicKey: 'not a key' }), { code: 'ERR_KEY' });
    assert.throws(() => setup({ maxBodyBytes: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => catalogFrom([{ itemId: 'a', price: 1.5 }]), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('layering', () => {
  it('the handlers object hands out no context and no key: the three handlers, deliverFromOrderQuery and refundFromQuery only', async () => {
    const { KeyObject } = await import('node:crypto');
    const { h } = setup();
    assert.deepEqual(Object.keys(h).sort(), ['createOrder', 'deliver', 'deliverFromOrderQuery', 'refundFromQuery', 'refundNotify']);
    assert.equal((h as unknown as Record<string, unknown>).context, undefined);
    const seen = new Set<unknown>();
    const walk = (v: unknown, path: string): void => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
      seen.add(v);
      assert.ok(!(v instanceof KeyObject), `${path} is a key`);
      for (const k of Reflect.ownKeys(v)) {
        if (k === 'prototype' || k === 'constructor') continue;
        const d = Object.getOwnPropertyDescriptor(v, k);
        if (d && 'value' in d) walk(d.value, `${path}.${String(k)}`);
      }
    };
    walk(h, 'handlers');
  });

  it('the public entry names what it exports (no export *) and no internals of the pipeline', async () => {
    const { readFileSync } = await import('node:fs');
    const source = readFileSync(new URL('../../src/partner/index.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(source, /export \*/);
    const entry = (await import('../../src/partner/index.js')) as Record<string, unknown>;
    for (const internal of [
      'resolvePartnerOptions',
      'makeHandler',
      'verifyRequest',
      'signedReply',
      'failReply',
      'handleCreateOrder',
      'handleDeliver',
      'deliverOutcome',
      'deliverOnce',
      'handleRefundNotify',
      'PendingAck',
      'PendingReply',
      'readRawBody',
    ])
      assert.equal(entry[internal], undefined, `${internal} is not public`);
    assert.equal(typeof entry.createPartnerHandlers, 'function');
  });

  it('src/partner has no import circles', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { dirname, join, resolve } = await import('node:path');
    const root = new URL('../../src/partner/', import.meta.url).pathname;
    const graph = new Map<string, string[]>();
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const deps = [...readFileSync(p, 'utf8').matchAll(/(?:from|import)\s+'(\.[^']+)\.js'/g)].map((m) => resolve(dirname(p), m[1]! + '.ts'));
          graph.set(
            p,
            deps.filter((x) => x.startsWith(root)),
          );
        }
      }
    };
    walk(root);
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      assert.notEqual(state.get(f), 'open', `import circle: ${[...trail, f].map((x) => x.slice(root.length)).join(' → ')}`);
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) visit(d, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f, []);
    assert.ok(graph.size > 10);
  });

  it('src/partner imports neither device nor sandbox code', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = new URL('../../src/partner/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(dir);
    assert.ok(files.length > 5);
    for (const f of files) {
      const imports = [...readFileSync(f, 'utf8').matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      for (const i of imports) assert.ok(!/\/(device|sandbox|cli|demo)\//.test(i + '/') || !i.startsWith('.'), `${f} imports ${i}`);
    }
  });
});
